"""Step definitions for features/custody_voucher_issue.feature: issuing custody vouchers within the line,
first come first served or ranked (custody-voucher.issue_order), and the yearly cap (二(二)5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from rules.money import parse_yuan
from tests.conftest import Db
from tests.support import set_clock
from tests.voucher_support import (
    SCHEME,
    apply_all,
    check_ok,
    issue,
    ok,
    plan_with_custody_line,
    policy_with,
    setup_world,
)

FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("custody_voucher_issue.feature", features_base_dir=str(FEATURES))

USERS = {"烟台海拓机械有限公司": "sme1", "莱山云帆软件有限公司": "sme2"}


@pytest.fixture
def iv(cli: Any, db: Db, tmp_path: Path) -> dict[str, Any]:
    return {"cli": cli, "db": db, "tmp": tmp_path, "refs": {}}


def outcomes(iv: dict[str, Any]) -> dict[str, dict[str, Any]]:
    cli = iv["cli"]
    return {ref: json.loads(ok(cli("application", "show", ref, "--json", "--as", "admin"))) for ref in iv["refs"]}


@given(parsers.parse("custody vouchers are issued {order} on a 2021 custody line of {line}"))
def world(iv: dict[str, Any], order: str, line: str) -> None:
    """The world of tests.voucher_support, built on 2 November 2020 with the full 2020 plan and a 2021 plan
    whose custody line holds ``line``, under the bundled policy with issue_order = ``order``."""
    iv["order"] = order
    policy_with(iv["tmp"], iv["db"], issue_order=order)
    plans = (plan_with_custody_line(iv["tmp"], 600_000_000, 2020), plan_with_custody_line(iv["tmp"], parse_yuan(line)))
    setup_world(iv["cli"], iv["tmp"], plans, at="2020-11-02T01:00:00Z")


@given(parsers.parse("the policy allows {n:d} vouchers per SME, service and year"))
def per_service(iv: dict[str, Any], n: int) -> None:
    policy_with(iv["tmp"], iv["db"], issue_order=iv["order"], vouchers_per_service_year=n)


@when(parsers.parse("{name} applies for {n:d} consulting vouchers in one round"))
def several(iv: dict[str, Any], name: str, n: int) -> None:
    set_clock("2021-03-01T01:00:00Z")
    refs = apply_all(iv["cli"], [(USERS[name], "consulting")] * n)
    iv["refs"] = {ref: i for i, ref in enumerate(refs, 1)}


@then(parsers.parse("its first {n:d} consulting vouchers are issued for {face} each and the next is rejected by {check}"))
def first_n(iv: dict[str, Any], n: int, face: str, check: str) -> None:
    shown = {iv["refs"][ref]: s for ref, s in outcomes(iv).items()}
    assert [(shown[i]["status"], shown[i]["award_fen"]) for i in range(1, n + 1)] == [("issued", parse_yuan(face))] * n
    last = shown[n + 1]
    assert last["status"] == "rejected"
    assert [c["check"] for c in last["checks"] if not c["passed"]] == [check]
    check_ok(iv["cli"])


@given(parsers.parse("{name} held a consulting voucher in 2020"))
def held_2020(iv: dict[str, Any], name: str) -> None:
    [ref] = issue(iv["cli"], [(USERS[name], "consulting")], finalize_at="2020-11-10T01:00:00Z")
    assert outcomes({**iv, "refs": {ref: name}})[ref]["status"] == "issued"


@given(parsers.parse("{name} holds a consulting voucher of {face} issued in an earlier 2021 round"))
def held_2021(iv: dict[str, Any], name: str, face: str) -> None:
    set_clock("2021-03-01T01:00:00Z")
    [ref] = issue(iv["cli"], [(USERS[name], "consulting")], finalize_at="2021-03-05T01:00:00Z")
    shown = outcomes({**iv, "refs": {ref: name}})[ref]
    assert (shown["status"], shown["award_fen"]) == ("issued", parse_yuan(face))
    set_clock("2021-03-06T01:00:00Z")


@when(parsers.parse("{first} and then {second} apply for consulting vouchers of {face} in 2021"))
def both_apply(iv: dict[str, Any], first: str, second: str, face: str) -> None:
    assert face == "¥5,000.00"  # custody-voucher.face_value_fen: consulting 500000
    set_clock("2021-03-01T01:00:00Z")
    refs = apply_all(iv["cli"], [(USERS[first], "consulting"), (USERS[second], "consulting")])
    iv["refs"] = dict(zip(refs, (first, second), strict=True))


@when(parsers.parse("{first} applies for a training voucher of {t} and then {second} for a consulting voucher of {c}"))
def two_services(iv: dict[str, Any], first: str, t: str, second: str, c: str) -> None:
    assert (t, c) == ("¥3,000.00", "¥5,000.00")  # face values of training and consulting
    refs = apply_all(iv["cli"], [(USERS[first], "training"), (USERS[second], "consulting")])
    iv["refs"] = dict(zip(refs, (first, second), strict=True))


@when(parsers.parse("{name} applies for application, operation and consulting vouchers in one round"))
def three_services(iv: dict[str, Any], name: str) -> None:
    set_clock("2021-03-01T01:00:00Z")
    services = ["application", "operation", "consulting"]
    refs = apply_all(iv["cli"], [(USERS[name], s) for s in services])
    iv["refs"] = dict(zip(refs, services, strict=True))


@when("the approver finalizes the 2021 round")
def finalizes(iv: dict[str, Any]) -> None:
    set_clock("2021-03-10T01:00:00Z")
    ok(iv["cli"]("round", "finalize", SCHEME, "--year", "2021", "--as", "wang"))


@then(parsers.parse("{first}'s voucher is {a} and {second}'s is {b}"))
def is_funded(iv: dict[str, Any], first: str, a: str, second: str, b: str) -> None:
    got = {iv["refs"][ref]: (shown["outcome"], shown["status"], shown["award_fen"]) for ref, shown in outcomes(iv).items()}
    want = {n: (o, "issued" if o == "funded" else "not_issued", 500000 if o == "funded" else None)
            for n, o in ((first, a), (second, b))}
    assert {n: g[:2] for n, g in got.items()} == {n: w[:2] for n, w in want.items()}
    for n, o in ((first, a), (second, b)):
        if o == "funded":
            assert got[n][2] in (300000, 500000), got
    check_ok(iv["cli"])


@then("the approver's trial allocation shows")
def trial_shows(iv: dict[str, Any], datatable: list[list[str]]) -> None:
    set_clock("2021-03-10T01:00:00Z")
    iv["before"] = iv["db"].snapshot()
    report = json.loads(ok(iv["cli"]("round", "trial", SCHEME, "--year", "2021", "--json", "--as", "wang")))
    assert report["issue_order"] == "ranked"
    rows = {iv["refs"][c["ref"]]: c for c in report["cases"] if c["ref"] in iv["refs"]}
    header = datatable[0]
    for row in datatable[1:]:
        want = dict(zip(header, row, strict=True))
        got = rows[want["applicant"]]
        assert (got["rank"], got["outcome"], got["award_fen"]) == (
            int(want["rank"]), want["outcome"], parse_yuan(want["award"])), got
        assert got["reason"].startswith(f"rank {want['rank']} ({want['reason']}"), got["reason"]


@then("nothing is written by the trial")
def trial_wrote_nothing(iv: dict[str, Any]) -> None:
    assert iv["db"].snapshot() == iv["before"]


@then(parsers.parse("its application and operation vouchers are funded for {face} each"))
def at_cap(iv: dict[str, Any], face: str) -> None:
    by = {iv["refs"][ref]: s for ref, s in outcomes(iv).items()}
    assert [(by[s]["outcome"], by[s]["award_fen"]) for s in ("application", "operation")] == [
        ("funded", parse_yuan(face))] * 2


@then(parsers.parse("its consulting voucher is ineligible by {check}"))
def over_cap(iv: dict[str, Any], check: str) -> None:
    by = {iv["refs"][ref]: s for ref, s in outcomes(iv).items()}
    assert (by["consulting"]["outcome"], by["consulting"]["status"]) == ("ineligible", "not_issued")
    assert by["consulting"]["outcome_reason"].startswith(f"{check}: the applicant's cap of ¥20,000.00 is used")
    check_ok(iv["cli"])
