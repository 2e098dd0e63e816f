"""The clawback's pure rules (rules/schemes/custody_voucher.py, 二(四)13; 三(三)): what a fraud finding claws
back of a settled voucher, what a recovery may record, when a clawback is closed; and the ledger's moves
paid → receivable → available, with the fund figures they leave. Both sides of every limit."""

from __future__ import annotations

import pytest

from rules.errors import NegativeBalance
from rules.funds import BUCKETS, apply_entries, line_account, move_entries
from rules.schemes import custody_voucher as cv


def test_a_finding_that_names_no_amount_claws_back_everything_the_voucher_was_paid() -> None:
    assert cv.clawback_fen(400000) == 400000


@pytest.mark.parametrize(("named", "want"), [
    (400000, 400000),  # exactly what was paid (¥4,000.00): a partial clawback of everything
    (399999, 399999),  # one fen below
    (1, 1),            # the least that is an amount
    (150000, 150000),  # ¥1,500.00 of ¥4,000.00
])
def test_a_finding_that_names_an_amount_claws_back_that_amount(named: int, want: int) -> None:
    assert cv.clawback_fen(400000, named) == want


@pytest.mark.parametrize(("named", "words"), [
    (400001, "is above the ¥4,000.00 the voucher was paid"),  # one fen above what was paid
    (0, "is no amount to claw back"),
    (-1, "is no amount to claw back"),
])
def test_a_finding_never_claws_back_more_than_was_paid_nor_nothing(named: int, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        cv.clawback_fen(400000, named)


def test_a_voucher_paid_nothing_has_nothing_to_claw_back() -> None:
    with pytest.raises(ValueError, match="nothing to claw back"):
        cv.clawback_fen(0)


@pytest.mark.parametrize(("amount", "problem"), [
    (300000, None),         # exactly what is outstanding (¥3,000.00)
    (299999, None),         # one fen below
    (1, None),
    (300001, "above the ¥3,000.00 still outstanding on the clawback; record at most what is owed (二(四)13"),
    (0, "must be more than ¥0.00"),
])
def test_a_recovery_is_more_than_nothing_and_at_most_what_is_outstanding(amount: int, problem: str | None) -> None:
    got = cv.recovery_problem(300000, amount)
    assert (got is None) if problem is None else (got is not None and problem in got)


@pytest.mark.parametrize(("recovered", "closed"), [(400000, True), (399999, False), (0, False)])
def test_a_clawback_is_closed_when_everything_it_asked_back_is_recovered(recovered: int, closed: bool) -> None:
    assert cv.fully_recovered(400000, recovered) is closed


def test_a_fraud_always_voids_the_agencys_open_vouchers() -> None:
    assert cv.FRAUD_DISPOSITION == "void" and cv.FRAUD_CLAUSE == "二(四)13"


def test_clawed_back_money_leaves_paid_for_the_receivable_and_recovered_money_returns_to_available() -> None:
    """A clawback is a new posting paid → receivable, a recovery receivable → available: the line's
    allocation (the sum of its buckets) never moves, what is paid drops, and the receivable never goes
    below zero (a recovery above it is refused by the ledger too)."""
    assert BUCKETS == ("available", "committed", "paid", "receivable")
    paid, recv, avail = (line_account("cv", "central", b) for b in ("paid", "receivable", "available"))
    start = {paid: 400000, recv: 0, avail: 100000}
    after = apply_entries(start, move_entries("cv", "central", "paid", "receivable", 400000))
    assert (after[paid], after[recv], after[avail]) == (0, 400000, 100000)
    back = apply_entries(after, move_entries("cv", "central", "receivable", "available", 100000))
    assert (back[paid], back[recv], back[avail]) == (0, 300000, 200000)
    assert sum(back.values()) == sum(start.values())
    with pytest.raises(NegativeBalance):
        apply_entries(back, move_entries("cv", "central", "receivable", "available", 300001))
