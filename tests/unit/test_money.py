"""Unit and property tests for rules.money."""

from __future__ import annotations

import decimal
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.money import (
    MoneyFormatError,
    RoundingMode,
    _round_fraction,
    apply_ratio,
    fen_to_yuan_str,
    format_yuan,
    parse_yuan,
    round_to_fen,
    split_largest_remainder,
    to_daxie,
)

# --------------------------------------------------------------------------------------------------
# parse_yuan
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("12,345.67", 1_234_567),
        ("12345.6", 1_234_560),
        ("0.01", 1),
        ("100", 10_000),
        ("0", 0),
        ("0.00", 0),
        ("  8.5\t", 850),
        ("¥12,345.67", 1_234_567),
        ("￥1,000", 100_000),
        ("\u00a0¥0.5\u3000", 50),
        ("1,234,567,890.12", 123_456_789_012),
        ("999", 99_900),
        ("123,456", 12_345_600),
    ],
)
def test_parse_yuan_accepts(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    ("text", "fen"),
    [("-12.34", -1234), ("-¥12,345.67", -1_234_567), ("-0.05", -5), ("-0", 0)],
)
def test_parse_yuan_negative_when_allowed(text: str, fen: int) -> None:
    assert parse_yuan(text, allow_negative=True) == fen


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("12.345", "more than two decimal places"),
        ("12.340", "more than two decimal places"),
        ("", "is blank"),
        ("   ", "is blank"),
        ("abc", "is not an amount in yuan"),
        ("12元", "is not an amount in yuan"),
        ("１２", "is not an amount in yuan"),
        ("1 000", "is not an amount in yuan"),
        ("1e5", "exponent notation"),
        ("1.5E+3", "exponent notation"),
        ("NaN", "NaN/infinity"),
        ("inf", "NaN/infinity"),
        ("-Infinity", "NaN/infinity"),
        ("12,34.00", "thousands separators"),
        ("1,2345", "thousands separators"),
        ("1234,567", "thousands separators"),
        (",123", "thousands separators"),
        ("12.", "ends with a decimal point"),
        (".5", "no digits before the decimal point"),
        ("+12", 'leading "+"'),
        ("12-", "misplaced minus"),
        ("¥-12", "misplaced minus"),
        ("-12.34", "is negative"),
        ("-¥0.01", "is negative"),
        ("12.3.4", "is not an amount in yuan"),
        ("¥", "is not an amount in yuan"),
    ],
)
def test_parse_yuan_rejects(text: str, fragment: str) -> None:
    with pytest.raises(MoneyFormatError) as exc:
        parse_yuan(text, field="central funds")
    message = str(exc.value)
    assert fragment in message
    assert message.startswith(f'central funds "{text}"')


def test_more_than_two_decimals_message_is_exact() -> None:
    with pytest.raises(MoneyFormatError) as exc:
        parse_yuan("12.345")
    assert str(exc.value) == (
        'amount "12.345" has more than two decimal places; amounts are in yuan with at most 2 decimals '
        '(fen), e.g. "12.34"'
    )


def test_zero_rejected_when_not_allowed() -> None:
    with pytest.raises(MoneyFormatError, match=r'award "0\.00" is zero; award must be at least 0\.01 yuan'):
        parse_yuan("0.00", field="award", allow_zero=False)
    assert parse_yuan("0.01", allow_zero=False) == 1


@pytest.mark.parametrize("value", [12.34, 0.1, float("nan")])
def test_float_is_never_money(value: float) -> None:
    bad: Any = value
    with pytest.raises(MoneyFormatError, match="floats are never accepted for money") as exc:
        parse_yuan(bad)
    assert repr(value) in str(exc.value)
    assert isinstance(exc.value, ValueError)


@pytest.mark.parametrize("value", [12, Decimal("1.00"), None, b"12"])
def test_non_text_rejected(value: object) -> None:
    bad: Any = value
    with pytest.raises(MoneyFormatError, match=r"amount .* (is an int|not text)"):
        parse_yuan(bad)


# --------------------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fen", "plain", "display"),
    [
        (1_234_567, "12345.67", "¥12,345.67"),
        (-1_234_567, "-12345.67", "-¥12,345.67"),
        (-5, "-0.05", "-¥0.05"),
        (0, "0.00", "¥0.00"),
        (1, "0.01", "¥0.01"),
        (100, "1.00", "¥1.00"),
        (100_000_000_000, "1000000000.00", "¥1,000,000,000.00"),
    ],
)
def test_formatting(fen: int, plain: str, display: str) -> None:
    assert fen_to_yuan_str(fen) == plain
    assert format_yuan(fen) == display


@pytest.mark.parametrize("fn", [fen_to_yuan_str, format_yuan, to_daxie])
@pytest.mark.parametrize("value", [1.5, True, Decimal(1), "12"])
def test_formatters_require_int_fen(fn: Any, value: object) -> None:
    with pytest.raises(TypeError):
        fn(value)


amounts = st.integers(min_value=-(10**15), max_value=10**15)


@given(amounts)
def test_parse_format_round_trip(fen: int) -> None:
    assert parse_yuan(format_yuan(fen), allow_negative=True) == fen
    assert parse_yuan(fen_to_yuan_str(fen), allow_negative=True) == fen


# --------------------------------------------------------------------------------------------------
# 大写
# --------------------------------------------------------------------------------------------------

DAXIE = [
    ("0", "零元整"),
    ("0.05", "伍分"),
    ("0.50", "伍角整"),
    ("0.55", "伍角伍分"),
    ("1", "壹元整"),
    ("1.05", "壹元零伍分"),
    ("10", "壹拾元整"),
    ("10.50", "壹拾元伍角整"),
    ("110", "壹佰壹拾元整"),
    ("325.04", "叁佰贰拾伍元零肆分"),
    ("1001", "壹仟零壹元整"),
    ("1409.50", "壹仟肆佰零玖元伍角整"),
    ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
    ("6007.14", "陆仟零柒元壹角肆分"),
    ("12,345.67", "壹万贰仟叁佰肆拾伍元陆角柒分"),
    ("16,409.02", "壹万陆仟肆佰零玖元零贰分"),
    ("50,000", "伍万元整"),
    ("100,010", "壹拾万零壹拾元整"),
    ("105,000", "壹拾万伍仟元整"),
    ("107,000.53", "壹拾万柒仟元伍角叁分"),
    ("1,000,000.07", "壹佰万元零柒分"),
    ("1,010,101.01", "壹佰零壹万零壹佰零壹元零壹分"),
    ("20,000,300.40", "贰仟万零叁佰元肆角整"),
    ("100,000,000.00", "壹亿元整"),
    ("100,000,001", "壹亿零壹元整"),
    ("100,001,000", "壹亿零壹仟元整"),
    ("100,100,000", "壹亿零壹拾万元整"),
    ("120,000,000", "壹亿贰仟万元整"),
    ("1,000,010,000", "壹拾亿零壹万元整"),
    ("10,000,000,000,000", "壹拾万亿元整"),
    ("-0.05", "负伍分"),
    ("-50,000", "负伍万元整"),
]


@pytest.mark.parametrize(("yuan", "daxie"), DAXIE)
def test_to_daxie_table(yuan: str, daxie: str) -> None:
    assert to_daxie(parse_yuan(yuan, allow_negative=True)) == daxie


@given(st.integers(min_value=0, max_value=10**16))
def test_daxie_shape(fen: int) -> None:
    text = to_daxie(fen)
    assert "零零" not in text
    assert not text.startswith("零") or fen == 0
    assert text.endswith("分") != text.endswith("整")
    assert ("整" in text) == (fen % 10 == 0)
    assert "零元" not in text or fen == 0
    assert "零万" not in text and "零亿" not in text and "零角" not in text


# --------------------------------------------------------------------------------------------------
# rounding
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "mode", "fen"),
    [
        ("2.5", RoundingMode.half_up, 3),
        ("2.5", RoundingMode.half_even, 2),
        ("3.5", RoundingMode.half_even, 4),
        ("2.5", RoundingMode.down, 2),
        ("2.5", RoundingMode.up, 3),
        ("2.49999", RoundingMode.half_up, 2),
        ("2.00001", RoundingMode.up, 3),
        ("2.99999", RoundingMode.down, 2),
        ("-2.5", RoundingMode.half_up, -3),
        ("-2.5", RoundingMode.half_even, -2),
        ("-2.5", RoundingMode.down, -2),
        ("-2.5", RoundingMode.up, -3),
        ("7", RoundingMode.up, 7),
        ("123456789012345678901234567890.5", RoundingMode.half_up, 123456789012345678901234567891),
    ],
)
def test_round_to_fen(amount: str, mode: RoundingMode, fen: int) -> None:
    assert round_to_fen(Decimal(amount), mode) == fen


def test_round_to_fen_ignores_ambient_context() -> None:
    with decimal.localcontext() as ctx:
        ctx.rounding = decimal.ROUND_FLOOR
        ctx.prec = 3
        assert round_to_fen(Decimal("12345.5"), RoundingMode.half_up) == 12346
        assert round_to_fen(Decimal("-0.5"), RoundingMode.half_even) == 0


def test_rounding_mode_values() -> None:
    assert [m.value for m in RoundingMode] == ["half_up", "half_even", "down", "up"]
    assert RoundingMode("half_even") is RoundingMode.half_even
    assert isinstance(RoundingMode.half_up, str)
    assert RoundingMode.half_up.decimal_rounding == decimal.ROUND_HALF_UP


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity")])
def test_round_to_fen_rejects_non_finite(bad: Decimal) -> None:
    with pytest.raises(ValueError, match="not finite"):
        round_to_fen(bad, RoundingMode.half_up)


decimals = st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**12), max_value=10**12, places=4)


@given(decimals, st.sampled_from(list(RoundingMode)))
def test_decimal_and_fraction_rounding_agree(amount: Decimal, mode: RoundingMode) -> None:
    result = round_to_fen(amount, mode)
    assert result == _round_fraction(Fraction(amount), mode)
    assert abs(Fraction(result) - Fraction(amount)) < 1


@pytest.mark.parametrize(
    ("base", "ratio", "mode", "fen"),
    [
        (50_000_000, Decimal("1.2"), RoundingMode.half_up, 60_000_000),  # 1:1.2 local match, 三(二)
        (50_000_000, Decimal("0.40"), RoundingMode.half_up, 20_000_000),  # 40 % floor, 三(二)
        (1, Fraction(1, 2), RoundingMode.half_up, 1),
        (1, Fraction(1, 2), RoundingMode.half_even, 0),
        (3, Fraction(1, 2), RoundingMode.half_even, 2),
        (10, Fraction(1, 3), RoundingMode.half_up, 3),
        (10, Fraction(1, 3), RoundingMode.up, 4),
        (20, Fraction(1, 3), RoundingMode.down, 6),
        (-1, Fraction(1, 2), RoundingMode.half_up, -1),
        (12_345, Decimal("0.333"), RoundingMode.half_up, 4111),  # 4110.885
        # 1/3 exactly: 3 × 1/3 is 1, not 0.999… (a Decimal third would round down here)
        (3, Fraction(1, 3), RoundingMode.down, 1),
    ],
)
def test_apply_ratio(base: int, ratio: Fraction | Decimal, mode: RoundingMode, fen: int) -> None:
    assert apply_ratio(base, ratio, mode) == fen


def test_apply_ratio_rejects_float_and_non_finite() -> None:
    bad: Any = 1.2
    with pytest.raises(TypeError, match="floats are never used for money"):
        apply_ratio(100, bad, RoundingMode.half_up)
    with pytest.raises(ValueError, match="not finite"):
        apply_ratio(100, Decimal("NaN"), RoundingMode.half_up)


# --------------------------------------------------------------------------------------------------
# split_largest_remainder
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (2, [1, 1, 1], [1, 1, 0]),
        (10, [1, 2, 3, 4], [1, 2, 3, 4]),
        (7, [3, 0, 2], [4, 0, 3]),  # 4.2, 0, 2.8 -> remainders 0.2 / 0.8
        (0, [0, 0], [0, 0]),
        (0, [], []),
        (5, [7], [5]),
        (1, [0, 5, 5], [0, 1, 0]),
        (11_000_000, [10, 12], [5_000_000, 6_000_000]),  # 1 : 1.2
    ],
)
def test_split_examples(total: int, weights: list[int], parts: list[int]) -> None:
    assert split_largest_remainder(total, weights) == parts


@pytest.mark.parametrize(
    ("total", "weights", "fragment"),
    [
        (-1, [1], "negative"),
        (10, [1, -1], "weight #1 is -1"),
        (10, [0, 0], "sum to zero"),
        (10, [], "sum to zero"),
    ],
)
def test_split_rejects(total: int, weights: list[int], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        split_largest_remainder(total, weights)


@given(
    st.integers(min_value=0, max_value=10**13),
    st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30).filter(any),
)
def test_split_properties(total: int, weights: list[int]) -> None:
    parts = split_largest_remainder(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    weight_sum = sum(weights)
    for part, w in zip(parts, weights, strict=True):
        exact = Fraction(total * w, weight_sum)
        assert abs(part - exact) < 1  # floor or ceiling of the exact share
        if w == 0:
            assert part == 0
    assert split_largest_remainder(total, tuple(weights)) == parts  # deterministic


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=50))
def test_split_equal_weights_favours_lowest_index(total: int, n: int) -> None:
    parts = split_largest_remainder(total, [1] * n)
    q, r = divmod(total, n)
    assert parts == [q + 1] * r + [q] * (n - r)
