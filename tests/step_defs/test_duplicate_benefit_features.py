"""Step definitions for features/duplicate_benefit.feature: 从优从高不重复 across the certification award
(二(二)4) and the custody consulting voucher (二(二)5), through the services and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytest_bdd import given, parsers, scenarios, then, when
from sqlalchemy import text

from flows.services import applications
from flows.services.advance import advance_plain
from models.uow import unit_of_work
from rules.money import parse_yuan
from tests.step_defs.world import World

FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("duplicate_benefit.feature", features_base_dir=str(FEATURES))

VOUCHER = "custody-voucher"


def voucher(world: World, name: str, service: str) -> str:
    with unit_of_work(world.db.engine) as s:
        ref = applications.apply(s, "admin", VOUCHER, {"service": service}, world.uscc[name]).ref
    advance_plain(VOUCHER, chunk=100)
    world.voucher = ref  # type: ignore[attr-defined]
    return ref


def finalize_vouchers(cli: Any, world: World, at: str = "2021-03-10T01:00:00Z") -> None:
    world.clock(at)
    r = cli("round", "finalize", VOUCHER, "--year", "2021", "--json", "--as", "wang.approve")
    assert r.exit_code == 0, r.stderr


@given(parsers.parse("{name} was awarded {amount} for its GB/T 29490 certification in 2021"))
def awarded(world: World, name: str, amount: str) -> None:
    world.cert = world.awarded(name, parse_yuan(amount))  # type: ignore[attr-defined]


@given(parsers.parse("{name} holds a consulting voucher of {face} issued in 2021"))
def holds(world: World, cli: Any, name: str, face: str) -> None:
    ref = voucher(world, name, "consulting")
    finalize_vouchers(cli, world)
    shown = world.show(ref)
    assert (shown["status"], shown["award_fen"]) == ("issued", parse_yuan(face))


@when(parsers.parse("{name} applies for a consulting voucher"))
def applies_consulting(world: World, name: str) -> None:
    voucher(world, name, "consulting")


@when(parsers.parse("{name} applies for an application voucher"))
def applies_application(world: World, name: str) -> None:
    voucher(world, name, "application")


@when(parsers.parse('the approver "{user}" finalizes the 2021 custody-voucher round'))
def finalizes_vouchers(world: World, cli: Any, user: str) -> None:
    assert user == "wang.approve"
    finalize_vouchers(cli, world, "2021-05-11T01:00:00Z")


@given(parsers.parse("{name} is awarded for its GB/T 29490 certification"))
@when(parsers.parse("{name} is awarded for its GB/T 29490 certification"))
def awarded_after(world: World, name: str) -> None:
    world.cert = world.awarded(name, 4_500_000)  # type: ignore[attr-defined]


@then(parsers.parse("the voucher application is rejected by {check}, citing {rule} and {clause}"))
def rejected(world: World, check: str, rule: str, clause: str) -> None:
    shown = world.show(world.voucher)  # type: ignore[attr-defined]
    assert shown["status"] == "rejected", shown["status"]
    bad = [c for c in shown["checks"] if not c["passed"]]
    assert [c["check"] for c in bad] == [check]
    assert rule in bad[0]["rule"] and bad[0]["clause"] == clause, bad[0]
    world.refusal_detail = bad[0]["detail"]  # type: ignore[attr-defined]


@then(parsers.parse('the refusal names the certification award and "{words}"'))
def names_award(world: World, words: str) -> None:
    detail = world.refusal_detail  # type: ignore[attr-defined]
    assert f"{world.cert} (certification-award, ¥50,000.00)" in detail and words in detail, detail  # type: ignore[attr-defined]


@then(parsers.parse("the voucher is issued for {face}"))
def issued(world: World, face: str) -> None:
    shown = world.show(world.voucher)  # type: ignore[attr-defined]
    assert (shown["status"], shown["outcome"], shown["award_fen"]) == ("issued", "funded", parse_yuan(face))


@then(parsers.parse("the certification award is {amount}, its reason naming the voucher and {rule}"))
def deducted(world: World, amount: str, rule: str) -> None:
    shown = world.show(world.cert)  # type: ignore[attr-defined]
    assert shown["award_fen"] == parse_yuan(amount)
    reason = shown["outcome_reason"]
    assert f"¥50,000.00 less ¥5,000.00 already awarded for the same benefit by {world.voucher}" in reason  # type: ignore[attr-defined]
    assert rule in reason, reason


@then(parsers.parse("the voucher is still issued for {face}"))
def still_issued(world: World, face: str) -> None:
    shown = world.show(world.voucher)  # type: ignore[attr-defined]
    assert (shown["status"], shown["award_fen"]) == ("issued", parse_yuan(face))


def check_report(cli: Any) -> dict[str, dict[str, Any]]:
    report = json.loads(cli("check", "--json").stdout)
    return {c["check"]: c for c in report["checks"]}


@then(parsers.parse("the two awards together are {total} and every invariant of ipfund check holds"))
def together(world: World, cli: Any, total: str) -> None:
    got = [world.show(ref)["award_fen"] for ref in (world.cert, world.voucher)]  # type: ignore[attr-defined]
    assert sum(got) == parse_yuan(total)
    checks = check_report(cli)
    assert [n for n, c in checks.items() if not c["ok"]] == []
    assert "no duplicate benefit (从优从高不重复)" in checks


@when(parsers.parse("the certification award is raised to {amount} in the database, around the services"))
def around(world: World, amount: str) -> None:
    with world.db.engine.begin() as c:
        c.execute(text("UPDATE application SET award_fen = :a WHERE ref = :r"),
                  {"a": parse_yuan(amount), "r": world.cert})  # type: ignore[attr-defined]


@then(parsers.parse('ipfund check flags "{name}" naming both cases'))
def flagged(world: World, cli: Any, name: str) -> None:
    c = check_report(cli)[name]
    assert not c["ok"]
    assert world.cert in c["detail"] and world.voucher in c["detail"], c  # type: ignore[attr-defined]
