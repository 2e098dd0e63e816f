"""Money rules: parsing, formatting, 人民币大写, rounding and apportionment.

Every amount inside ipfund is an ``int`` number of fen (分); 1 yuan (元) = 100 fen. Text in yuan is
accepted only at the edges (forms, spreadsheets) through :func:`parse_yuan`, and produced only through
:func:`fen_to_yuan_str`, :func:`format_yuan` and :func:`to_daxie`.

Floats never touch money: ratios are :class:`fractions.Fraction` or :class:`decimal.Decimal`, rounding
always names its :class:`RoundingMode` explicitly, and apportionment is exact integer arithmetic.

This module is pure: no I/O, no global state (the ambient :mod:`decimal` context is never used).
"""

from __future__ import annotations

import decimal
import math
import re
from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

__all__ = [
    "MoneyFormatError",
    "RoundingMode",
    "apply_ratio",
    "fen_to_yuan_str",
    "format_yuan",
    "parse_yuan",
    "round_to_fen",
    "split_by_shares",
    "split_largest_remainder",
    "to_daxie",
]

FEN_PER_YUAN = 100


class MoneyFormatError(ValueError):
    """A text amount is not a well-formed yuan amount.

    The rule: an amount is text in yuan with at most two decimals (fen), plain ASCII digits, an optional
    leading ``¥``/``￥``, optional thousands commas placed in correct groups of three, and optional
    surrounding whitespace, e.g. ``"12,345.67"``, ``"¥0.01"``, ``"100"``. Floats, exponent notation,
    NaN/infinity, more than two decimals, negative amounts (unless the caller allows them) and zero
    (when the caller forbids it) are rejected. The message names the field, quotes the value, says why
    it is wrong and how to write it instead.
    """


# --------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------

_EXAMPLE = 'e.g. "12,345.67" or "12345.67"'

_AMOUNT_RE = re.compile(
    r"""
    (?P<sign>-?)
    [¥￥]?
    (?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)
    (?:\.(?P<frac>[0-9]{1,2}))?
    """,
    re.VERBOSE,
)
_DIGITS_DOT_RE = re.compile(r"-?[¥￥]?[0-9,]*\.?[0-9]*")
_EXPONENT_RE = re.compile(r"-?[¥￥]?[0-9.,]*[0-9][eE][+-]?[0-9]+")
_NON_FINITE = frozenset({"nan", "-nan", "+nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"})


def _fail(field: str, value: str, why: str) -> MoneyFormatError:
    return MoneyFormatError(f'{field} "{value}" {why}')


def parse_yuan(
    text: str,
    *,
    field: str = "amount",
    allow_zero: bool = True,
    allow_negative: bool = False,
) -> int:
    """Parse a yuan amount written as text and return it in fen.

    Accepts ``"12,345.67"``, ``"12345.6"``, ``"0.01"``, ``"100"``, ``" ¥1,000 "``, ``"￥8.5"``; with
    ``allow_negative=True`` also ``"-12.34"`` and ``"-¥12.34"``. ``field`` names the amount in error
    messages (e.g. ``"central funds"``).

    Raises :class:`MoneyFormatError` (a :class:`ValueError`) for anything else, including non-``str``
    input such as a ``float``.
    """
    if not isinstance(text, str):
        kind = type(text).__name__
        if isinstance(text, float):
            why = (
                f"{field} {text!r} is a float; floats are never accepted for money because they cannot "
                f"represent fen exactly; pass the amount as text in yuan, {_EXAMPLE}"
            )
        elif isinstance(text, int) and not isinstance(text, bool):
            why = (
                f"{field} {text!r} is an int; parse_yuan reads text in yuan, so pass e.g. "
                f'"{text}" (yuan) as a string, or use the integer directly if it is already in fen'
            )
        else:
            why = f"{field} {text!r} is a {kind}, not text; pass the amount as text in yuan, {_EXAMPLE}"
        raise MoneyFormatError(why)

    raw = text
    s = text.strip()
    if not s:
        raise _fail(field, raw, f"is blank; enter an amount in yuan, {_EXAMPLE}")

    m = _AMOUNT_RE.fullmatch(s)
    if m is None:
        raise _diagnose(field, raw, s)

    integer = int(m.group("int").replace(",", ""))
    frac = (m.group("frac") or "").ljust(2, "0")
    fen = integer * FEN_PER_YUAN + int(frac)
    if m.group("sign"):
        fen = -fen

    if fen < 0 and not allow_negative:
        raise _fail(
            field,
            raw,
            f"is negative; {field} must be {'zero or more' if allow_zero else 'positive'}, "
            "so enter it without the minus sign, "
            'e.g. "12.34", or record a refund/reduction where the workflow provides one',
        )
    if fen == 0 and not allow_zero:
        raise _fail(field, raw, f'is zero; {field} must be at least 0.01 yuan (1 fen), e.g. "0.01"')
    return fen


def _diagnose(field: str, raw: str, s: str) -> MoneyFormatError:
    """Explain why ``s`` (``raw`` stripped) is not an amount."""
    body = s.lstrip("+-").lstrip("¥￥").lstrip("+-")
    if s.lower() in _NON_FINITE or body.lower() in _NON_FINITE:
        return _fail(field, raw, f"is not a number (NaN/infinity); amounts are finite yuan, {_EXAMPLE}")
    if _EXPONENT_RE.fullmatch(s):
        return _fail(
            field,
            raw,
            f"uses exponent notation; write the amount out in full in yuan, {_EXAMPLE} "
            '(e.g. "100000" instead of "1e5")',
        )
    if s.startswith("+"):
        return _fail(field, raw, f'has a leading "+"; write the amount without a sign, {_EXAMPLE}')
    if "-" in s[1:] or s.startswith(("¥-", "￥-")):
        return _fail(
            field, raw, 'has a misplaced minus sign; a negative amount is written "-12.34" or "-¥12.34"'
        )
    if _DIGITS_DOT_RE.fullmatch(s):
        int_part, dot, frac = body.partition(".")
        if dot and len(frac) > 2 and "," not in frac and "." not in frac:
            return _fail(
                field,
                raw,
                "has more than two decimal places; amounts are in yuan with at most 2 decimals (fen), "
                'e.g. "12.34"',
            )
        if dot and not frac:
            return _fail(field, raw, 'ends with a decimal point; write "12" or "12.50", not "12."')
        if dot and not int_part:
            return _fail(field, raw, 'has no digits before the decimal point; write "0.50", not ".50"')
        if "," in int_part or "," in frac:
            return _fail(
                field,
                raw,
                "has thousands separators in the wrong place; commas must separate groups of exactly "
                f"three digits left of the decimal point, {_EXAMPLE}, or leave them out",
            )
    return _fail(
        field,
        raw,
        f"is not an amount in yuan; use ASCII digits, an optional decimal point with at most 2 decimals, "
        f'optional thousands commas and an optional leading "¥", {_EXAMPLE}',
    )


# --------------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------------


def _check_fen(fen: int) -> None:
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"amount {fen!r} must be an int number of fen, not {type(fen).__name__}")


def fen_to_yuan_str(fen: int) -> str:
    """Plain yuan text for files: ``1234567`` -> ``"12345.67"``, ``-5`` -> ``"-0.05"``, 0 -> ``"0.00"``."""
    _check_fen(fen)
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{yuan}.{cents:02d}"


def format_yuan(fen: int) -> str:
    """Display text: ``1234567`` -> ``"¥12,345.67"``, ``-1234567`` -> ``"-¥12,345.67"``."""
    _check_fen(fen)
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}¥{yuan:,}.{cents:02d}"


# --------------------------------------------------------------------------------------------------
# 人民币大写
# --------------------------------------------------------------------------------------------------

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SECTION_UNITS = ("仟", "佰", "拾", "")


def _daxie_section(n: int) -> str:
    """1..9999 without leading 零: 1001 -> 壹仟零壹, 10 -> 壹拾, 1010 -> 壹仟零壹拾."""
    digits = f"{n:04d}"
    out: list[str] = []
    pending_zero = False
    started = False
    for d, unit in zip(digits, _SECTION_UNITS, strict=True):
        if d == "0":
            pending_zero = started
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(_DIGITS[int(d)] + unit)
        started = True
    return "".join(out)


def _daxie_integer(n: int) -> str:
    """Positive integer in 大写 with 万/亿 sections; a gap of zeros between non-zero digits is one 零."""
    if n >= 10**8:
        high, low = divmod(n, 10**8)
        out = _daxie_integer(high) + "亿"
        if low:
            if low < 10**7:  # the 千万 digit is zero: zeros separate 亿 from what follows
                out += "零"
            out += _daxie_integer(low)
        return out
    if n >= 10**4:
        high, low = divmod(n, 10**4)
        out = _daxie_section(high) + "万"
        if low:
            if low < 1000:  # the 千 digit is zero
                out += "零"
            out += _daxie_section(low)
        return out
    return _daxie_section(n)


def to_daxie(fen: int) -> str:
    """Amount in 人民币大写 (Chinese financial capitals), per 《支付结算办法》 附件一
    《正确填写票据和结算凭证的基本规定》.

    Conventions (where the rules allow a choice, the choice is fixed here):

    * digits 零壹贰叁肆伍陆柒捌玖, units 拾佰仟万亿, 元角分; tens are always written 壹拾
      (10 -> 壹拾元整, 100010 -> 壹拾万零壹拾元整), as on bank forms;
    * a run of zeros between non-zero digits is written as one 零 (6007.14 -> 陆仟零柒元壹角肆分),
      also across 万/亿 sections (100000001 -> 壹亿零壹元整);
    * zeros that only end a section need no 零 (105000 -> 壹拾万伍仟元整), and when the 元 digit is 0
      but 角 is not, no 零 is written after 元 (1680.32 -> 壹仟陆佰捌拾元叁角贰分) — both are the
      "可以不写" option of rule (三);
    * 角 = 0 with 分 ≠ 0 always writes 零 after 元 (16409.02 -> 壹万陆仟肆佰零玖元零贰分), rule (四);
    * 整 follows amounts ending in 元 or 角 (10.50 -> 壹拾元伍角整; the rules allow 整 after 角 and
      we always write it, which also prevents additions); amounts ending in 分 never take 整;
    * amounts below one yuan have no 元 part (0.05 -> 伍分, 0.50 -> 伍角整); zero is 零元整;
    * negative amounts are prefixed with 负.
    """
    _check_fen(fen)
    if fen < 0:
        return "负" + to_daxie(-fen)
    yuan, rest = divmod(fen, FEN_PER_YUAN)
    jiao, fen_digit = divmod(rest, 10)
    if fen == 0:
        return "零元整"

    out = _daxie_integer(yuan) + "元" if yuan else ""
    if jiao:
        out += _DIGITS[jiao] + "角"
    elif fen_digit and yuan:
        out += "零"
    if fen_digit:
        out += _DIGITS[fen_digit] + "分"
    else:
        out += "整"
    return out


# --------------------------------------------------------------------------------------------------
# Rounding
# --------------------------------------------------------------------------------------------------


class RoundingMode(StrEnum):
    """How a computed amount is rounded to whole fen (a ``str`` enum: ``str(mode) == mode.value``).

    Ties and signs follow :mod:`decimal`: ``up``/``half_up`` move away from zero, ``down`` toward zero.
    """

    half_up = "half_up"  # 四舍五入: ties away from zero (policy default)
    half_even = "half_even"  # 银行家舍入: ties to the even fen
    down = "down"  # 舍去: toward zero
    up = "up"  # 进一: away from zero

    @property
    def decimal_rounding(self) -> str:
        """The matching :mod:`decimal` rounding constant."""
        return _DECIMAL_ROUNDING[self]


_DECIMAL_ROUNDING: dict[RoundingMode, str] = {
    RoundingMode.half_up: decimal.ROUND_HALF_UP,
    RoundingMode.half_even: decimal.ROUND_HALF_EVEN,
    RoundingMode.down: decimal.ROUND_DOWN,
    RoundingMode.up: decimal.ROUND_UP,
}


def round_to_fen(amount: Decimal, mode: RoundingMode) -> int:
    """Round an amount **in fen** held as a :class:`~decimal.Decimal` to whole fen.

    The rounding is always the explicit ``mode``; the ambient decimal context is never consulted (a
    private local context with traps on is used).
    """
    if not isinstance(amount, Decimal):
        raise TypeError(f"amount {amount!r} must be a Decimal number of fen, not {type(amount).__name__}")
    if not amount.is_finite():
        raise ValueError(f"amount {amount} is not finite; only finite fen amounts can be rounded")
    rounding = RoundingMode(mode).decimal_rounding
    ctx = decimal.Context(
        prec=max(28, len(amount.as_tuple().digits) + 2),
        rounding=rounding,
        traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
    )
    with decimal.localcontext(ctx):
        return int(amount.to_integral_value(rounding=rounding, context=ctx))


def _round_fraction(value: Fraction, mode: RoundingMode) -> int:
    """Round an exact rational to an integer with the same semantics as :func:`round_to_fen`."""
    sign = -1 if value < 0 else 1
    num, den = abs(value.numerator), value.denominator
    whole, rem = divmod(num, den)
    if mode is RoundingMode.down:
        bump = False
    elif mode is RoundingMode.up:
        bump = rem > 0
    elif mode is RoundingMode.half_up:
        bump = 2 * rem >= den
    else:  # half_even
        bump = 2 * rem > den or (2 * rem == den and whole % 2 == 1)
    return sign * (whole + int(bump))


def apply_ratio(base_fen: int, ratio: Fraction | Decimal, mode: RoundingMode) -> int:
    """``base_fen × ratio`` rounded to whole fen, computed exactly.

    E.g. the 1:1.2 local match for 500,000.00 yuan of central funds:
    ``apply_ratio(50_000_000, Decimal("1.2"), RoundingMode.half_up) == 60_000_000``.
    """
    _check_fen(base_fen)
    if isinstance(ratio, Decimal):
        if not ratio.is_finite():
            raise ValueError(f"ratio {ratio} is not finite; use a finite Decimal or a Fraction")
        exact = Fraction(ratio)
    elif isinstance(ratio, Fraction):
        exact = ratio
    else:
        raise TypeError(
            f"ratio {ratio!r} must be a Fraction or a Decimal (floats are never used for money), "
            f"not {type(ratio).__name__}"
        )
    return _round_fraction(base_fen * exact, RoundingMode(mode))


# --------------------------------------------------------------------------------------------------
# Apportionment
# --------------------------------------------------------------------------------------------------


def split_largest_remainder(total_fen: int, weights: Sequence[int]) -> list[int]:
    """Split ``total_fen`` in proportion to ``weights`` (Hamilton / largest-remainder method).

    Guarantees: the parts sum to ``total_fen``; each part is the floor or the ceiling of its exact share
    ``total_fen × w / Σw``; a zero weight gets 0; fen left over after flooring go to the largest
    remainders, ties to the lowest index. Exact integer arithmetic only.

    Raises :class:`ValueError` for a negative total, a negative weight, or zero total weight with a
    non-zero total.
    """
    _check_fen(total_fen)
    if total_fen < 0:
        raise ValueError(
            f"total {total_fen} fen is negative; only a non-negative amount can be split, "
            "split the absolute amount and negate the parts if needed"
        )
    ws = list(weights)
    for i, w in enumerate(ws):
        if isinstance(w, bool) or not isinstance(w, int):
            raise TypeError(f"weight #{i} {w!r} must be an int, not {type(w).__name__}")
        if w < 0:
            raise ValueError(f"weight #{i} is {w}; weights must be zero or positive")
    weight_sum = sum(ws)
    if weight_sum == 0:
        if total_fen == 0:
            return [0] * len(ws)
        raise ValueError(
            f"cannot split {total_fen} fen: the weights {ws} sum to zero; "
            "give at least one share a positive weight"
        )
    parts: list[int] = []
    remainders: list[int] = []
    for w in ws:
        q, r = divmod(total_fen * w, weight_sum)
        parts.append(q)
        remainders.append(r)
    leftover = total_fen - sum(parts)  # 0 <= leftover < len(ws); Σ remainders = leftover × weight_sum
    for i in sorted(range(len(ws)), key=lambda i: (-remainders[i], i))[:leftover]:
        parts[i] += 1
    return parts


def split_by_shares(total_fen: int, shares: Sequence[Fraction]) -> list[int]:
    """Split ``total_fen`` by exact shares (Fractions, e.g. a policy's 0.67 / 0.33 or 54 % : 26 % : …) by
    largest remainder: the shares over their least common denominator are the integer weights of
    :func:`split_largest_remainder`, so the parts sum to the total exactly. All-zero shares give zeros."""
    den = math.lcm(*(f.denominator for f in shares)) if shares else 1
    weights = [int(f * den) for f in shares]
    if not any(weights):
        return [0] * len(weights)
    return split_largest_remainder(total_fen, weights)
