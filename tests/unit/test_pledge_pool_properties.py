"""Properties of the pledge-financing rules (二(三)7), for any input Hypothesis finds:

* an interest subsidy never exceeds the interest paid, the yearly cap left or the cumulative cap left,
  and is nothing once the loan has had its years;
* the parts of any loss sum exactly to the loss, and what the parties finally bear too;
* the pool never pays more than its balance or the per-loan cap;
* under any sequence of contributions, compensations and recoveries the pool balance never goes negative;
* a recovery's parts sum to the recovery and no party recovers more than it bore.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.policy import load_policy
from rules.schemes import pledge_interest_subsidy as pis
from rules.schemes import risk_compensation as pool

POLICY = load_policy()
BASE = dt.date(2021, 1, 1)

fen = st.integers(min_value=1, max_value=5_000_000_000)
days = st.integers(min_value=1, max_value=800)
share = st.fractions(min_value=Fraction(1, 100), max_value=1, max_denominator=100)


@st.composite
def loans(draw: st.DrawFn) -> tuple[pis.Loan, list[pis.InterestPayment]]:
    principal = draw(st.integers(min_value=100_000, max_value=2_000_000_000))
    rate = Decimal(draw(st.integers(min_value=100, max_value=1_500))) / Decimal(10_000)
    start = BASE + dt.timedelta(days=draw(st.integers(min_value=0, max_value=700)))
    term = draw(days)
    loan = pis.Loan("L", "B", principal, rate, start, start + dt.timedelta(days=term), draw(share),
                    draw(st.fractions(min_value=0, max_value=1, max_denominator=10)),
                    whitelisted=draw(st.booleans()))
    payments = []
    cursor = start
    for i in range(draw(st.integers(min_value=0, max_value=6))):
        span = draw(st.integers(min_value=1, max_value=120))
        end = cursor + dt.timedelta(days=span)
        cap = pis.interest_allowed_fen(loan, cursor, end, 365)
        amount = draw(st.integers(min_value=1, max_value=max(1, cap)))
        kind = draw(st.sampled_from(pis.PAYMENT_KINDS))
        payments.append(pis.InterestPayment(str(i), cursor, end, amount, kind))  # type: ignore[arg-type]
        cursor = end
    return loan, payments


@settings(max_examples=300, deadline=None)
@given(loans(), st.integers(min_value=0, max_value=60_000_000), st.integers(min_value=0, max_value=120_000_000),
       st.integers(min_value=0, max_value=3), st.integers(min_value=0, max_value=900), st.integers(min_value=1, max_value=400))
def test_a_subsidy_never_exceeds_the_interest_paid_or_any_cap(
        lp: tuple[pis.Loan, list[pis.InterestPayment]], year: int, cumulative: int, years: int, w0: int, wlen: int) -> None:
    loan, payments = lp
    window = (BASE + dt.timedelta(days=w0), BASE + dt.timedelta(days=w0 + wlen))
    s = pis.interest_subsidy(POLICY, loan, payments, pis.Granted(year, cumulative, years), window)
    on = window[1] - dt.timedelta(days=1)
    paid_total = sum(p.amount_fen for p in payments if p.kind == "normal")
    assert 0 <= s.amount_fen <= s.interest_paid_fen <= paid_total
    assert s.amount_fen <= s.formula_fen
    assert s.amount_fen <= max(0, POLICY.fen("pledge-interest-subsidy.cap_fen_per_enterprise_year", on) - year)
    assert s.amount_fen <= max(0, POLICY.fen("pledge-interest-subsidy.cap_fen_cumulative", on) - cumulative)
    if years >= POLICY.integer("pledge-interest-subsidy.max_years_per_loan", on):
        assert s.amount_fen == 0
    assert s.days <= wlen


weights = st.dictionaries(st.sampled_from(["pool", "bank", "insurer", "guarantor", "evaluator", "province"]),
                          st.integers(min_value=0, max_value=100), min_size=1).filter(lambda d: sum(d.values()) > 0)


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=0, max_value=10_000_000_000), weights)
def test_the_parts_of_any_loss_sum_exactly_to_the_loss(loss: int, w: dict[str, int]) -> None:
    parts = pool.split(loss, w)
    assert sum(parts.values()) == loss
    total = sum(w.values())
    for k, v in parts.items():
        exact = Fraction(loss * w[k], total)
        assert exact - 1 < v < exact + 1


claim_dates = st.sampled_from([dt.date(2021, 6, 1), dt.date(2022, 6, 1)])


@settings(max_examples=300, deadline=None)
@given(fen, claim_dates, st.sampled_from(["standard", "assessed"]), st.integers(min_value=0, max_value=3_000_000_000),
       st.integers(min_value=0, max_value=200_000_000))
def test_the_pool_pays_within_its_balance_and_cap_and_the_parties_bear_the_loss(
        loss: int, filed: dt.date, tier: str, balance: int, before: int) -> None:
    c = pool.compensation(POLICY, loss, filed, dt.date(2022, 9, 1), tier, balance, before)
    cap = POLICY.value("risk-compensation.cap_fen_per_loan", dt.date(2022, 9, 1))[tier]
    assert 0 <= c.pool_pays_fen <= min(balance, max(0, cap - before), c.pool_due_fen)
    assert sum(c.parts.values()) == loss == sum(c.borne.values())
    assert all(v >= 0 for v in c.borne.values())


events = st.lists(st.one_of(
    st.tuples(st.just("contribute"), st.integers(min_value=1, max_value=500_000_000)),
    st.tuples(st.just("claim"), fen, claim_dates, st.sampled_from(["standard", "assessed"])),
    st.tuples(st.just("recover"), st.integers(min_value=0, max_value=100)),
), max_size=40)


@settings(max_examples=300, deadline=None)
@given(events)
def test_the_pool_balance_never_goes_below_zero(seq: list[tuple]) -> None:  # type: ignore[type-arg]
    contributions: list[int] = []
    paid: list[int] = []
    back: list[int] = []
    open_claims: list[pool.Compensation] = []
    for ev in seq:
        balance = pool.pool_balance(contributions, paid, back)
        if ev[0] == "contribute":
            contributions.append(ev[1])
        elif ev[0] == "claim":
            c = pool.compensation(POLICY, ev[1], ev[2], dt.date(2022, 9, 1), ev[3], balance)
            paid.append(c.pool_pays_fen)
            open_claims.append(c)
        elif open_claims:
            c = open_claims.pop(0)
            recovered = c.loss_fen * ev[1] // 100
            parts = pool.recovery_split(recovered, c.borne)
            assert sum(parts.values()) == recovered
            assert all(parts[k] <= c.borne[k] for k in parts)
            own = pool.pool_parties(POLICY, dt.date(2022, 9, 1) if "province_pool" in c.parts else dt.date(2021, 6, 1))
            back.append(sum(parts[k] for k in own if k in parts))
            assert sum(parts[k] for k in own if k in parts) <= c.pool_pays_fen
        assert pool.pool_balance(contributions, paid, back) >= 0
