"""Step definitions for features/credit_code.feature."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import parsers, scenarios, then, when

from rules.uscc import CreditCodeError, is_valid_uscc, make_uscc, uscc_division, validate_uscc

# Explicit base dir: works whether or not pyproject.toml sets bdd_features_base_dir.
FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("credit_code.feature", features_base_dir=str(FEATURES))


@pytest.fixture
def ctx() -> dict[str, Any]:
    return {}


@when(parsers.re(r'an applicant registers with the credit code "(?P<code>[^"]*)"'))
def registers(ctx: dict[str, Any], code: str) -> None:
    try:
        ctx["code"] = validate_uscc(code)
    except CreditCodeError as exc:
        ctx["error"] = exc


@when(
    parsers.parse('a synthetic applicant of division "{division}" is generated with serial number {serial:d}')
)
def generated(ctx: dict[str, Any], division: str, serial: int) -> None:
    ctx["code"] = make_uscc(division, serial)


@then(parsers.parse('the credit code is accepted as "{code}"'))
def accepted_as(ctx: dict[str, Any], code: str) -> None:
    assert "error" not in ctx, ctx.get("error")
    assert ctx["code"] == code


@then("its credit code passes every GB 32100-2015 check")
def passes_every_check(ctx: dict[str, Any]) -> None:
    assert is_valid_uscc(ctx["code"])
    assert validate_uscc(ctx["code"]) == ctx["code"]


@then(parsers.parse('the applicant\'s division is "{division}"'))
def division_is(ctx: dict[str, Any], division: str) -> None:
    assert uscc_division(ctx["code"]) == division


@then(parsers.parse('the credit code is rejected by the "{check}" check'))
def rejected_by(ctx: dict[str, Any], check: str) -> None:
    assert "code" not in ctx, f"accepted as {ctx.get('code')}"
    assert ctx["error"].check == check


@then(parsers.parse('the reason says "{reason}"'))
def reason_says(ctx: dict[str, Any], reason: str) -> None:
    assert reason in str(ctx["error"])
