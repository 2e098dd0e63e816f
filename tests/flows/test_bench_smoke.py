"""`ipfund bench` on a tiny round: every stage runs through the real flows and the check passes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.flows


def test_the_benchmark_runs_a_small_round_end_to_end(prefect_api: None, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.bench import run_bench
    from models.db import get_engine

    monkeypatch.setenv("IPFUND_DATABASE_URL", "sqlite://")  # restored after the test
    monkeypatch.setenv("IPFUND_NOW", "2021-03-01T01:00:00Z")
    monkeypatch.setenv("IPFUND_CHECKPOINTS", str(tmp_path / "checkpoints"))  # run_bench sets its own; restored
    try:
        summary = run_bench(60, tmp_path, chunk=25)
    finally:
        get_engine.cache_clear()
    assert summary["check_ok"] is True
    assert summary["applications"] == 60
    assert summary["rows_written"] > 60 * 20
    assert summary["baseline_seconds"] > 0 and summary["ratio_to_baseline"] > 0


@pytest.mark.skipif(not os.environ.get("IPFUND_TEST_DATABASE_URL"), reason="needs the PostgreSQL test server")
def test_the_benchmark_runs_on_postgresql_in_databases_of_its_own(prefect_api: None, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`ipfund bench --database-url`: the round and the baseline in databases the bench makes on that server;
    the URL's own database is left as it was."""
    from sqlalchemy import text

    from flows.bench import BASELINE_DATABASE, BENCH_DATABASE, run_bench
    from models.db import get_engine, make_engine

    url = os.environ["IPFUND_TEST_DATABASE_URL"]
    monkeypatch.setenv("IPFUND_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("IPFUND_NOW", "2021-03-01T01:00:00Z")
    monkeypatch.setenv("IPFUND_CHECKPOINTS", str(tmp_path / "checkpoints"))
    try:
        summary = run_bench(40, tmp_path, chunk=25, database_url=url)
    finally:
        get_engine.cache_clear()
    assert summary["database"] == "PostgreSQL" and summary["check_ok"] is True
    assert summary["baseline_seconds"] > 0
    server = make_engine(url)
    with server.connect() as c:
        names = set(c.execute(text("SELECT datname FROM pg_database")).scalars())
    server.dispose()
    assert {BENCH_DATABASE, BASELINE_DATABASE} <= names
    with make_engine(url.rsplit("/", 1)[0] + f"/{BENCH_DATABASE}").connect() as c:
        assert c.execute(text("SELECT COUNT(*) FROM application")).scalar_one() == 40
