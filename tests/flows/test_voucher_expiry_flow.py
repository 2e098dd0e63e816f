"""The custody vouchers' expiry step runs in the real `advance` flow as its own named Prefect task
(`expiry`), in batches, and the flow's invariant check holds after it (二(二)5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support import set_clock
from tests.voucher_support import SCHEME, issue, line_figures, ok, setup_world, status


def test_the_advance_flow_lapses_vouchers_in_its_expiry_task(cli: Any, db: Any, prefect_api: None,
                                                               tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.prefect_flows import advance_flow

    world = setup_world(cli, tmp_path)
    refs = issue(world, [("sme1", "consulting"), ("sme2", "consulting"), ("sme3", "training")])
    set_clock("2021-09-11T01:00:00Z")  # the day after their use-by date
    totals = advance_flow(scheme=SCHEME, chunk=2, out_dir=str(tmp_path))  # batches of 2: two calls
    assert totals["expiry"] == 3 and totals["check"]["ok"]
    assert [status(world, r) for r in refs] == ["expired"] * 3
    assert line_figures(db) == {"committed": 1300000, "settled": 0, "released": 1300000, "open": 0}
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_runs(limit=1, sort="START_TIME_DESC")[0]
        names = [t.name.rsplit("-", 1)[0] for t in client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))]
    assert names.count("expiry") == 2 and "invariant-check" in names
    assert json.loads(ok(world("check", "--json")))["ok"]
