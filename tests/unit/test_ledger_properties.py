"""Properties of the fund ledger under random sequences of postings.

Pure: rules.funds.apply_entries keeps every invariant — all balances sum to zero (double entry), no line
or source account is ever below zero, and a refused posting leaves the balances exactly as they were.
DB-backed (fewer examples): models.ledger.post keeps account.balance_fen equal to the SUM of its
posting_entry rows, checked with raw SQL that does not trust the ORM.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from models import ledger
from models.uow import unit_of_work
from rules.errors import LedgerViolation, NegativeBalance, UnbalancedPosting
from rules.funds import (
    allocation_entries,
    apply_entries,
    is_external,
    line_account,
    move_entries,
    receipt_entries,
    source_account,
)

SOURCES = ("central", "municipal")
LINES = ("cluster-zone-build", "certification-award")

# (kind, line, source, amount_fen). Amounts include 0 (an unbalanced, refused posting) and small values
# so that refusals (not enough money) and exact-boundary postings both happen often.
amounts = st.one_of(st.integers(min_value=0, max_value=5), st.integers(min_value=1, max_value=2_000_000))
operations = st.tuples(
    st.sampled_from(["receipt", "allocate", "deallocate", "commit", "pay", "release", "reverse"]),
    st.sampled_from(LINES),
    st.sampled_from(SOURCES),
    amounts,
)

# operation -> (account that must hold the amount, entries builder)
BUCKET_MOVES = {
    "commit": ("available", "committed"),
    "pay": ("committed", "paid"),
    "release": ("committed", "available"),
    "reverse": ("paid", "committed"),
}


def entries_for(kind: str, line: str, source: str, amount: int) -> tuple[list[tuple[str, int]], str | None]:
    """The posting for one operation, and the account it draws on (None: draws on an external account)."""
    if kind == "receipt":
        return receipt_entries(source, amount), None
    if kind == "allocate":
        return allocation_entries(line, source, amount), source_account(source)
    if kind == "deallocate":
        return allocation_entries(line, source, -amount), line_account(line, source, "available")
    src, dst = BUCKET_MOVES[kind]
    return move_entries(line, source, src, dst, amount), line_account(line, source, src)


def expected_refusal(balances: Mapping[str, int], amount: int,
                     drawn: str | None) -> type[LedgerViolation] | None:
    """The oracle: a zero-fen entry is unbalanced; drawing more than an account holds goes negative."""
    if amount == 0:
        return UnbalancedPosting
    if drawn is not None and balances.get(drawn, 0) < amount:
        return NegativeBalance
    return None


def assert_invariants(balances: Mapping[str, int]) -> None:
    assert sum(balances.values()) == 0, "double entry: all balances sum to zero"
    for account, bal in balances.items():
        if not is_external(account):
            assert bal >= 0, f"{account} is below zero: {bal}"


@given(st.lists(operations, max_size=40))
def test_random_postings_keep_every_ledger_invariant(ops: list[tuple[str, str, str, int]]) -> None:
    balances: dict[str, int] = {}
    for kind, line, source, amount in ops:
        entries, drawn = entries_for(kind, line, source, amount)
        expected = expected_refusal(balances, amount, drawn)
        before = dict(balances)
        try:
            balances = apply_entries(balances, entries)
        except LedgerViolation as exc:
            assert type(exc) is expected, f"{kind} {amount}: refused with {exc!r}, expected {expected}"
            assert balances == before, "a refused posting leaves the balances unchanged"
            continue
        held = before.get(drawn or "", 0)
        assert expected is None, f"{kind} {amount} fen from {held}: accepted, expected refusal"
        assert_invariants(balances)
        # A line's allocated money is the sum of its buckets; it only changes by allocation.
        if kind in BUCKET_MOVES:
            def allocated(b: Mapping[str, int], ln: str = line, s: str = source) -> int:
                return sum(b.get(line_account(ln, s, k), 0) for k in ("available", "committed", "paid"))
            assert allocated(balances) == allocated(before)


@given(st.integers(min_value=4, max_value=10**12),
       st.integers(min_value=-3, max_value=3).filter(lambda d: d != 0))
def test_a_posting_that_is_off_by_any_amount_is_refused_as_unbalanced(amount: int, off: int) -> None:
    entries = [(line_account("x", "central", "committed"), amount + off),
               (line_account("x", "central", "available"), -amount)]
    start = {line_account("x", "central", "available"): amount + 3}
    try:
        apply_entries(start, entries)
    except UnbalancedPosting as exc:
        assert f"entries sum to {off} fen" in str(exc)
    else:
        raise AssertionError("an unbalanced posting was accepted")


_years = itertools.count(3000)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operations, min_size=1, max_size=15))
def test_posted_balances_always_equal_the_sum_of_their_entries_in_the_database(
        db: Any, ops: list[tuple[str, str, str, int]]) -> None:
    # One database for all examples: each example writes a fiscal year of its own, so they never meet.
    year = next(_years)
    model: dict[str, int] = {}
    with unit_of_work(db.engine) as s:
        for kind, line, source, amount in ops:
            entries, _ = entries_for(kind, line, source, amount)
            try:
                # A savepoint per posting: a refused posting is rolled back and the others stay.
                with s.begin_nested():
                    ledger.post(s, year=year, kind=kind, memo="property", actor="admin", entries=entries)
            except LedgerViolation:
                continue
            model = apply_entries(model, entries)

    with db.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT a.name, a.balance_fen, COALESCE(SUM(e.amount_fen), 0) FROM account a "
            "LEFT JOIN posting_entry e ON e.account_id = a.id WHERE a.year = :y "
            "GROUP BY a.id, a.name, a.balance_fen"
        ), {"y": year}).all()
        per_posting = conn.execute(text(
            "SELECT p.id, SUM(e.amount_fen) FROM posting p JOIN posting_entry e ON e.posting_id = p.id "
            "WHERE p.year = :y GROUP BY p.id"
        ), {"y": year}).all()
    stored = {name: bal for name, bal, _ in rows}
    for name, bal, entry_sum in rows:
        assert bal == entry_sum, f"{name}: balance {bal} fen but its entries sum to {entry_sum} fen"
    assert all(total == 0 for _, total in per_posting), per_posting
    assert_invariants(stored)
    # The database agrees with the pure model (accounts never touched by an accepted posting hold 0).
    assert {k: v for k, v in stored.items() if v} == {k: v for k, v in model.items() if v}
