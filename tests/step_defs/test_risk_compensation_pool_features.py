"""Step definitions for features/risk_compensation_pool.feature (the pure rules of the pool, 二(三)7)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from rules.money import format_yuan, parse_yuan
from rules.policy import DEFAULT_POLICY_ID, POLICY_DIR, PolicyError, load_policy, parse_policy
from rules.schemes import risk_compensation as pool

FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("risk_compensation_pool.feature", features_base_dir=str(FEATURES))

BOUND = {"its share": "share", "the cap": "cap", "the balance": "balance"}


def _yuan(text: str) -> int:
    return parse_yuan(text.strip())


def _parts(text: str) -> dict[str, str]:
    out = {}
    for item in text.split(", "):
        party, amount = item.rsplit(" ", 1)
        out[party] = amount
    return out


def _policy_text() -> str:
    return (POLICY_DIR / f"{DEFAULT_POLICY_ID}.yaml").read_text(encoding="utf-8")


@pytest.fixture
def case() -> dict[str, Any]:
    return {}


@given("the policy yantai-2020")
def policy(case: dict[str, Any]) -> None:
    case["policy"] = load_policy()


@given("a draft policy where a claim beyond the balance is refused")
def refusing(case: dict[str, Any]) -> None:
    text = _policy_text()
    old = "value: pay_to_balance, reference"
    assert text.count(old) == 1
    case["policy"] = parse_policy(text.replace(old, "value: refuse, reference"), "draft.yaml")


@when(parsers.parse("a {tier} bank claims a loss of {loss} on a loan filed {filed}, claimed {claimed}, "
                    "with {balance} in the pool"))
def claim(case: dict[str, Any], tier: str, loss: str, filed: str, claimed: str, balance: str) -> None:
    case.pop("refused", None)
    try:
        case["comp"] = pool.compensation(case["policy"], _yuan(loss), dt.date.fromisoformat(filed),
                                         dt.date.fromisoformat(claimed), tier, _yuan(balance))
    except pool.PoolRefusal as exc:
        case["refused"] = str(exc)


@then(parsers.parse("the parts are {parts}"))
def parts_are(case: dict[str, Any], parts: str) -> None:
    c = case["comp"]
    assert {k: format_yuan(v) for k, v in c.parts.items()} == _parts(parts)
    assert sum(c.parts.values()) == c.loss_fen


@then(parsers.parse("the pool pays {amount}, bound by {bound}"))
def pool_pays(case: dict[str, Any], amount: str, bound: str) -> None:
    assert "refused" not in case, case.get("refused")
    c = case["comp"]
    assert (format_yuan(c.pool_pays_fen), c.bound) == (amount, BOUND[bound])
    assert sum(c.borne.values()) == c.loss_fen


@then(parsers.parse("the bank bears {amount}"))
def bank_bears(case: dict[str, Any], amount: str) -> None:
    assert format_yuan(case["comp"].borne["bank"]) == amount


@then(parsers.parse('the claim is refused: "{text}"'))
def claim_refused(case: dict[str, Any], text: str) -> None:
    assert text in case.get("refused", ""), case


@when(parsers.parse("{amount} is recovered after disposal"))
def recovered(case: dict[str, Any], amount: str) -> None:
    try:
        case["recovery"] = pool.recovery_split(_yuan(amount), case["comp"].borne)
    except pool.PoolRefusal as exc:
        case["recovery_refused"] = str(exc)


@then(parsers.parse("the recovery returns {parts}"))
def recovery_returns(case: dict[str, Any], parts: str) -> None:
    assert {k: format_yuan(v) for k, v in case["recovery"].items()} == _parts(parts)


@then(parsers.parse('the recovery is refused: "{text}"'))
def recovery_refused(case: dict[str, Any], text: str) -> None:
    assert text in case.get("recovery_refused", ""), case


@when(parsers.parse("a loan of {new} is filed on {day} with {covered} covered and {balance} in the pool"))
def filing(case: dict[str, Any], new: str, day: str, covered: str, balance: str) -> None:
    case["filed"], case["why"] = pool.may_file(case["policy"], dt.date.fromisoformat(day), _yuan(covered),
                                               _yuan(new), _yuan(balance))


@then(parsers.parse("the filing is {outcome}"))
def filing_is(case: dict[str, Any], outcome: str) -> None:
    assert case["filed"] == (outcome == "accepted"), case["why"]
    assert "risk-compensation.leverage" in case["why"]


@when(parsers.parse("a default on {defaulted} is claimed on {claimed}"))
def timely(case: dict[str, Any], defaulted: str, claimed: str) -> None:
    case["in_time"], case["why"] = pool.claim_in_time(case["policy"], dt.date.fromisoformat(defaulted),
                                                      dt.date.fromisoformat(claimed))


@then(parsers.parse("the claim is {outcome} in time"))
def in_time(case: dict[str, Any], outcome: str) -> None:
    assert case["in_time"] == (outcome == "made"), case["why"]


@when(parsers.parse("a bank has {npl} non-performing of {covered} covered on {day}"))
def npl(case: dict[str, Any], npl: str, covered: str, day: str) -> None:
    case["suspended"], case["why"] = pool.bank_suspended(case["policy"], dt.date.fromisoformat(day), _yuan(npl),
                                                         _yuan(covered))


@then(parsers.parse("the bank is {outcome}"))
def bank_is(case: dict[str, Any], outcome: str) -> None:
    assert case["suspended"] == (outcome == "suspended"), case["why"]


@when(parsers.parse("a draft policy gives the shares city_pool 40, bank 40, insurer 19"))
def bad_shares(case: dict[str, Any]) -> None:
    text = _policy_text()
    old = '{value: {city_pool: "40", bank: "40", insurer: "20"}'
    assert text.count(old) == 1
    try:
        parse_policy(text.replace(old, '{value: {city_pool: "40", bank: "40", insurer: "19"}'), "draft.yaml")
    except PolicyError as exc:
        case["policy_error"] = str(exc)


@then(parsers.parse('the policy is refused: "{text}"'))
def policy_refused(case: dict[str, Any], text: str) -> None:
    assert text in case.get("policy_error", ""), case
