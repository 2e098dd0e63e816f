"""Step definitions for features/money.feature."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from rules.money import (
    MoneyFormatError,
    RoundingMode,
    apply_ratio,
    fen_to_yuan_str,
    format_yuan,
    parse_yuan,
    round_to_fen,
    split_largest_remainder,
    to_daxie,
)

# Explicit base dir: works whether or not pyproject.toml sets bdd_features_base_dir.
FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("money.feature", features_base_dir=str(FEATURES))

ROUNDING_WORDS = {
    "四舍五入": RoundingMode.half_up,
    "银行家舍入": RoundingMode.half_even,
    "舍去": RoundingMode.down,
}


def _fen(yuan: str) -> int:
    return parse_yuan(yuan, allow_negative=True)


def _shares(text: str) -> list[str]:
    return [s.strip() for s in text.replace(" and ", ",").split(",")]


@pytest.fixture
def ctx() -> dict[str, Any]:
    return {}


# ---- parsing -------------------------------------------------------------------------------------


@when(parsers.re(r'a clerk enters "(?P<typed>[^"]*)" as the award amount'))
def clerk_enters(ctx: dict[str, Any], typed: str) -> None:
    try:
        ctx["fen"] = parse_yuan(typed, field="award amount")
    except MoneyFormatError as exc:
        ctx["error"] = exc


@when(parsers.re(r'a clerk enters "(?P<typed>[^"]*)" as an award amount that must be positive'))
def clerk_enters_positive(ctx: dict[str, Any], typed: str) -> None:
    try:
        ctx["fen"] = parse_yuan(typed, field="award amount", allow_zero=False)
    except MoneyFormatError as exc:
        ctx["error"] = exc


@when(parsers.parse("a program passes the float {value:g} as the award amount"))
def program_passes_float(ctx: dict[str, Any], value: float) -> None:
    bad: Any = value
    try:
        ctx["fen"] = parse_yuan(bad, field="award amount")
    except MoneyFormatError as exc:
        ctx["error"] = exc


@then(parsers.parse("the award amount is {fen:d} fen"))
def award_amount_is(ctx: dict[str, Any], fen: int) -> None:
    assert "error" not in ctx, ctx.get("error")
    assert ctx["fen"] == fen


@then(parsers.parse("the amount is rejected because it {reason}"))
def rejected_because_it(ctx: dict[str, Any], reason: str) -> None:
    assert "fen" not in ctx, f"accepted as {ctx.get('fen')} fen"
    message = str(ctx["error"])
    assert reason in message
    assert message.startswith("award amount ")


@then(parsers.parse("the amount is rejected because floats are never accepted for money"))
def rejected_float(ctx: dict[str, Any]) -> None:
    assert "fen" not in ctx
    assert "floats are never accepted for money" in str(ctx["error"])


# ---- formatting and 大写 -------------------------------------------------------------------------


@given(parsers.parse("an award of {yuan} yuan"), target_fixture="award")
def an_award(yuan: str) -> int:
    return _fen(yuan)


@then(parsers.parse('the award is displayed as "{text}"'))
def displayed_as(award: int, text: str) -> None:
    assert format_yuan(award) == text


@then(parsers.parse('the award is written to files as "{text}"'))
def written_to_files_as(award: int, text: str) -> None:
    assert fen_to_yuan_str(award) == text


@then(parsers.parse('the award is written in 大写 as "{daxie}"'))
def written_in_daxie(award: int, daxie: str) -> None:
    assert to_daxie(award) == daxie


# ---- rounding ------------------------------------------------------------------------------------


@given(parsers.parse("central funds of {yuan} yuan"), target_fixture="central")
def central_funds(yuan: str) -> int:
    return _fen(yuan)


@when(parsers.parse("the local match at the ratio {ratio} is computed with {word}"))
def local_match(ctx: dict[str, Any], central: int, ratio: str, word: str) -> None:
    ctx["match"] = apply_ratio(central, Decimal(ratio), ROUNDING_WORDS[word])


@then(parsers.parse("the local match is {yuan} yuan"))
def local_match_is(ctx: dict[str, Any], yuan: str) -> None:
    assert ctx["match"] == _fen(yuan)


@when(parsers.parse("a computed amount of {yuan} yuan is rounded with {mode}"))
def rounded_with(ctx: dict[str, Any], yuan: str, mode: str) -> None:
    ctx["rounded"] = round_to_fen(Decimal(yuan) * 100, RoundingMode(mode))


@then(parsers.parse("the rounded amount is {yuan} yuan"))
def rounded_amount_is(ctx: dict[str, Any], yuan: str) -> None:
    assert ctx["rounded"] == _fen(yuan)


# ---- splitting -----------------------------------------------------------------------------------


@given(parsers.parse("a total of {yuan} yuan"), target_fixture="total")
def a_total(yuan: str) -> int:
    return _fen(yuan)


@when(parsers.parse("it is split in the proportions {weights}"))
def split_in(ctx: dict[str, Any], total: int, weights: str) -> None:
    try:
        ctx["shares"] = split_largest_remainder(total, [int(w) for w in _shares(weights)])
    except ValueError as exc:
        ctx["error"] = exc


@then(parsers.parse("the shares are {shares} yuan"))
def shares_are(ctx: dict[str, Any], total: int, shares: str) -> None:
    expected = [_fen(s) for s in _shares(shares)]
    assert ctx["shares"] == expected
    assert sum(ctx["shares"]) == total


@then(parsers.parse("the split is refused because the weights sum to zero"))
def split_refused(ctx: dict[str, Any]) -> None:
    assert "shares" not in ctx
    assert "sum to zero" in str(ctx["error"])
