"""The two scheduled stages of a project scheme (二(四)12, 三(三)) through the real Prefect advance flow, with a
pinned clock: a report not filed by its due date is flagged once (one audit event, one notification; the next
run flags nothing new), and a rectification is closed unrectified only after its due date."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import col, select

from flows.services import applications, checker, projects
from models.tables import AuditEvent, Notification
from models.uow import read_only, unit_of_work
from tests.project_support import EVIDENCE, FULL, NAV, agree_all, funded_call, scores
from tests.support import set_clock


def _overdue(db: Any, ref: str) -> tuple[int, int]:
    with read_only(db.engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.subject == f"app:{ref}",
                                                 AuditEvent.action == "project.report_overdue")).all()
        notes = s.exec(select(Notification).where(col(Notification.cause).like("project_overdue:%"))).all()
    return len(events), len(notes)


def test_the_report_due_and_rectification_stages_run_in_the_advance_flow(db: Any, prefect_api: None,
                                                                          tmp_path: Path) -> None:
    from flows.prefect_flows import advance_flow

    call = funded_call(db.engine, tmp_path, n=2)
    agree_all(call)
    call.pay()
    late, poor = call.refs
    set_clock("2022-05-20T01:00:00Z")
    with unit_of_work(db.engine) as s:
        projects.report(s, "admin", poor, "mid_term", FULL[call.types[poor]], EVIDENCE)
        projects.evaluate(s, "ma.expert", poor, "mid_term", scores(300))  # 差: rectify by 2022-08-18
    set_clock("2022-06-01T12:00:00Z")  # the mid-term report of `late` is due today: not overdue yet
    advance_flow(scheme=NAV, chunk=500, out_dir=str(tmp_path))
    assert _overdue(db, late) == (0, 0)
    set_clock("2022-06-02T01:00:00Z")
    advance_flow(scheme=NAV, chunk=500, out_dir=str(tmp_path))
    assert _overdue(db, late) == (1, 1)
    advance_flow(scheme=NAV, chunk=500, out_dir=str(tmp_path))
    assert _overdue(db, late) == (1, 1)  # flagged once

    set_clock("2022-08-18T12:00:00Z")  # the rectification's due date: still open
    advance_flow(scheme=NAV, chunk=500, out_dir=str(tmp_path))
    with read_only(db.engine) as s:
        assert applications.show(s, "admin", poor)["status"] == "mid_term_rectification"
    set_clock("2022-08-19T01:00:00Z")
    totals = advance_flow(scheme=NAV, chunk=500, out_dir=str(tmp_path))
    assert totals["rectification_expiry"] == 1 and totals["check"]["ok"]
    with read_only(db.engine) as s:
        p = projects.show(s, "admin", poor)
        assert p["status"] == "clawback_due" and p["clawback_fen"] == p["paid_fen"] > 0
        assert p["bars"] and checker.run(s)["ok"]
