"""Properties of the pro-rata share of a budget line (rules.allocation.pro_rata, 按比例核减), for any budget and
claims Hypothesis finds: never over the line; the line used exactly when oversubscribed; every claim in full
when it is not; no claim above its amount; each part within one fen of its exact share."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.allocation import pro_rata

amounts = st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=60)
budgets = st.integers(min_value=0, max_value=10**13)


@given(budgets, amounts)
def test_a_pro_rata_share_never_exceeds_the_line_or_a_claim(budget: int, claims: list[int]) -> None:
    parts = pro_rata(budget, claims)
    demand = sum(claims)
    assert len(parts) == len(claims)
    assert sum(parts) == min(budget, demand)  # never over the line; the whole line when oversubscribed
    assert all(0 <= p <= a for p, a in zip(parts, claims, strict=True))
    if demand <= budget:
        assert parts == claims
    else:
        for p, a in zip(parts, claims, strict=True):
            exact = Fraction(budget * a, demand)
            assert exact - 1 < p < exact + 1


def test_one_fen_short_cuts_by_largest_remainder() -> None:
    assert pro_rata(1_085_999, [362_000, 362_000, 362_000]) == [362_000, 362_000, 361_999]
    assert pro_rata(1_086_000, [362_000, 362_000, 362_000]) == [362_000, 362_000, 362_000]


def test_a_negative_budget_or_claim_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 0 fen"):
        pro_rata(-1, [1])
    with pytest.raises(ValueError, match="at least 0 fen"):
        pro_rata(1, [-1])
