"""Step definitions for features/pledge_interest_subsidy.feature (the pure rules of 二(三)7)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from rules.money import format_yuan, parse_yuan
from rules.policy import load_policy
from rules.schemes import pledge_interest_subsidy as pis

FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("pledge_interest_subsidy.feature", features_base_dir=str(FEATURES))

BOUND = {"the formula": "formula", "the interest paid": "interest_paid", "the yearly cap": "year_cap",
         "the cumulative cap": "cumulative_cap", "the years cap": "max_years", "the share": "share",
         "the share of the loan": "loan_share"}


def _yuan(text: str) -> int:
    return parse_yuan(text.strip())


def _pct(text: str) -> Fraction:
    return Fraction(Decimal(text.strip().rstrip("%").strip())) / 100


@pytest.fixture
def case() -> dict[str, Any]:
    return {"payments": [], "granted": {}, "loan": {}}


def _loan(case: dict[str, Any]) -> pis.Loan:
    return pis.Loan(**{"ref": "L-1", "borrower": "91370600MA3C000001", **case["loan"]})


@given("the policy yantai-2020")
def policy(case: dict[str, Any]) -> None:
    case["policy"] = load_policy()


@given(parsers.parse("a {principal} loan at {rate}, {share} IP share, drawn {drawn}, maturing {maturity}"))
def a_loan(case: dict[str, Any], principal: str, rate: str, share: str, drawn: str, maturity: str) -> None:
    case["loan"].update(principal_fen=_yuan(principal), rate=Decimal(rate.rstrip("%").strip()) / 100,
                        ip_share=_pct(share), drawdown=dt.date.fromisoformat(drawn),
                        maturity=dt.date.fromisoformat(maturity))


@given("half of it is covered by pledge insurance")
def insured(case: dict[str, Any]) -> None:
    case["loan"]["insured_share"] = Fraction(1, 2)


@given("the borrower is on the whitelist")
def whitelisted(case: dict[str, Any]) -> None:
    case["loan"]["whitelisted"] = True


@given(parsers.parse("the loan was extended to {day}"))
def extended(case: dict[str, Any], day: str) -> None:
    case["loan"]["extended_to"] = dt.date.fromisoformat(day)


@given(parsers.re(r"(?P<kind>interest|penalty interest|overdue interest|surcharge interest) of (?P<amount>¥[\d,.]+) "
                  r"paid for (?P<start>\S+) to (?P<end>\S+)"))
def paid(case: dict[str, Any], kind: str, amount: str, start: str, end: str) -> None:
    n = len(case["payments"]) + 1
    case["payments"].append(pis.InterestPayment(
        str(n), dt.date.fromisoformat(start), dt.date.fromisoformat(end), _yuan(amount),
        "normal" if kind == "interest" else kind.split()[0]))  # type: ignore[arg-type]


@given(parsers.parse("the borrower already received {amount} this year"))
def granted_year(case: dict[str, Any], amount: str) -> None:
    case["granted"]["year_fen"] = _yuan(amount)


@given(parsers.parse("the borrower already received {amount} in all years"))
def granted_all(case: dict[str, Any], amount: str) -> None:
    case["granted"]["cumulative_fen"] = _yuan(amount)


@given(parsers.parse("the loan was subsidised in {years:d} earlier year(s)"))
def earlier_years(case: dict[str, Any], years: int) -> None:
    case["granted"]["loan_years"] = years


@when(parsers.parse("the interest subsidy is computed for {start} to {end}"))
def compute(case: dict[str, Any], start: str, end: str) -> None:
    window = (dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    case["result"] = pis.interest_subsidy(case["policy"], _loan(case), case["payments"],
                                          pis.Granted(**case["granted"]), window)


@then(parsers.parse("the subsidy is {amount}, bound by {bound}"))
def subsidy_is(case: dict[str, Any], amount: str, bound: str) -> None:
    r = case["result"]
    assert (format_yuan(r.amount_fen), r.bound) == (amount, BOUND[bound]), r


@then(parsers.parse("the formula gave {amount}"))
def formula_gave(case: dict[str, Any], amount: str) -> None:
    assert format_yuan(case["result"].formula_fen) == amount


@then(parsers.parse("the eligible interest paid is {amount}"))
def eligible_paid(case: dict[str, Any], amount: str) -> None:
    assert format_yuan(case["result"].interest_paid_fen) == amount


@then(parsers.parse("the trace shows the one-year LPR of {month} at {rate} with parameter {name} in force from {day}"))
def trace_lpr(case: dict[str, Any], month: str, rate: str, name: str, day: str) -> None:
    steps = [s for s in case["result"].trace if s.parameter == name]
    assert steps, case["result"].trace
    s = steps[0]
    assert (month in s.what, s.value, s.in_force, bool(s.reference)) == (True, rate, dt.date.fromisoformat(day), True)


@then(parsers.parse("receipt {receipt} is excluded because {why}"))
def excluded(case: dict[str, Any], receipt: str, why: str) -> None:
    words = {"penalty interest is never subsidised": "penalty interest is never subsidised",
             "it is an extended period": "an extended period (展期不贴息)"}[why]
    found = {e.receipt: e.reason for e in case["result"].excluded}
    assert words in found.get(receipt, ""), found


@when(parsers.parse("a receipt of {amount} for {start} to {end} is checked"))
def check_receipt(case: dict[str, Any], amount: str, start: str, end: str) -> None:
    p = pis.InterestPayment("1", dt.date.fromisoformat(start), dt.date.fromisoformat(end), _yuan(amount))
    case["problems"] = pis.check_payment(_loan(case), p, 365)


@then(parsers.parse('it is refused: "{text}"'))
def refused(case: dict[str, Any], text: str) -> None:
    assert any(text in p for p in case["problems"]), case["problems"]


@then("it is accepted")
def accepted(case: dict[str, Any]) -> None:
    assert case["problems"] == []


@given(parsers.parse("a first loan of {principal}"))
def first_loan(case: dict[str, Any], principal: str) -> None:
    case["loan"].update(principal_fen=_yuan(principal), rate=Decimal("0.0365"), drawdown=dt.date(2022, 1, 1),
                        maturity=dt.date(2023, 1, 1), first_loan=True)


@when("its first-loan awards are computed")
def awards(case: dict[str, Any]) -> None:
    case["awards"] = pis.first_loan_awards(case["policy"], _loan(case), dt.date(2022, 1, 1))


@then(parsers.parse("the enterprise gets {bonus} and the bank {reward}"))
def awards_are(case: dict[str, Any], bonus: str, reward: str) -> None:
    a = case["awards"]
    assert (format_yuan(a["enterprise"].amount_fen), format_yuan(a["bank"].amount_fen)) == (bonus, reward)


@when(parsers.parse("a {kind} fee of {fee} is claimed with {granted} already received this year"))
def fee(case: dict[str, Any], kind: str, fee: str, granted: str) -> None:
    case["fee"] = pis.fee_subsidy(case["policy"], kind, _yuan(fee), _loan(case), _yuan(granted), dt.date(2022, 6, 1))


@then(parsers.parse("the fee subsidy is {amount}, bound by {bound}"))
def fee_is(case: dict[str, Any], amount: str, bound: str) -> None:
    f = case["fee"]
    assert (format_yuan(f.amount_fen), f.bound) == (amount, BOUND[bound]), f
