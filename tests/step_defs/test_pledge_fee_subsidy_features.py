"""Step definitions for features/pledge_fee_subsidy.feature: service-fee subsidies and the 首贷 bonus (二(三)7)
claimed on registered loans through the CLI (`ipfund subsidy fee`), the engine's system steps by advance_plain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from models.uow import read_only
from rules.money import format_yuan, parse_yuan
from tests.conftest import Db
from tests.loan_support import BANK_A, BANK_B, SME1, SME2, SME3, ok, refused
from tests.subsidy_support import SCHEME as INTEREST
from tests.subsidy_support import USER_OF, advance, interest, pay_all, register, set_clock, setup_claims

FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("pledge_fee_subsidy.feature", features_base_dir=str(FEATURES))

SCHEME = "pledge-fee-subsidy"
SMES = {"烟台海拓机械有限公司": SME1, "莱山云帆软件有限公司": SME2, "福山鲁东食品有限公司": SME3}
BANKS = {"中国银行烟台分行": (BANK_A, "zhao"), "烟台农村商业银行": (BANK_B, "qian")}
KINDS = {"evaluation fee": "evaluation", "insurance fee": "insurance", "guarantee fee": "guarantee",
         "notary fee": "notary"}


def fen(text: str) -> int:
    return parse_yuan(text.lstrip("¥"))


@pytest.fixture
def w(cli: Any, db: Db, tmp_path: Path) -> dict[str, Any]:
    return {"cli": cli, "db": db, "tmp": tmp_path, "claims": [], "interest_claims": [], "before": None,
            "result": None, "n": 0}


@given("the banks, the SMEs 烟台海拓机械有限公司, 莱山云帆软件有限公司 and 福山鲁东食品有限公司, and the 2021 budget plan")
def background(w: dict[str, Any]) -> None:
    setup_claims(w["cli"], w["tmp"])


@given(parsers.re(r"(?P<bank>\S+) lent (?P<sme>\S+) (?P<principal>¥[\d,.]+) as (?P<ref>\S+) drawn down (?P<day>\S+)$"))
def lent(w: dict[str, Any], bank: str, sme: str, principal: str, ref: str, day: str) -> None:
    y, m, d = day.split("-")
    register(w["cli"], ref, BANKS[bank][1], borrower=SMES[sme], principal=principal.lstrip("¥"), rate="3.65%",
             drawdown=day, maturity=f"{int(y) + 1}-{m}-{d}", pledge_date=day)


@given(parsers.parse("{ref} was repaid {amount} on {day}"))
def repaid(w: dict[str, Any], ref: str, amount: str, day: str) -> None:
    ok(w["cli"]("loan", "repay", ref, "--receipt", f"P-{ref}-{day}", "--on", day, "--principal", amount.lstrip("¥"),
                "--as", "zhao"))


@given(parsers.parse("interest of {amount} was paid on {ref} for {start} to {end}"))
def paid(w: dict[str, Any], amount: str, ref: str, start: str, end: str) -> None:
    interest(w["cli"], ref, f"R-{ref}-1", start, end, amount.lstrip("¥"))


@given(parsers.parse("the admin records the account of {bank} at {branch} {account}"))
def bank_account(w: dict[str, Any], bank: str, branch: str, account: str) -> None:
    ok(w["cli"]("bank", "account", BANKS[bank][0], "--bank-name", branch, "--account", account, "--as", "admin"))


@when(parsers.parse("{staff}'s staff record the account of {bank} at {branch} {account}"))
def staff_records_account(w: dict[str, Any], staff: str, bank: str, branch: str, account: str) -> None:
    w["before"] = w["db"].snapshot()
    w["result"] = w["cli"]("bank", "account", BANKS[bank][0], "--bank-name", branch, "--account", account,
                           "--as", BANKS[staff][1])


@when(parsers.parse("{bank} files the bank reward on {ref} on {day}"))
def bank_files_reward(w: dict[str, Any], bank: str, ref: str, day: str) -> None:
    _fee(w, day, [ref, "--bank", BANKS[bank][0], "--kind", "bank_reward", "--for-borrower", "--as", BANKS[bank][1]])


def _fee(w: dict[str, Any], day: str, args: list[str]) -> None:
    set_clock(f"{day}T01:00:00Z")
    w["before"] = w["db"].snapshot()
    r = w["result"] = w["cli"]("subsidy", "fee", *args)
    if r.exit_code == 0:
        w["claims"].append(r.stdout.split()[1])


@when(parsers.re(r"(?P<sme>\S+) claims the (?P<kind>\w+ fee) of (?P<amount>¥[\d,.]+) on (?P<ref>\S+) with receipt "
                 r"(?P<receipt>\S+) on (?P<day>\S+)$"))
def claims_fee(w: dict[str, Any], sme: str, kind: str, amount: str, ref: str, receipt: str, day: str) -> None:
    _fee(w, day, [ref, "--bank", BANK_A, "--kind", KINDS[kind], "--fee", amount.lstrip("¥"), "--receipt", receipt,
                  "--as", USER_OF[SMES[sme]]])


@when(parsers.re(r"(?P<sme>\S+) claims the first-loan bonus on (?P<ref>\S+?)(?: of (?P<bank>\S+))? on (?P<day>\S+)$"))
def claims_bonus(w: dict[str, Any], sme: str, ref: str, bank: str | None, day: str) -> None:
    _fee(w, day, [ref, "--bank", BANKS[bank or "中国银行烟台分行"][0], "--kind", "first_loan_bonus",
                  "--as", USER_OF[SMES[sme]]])


@when(parsers.re(r"(?P<sme>\S+) claims the interest subsidy on (?P<ref>\S+) for (?P<start>\S+) to (?P<end>\S+) "
                 r"on (?P<day>\S+)$"))
def claims_interest(w: dict[str, Any], sme: str, ref: str, start: str, end: str, day: str) -> None:
    set_clock(f"{day}T01:00:00Z")
    r = ok(w["cli"]("subsidy", "claim", ref, "--bank", BANK_A, "--from", start, "--to", end,
                    "--as", USER_OF[SMES[sme]]))
    w["interest_claims"].append(r.split()[1])


@when("the intake runs")
def intake() -> None:
    advance(SCHEME)
    advance(INTEREST)


def case(w: dict[str, Any], ref: str) -> dict[str, Any]:
    return dict(json.loads(ok(w["cli"]("application", "show", ref, "--json", "--as", "admin"))))


def computed(w: dict[str, Any], ref: str) -> dict[str, Any]:
    from flows.services.dossier.case import case_data

    with read_only(w["db"].engine) as s:
        checks = case_data(s, ref)["checks"]
    return next(c for c in checks if c["check"] == "fee_subsidy")


@then(parsers.parse("the claim is in {status} with a subsidy of {amount} bound by {bound}"))
def in_status(w: dict[str, Any], status: str, amount: str, bound: str) -> None:
    ref = w["claims"][-1]
    assert case(w, ref)["status"] == status, case(w, ref)
    c = computed(w, ref)
    assert c["passed"] and c["trace"][-1]["value"] == format_yuan(fen(amount)), c["trace"]
    assert c["trace"][-1]["reference"] == f"bound by {bound}", c["trace"][-1]


@then(parsers.parse('its dossier shows the step "{what}" at "{value}"'))
def dossier_step(w: dict[str, Any], what: str, value: str) -> None:
    trace = computed(w, w["claims"][-1])["trace"]
    assert any(st["what"] == what and st["value"] == value for st in trace), trace


@then(parsers.parse("the fee claims list shows the claim on {ref} for {kind}, computed at {amount}"))
def fee_list(w: dict[str, Any], ref: str, kind: str, amount: str) -> None:
    rows = json.loads(ok(w["cli"]("subsidy", "list", "--scheme", SCHEME, "--json", "--as", "admin")))
    assert [(r["form"]["loan_ref"], r["form"]["kind"], r["computed"]) for r in rows] == [
        (ref, kind, format_yuan(fen(amount)))], rows
    table = ok(w["cli"]("subsidy", "list", "--scheme", SCHEME, "--as", "admin"))
    assert kind in table and "¥8,000.00" in table, table


@when("the reviewer approves every claim, the approver finalizes the 2021 round and the notice ends")
def through_round(w: dict[str, Any]) -> None:
    for ref in w["claims"]:
        if case(w, ref)["status"] == "formal_review":
            ok(w["cli"]("review", "decide", ref, "--approve", "--reason", "材料齐全", "--as", "li"))
    set_clock("2021-08-01T01:00:00Z")
    ok(w["cli"]("round", "finalize", SCHEME, "--year", "2021", "--as", "wang"))
    set_clock("2021-08-20T01:00:00Z")
    advance(SCHEME)


@when("finance pays the subsidies")
def finance_pays(w: dict[str, Any]) -> None:
    pay_all(w["cli"], w["tmp"], SCHEME)


@then(parsers.parse("the claim is paid {amount} to {sme}"))
def paid_to(w: dict[str, Any], amount: str, sme: str) -> None:
    c = case(w, w["claims"][-1])
    assert c["status"] == "paid" and c["award_fen"] == fen(amount), c
    payee = w["db"].scalar("SELECT payee FROM payment WHERE application_id = (SELECT id FROM application WHERE ref = "
                           ":r)", r=w["claims"][-1])
    assert sme in str(payee), payee


@then("ipfund check passes")
def check_passes(w: dict[str, Any]) -> None:
    checks = json.loads(ok(w["cli"]("check", "--json")))
    assert checks["ok"], [c for c in checks["checks"] if not c["ok"]]


def _rejected(c: dict[str, Any], check: str, text: str | None) -> None:
    assert c["status"] == "rejected", c
    assert c["outcome_reason"].startswith(f"{check}:"), c["outcome_reason"]
    assert text is None or text in c["outcome_reason"], c["outcome_reason"]


@then(parsers.re(r"the claim is rejected by (?P<check>\w+)(?:, naming \"(?P<text>.+)\")?$"))
def rejected_by(w: dict[str, Any], check: str, text: str | None) -> None:
    _rejected(case(w, w["claims"][-1]), check, text)


@then(parsers.re(r"the interest claim is rejected by (?P<check>\w+), naming \"(?P<text>.+)\"$"))
def interest_rejected_by(w: dict[str, Any], check: str, text: str) -> None:
    _rejected(case(w, w["interest_claims"][-1]), check, text)


@then(parsers.parse("the first claim is in {status} and the second is rejected by {check}"))
def first_and_second(w: dict[str, Any], status: str, check: str) -> None:
    first, second = (case(w, r) for r in w["claims"])
    assert first["status"] == status, first
    _rejected(second, check, None)


@then(parsers.parse('the claim is refused naming "{field}" and nothing is written'))
def refused_naming(w: dict[str, Any], field: str) -> None:
    assert field in refused(w["result"])
    assert w["db"].snapshot() == w["before"]
