"""`ipfund bench` on a tiny round: every stage runs through the real flows and the check passes."""

from __future__ import annotations

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
