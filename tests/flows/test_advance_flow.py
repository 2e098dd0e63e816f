"""The real `advance` flow under Prefect, over a small round: every stage runs, the run is
idempotent, and the invariant check passes at its end."""

from __future__ import annotations

import time
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


def test_one_run_advances_every_scheme_with_one_named_task_per_step_and_a_result_artifact(
        db: Any, prefect_api: None, tmp_path: Path) -> None:
    """Without --scheme the flow runs each scheme's own declared steps (the pilot has no payment step), as
    named tasks the Prefect UI shows, and publishes what moved as a table artifact."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
    )

    from flows.prefect_flows import advance_flow
    from flows.services import applications
    from flows.services.advance import steps_of
    from tests.integration.test_pilot_scheme import PILOT, product

    staff_and_plan(db.engine)
    r = applicants_and_applications(db.engine, n_apps=4, flawed=False)
    with r.uow() as s:
        pilot_refs = [applications.apply(s, "admin", PILOT, product(f"产品{i}", n), r.pool[i].uscc).ref
                      for i, n in enumerate((8, 2))]
    totals = advance_flow(chunk=50, out_dir=str(tmp_path))
    assert totals["schemes"][SCHEME]["intake"] == 4 and totals["schemes"][PILOT]["intake"] == 2
    assert "payment" not in steps_of(PILOT) and totals["check"]["ok"]
    assert r.status(r.refs[0]) == "formal_review"
    assert r.status(pilot_refs[0]) == "district_review" and r.status(pilot_refs[1]) == "rejected"
    wanted = {"intake", "escalation", "assignment", "aggregation", "notice_expiry", "payment", "invariant-check"}
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_runs(limit=1, sort="START_TIME_DESC")[0]
        # Prefect records task runs through its event pipeline: the last one may reach the API a moment
        # after the flow returns, so read until every step is there (bounded), not once.
        deadline = time.monotonic() + 15
        while True:
            names = {t.name.rsplit("-", 1)[0] for t in client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))}
            if wanted <= names or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["advance-all"])),
                                          flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))
    assert {"intake", "escalation", "assignment", "aggregation", "notice_expiry", "payment",
            "invariant-check"} <= names
    assert len(artifacts) == 1
    table = artifacts[0].data if isinstance(artifacts[0].data, str) else str(artifacts[0].data)
    assert PILOT in table and SCHEME in table and "intake_failed" in table
