"""The real `advance` flow under Prefect, over a small round: every stage runs, the run is
idempotent, and the invariant check passes at its end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flows.services import checker, payments, review
from tests.support import SCHEME, applicants_and_applications, score_all, staff_and_plan

pytestmark = pytest.mark.flows


def test_the_advance_flow_moves_every_ready_case_and_is_idempotent(db: Any, prefect_api: None, tmp_path: Path) -> None:
    from flows.prefect_flows import advance_flow

    staff_and_plan(db.engine)
    r = applicants_and_applications(db.engine, n_apps=12, flawed=False)
    first = advance_flow(scheme=SCHEME, chunk=5)  # chunks smaller than the work: the flow loops
    assert first["intake"] == 12 and first["check"]["ok"]
    assert advance_flow(scheme=SCHEME, chunk=5)["intake"] == 0  # idempotent
    with r.uow() as s:
        for item in review.queue(s, "li.review", limit=100):
            review.decide(s, "li.review", item["ref"], "approve", "材料齐全")
    moved = advance_flow(scheme=SCHEME, chunk=5)
    assert "decisions" not in moved and moved["assignment"] == 12  # decisions took effect when made
    score_all(r)  # uploads through the real path, then a plain advance aggregates
    final = r.finalize_and_end_notice()
    expired = advance_flow(scheme=SCHEME, chunk=5, out_dir=str(tmp_path))
    assert expired["notice_expiry"] == final["funded"]
    assert expired["payment"]["count"] == 0  # payable, but nothing is paid that no finance officer released
    with r.uow() as s:
        released = payments.release(s, "chen.finance", SCHEME).released
    assert len(released) == final["funded"]
    paid = advance_flow(scheme=SCHEME, chunk=5, out_dir=str(tmp_path))
    assert paid["payment"]["count"] == final["funded"] and len(paid["payment"]["files"]) == 1
    again = advance_flow(scheme=SCHEME, chunk=5, out_dir=str(tmp_path))
    assert again["payment"]["count"] == 0 and again["payment"]["files"] == []  # never pays twice, no file
    with r.ro() as s:
        assert checker.run(s)["ok"]
