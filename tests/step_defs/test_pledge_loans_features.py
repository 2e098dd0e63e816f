"""Step definitions for features/pledge_loans.feature: the IP-pledge loan registry driven through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from rules.money import fen_to_yuan_str, parse_yuan
from tests.conftest import Db
from tests.loan_support import BANK_A, BANK_B, SME1, SME2, loan_args, ok, refused, setup_registry

FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("pledge_loans.feature", features_base_dir=str(FEATURES))

BANKS = {"中国银行烟台分行": (BANK_A, "zhao"), "烟台农村商业银行": (BANK_B, "qian")}
SMES = {"烟台海拓机械有限公司": SME1, "莱山云帆软件有限公司": SME2}


def y(text: str) -> str:
    return fen_to_yuan_str(parse_yuan(text))


@pytest.fixture
def w(cli: Any, db: Db, tmp_path: Path) -> dict[str, Any]:
    return {"cli": cli, "db": db, "tmp": tmp_path, "result": None, "before": None, "staff": "zhao"}


def run(w: dict[str, Any], *args: str) -> Any:
    w["before"] = w["db"].snapshot()
    w["result"] = w["cli"](*args)
    return w["result"]


def unchanged(w: dict[str, Any]) -> None:
    assert w["db"].snapshot() == w["before"]


@given("the banks 中国银行烟台分行 and 烟台农村商业银行 with one staff member each")
def banks(w: dict[str, Any]) -> None:
    setup_registry(w["cli"], w["tmp"])


@given("the SMEs 烟台海拓机械有限公司 and 莱山云帆软件有限公司 are registered applicants")
def smes(w: dict[str, Any]) -> None:
    assert w["db"].scalar("SELECT count(*) FROM applicant WHERE uscc IN (:a, :b)", a=SME1, b=SME2) == 2


@given(parsers.parse("{bank} registered loan {ref} to {sme} drawn down on {day}"))
def registered(w: dict[str, Any], bank: str, ref: str, sme: str, day: str) -> None:
    _code, staff = BANKS[bank]
    ok(w["cli"](*loan_args(ref, borrower=SMES[sme], drawdown=day, pledge_date=day), "--as", staff))


@given(parsers.parse("{bank} registered loan {ref} of {amount} at {rate} drawn down on {day}"))
def registered_terms(w: dict[str, Any], bank: str, ref: str, amount: str, rate: str, day: str) -> None:
    _code, staff = BANKS[bank]
    w["staff"] = staff
    ok(w["cli"](*loan_args(ref, principal=y(amount), rate=rate, drawdown=day, pledge_date=day), "--as", staff))


@when(parsers.parse("{bank} registers loan {ref} of {amount} at {rate} to {sme} drawn down on {day}"))
def register(w: dict[str, Any], bank: str, ref: str, amount: str, rate: str, sme: str, day: str) -> None:
    _code, staff = BANKS[bank]
    run(w, *loan_args(ref, borrower=SMES[sme], principal=y(amount), rate=rate, drawdown=day, pledge_date=day),
        "--as", staff)
    ok(w["result"])


@when(parsers.parse("{bank} registers loan {ref} to {sme} drawn down on {day} declared a first loan"))
def register_declared(w: dict[str, Any], bank: str, ref: str, sme: str, day: str) -> None:
    _code, staff = BANKS[bank]
    run(w, *loan_args(ref, borrower=SMES[sme], drawdown=day, pledge_date=day, first_loan="yes"), "--as", staff)


def shown(w: dict[str, Any], ref: str, staff: str = "admin") -> dict[str, Any]:
    v: dict[str, Any] = json.loads(ok(w["cli"]("loan", "show", ref, "--json", "--as", staff)))
    return v


@then(parsers.parse("loan {ref} is registered as a first loan, decided from the registry"))
def is_first(w: dict[str, Any], ref: str) -> None:
    f = shown(w, ref)["first_loan"]
    assert f["first"] is True and f["basis"].startswith("registry: no loan"), f


@then(parsers.parse("loan {ref} is registered as not a first loan, naming {earlier}"))
def not_first(w: dict[str, Any], ref: str, earlier: str) -> None:
    f = shown(w, ref)["first_loan"]
    assert f["first"] is False and earlier in f["basis"] and BANK_A in f["basis"], f


@then(parsers.parse("it is refused naming the earlier loan {earlier} of 中国银行烟台分行, and nothing was written"))
def refused_earlier(w: dict[str, Any], earlier: str) -> None:
    msg = refused(w["result"])
    assert "first_loan" in msg and earlier in msg and BANK_A in msg and "二(三)7" in msg, msg
    unchanged(w)


@then("ipfund check passes")
def check_passes(w: dict[str, Any]) -> None:
    report = json.loads(ok(w["cli"]("check", "--json", "--as", "admin")))
    assert report["ok"], [c for c in report["checks"] if not c["ok"]]


@when(parsers.parse("中国银行烟台分行 registers loan {ref} again with the same terms"))
def again_same(w: dict[str, Any], ref: str) -> None:
    run(w, *loan_args(ref, drawdown="2021-01-10", pledge_date="2021-01-10"), "--as", "zhao")


@then('it answers "already registered" and nothing was written')
def already(w: dict[str, Any]) -> None:
    assert "already registered" in ok(w["result"])
    unchanged(w)


@when(parsers.parse("中国银行烟台分行 registers loan {ref} again with a principal of {amount} and a rate of {rate}"))
def again_other(w: dict[str, Any], ref: str, amount: str, rate: str) -> None:
    run(w, *loan_args(ref, principal=y(amount), rate=rate, drawdown="2021-01-10", pledge_date="2021-01-10"),
        "--as", "zhao")


@then("it is refused as a conflict naming principal and rate, and nothing was written")
def conflict(w: dict[str, Any]) -> None:
    msg = refused(w["result"])
    assert "already registered with other terms" in msg and "principal: registered ¥1,000,000.00, given ¥1,200,000.00" \
        in msg and "rate: registered 3.65%, given 3.85%" in msg, msg
    assert "drawdown" not in msg.split("terms", 1)[1], msg
    unchanged(w)


@when(parsers.parse("中国银行烟台分行 registers a loan drawn down on {day} with the pledge registered on {pledged}"))
def pledge(w: dict[str, Any], day: str, pledged: str) -> None:
    run(w, *loan_args("BOC-101", drawdown=day, pledge_date=pledged), "--as", "zhao")


@then(parsers.parse("the registration is {result}"))
def registration(w: dict[str, Any], result: str) -> None:
    if result == "accepted":
        assert "registered" in ok(w["result"])
        return
    msg = refused(w["result"])
    assert "pledge_reg_date" in msg and "二(三)7" in msg and "质权设立" in msg, msg
    unchanged(w)


@when(parsers.parse("the bank receipts {amount} of normal interest for {start} to {end}"))
def interest(w: dict[str, Any], amount: str, start: str, end: str) -> None:
    run(w, "loan", "interest", "BOC-001", "--receipt", "R-1", "--from", start, "--to", end, "--amount", y(amount),
        "--as", w["staff"])


@then(parsers.parse("the receipt is {result}"))
def receipt(w: dict[str, Any], result: str) -> None:
    if result == "accepted":
        assert "recorded" in ok(w["result"])
        assert shown(w, "BOC-001")["interest_paid_fen"]["normal"] == 314306
        return
    msg = refused(w["result"])
    assert "amount: ¥3,143.07" in msg and "(¥3,143.06)" in msg and "二(三)7" in msg, msg
    unchanged(w)


@given(parsers.parse("the bank receipts a repayment of {amount} on {day}"))
@when(parsers.parse("the bank receipts a repayment of {amount} on {day}"))
def repay(w: dict[str, Any], amount: str, day: str) -> None:
    run(w, "loan", "repay", "BOC-001", "--receipt", f"P-{day}-{parse_yuan(amount)}", "--on", day, "--principal",
        y(amount), "--as", w["staff"])


@then(parsers.parse("it is refused naming principal and the {outstanding} outstanding, and nothing was written"))
def repay_refused(w: dict[str, Any], outstanding: str) -> None:
    msg = refused(w["result"])
    assert "principal:" in msg and f"principal outstanding ({outstanding}" in msg, msg
    unchanged(w)


@then(parsers.parse("loan {ref} has {amount} outstanding"))
def outstanding(w: dict[str, Any], ref: str, amount: str) -> None:
    ok(w["result"])
    assert shown(w, ref)["outstanding_fen"] == parse_yuan(amount)


@when("the staff of 烟台农村商业银行 register a loan of 中国银行烟台分行")
def other_bank_register(w: dict[str, Any]) -> None:
    run(w, *loan_args("BOC-201", bank=BANK_A), "--as", "qian")


@when(parsers.parse("the staff of 烟台农村商业银行 receipt interest on loan {ref} of 中国银行烟台分行"))
def other_bank_interest(w: dict[str, Any], ref: str) -> None:
    run(w, "loan", "interest", ref, "--bank", BANK_A, "--receipt", "X-1", "--from", "2021-01-10", "--to", "2021-02-10",
        "--amount", "100", "--as", "qian")


@then("it is refused: a bank's staff act only for their own bank's loans, and nothing was written")
def other_bank_refused(w: dict[str, Any]) -> None:
    msg = refused(w["result"])
    assert "qian" in msg and "does not belong" in msg and "only for their own bank's loans" in msg, msg
    unchanged(w)
