"""A real `advance` flow run under Prefect writes signed checkpoints of what it appended (every unit of
work that appends audit events does), and its own invariant check compares them with the chain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from models import checkpoints
from tests.support import SCHEME, applicants_and_applications, staff_and_plan

pytestmark = pytest.mark.flows


def test_an_advance_flow_run_ends_covered_by_a_checkpoint_its_check_compares(
        db: Any, prefect_api: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.prefect_flows import advance_flow

    monkeypatch.setenv("IPFUND_AUDIT_KEY", str(tmp_path / "audit-key.pem"))
    monkeypatch.setenv("IPFUND_CHECKPOINTS", str(tmp_path / "checkpoints"))
    checkpoints.generate_key()
    staff_and_plan(db.engine)
    applicants_and_applications(db.engine, n_apps=12, flawed=False)
    before = len(checkpoints.read(tmp_path / "checkpoints")[0])
    assert before > 0  # the set-up's own units of work signed theirs
    totals = advance_flow(scheme=SCHEME, chunk=5)
    assert totals["intake"] == 12
    found = [x.checkpoint for x in checkpoints.read(tmp_path / "checkpoints")[0]]
    assert len(found) > before
    head = db.scalar("SELECT MAX(seq) FROM audit_event")
    assert max(c.seq for c in found) == head
    line = next(c for c in totals["check"]["checks"] if c["check"] == "audit checkpoints match")
    assert line["ok"] and "after #" in line["detail"], line
