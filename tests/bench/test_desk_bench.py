"""`ipfund bench --desk` on a small database: every case it builds waits in review, every signed-in user's
every request is answered 200 (a refused sign-in or a failing page is reported, not timed), and the figures
count every request."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text


def test_the_desk_bench_serves_every_request_of_every_user(tmp_path: Path) -> None:
    from flows.desk_bench import PAGES, run_desk_bench
    from models.db import get_engine, make_engine

    mp = pytest.MonkeyPatch()
    for key in ("IPFUND_DATABASE_URL", "IPFUND_NOW", "IPFUND_CHECKPOINTS"):
        mp.setenv(key, "")
    try:
        summary = run_desk_bench(60, 3, 2, tmp_path, think=0.0)
    finally:
        get_engine.cache_clear()
        mp.undo()
    assert summary["errors"] == []
    assert {p: summary["pages"][p]["requests"] for p in PAGES} == {p: 3 * 2 for p in PAGES}
    assert all(summary["pages"][p]["p95_ms"] > 0 for p in PAGES)
    engine = make_engine(f"sqlite:///{tmp_path / 'bench.db'}")
    with engine.connect() as c:
        states = dict(c.execute(text("SELECT status, count(*) FROM application GROUP BY status")).all())
    assert sum(states.values()) == 60 and states.get("formal_review", 0) >= 50  # flawed rows may be refused
    engine.dispose()
