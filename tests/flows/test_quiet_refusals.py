"""Issue 10: a refusal inside the `advance` flow prints its message once, without Prefect's task and
flow-run tracebacks; a bug still shows them."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from flows.services import advance
from rules.errors import RuleViolation

pytestmark = pytest.mark.flows


@pytest.fixture
def prefect_console(prefect_api: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What Prefect's console handlers print while the test runs."""
    from prefect.logging.handlers import PrefectConsoleHandler

    import flows.prefect_flows  # noqa: F401  (Prefect sets up its logging on import)

    buf = io.StringIO()
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, PrefectConsoleHandler)]
    assert handlers, "Prefect's console handler is not on the root logger"
    for h in handlers:
        monkeypatch.setattr(h.console, "file", buf)
    yield buf


def _raise(exc: Exception) -> Any:
    def stage(*_args: Any, **_kwargs: Any) -> tuple[int, int]:
        raise exc

    return stage


def test_a_refusal_inside_the_advance_flow_prints_one_clear_line_and_no_traceback(
        cli: Any, db: Any, prefect_console: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(advance.STAGES, "intake", _raise(RuleViolation("intake refused: the policy is closed")))
    before = db.snapshot()
    r = cli("flows", "advance", "--as", "admin")
    assert r.exit_code == 1, (r.stdout, r.stderr)
    assert r.stderr.strip().splitlines() == ["error: intake refused: the policy is closed"]
    assert "Traceback" not in prefect_console.getvalue() + r.stdout + r.stderr
    assert "intake refused" not in prefect_console.getvalue()
    assert db.snapshot() == before


def test_a_bug_inside_the_advance_flow_still_shows_its_traceback(
        cli: Any, db: Any, prefect_console: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(advance.STAGES, "intake", _raise(ZeroDivisionError("a real bug")))
    with pytest.raises(ZeroDivisionError):
        cli("flows", "advance", "--as", "admin")
    printed = prefect_console.getvalue()
    assert "Traceback" in printed and "ZeroDivisionError: a real bug" in printed


def test_an_unknown_scheme_is_refused_before_prefect_starts(cli: Any, db: Any) -> None:
    before = db.snapshot()
    r = cli("flows", "advance", "--scheme", "nope", "--as", "admin")
    assert r.exit_code == 1
    assert r.stderr.strip() == ("error: policy yantai-2020 has no scheme 'nope' (known: certification-award, custody-voucher, patent-intensive-product, "
                                 "pledge-fee-subsidy, pledge-interest-subsidy, project-navigation, project-operation-centre)")
    assert db.snapshot() == before


def test_broken_invariants_after_advance_are_listed_once_with_exit_3_and_no_traceback(
        cli: Any, db: Any, prefect_console: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    real = advance.run_check

    def broken(audit_from_seq: int = 0) -> dict[str, Any]:
        report = real(audit_from_seq)
        report["checks"][0] = {**report["checks"][0], "ok": False, "detail": "line L1 is out by 1 fen"}
        report["ok"] = False
        return report

    monkeypatch.setattr(advance, "run_check", broken)
    r = cli("flows", "advance", "--as", "admin")
    assert r.exit_code == 3, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("error: invariant check failed after advance: 1 invariant(s) broken; stop and "
                               "investigate")
    assert lines[1].startswith("  - ") and lines[1].endswith(": line L1 is out by 1 fen")
    assert "Traceback" not in prefect_console.getvalue() + r.stdout + r.stderr
