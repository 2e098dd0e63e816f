"""flows/demo_pool.pool_step on a fresh database: the pool's year runs through the services and every
invariant holds after it (二(三)7)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows import demo_pool
from flows.services import checker, pool
from models.uow import read_only


def test_the_pool_demo_step_runs_on_a_fresh_database(db: Any, tmp_path: Path) -> None:
    demo_pool.pool_step(db.engine, tmp_path / "work")
    with read_only(db.engine) as s:
        status = pool.status(s, "admin")
        report = checker.run(s)
    assert report["ok"], [c for c in report["checks"] if not c["ok"]]
    claims = {c["loan"]: c for c in status["claims"]}
    assert (claims["BOC-2021-001"]["paid_fen"], claims["BOC-2021-001"]["status"]) == (80_000_000, "settled")
    assert (claims["RCB-2021-001"]["paid_fen"], claims["RCB-2021-001"]["bound"]) == (120_000_000, "share")
    assert (claims["CCB-2021-001"]["paid_fen"], claims["CCB-2021-001"]["bound"]) == (70_000_000, "balance")
    assert (status["contributed_fen"], status["recovered_fen"], status["balance_fen"]) == (250_000_000, 20_000_000, 0)
