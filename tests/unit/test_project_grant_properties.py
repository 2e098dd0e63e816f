"""Properties of the project-grant rules (二(四)12, 三(三)) for any input Hypothesis finds: the tranches and
their release always account for the whole grant (Σ released + cancelled + open = the grant); a clawback
never exceeds what was paid; the grade bands give every score from 0 to 100 exactly one grade; attainment
stays within [0, cap]."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.policy import load_policy
from rules.schemes import project_grant as pg

POLICY = load_policy()
ON = dt.date(2022, 3, 1)
GRADES = [b[0] for b in pg.bands(POLICY, ON)]


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=0, max_value=10_000_000_000), st.sampled_from(GRADES), st.booleans())
def test_released_cancelled_and_open_always_sum_to_the_grant(grant: int, grade: str, mid_term_done: bool) -> None:
    plan = pg.tranche_plan(POLICY, grant, ON)
    assert sum(t.amount_fen for t in plan) == grant
    released = cancelled = open_ = 0
    for t in plan:
        if t.banded and not mid_term_done:
            open_ += t.amount_fen
            continue
        r = pg.release(POLICY, t, grade, ON)
        assert r.released_fen + r.cancelled_fen == t.amount_fen and r.released_fen >= 0 and r.cancelled_fen >= 0
        released += r.released_fen
        cancelled += r.cancelled_fen
    assert released + cancelled + open_ == grant
    u = pg.unrectified(POLICY, grant, released, released, ON)
    assert u.cancelled_fen + released == grant
    assert 0 <= u.clawback_fen <= released


@settings(max_examples=400, deadline=None)
@given(st.fractions(min_value=0, max_value=100, max_denominator=10_000))
def test_every_score_has_exactly_one_grade(score: Fraction) -> None:
    grade, _ = pg.grade_of(POLICY, score, ON)
    holding = [g for i, (g, _, floor) in enumerate(pg.bands(POLICY, ON))
               if score >= floor and (i == 0 or score < pg.bands(POLICY, ON)[i - 1][2])]
    assert holding == [grade]


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=0, max_value=10**9),
       st.integers(min_value=0, max_value=10**9))
def test_a_clawback_is_refused_exactly_above_what_is_left_to_claw(amount: int, paid: int, before: int) -> None:
    problem = pg.clawback_problem(amount, paid, before)
    assert (problem is None) == (amount <= paid - before)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-1000, max_value=1000), st.integers(min_value=1, max_value=1000),
       st.integers(min_value=-5000, max_value=5000), st.sampled_from(["reach", "reduce", "done"]))
def test_attainment_stays_within_zero_and_the_cap(base: int, span: int, actual: int, formula: str) -> None:
    target = base + span if formula != "reduce" else base - span
    k = pg.Kpi("k", "k", "n", Fraction(base), Fraction(target), Fraction(100), formula)  # type: ignore[arg-type]
    a = pg.attainment(POLICY, k, Fraction(actual), ON)
    assert 0 <= a <= POLICY.ratio("project-grant.attainment_cap", ON)
