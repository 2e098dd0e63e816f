"""rules/money.py: what a refused amount is told, and rounding half to even on both sides of a tie
(written to kill the mutants `make mutate` found surviving)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from rules.money import (
    MoneyFormatError,
    RoundingMode,
    _round_fraction,
    apply_ratio,
    parse_yuan,
    round_to_fen,
    split_largest_remainder,
    to_daxie,
)

EXAMPLE = 'e.g. "12,345.67" or "12345.67"'
NAN = f"is not a number (NaN/infinity); amounts are finite yuan, {EXAMPLE}"
GENERIC = ("is not an amount in yuan; use ASCII digits, an optional decimal point with at most 2 decimals, "
           f'optional thousands commas and an optional leading "¥", {EXAMPLE}')
NO_LEADING_DIGIT = 'has no digits before the decimal point; write "0.50", not ".50"'
MINUS = 'has a misplaced minus sign; a negative amount is written "-12.34" or "-¥12.34"'


@pytest.mark.parametrize(("text", "why"), [
    ("¥nan", NAN),
    ("-¥nan", NAN),
    ("¥--nan", NAN),
    ("￥INF", NAN),
    ("¥ nan", GENERIC),
    ("Xnan", GENERIC),
    ("¥Xnan", GENERIC),
    ("abc", GENERIC),
    ("¥.50", NO_LEADING_DIGIT),
    ("-¥.50", NO_LEADING_DIGIT),
    ("1-2", MINUS),
    ("¥-12", MINUS),
    ("1e5", f'uses exponent notation; write the amount out in full in yuan, {EXAMPLE} (e.g. "100000" instead of "1e5")'),
    ("12.", 'ends with a decimal point; write "12" or "12.50", not "12."'),
    ("1,23.45", "has thousands separators in the wrong place; commas must separate groups of exactly three digits "
                f"left of the decimal point, {EXAMPLE}, or leave them out"),
    ("1.234", 'has more than two decimal places; amounts are in yuan with at most 2 decimals (fen), e.g. "12.34"'),
])
def test_a_refused_amount_is_told_exactly_what_is_wrong_with_it(text: str, why: str) -> None:
    with pytest.raises(MoneyFormatError) as exc:
        parse_yuan(text, field="amount")
    assert str(exc.value) == f'amount "{text}" {why}'


def test_rounding_a_float_is_refused_naming_its_type() -> None:
    with pytest.raises(TypeError) as exc:
        round_to_fen(1.5, RoundingMode.half_up)  # type: ignore[arg-type]
    assert str(exc.value) == "amount 1.5 must be a Decimal number of fen, not float"


def test_a_float_ratio_is_refused_naming_its_type() -> None:
    with pytest.raises(TypeError) as exc:
        apply_ratio(100, 1.2, RoundingMode.half_up)  # type: ignore[arg-type]
    assert str(exc.value) == ("ratio 1.2 must be a Fraction or a Decimal (floats are never used for money), "
                              "not float")


@pytest.mark.parametrize(("fen_twice", "rounded"), [
    (1, 0), (3, 2), (5, 2), (7, 4), (9, 4), (11, 6), (-7, -4), (-9, -4),
])
def test_half_to_even_rounds_a_tie_to_the_even_fen_on_either_side(fen_twice: int, rounded: int) -> None:
    # 3.5 fen -> 4, 4.5 fen -> 4: the tie goes to the even neighbour whichever it is.
    assert _round_fraction(Fraction(fen_twice, 2), RoundingMode.half_even) == rounded
    assert round_to_fen(Decimal(fen_twice) / 2, RoundingMode.half_even) == rounded
    assert apply_ratio(fen_twice, Fraction(1, 2), RoundingMode.half_even) == rounded


def test_zero_rounds_to_zero_in_every_mode() -> None:
    for mode in RoundingMode:
        assert _round_fraction(Fraction(0), mode) == 0


@pytest.mark.parametrize(("yuan", "daxie"), [
    (1011, "壹仟零壹拾壹元整"),  # one 零 for the gap, none after the digit that follows it
    (110_000_000, "壹亿壹仟万元整"),  # the 千万 digit is not zero: no 零 after 亿
    (11_000, "壹万壹仟元整"),  # the 千 digit is not zero: no 零 after 万
    (101_010, "壹拾万壹仟零壹拾元整"),
])
def test_daxie_writes_a_zero_only_where_a_gap_of_zeros_is(yuan: int, daxie: str) -> None:
    assert to_daxie(yuan * 100) == daxie


@pytest.mark.parametrize(("total", "weights", "error", "message"), [
    (-1, [1], ValueError, "total -1 fen is negative; only a non-negative amount can be split, split the absolute "
                          "amount and negate the parts if needed"),
    (5, [0, 0], ValueError, "cannot split 5 fen: the weights [0, 0] sum to zero; give at least one share a positive "
                            "weight"),
    (5, [True], TypeError, "weight #0 True must be an int, not bool"),
    (5, [2, 1.5], TypeError, "weight #1 1.5 must be an int, not float"),
])
def test_a_split_that_cannot_be_made_is_refused_saying_why(total: int, weights: list[object],
                                                           error: type[Exception], message: str) -> None:
    with pytest.raises(error) as exc:
        split_largest_remainder(total, weights)  # type: ignore[arg-type]
    assert str(exc.value) == message


@pytest.mark.parametrize(("value", "message"), [
    (b"1", 'amount b\'1\' is a bytes, not text; pass the amount as text in yuan, e.g. "12,345.67" or "12345.67"'),
    (True, 'amount True is a bool, not text; pass the amount as text in yuan, e.g. "12,345.67" or "12345.67"'),
    (5, 'amount 5 is an int; parse_yuan reads text in yuan, so pass e.g. "5" (yuan) as a string, or use the '
        "integer directly if it is already in fen"),
])
def test_an_amount_that_is_not_text_is_refused_naming_what_it_is(value: object, message: str) -> None:
    with pytest.raises(MoneyFormatError) as exc:
        parse_yuan(value, field="amount")  # type: ignore[arg-type]
    assert str(exc.value) == message


def test_a_negative_amount_where_zero_is_refused_too_is_told_to_be_positive() -> None:
    with pytest.raises(MoneyFormatError) as exc:
        parse_yuan("-1", field="amount", allow_zero=False)
    assert str(exc.value) == ('amount "-1" is negative; amount must be positive, so enter it without the minus sign, '
                              'e.g. "12.34", or record a refund/reduction where the workflow provides one')


def test_formatting_a_float_is_refused_naming_its_type() -> None:
    from rules.money import format_yuan

    with pytest.raises(TypeError) as exc:
        format_yuan(1.5)  # type: ignore[arg-type]
    assert str(exc.value) == "amount 1.5 must be an int number of fen, not float"
