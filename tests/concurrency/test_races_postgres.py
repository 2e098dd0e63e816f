"""Concurrency on PostgreSQL, with real threads and real transactions (cosmicpython style).

Each race also has a control run with the guards switched off (models.guards.ENABLED = False) that
must show the bug, proving the test can catch it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from flows import synthetic
from flows.services import checker, evaluation, rounds
from models import guards, ledger
from models.uow import unit_of_work
from rules.errors import RuleViolation
from rules.funds import allocation_entries, move_entries, receipt_entries
from tests.conftest import PG_URL
from tests.support import (
    SCHEME,
    applicants_and_applications,
    approve_all,
    scored_round,
    set_clock,
    staff_and_plan,
)

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not PG_URL, reason="concurrency is tested on PostgreSQL (IPFUND_TEST_DATABASE_URL)")]


def race(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Start n threads at the same instant; return each one's result or exception."""
    barrier = threading.Barrier(n)
    out: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = fn(i)
        except Exception as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def payment_race(engine: Any, reps: int) -> list[tuple[int, int]]:
    """8 payments of ¥30,000 race against a line holding ¥100,000; per repetition (successes, balance)."""
    results = []
    for rep in range(reps):
        year = 3000 + rep
        with unit_of_work(engine) as s:
            ledger.post(s, year=year, kind="receipt", memo="r", actor="t", entries=receipt_entries("central", 10_000_000))
            ledger.post(s, year=year, kind="allocation", memo="a", actor="t",
                        entries=allocation_entries("line", "central", 10_000_000))

        def pay(i: int, year: int = year) -> bool:
            with unit_of_work(engine) as s:
                ledger.post(s, year=year, kind="payment", memo=f"p{i}", actor="t",
                            entries=move_entries("line", "central", "available", "paid", 3_000_000))
            return True

        outcome = race(8, pay)
        ok = sum(1 for o in outcome if o is True)
        assert all(o is True or isinstance(o, RuleViolation) for o in outcome), outcome
        with engine.connect() as c:
            bal = c.execute(text("SELECT balance_fen FROM account WHERE year=:y AND name='line:line:central:available'"),
                            {"y": year}).scalar_one()
        results.append((ok, bal))
    return results


def test_eight_concurrent_payments_of_30000_against_100000_exactly_three_succeed(db: Any) -> None:
    for ok, balance in payment_race(db.engine, 50):
        assert ok == 3
        assert balance == 1_000_000  # ¥10,000 left, never negative, no lost update


def test_control_without_row_locks_the_payment_race_loses_updates(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guards, "ENABLED", False)
    results = payment_race(db.engine, 50)
    assert any(ok != 3 or bal != 10_000_000 - 3_000_000 * ok for ok, bal in results), \
        "without the guard the race should have lost an update at least once"


def finalize_race(engine: Any) -> tuple[list[Any], dict[str, Any]]:
    r = scored_round(engine, n_apps=8)
    set_clock("2021-05-10T01:00:00Z")

    def fin(i: int) -> Any:
        with unit_of_work(engine) as s:
            return rounds.finalize(s, ["wang.approve", "qian.approve"][i], SCHEME, 2021)

    out = race(2, fin)
    with r.ro() as s:
        report = checker.run(s)
    return out, report


def one_wins_one_refused(out: list[Any], report: dict[str, Any]) -> bool:
    wins = [o for o in out if isinstance(o, dict)]
    refusals = [o for o in out if isinstance(o, RuleViolation)]
    clear = all("no scored" in str(r) or "changed by someone else" in str(r) for r in refusals)
    return len(wins) == 1 and len(refusals) == 1 and clear and bool(report["ok"])


def test_two_approvers_finalizing_one_round_at_once_one_wins_the_other_is_refused(db: Any) -> None:
    out, report = finalize_race(db.engine)
    assert one_wins_one_refused(out, report), (out, report)


def test_control_without_guards_the_finalize_race_is_caught(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the line lock and the conditional state update, both approvers compute and commit: the
    loser hits the database's UNIQUE(round) as a raw error (or both commit) — not a clean refusal."""
    monkeypatch.setattr(guards, "ENABLED", False)
    out, report = finalize_race(db.engine)
    assert not one_wins_one_refused(out, report), (out, report)


def upload_race(engine: Any) -> tuple[list[Any], list[tuple[int, str, int]]]:
    staff_and_plan(engine)
    r = applicants_and_applications(engine, n_apps=6)
    approve_all(r)
    with r.ro() as s:
        tpl = evaluation.template(s, "eval1", "csv").decode("utf-8-sig").splitlines()[1:]
    pairs = [tuple(line.split(",")[:2]) for line in tpl]
    files = [synthetic.scores_csv([(a, c, score, "") for a, c in pairs]) for score in ("80", "85.5")]

    def up(i: int) -> Any:
        with unit_of_work(engine) as s:
            return evaluation.upload(s, "eval1", files[i], f"f{i}.csv")

    out = race(2, up)
    with engine.connect() as c:
        active = [tuple(row) for row in c.execute(text(
            "SELECT application_id, criterion, score_tenths FROM score WHERE evaluator='eval1' AND active")).all()]
    return out, active


def test_two_uploads_by_one_evaluator_at_once_leave_one_consistent_result(db: Any) -> None:
    out, active = upload_race(db.engine)
    assert all(not isinstance(o, Exception) or isinstance(o, RuleViolation) for o in out), out
    keys = [(a, c) for a, c, _ in active]
    assert len(keys) == len(set(keys)), "two active scores for one criterion"
    assert len({s for _, _, s in active}) == 1, "active scores mix two uploads"


def test_control_without_the_evaluator_lock_concurrent_uploads_collide(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guards, "ENABLED", False)
    both_compared = threading.Barrier(2)
    # Force the interleaving the lock prevents: both uploads compare with the old scores before either writes.
    monkeypatch.setattr(guards, "_checkpoints", {})  # restored (without the hook) after the test
    guards.hook("scores.upload.compared", lambda: both_compared.wait(timeout=10))
    out, active = upload_race(db.engine)
    clean = all(not isinstance(o, Exception) or isinstance(o, RuleViolation) for o in out)
    keys = [(a, c) for a, c, _ in active]
    consistent = len(keys) == len(set(keys)) and len({s for _, _, s in active}) <= 1
    assert not (clean and consistent), "without the lock the race should fail uncleanly or mix results"


# --- the service-agency registry: two reviewers act on one agency at once ------------------------------------

def _agency_race(db: Any) -> tuple[list[Any], list[str]]:
    """Two reviewers suspend one accredited agency at the same instant, both having read it accredited."""
    from flows.services import agencies, users
    from rules.uscc import make_uscc

    code = make_uscc("370602", 9301)
    set_clock("2021-03-01T01:00:00Z")
    with unit_of_work(db.engine) as s:
        for name in ("li", "zhao"):
            users.create_user(s, "admin", name, ["reviewer"], name, "烟台市市场监管局")
        agencies.apply(s, "admin", code, "烟台正道知识产权代理有限公司", "芝罘区南大街1号", 4, True)
        agencies.accredit(s, "li", code, ["consulting=3000"])
    both_read = threading.Barrier(2)
    guards.hook("agency.move.read", lambda: both_read.wait(10))
    try:
        out = race(2, lambda i: _suspend(db, ["li", "zhao"][i], code))
    finally:
        guards.hook("agency.move.read", None)
    with db.engine.connect() as c:
        acts = [r[0] for r in c.execute(text("SELECT action FROM agency_event ORDER BY id")).all()]
    return out, acts


def _suspend(db: Any, who: str, code: str) -> str:
    from flows.services import agencies

    with unit_of_work(db.engine) as s:
        return agencies.change(s, who, code, "suspend", f"{who}: 抽查不合格").state


def test_two_reviewers_suspending_one_agency_at_once_one_wins_the_other_is_refused(db: Any) -> None:
    out, acts = _agency_race(db)
    assert sorted(type(o).__name__ for o in out) == ["IllegalTransition", "str"], out
    assert "was changed by someone else (no longer 'accredited')" in str(next(o for o in out if not isinstance(o, str)))
    assert acts == ["apply", "accredit", "suspend"]
    with unit_of_work(db.engine) as s:
        assert checker.run(s)["ok"]


def test_control_without_the_state_guard_the_agency_race_writes_two_suspensions(
        db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guards, "ENABLED", False)
    out, acts = _agency_race(db)
    assert out == ["suspended", "suspended"]
    assert acts == ["apply", "accredit", "suspend", "suspend"]
    with unit_of_work(db.engine) as s:
        failing = [c for c in checker.run(s)["checks"] if not c["ok"]]
    assert [c["check"] for c in failing] == ["agency state = its last event"]
