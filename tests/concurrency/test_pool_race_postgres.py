"""The risk-compensation pool under concurrency, on PostgreSQL (二(三)7, 以其余额为限): two banks' approved
claims paid at the same instant against a pool that can pay only one — exactly one is paid, the other is
refused cleanly, the balance never goes below zero and no update is lost. The control run switches the
guards off (models.guards.ENABLED = False: no lock on the pool balance) and forces both payments to read
the balance before either writes: both are paid from money the pool held once, proving the test catches it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from flows.services import checker, loans, pool
from models import guards
from models.uow import read_only, unit_of_work
from rules.errors import RuleViolation
from rules.schemes import risk_compensation
from tests.concurrency.test_races_postgres import race
from tests.conftest import PG_URL
from tests.loan_support import BANK_A, BANK_B, SME1, SME2, ok, setup_registry

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not PG_URL, reason="concurrency is tested on PostgreSQL (IPFUND_TEST_DATABASE_URL)")]

SHARE_FEN = 40_000_000  # the city pool's 40 % of a ¥1,000,000 loss: ¥400,000, what the pool holds each round


def _loan(ref: str, bank: str, borrower: str) -> dict[str, str]:
    return {"bank": bank, "ref": ref, "borrower": borrower, "principal": "1000000", "rate": "3.65%",
            "drawdown": "2021-01-10", "maturity": "2022-01-10", "pledged_ip": "ZL202010123456.7",
            "pledge_reg_no": f"Y2021370{ref}", "pledge_reg_date": "2021-01-05", "ip_share": "", "cover_kind": "",
            "cover_party": "", "cover_share": "", "first_loan": ""}


def _two_approved_claims(engine: Any, rep: int) -> list[str]:
    """¥400,000 into the pool, a ¥1,000,000 loan of each bank filed, defaulted, claimed and approved."""
    refs = []
    with unit_of_work(engine) as s:
        pool.contribute(s, "zhou", "municipal", "400,000", f"SZ-{rep:03d}", "2021-01-05")
    for staff, bank, borrower, ref in (("zhao", BANK_A, SME1, f"A{rep:03d}"), ("qian", BANK_B, SME2, f"B{rep:03d}")):
        with unit_of_work(engine) as s:
            loans.register(s, staff, _loan(ref, bank, borrower))
            pool.file_loan(s, staff, ref, on="2021-02-01")
            c = pool.claim(s, staff, ref, "2021-05-17", on="2021-05-20")
            pool.decide(s, "li", c.ref, "approve")
            refs.append(c.ref)
    return refs


def pay_race(engine: Any, reps: int, interleave: bool = False) -> list[tuple[list[Any], int]]:
    """Per repetition: each payment's outcome and the pool balance after both. ``interleave`` (the control run
    only: with the lock, the second payment waits before it reads) makes both read the balance before either
    writes."""
    results = []
    for rep in range(reps):
        refs = _two_approved_claims(engine, rep)
        if interleave:
            both_read = threading.Barrier(2)
            guards.hook("pool.pay.balance_read", lambda b=both_read: b.wait(10))

        def pay(i: int, refs: list[str] = refs) -> Any:
            with unit_of_work(engine) as s:
                return pool.pay(s, "zhou", refs[i]).paid_fen

        out = race(2, pay)
        with engine.connect() as c:
            held = c.execute(text("SELECT balance_fen FROM account WHERE year = 0 AND name = 'pool:balance'")).scalar_one()
        results.append((out, held))
        guards.hook("pool.pay.balance_read", None)
        waiting = [ref for ref, o in zip(refs, out, strict=True) if isinstance(o, RuleViolation)]
        with unit_of_work(engine) as s:  # the refused claim waits for the next contribution, then is paid
            pool.contribute(s, "zhou", "municipal", "400,000", f"SZ-{rep:03d}-b", "2021-01-05")
            for ref in waiting:
                pool.pay(s, "zhou", ref)
    return results


def _setup(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two banks with staff, finance zhou, reviewer li. Every loan of these banks defaults, so each would soon
    be suspended from the pool (业务暂停 at 5 % non-performing): the threshold is not under test here."""
    monkeypatch.setattr(risk_compensation, "bank_suspended", lambda *a: (False, "not under test"))
    setup_registry(cli, tmp_path)
    ok(cli("user", "add", "zhou", "--role", "finance", "--affiliation", "烟台市财政局", "--as", "admin"))


def test_two_banks_claims_against_a_pool_that_can_pay_one_exactly_one_is_paid_50_times(
        db: Any, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _setup(cli, tmp_path, monkeypatch)
    for out, held in pay_race(db.engine, 50):
        paid = [o for o in out if o == SHARE_FEN]
        refused = [o for o in out if isinstance(o, RuleViolation) and "the pool holds ¥0.00" in str(o)]
        assert (len(paid), len(refused), held) == (1, 1, 0), (out, held)
    with read_only(db.engine) as s:
        report = checker.run(s)
    assert report["ok"], [c for c in report["checks"] if not c["ok"]]


def test_control_without_the_lock_both_claims_are_paid_from_money_held_once(
        db: Any, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _setup(cli, tmp_path, monkeypatch)
    monkeypatch.setattr(guards, "ENABLED", False)
    monkeypatch.setattr(guards, "_checkpoints", {})  # restored (without the hook) after the test
    results = pay_race(db.engine, 10, interleave=True)
    assert any(sum(1 for o in out if o == SHARE_FEN) == 2 for out, _ in results), \
        f"without the lock both payments should have been made at least once: {results}"
    with read_only(db.engine) as s:
        report = checker.run(s)
    assert not report["ok"], "the checker must see the lost update"
