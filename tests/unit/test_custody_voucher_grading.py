"""The grade decides the settlement (引入第三方开展托管项目绩效评价, 二(二)5): pure rules, both sides of the
pass grade (60, illustrative) in both below-pass modes, amounts in fen, the reduced share rounded by the
policy's money.rounding (half up)."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from rules.policy import Parameter, Policy, load_policy
from rules.schemes import custody_voucher as rules

ON = dt.date(2021, 5, 1)


def policy_with(mode: str, share: str = "0.5") -> Policy:
    base = load_policy("yantai-2020")
    p = base.model_copy(deep=True)
    for name, value in (("custody-voucher.below_pass", mode), ("custody-voucher.reduced_share", share)):
        old = p.parameters[name]
        p.parameters[name] = Parameter.model_validate(
            {**old.model_dump(exclude={"value_references"}), "values": {**old.values, dt.date(2021, 1, 1): value}})
    return p


@pytest.mark.parametrize(("mode", "grade", "expected"), [
    ("none", Fraction(60), ("passed", 400000, 0)),  # exactly at the pass grade: settles for all it holds
    ("none", Fraction(599, 10), ("failed", 0, 400000)),  # a tenth below: nothing, all released
    ("none", Fraction(5999, 100), ("failed", 0, 400000)),
    ("reduced", Fraction(60), ("passed", 400000, 0)),
    ("reduced", Fraction(599, 10), ("reduced", 200000, 200000)),  # 0.5 × ¥4,000.00
    ("reduced", Fraction(0), ("reduced", 200000, 200000)),
])
def test_at_or_above_the_pass_grade_a_voucher_settles_for_what_it_holds_below_it_the_policy_decides(
        mode: str, grade: Fraction, expected: tuple[str, int, int]) -> None:
    s = rules.settlement(policy_with(mode), ON, grade, 400000)
    assert (s.outcome, s.pay_fen, s.release_fen) == expected
    assert s.pay_fen + s.release_fen == 400000


def test_a_reduced_settlement_is_rounded_half_up_to_the_fen_and_the_rest_released() -> None:
    s = rules.settlement(policy_with("reduced", "0.5"), ON, Fraction(50), 333333)  # ¥3,333.33 × 0.5 = 1,666.665
    assert (s.pay_fen, s.release_fen) == (166667, 166666)


def test_a_reduced_share_that_rounds_to_nothing_is_no_settlement() -> None:
    s = rules.settlement(policy_with("reduced", "0.1"), ON, Fraction(10), 4)  # 0.4 fen rounds to 0
    assert (s.outcome, s.pay_fen, s.release_fen) == ("failed", 0, 4)


def test_the_pass_grade_is_read_for_the_day() -> None:
    p = policy_with("none")
    assert rules.passes(p, ON, Fraction(60)) and not rules.passes(p, ON, Fraction(5999, 100))


def test_a_voucher_holding_nothing_is_not_graded() -> None:
    with pytest.raises(ValueError, match="must hold its redeemed amount"):
        rules.settlement(policy_with("none"), ON, Fraction(80), 0)
