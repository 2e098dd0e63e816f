"""Step definitions for features/custody_voucher_clawback.feature: a fraud finding after settlement, the
clawback as a receivable and its recovery, driven through the CLI (二(四)13, 三(三))."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from rules.money import fen_to_yuan_str, parse_yuan
from tests.conftest import Db
from tests.voucher_support import (
    CLAWBACK_IDENTITY,
    SME3,
    A,
    check_ok,
    issue,
    line_figures,
    ok,
    refused,
    settle,
    setup_world,
    status,
)

FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("custody_voucher_clawback.feature", features_base_dir=str(FEATURES))

FINDING = "抽查发现该机构与企业恶意串通，伪造托管服务成果报告（弄虚作假）"


def yuan_arg(text: str) -> str:
    return fen_to_yuan_str(parse_yuan(text))


@pytest.fixture
def v(cli: Any, db: Db, tmp_path: Path) -> dict[str, Any]:
    setup_world(cli, tmp_path)
    return {"cli": cli, "db": db, "tmp": tmp_path, "refs": [], "result": None, "before": None}


def run(v: dict[str, Any], *args: str) -> Any:
    v["before"] = v["db"].snapshot()
    v["result"] = v["cli"](*args)
    return v["result"]


def show(v: dict[str, Any], ref: str) -> dict[str, Any]:
    return dict(json.loads(ok(v["cli"]("voucher", "show", ref, "--json", "--as", "admin"))))


@given(parsers.parse("the agency 烟台正道知识产权代理有限公司 was paid {paid} for each of two settled consulting vouchers"))
def two_settled(v: dict[str, Any], paid: str) -> None:
    v["refs"] = issue(v["cli"], [("sme1", "consulting"), ("sme2", "consulting"), ("sme3", "consulting")])
    settle(v["cli"], v["tmp"], v["refs"][:2], ["sme1", "sme2"])
    for ref in v["refs"][:2]:
        shown = show(v, ref)
        assert shown["status"] == "settled"
        assert [(p["payee"], p["amount_fen"]) for p in shown["payments"]] == [("烟台正道知识产权代理有限公司", parse_yuan(paid))]


@given(parsers.parse("a third consulting voucher of {face} is under contract with it"))
def third_contracted(v: dict[str, Any], face: str) -> None:
    ok(v["cli"]("voucher", "contract", v["refs"][2], "--agency", A, "--amount", "8000", "--as", "sme3"))
    shown = show(v, v["refs"][2])
    assert (shown["status"], shown["face_fen"]) == ("contracted", parse_yuan(face))


def _finding(v: dict[str, Any], who: str, *vouchers: str) -> Any:
    args = ["agency", "fraud", A, "--finding", FINDING, "--clause", "二(四)13"]
    for spec in vouchers:
        args += ["--voucher", spec]
    return run(v, *args, "--as", who)


@when(parsers.parse("the reviewer records a finding of collusion naming the first voucher in full and {part} of "
                    "the second"))
def finding_two(v: dict[str, Any], part: str) -> None:
    ok(_finding(v, "li", v["refs"][0], f"{v['refs'][1]}={yuan_arg(part)}"))


@given("the reviewer has recorded a finding of collusion naming the first voucher in full")
def finding_first(v: dict[str, Any]) -> None:
    ok(_finding(v, "li", v["refs"][0]))


@given("the reviewer qian, who also keeps the accounts, has recorded a finding naming the first voucher in full")
def finding_by_qian(v: dict[str, Any]) -> None:
    ok(v["cli"]("user", "add", "qian", "--role", "reviewer", "--role", "finance", "--affiliation", "烟台市财政局",
                "--as", "admin"))
    ok(_finding(v, "qian", v["refs"][0]))


@when("a reviewer employed by the agency records a finding of collusion naming the first voucher in full")
def finding_by_member(v: dict[str, Any]) -> None:
    ok(v["cli"]("user", "add", "zhou", "--role", "reviewer", "--affiliation", A, "--as", "admin"))
    _finding(v, "zhou", v["refs"][0])


@when("the reviewer records a finding of collusion naming the voucher under contract")
def finding_open(v: dict[str, Any]) -> None:
    _finding(v, "li", v["refs"][2])


def _recover(v: dict[str, Any], who: str, amount: str, receipt: str) -> Any:
    return run(v, "voucher", "recover", v["refs"][0], "--amount", yuan_arg(amount), "--receipt", receipt, "--as", who)


@given(parsers.parse("the finance officer has recorded {amount} recovered on the first voucher with receipt {receipt}"))
def recovered_before(v: dict[str, Any], amount: str, receipt: str) -> None:
    ok(_recover(v, "chen", amount, receipt))


@when(parsers.parse("the finance officer records {amount} recovered on the first voucher with receipt {receipt}"))
def recovers(v: dict[str, Any], amount: str, receipt: str) -> None:
    _recover(v, "chen", amount, receipt)


@when(parsers.parse("qian records {amount} recovered on the first voucher with receipt {receipt}"))
def qian_recovers(v: dict[str, Any], amount: str, receipt: str) -> None:
    _recover(v, "qian", amount, receipt)


@then("the agency is expelled")
def expelled(v: dict[str, Any]) -> None:
    shown = json.loads(ok(v["cli"]("agency", "show", A, "--json")))
    assert shown["state"] == "expelled"
    assert shown["events"][-1]["clause"] == "二(四)13" and FINDING in shown["events"][-1]["reason"]


@then("the voucher under contract is void and its holder is told")
def third_void(v: dict[str, Any]) -> None:
    assert status(v["cli"], v["refs"][2]) == "voided"
    rows = json.loads(ok(v["cli"]("notify", "list", "--to", SME3, "--json", "--as", "admin")))
    assert any(v["refs"][2] in r["subject"] and "expelled" in r["subject"] for r in rows), rows


@then(parsers.parse("the first voucher owes {first} and the second {second}, due from {debtor}"))
def owes(v: dict[str, Any], first: str, second: str, debtor: str) -> None:
    for ref, amount in zip(v["refs"][:2], (first, second), strict=True):
        shown = show(v, ref)
        cb = shown["clawback"]
        assert shown["status"] == "clawback_due"
        assert (cb["amount_fen"], cb["outstanding_fen"], cb["debtor"]) == (parse_yuan(amount), parse_yuan(amount), debtor)
        assert [p["status"] for p in shown["payments"]] == ["paid"]  # the settlement itself stands, unedited


@then(parsers.parse("the first voucher still owes {amount}"))
def still_owes(v: dict[str, Any], amount: str) -> None:
    ok(v["result"])
    shown = show(v, v["refs"][0])
    assert (shown["status"], shown["clawback"]["outstanding_fen"]) == ("clawback_due", parse_yuan(amount))


@then("the first voucher is clawed back in full")
def clawed_back(v: dict[str, Any]) -> None:
    ok(v["result"])
    shown = show(v, v["refs"][0])
    assert (shown["status"], shown["clawback"]["outstanding_fen"]) == ("clawed_back", 0)
    assert [r["receipt"] for r in shown["clawback"]["recoveries"]] == ["BOC-2021-R001", "BOC-2021-R002"]


@then(parsers.parse("the voucher line shows {committed} committed = {settled} settled + {released} released + "
                    "{open_} open"))
def identity(v: dict[str, Any], committed: str, settled: str, released: str, open_: str) -> None:
    assert line_figures(v["db"]) == {"committed": parse_yuan(committed), "settled": parse_yuan(settled),
                                     "released": parse_yuan(released), "open": parse_yuan(open_)}


@then(parsers.parse("the voucher line shows {clawed} clawed back = {recovered} recovered + {outstanding} outstanding"))
def clawback_identity(v: dict[str, Any], clawed: str, recovered: str, outstanding: str) -> None:
    assert line_figures(v["db"], CLAWBACK_IDENTITY) == {
        "clawed_back": parse_yuan(clawed), "recovered": parse_yuan(recovered), "outstanding": parse_yuan(outstanding)}


@then(parsers.parse("the budget status shows {receivable} receivable and {paid} paid on the custody-voucher line"))
def budget_receivable(v: dict[str, Any], receivable: str, paid: str) -> None:
    st = json.loads(ok(v["cli"]("budget", "status", "--year", "2021", "--json")))
    [line] = [ln for ln in st["lines"] if ln["code"] == "custody-voucher"]
    assert (line["receivable_fen"], line["paid_fen"]) == (parse_yuan(receivable), parse_yuan(paid))
    # the receivable is still allocated to the line: the plan's figures do not move
    assert line["allocated_fen"] == sum(line["by_source"][s]["allocated"] for s in line["by_source"])


@then("ipfund check finds every invariant holding")
def checked(v: dict[str, Any]) -> None:
    names = {c["check"] for c in check_ok(v["cli"])}
    assert "voucher clawbacks match their postings and recoveries" in names


@then("it is told the receipt is already recorded")
def already(v: dict[str, Any]) -> None:
    assert "already recorded" in ok(v["result"])


@then(parsers.parse('it is refused with "{words}" and clause {clause}'))
def refused_with(v: dict[str, Any], words: str, clause: str) -> None:
    why = refused(v["result"])
    assert words in why and clause in why, why


@then(parsers.parse('it is refused as a conflict with "{words}"'))
def refused_conflict(v: dict[str, Any], words: str) -> None:
    why = refused(v["result"])
    assert words in why and "nothing written" in why, why


@then("nothing is written")
def nothing_written(v: dict[str, Any]) -> None:
    assert v["db"].snapshot() == v["before"]

