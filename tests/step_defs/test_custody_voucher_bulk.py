"""Step definitions for features/custody_voucher_bulk.feature: bulk voucher files through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from rules.money import fen_to_yuan_str, parse_yuan
from tests.conftest import Db
from tests.support import set_clock
from tests.voucher_support import PDF, PNG, A, issue, line_figures, ok, refused, setup_world, status

FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("custody_voucher_bulk.feature", features_base_dir=str(FEATURES))


@pytest.fixture
def v(cli: Any, db: Db, tmp_path: Path) -> dict[str, Any]:
    return {"cli": setup_world(cli, tmp_path), "db": db, "tmp": tmp_path, "refs": [], "result": None,
            "before": None}


def run(v: dict[str, Any], *args: str) -> Any:
    v["before"] = v["db"].snapshot()
    v["result"] = v["cli"](*args)
    return v["result"]


def write(v: dict[str, Any], name: str, text: str) -> str:
    p = v["tmp"] / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def show(v: dict[str, Any], ref: str) -> dict[str, Any]:
    return dict(json.loads(ok(v["cli"]("voucher", "show", ref, "--json", "--as", "admin"))))


def contracts(v: dict[str, Any], first: str, second: str, user: str = "sme1") -> Any:
    a, b = v["refs"][:2]
    path = write(v, "contracts.csv", f"voucher,agency,amount_yuan\n{a},{A},{fen_to_yuan_str(parse_yuan(first))}\n"
                                     f"{b},{A},{fen_to_yuan_str(parse_yuan(second))}\n")
    return run(v, "voucher", "contract", "--file", path, "--as", user)


@given("the SME 烟台海拓机械有限公司 holds a consulting voucher and an application voucher issued on 2021-03-10")
def two_vouchers(v: dict[str, Any]) -> None:
    v["pending"] = [("sme1", "consulting"), ("sme1", "application")]


@given("the SME 莱山云帆软件有限公司 holds a consulting voucher issued on 2021-03-10")
def third_voucher(v: dict[str, Any]) -> None:
    v["refs"] = issue(v["cli"], [*v.pop("pending"), ("sme2", "consulting")])
    assert [status(v["cli"], r) for r in v["refs"]] == ["issued"] * 3


@when(parsers.parse("烟台海拓机械有限公司 files contracts with 烟台正道知识产权代理有限公司 for {first} and {second}"))
def file_contracts(v: dict[str, Any], first: str, second: str) -> None:
    contracts(v, first, second)


@given(parsers.parse("烟台海拓机械有限公司 has contracted both vouchers with 烟台正道知识产权代理有限公司 for {first} and "
                     "{second}"))
def contracted(v: dict[str, Any], first: str, second: str) -> None:
    ok(contracts(v, first, second))
    set_clock("2021-04-20T01:00:00Z")


@when("烟台海拓机械有限公司 files a contract of 莱山云帆软件有限公司's voucher")
def file_other(v: dict[str, Any]) -> None:
    path = write(v, "contracts.csv", f"voucher,agency,amount_yuan\n{v['refs'][2]},{A},8000\n")
    run(v, "voucher", "contract", "--file", path, "--as", "sme1")


@when("烟台正道知识产权代理有限公司 files the contracts of 烟台海拓机械有限公司's vouchers")
def agency_files(v: dict[str, Any]) -> None:
    contracts(v, "¥8,000.00", "¥20,000.00", user="wu")


@then(parsers.parse("both vouchers are contracted, covering {first} and {second}"))
def both_contracted(v: dict[str, Any], first: str, second: str) -> None:
    ok(v["result"])
    covers = [show(v, r)["contracts"][0]["cover_fen"] for r in v["refs"][:2]]
    assert covers == [parse_yuan(first), parse_yuan(second)]
    assert status(v["cli"], v["refs"][2]) == "issued"


@then("each voucher has one contract event naming the file and its line")
def one_event_each(v: dict[str, Any]) -> None:
    for line, ref in enumerate(v["refs"][:2], start=2):
        events = [e for e in show(v, ref)["history"] if e["action"] == "case.contract"]
        assert len(events) == 1, events
        assert (events[0]["payload"]["file"], events[0]["payload"]["line"], events[0]["actor"]) == (
            "contracts.csv", line, "sme1")


@then(parsers.parse('the file is refused at line {line:d} with "{words}" and clause {clause}'))
def refused_line_clause(v: dict[str, Any], line: int, words: str, clause: str) -> None:
    why = refused(v["result"])
    assert f"line {line}: " in why and words in why and clause in why, why


@then(parsers.parse('the file is refused at line {line:d} with "{words}" and "{more}"'))
def refused_line_both(v: dict[str, Any], line: int, words: str, more: str) -> None:
    why = refused(v["result"])
    assert f"line {line}: " in why and words in why and more in why, why


@then(parsers.parse('the file is refused at line {line:d} with "{words}"'))
def refused_line(v: dict[str, Any], line: int, words: str) -> None:
    why = refused(v["result"])
    assert f"line {line}: " in why and words in why, why


@then("it is refused with the role that may contract")
def refused_role(v: dict[str, Any]) -> None:
    why = refused(v["result"])
    assert "voucher.contract" in why or "contract" in why, why
    assert "line " not in why, why  # refused before any line is read


@then("nothing is written")
def nothing_written(v: dict[str, Any]) -> None:
    assert v["db"].snapshot() == v["before"]


def manifest(v: dict[str, Any], empty_second_receipt: bool = False) -> Any:
    folder = v["tmp"] / "manifest"
    (folder / "evidence").mkdir(parents=True, exist_ok=True)
    lines = ["voucher,amount_yuan,contract,receipt,deliverable"]
    for i, ref in enumerate(v["refs"][:2]):
        (folder / "evidence" / f"{ref}-合同.pdf").write_bytes(PDF + ref.encode())
        receipt = b"" if empty_second_receipt and i == 1 else PNG + ref.encode()
        (folder / "evidence" / f"{ref}-付款凭证.png").write_bytes(receipt)
        (folder / "evidence" / f"{ref}-托管报告.pdf").write_bytes(PDF + b"report " + ref.encode())
        lines.append(f"{ref},,evidence/{ref}-合同.pdf,evidence/{ref}-付款凭证.png,evidence/{ref}-托管报告.pdf")
    (folder / "redemptions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return run(v, "voucher", "redeem", "--file", str(folder / "redemptions.csv"), "--as", "wu")


@when("烟台正道知识产权代理有限公司 files a redemption manifest with each voucher's contract, receipt and report")
def file_manifest(v: dict[str, Any]) -> None:
    ok(manifest(v))
    assert [status(v["cli"], r) for r in v["refs"][:2]] == ["delivered"] * 2


@when("烟台正道知识产权代理有限公司 files a redemption manifest whose second receipt is empty")
def file_bad_manifest(v: dict[str, Any]) -> None:
    manifest(v, empty_second_receipt=True)


@when("烟台海拓机械有限公司 files the confirmation of both vouchers")
def file_confirm(v: dict[str, Any]) -> None:
    path = write(v, "confirmations.csv", "voucher\n" + "".join(f"{r}\n" for r in v["refs"][:2]))
    ok(run(v, "voucher", "confirm", "--file", path, "--as", "sme1"))


@then(parsers.parse("both vouchers are payable, for {first} and {second}"))
def payable(v: dict[str, Any], first: str, second: str) -> None:
    got = [(show(v, r)["status"], show(v, r)["held_fen"]) for r in v["refs"][:2]]
    assert got == [("confirmed", parse_yuan(first)), ("confirmed", parse_yuan(second))]
    redeemed = show(v, v["refs"][0])["redemption"]
    assert [e["kind"] for e in redeemed["evidence"]] == ["contract", "receipt", "deliverable"]


@then(parsers.parse("{amount} of the consulting voucher's face value is released to the budget line"))
def released(v: dict[str, Any], amount: str) -> None:
    assert line_figures(v["db"])["released"] == parse_yuan(amount)
