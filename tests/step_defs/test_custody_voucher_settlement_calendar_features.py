"""Step definitions for features/custody_voucher_settlement_calendar.feature: the settlement calendar
(custody-voucher.settlement_dates) and the settlement mode a round records when opened, through the CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from flows.services.advance import advance_plain
from rules.money import fen_to_yuan_str, parse_yuan
from tests.conftest import Db
from tests.support import bank_ack, set_clock
from tests.voucher_support import (
    SCHEME,
    SME1,
    SME2,
    A,
    B,
    evaluate,
    evidence,
    ok,
    refused,
    setup_world,
    status,
)

FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("custody_voucher_settlement_calendar.feature", features_base_dir=str(FEATURES))

SMES = {"烟台海拓机械有限公司": ("sme1", SME1), "莱山云帆软件有限公司": ("sme2", SME2)}
AGENCIES = {"烟台正道知识产权代理有限公司": ("wu", A), "福山华知知识产权服务有限公司": ("ma", B)}


@pytest.fixture
def w(cli: Any, db: Db, tmp_path: Path) -> dict[str, Any]:
    return {"cli": setup_world(cli, tmp_path), "db": db, "tmp": tmp_path, "refs": {}, "runs": [], "result": None,
            "before": None}


def run(w: dict[str, Any], *args: str) -> Any:
    w["before"] = w["db"].snapshot()
    w["result"] = w["cli"](*args)
    return w["result"]


def bank_rows(files: list[Path]) -> list[dict[str, str]]:
    return [r for f in files for r in csv.DictReader(io.StringIO(f.read_bytes().decode("utf-8-sig")))]


@given(parsers.parse("round {seq:d} of {scheme} {year:d} is opened in settlement mode {mode}"))
def opened(w: dict[str, Any], seq: int, scheme: str, year: int, mode: str) -> None:
    shown = json.loads(ok(w["cli"]("round", "open", scheme, "--year", str(year), "--settlement-mode", mode,
                                   "--as", "wang", "--json")))
    assert (shown["seq"], shown["state"], shown["settlement_mode"]) == (seq, "open", mode)


@given(parsers.parse("round {seq:d} issues consulting vouchers of {face} on {day} to {names}"))
def round_issues(w: dict[str, Any], seq: int, face: str, day: str, names: str) -> None:
    cli = w["cli"]
    for name in names.split(" and "):
        user, _ = SMES[name]
        out = ok(cli("apply", SCHEME, "-f", "service=consulting", "--as", user))
        w["refs"][name] = next(x for x in out.replace(";", " ").replace(",", " ").split() if x.startswith("CV-"))
    advance_plain(SCHEME, chunk=100)
    set_clock(f"{day}T01:00:00Z")
    report = json.loads(ok(cli("round", "finalize", SCHEME, "--year", "2021", "--as", "wang", "--json")))
    for name in names.split(" and "):
        shown = json.loads(ok(cli("voucher", "show", w["refs"][name], "--json", "--as", "admin")))
        assert (shown["status"], shown["face_fen"]) == ("issued", parse_yuan(face))
    rnd = json.loads(ok(cli("round", "show", str(report["round_id"]), "--json", "--as", "wang")))
    assert rnd["seq"] == seq


def _contract(w: dict[str, Any], name: str, agency: str, amount: str) -> str:
    ref = w["refs"][name]
    ok(w["cli"]("voucher", "contract", ref, "--agency", AGENCIES[agency][1], "--amount",
                fen_to_yuan_str(parse_yuan(amount)), "--as", SMES[name][0]))
    return ref


@given(parsers.parse("{name}'s voucher is contracted with {agency} for {amount}, redeemed and confirmed on {day}"))
def served(w: dict[str, Any], name: str, agency: str, amount: str, day: str) -> None:
    set_clock(f"{day}T01:00:00Z")
    ref = _contract(w, name, agency, amount)
    ok(w["cli"]("voucher", "redeem", ref, *evidence(w["tmp"]), "--as", AGENCIES[agency][0]))
    ok(w["cli"]("voucher", "confirm", ref, "--as", SMES[name][0]))
    evaluate(w["cli"], w["tmp"], ref)


@given(parsers.parse("{name}'s voucher is contracted with {agency} for {amount}, redeemed with the agency's "
                     "invoice and confirmed on {day}"))
def served_reimbursed(w: dict[str, Any], name: str, agency: str, amount: str, day: str) -> None:
    set_clock(f"{day}T01:00:00Z")
    ref = _contract(w, name, agency, amount)
    ok(w["cli"]("voucher", "redeem", ref, *evidence(w["tmp"], invoice=True), "--as", AGENCIES[agency][0]))
    ok(w["cli"]("voucher", "confirm", ref, "--as", SMES[name][0]))
    evaluate(w["cli"], w["tmp"], ref)


@when(parsers.parse("{name}'s voucher is contracted with {agency} for {amount} and redeemed without the agency's "
                    "invoice"))
def redeemed_without_invoice(w: dict[str, Any], name: str, agency: str, amount: str) -> None:
    ref = _contract(w, name, agency, amount)
    run(w, "voucher", "redeem", ref, *evidence(w["tmp"]), "--as", AGENCIES[agency][0])


@when(parsers.re(r"the finance officer pays the custody-voucher batch on (?P<day>[0-9-]{10})(?P<again> again)?$"))
def pays_on(w: dict[str, Any], day: str, again: str | None) -> None:
    set_clock(f"{day}T01:00:00Z")
    out = w["tmp"] / f"bank-{day}-{len(w['runs'])}"
    r = run(w, "pay", "batch", "--scheme", SCHEME, "--out", str(out), "--as", "chen")
    w["runs"].append({"result": r, "files": sorted(out.glob("*.csv"))})


@when(parsers.parse("an approver opens round 1 of {scheme} {year:d} in settlement mode {mode}"))
def opens_other(w: dict[str, Any], scheme: str, year: int, mode: str) -> None:
    run(w, "round", "open", scheme, "--year", str(year), "--settlement-mode", mode, "--as", "wang")


@when(parsers.parse("imports an acknowledgement with a second line for {name}'s voucher"))
def imports_with_unpaid(w: dict[str, Any], name: str) -> None:
    ack = bank_ack(w["runs"][-1]["files"]).decode("utf-8") + (
        f"{w['refs'][name]}:settlement:1,paid,B9,,400000,{name},6227000000000002\n")
    (w["tmp"] / "ack.csv").write_text(ack, encoding="utf-8")
    run(w, "pay", "confirm", str(w["tmp"] / "ack.csv"), "--as", "chen")


@then(parsers.parse("the bank file pays {amount} to {payee} at account {account}"))
def bank_file_pays(w: dict[str, Any], amount: str, payee: str, account: str) -> None:
    first = w["runs"][0]
    ok(first["result"])
    rows = [(r["payee"], r["bank_account"], r["amount_fen"]) for r in bank_rows(first["files"])]
    assert (payee, account, str(parse_yuan(amount))) in rows, rows


@then(parsers.parse("the bank file pays {amount} to {payee} for {name}'s voucher only"))
def last_file_pays(w: dict[str, Any], amount: str, payee: str, name: str) -> None:
    last = w["runs"][-1]
    ok(last["result"])
    rows = [(r["idempotency_key"], r["payee"], r["amount_fen"]) for r in bank_rows(last["files"])]
    assert rows == [(f"{w['refs'][name]}:settlement:1", payee, str(parse_yuan(amount)))], rows


@then(parsers.parse("{name}'s voucher is held until {day}"))
def held_until(w: dict[str, Any], name: str, day: str) -> None:
    ref = w["refs"][name]
    said = " ".join(w["runs"][-1]["result"].stderr.split())
    assert f"held {ref}: payable since" in said and f"it is settled on {day}" in said, said
    assert status(w["cli"], ref) == "evaluated"


@then("the second run writes no bank file and pays nothing more")
def second_run(w: dict[str, Any]) -> None:
    ok(w["runs"][1]["result"])
    assert w["runs"][1]["files"] == []
    for ref in w["refs"].values():
        shown = json.loads(ok(w["cli"]("voucher", "show", ref, "--json", "--as", "admin")))
        assert len(shown["payments"]) <= 1


@then(parsers.parse("the rounds list round 1 settling to {first} and round 2 settling to {second}"))
def rounds_listed(w: dict[str, Any], first: str, second: str) -> None:
    rows = json.loads(ok(w["cli"]("round", "list", "--scheme", SCHEME, "--year", "2021", "--json", "--as", "wang")))
    assert [(r["seq"], r["state"], r["settlement_mode"]) for r in rows] == [(1, "finalized", first),
                                                                               (2, "finalized", second)]
    modes = {json.loads(ok(w["cli"]("voucher", "show", ref, "--json", "--as", "admin")))["terms"]["settlement_mode"]
             for ref in w["refs"].values()}
    assert modes == {first, second}


@then(parsers.parse('it is refused with "{words}" and "{more}"'))
def refused_with(w: dict[str, Any], words: str, more: str) -> None:
    why = refused(w["result"])
    assert words in why and more in why, why


@then(parsers.parse('the refusal cites "{clause}" and nothing is written'))
def cites_and_nothing(w: dict[str, Any], clause: str) -> None:
    assert clause in refused(w["result"])
    assert w["db"].snapshot() == w["before"]


@then("nothing is written")
def nothing_written(w: dict[str, Any]) -> None:
    assert w["db"].snapshot() == w["before"]
