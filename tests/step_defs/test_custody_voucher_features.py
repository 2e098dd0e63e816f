"""Step definitions for features/custody_voucher_*.feature: custody vouchers driven through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from flows.services.advance import advance_plain
from rules.money import fen_to_yuan_str, parse_yuan
from rules.uscc import make_uscc
from tests.conftest import Db
from tests.support import bank_ack, set_clock
from tests.voucher_support import (
    SCHEME,
    SME1,
    A,
    assigned,
    check_ok,
    evaluate,
    evidence,
    issue,
    line_figures,
    ok,
    refused,
    review,
    score,
    setup_world,
    status,
)


@pytest.fixture
def world(cli: Any, db: Db, tmp_path: Path) -> Any:
    return setup_world(cli, tmp_path)


FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("custody_voucher_lifecycle.feature", features_base_dir=str(FEATURES))
scenarios("custody_voucher_settlement.feature", features_base_dir=str(FEATURES))
scenarios("custody_voucher_evaluation.feature", features_base_dir=str(FEATURES))



def yuan_arg(text: str) -> str:
    return fen_to_yuan_str(parse_yuan(text))


@pytest.fixture
def v(world: Any, db: Db, tmp_path: Path) -> dict[str, Any]:
    return {"cli": world, "db": db, "tmp": tmp_path, "ref": None, "result": None, "before": None}


def run(v: dict[str, Any], *args: str) -> Any:
    v["before"] = v["db"].snapshot()
    v["result"] = v["cli"](*args)
    return v["result"]


@given(parsers.parse("the SME 烟台海拓机械有限公司 holds a consulting voucher of {face} issued on 2021-03-10"))
def holds(v: dict[str, Any], face: str) -> None:
    [v["ref"]] = issue(v["cli"], [("sme1", "consulting")])
    assert json.loads(ok(v["cli"]("voucher", "show", v["ref"], "--json", "--as", "sme1")))["face_fen"] == parse_yuan(face)


@given(parsers.parse("the agency 烟台正道知识产权代理有限公司 is accredited for consulting at {price}"))
def accredited(v: dict[str, Any], price: str) -> None:
    shown = json.loads(ok(v["cli"]("agency", "show", A, "--json")))
    assert [(p["service"], p["price_fen"]) for p in shown["prices"] if p["service"] == "consulting"] == [
        ("consulting", parse_yuan(price))]


C = make_uscc("370671", 7103)  # 烟台高新知识产权运营有限公司


@given(parsers.parse("the agency 烟台高新知识产权运营有限公司 is accredited for consulting at {price}"))
def accredited_c(v: dict[str, Any], price: str) -> None:
    cli = v["cli"]
    ok(cli("agency", "apply", C, "--name", "烟台高新知识产权运营有限公司", "--office", "高新区创业路1号", "--staff", "5",
           "--independent-liability", "--as", "admin"))
    ok(cli("agency", "accredit", C, "--service", f"consulting={yuan_arg(price)}", "--as", "li"))


@when(parsers.parse("the SME contracts 烟台高新知识产权运营有限公司 for {amount}"))
def contracts_c(v: dict[str, Any], amount: str) -> None:
    run(v, "voucher", "contract", v["ref"], "--agency", C, "--amount", yuan_arg(amount), "--as", "sme1")


@given(parsers.parse("the SME has contracted the agency for {amount}"))
@when(parsers.parse("the SME contracts the agency for {amount}"))
def contracts(v: dict[str, Any], amount: str) -> None:
    run(v, "voucher", "contract", v["ref"], "--agency", A, "--amount", yuan_arg(amount), "--as", "sme1")


@when("the agency redeems the voucher with its contract, payment receipt and custody report")
def redeems(v: dict[str, Any]) -> None:
    ok(run(v, "voucher", "redeem", v["ref"], *evidence(v["tmp"]), "--as", "wu"))


@when(parsers.parse("the agency redeems the voucher on {day}"))
def redeems_on(v: dict[str, Any], day: str) -> None:
    set_clock(f"{day}T01:00:00Z")
    run(v, "voucher", "redeem", v["ref"], *evidence(v["tmp"]), "--as", "wu")


@when("the SME confirms the service")
def confirms(v: dict[str, Any]) -> None:
    ok(run(v, "voucher", "confirm", v["ref"], "--as", "sme1"))


@then(parsers.parse("the voucher holds {amount} and waits for the reviewer's check"))
def awaits_review(v: dict[str, Any], amount: str) -> None:
    shown = json.loads(ok(v["cli"]("voucher", "show", v["ref"], "--json", "--as", "sme1")))
    assert (shown["status"], shown["held_fen"]) == ("confirmed", parse_yuan(amount))


@then(parsers.parse("{amount} of its face value is released to the budget line"))
def released(v: dict[str, Any], amount: str) -> None:
    f = line_figures(v["db"])
    assert f["released"] == parse_yuan(amount)
    assert f["committed"] == f["settled"] + f["released"] + f["open"]


@then(parsers.parse("the voucher covers {cover}"))
def covers(v: dict[str, Any], cover: str) -> None:
    ok(v["result"])
    shown = json.loads(ok(v["cli"]("voucher", "show", v["ref"], "--json", "--as", "sme1")))
    assert shown["contracts"][-1]["cover_fen"] == parse_yuan(cover)


@then("the voucher is delivered and waits for the SME's confirmation")
def delivered(v: dict[str, Any]) -> None:
    ok(v["result"])
    assert status(v["cli"], v["ref"]) == "delivered"


@then(parsers.parse('it is refused with "{words}" and clause {clause}'))
def refused_with(v: dict[str, Any], words: str, clause: str) -> None:
    why = refused(v["result"])
    assert words in why and clause in why, why


@then("nothing is written")
def nothing_written(v: dict[str, Any]) -> None:
    assert v["db"].snapshot() == v["before"]


@when("a reviewer suspends the agency for failed spot checks")
def suspends(v: dict[str, Any]) -> None:
    ok(run(v, "agency", "suspend", A, "--reason", "两次抽查不合格", "--as", "li"))


@then("the voucher is returned to the SME, issued again")
def returned(v: dict[str, Any]) -> None:
    assert status(v["cli"], v["ref"]) == "issued"


@then("the SME is told that the agency was suspended")
def told(v: dict[str, Any]) -> None:
    rows = json.loads(ok(v["cli"]("notify", "list", "--to", SME1, "--json", "--as", "admin")))
    assert any(v["ref"] in r["subject"] and "suspended" in r["subject"] for r in rows), rows


@then("the agency's redemption of the voucher is refused")
def redemption_refused(v: dict[str, Any]) -> None:
    before = v["db"].snapshot()
    refused(v["cli"]("voucher", "redeem", v["ref"], *evidence(v["tmp"]), "--as", "wu"))
    assert v["db"].snapshot() == before


@when(parsers.parse("the expiry stage runs on {first} and on {second}"))
def expiry_runs(v: dict[str, Any], first: str, second: str) -> None:
    set_clock(f"{first}T23:00:00Z")
    advance_plain(SCHEME, chunk=100)
    v["after_first"] = status(v["cli"], v["ref"])
    set_clock(f"{second}T01:00:00Z")
    advance_plain(SCHEME, chunk=100)


@then("the voucher is still issued after the first run and has expired after the second")
def lapsed(v: dict[str, Any]) -> None:
    assert (v["after_first"], status(v["cli"], v["ref"])) == ("issued", "expired")


@when("the SME applies for another consulting voucher")
def applies_again(v: dict[str, Any]) -> None:
    out = ok(v["cli"]("apply", SCHEME, "-f", "service=consulting", "--as", "sme1"))
    v["second"] = next(w for w in out.replace(";", " ").replace(",", " ").split() if w.startswith("CV-"))
    advance_plain(SCHEME, chunk=100)


@then(parsers.parse("the application is rejected by the check {check}"))
def rejected_by(v: dict[str, Any], check: str) -> None:
    shown = json.loads(ok(v["cli"]("application", "show", v["second"], "--json", "--as", "admin")))
    assert shown["status"] == "rejected"
    assert [c["check"] for c in shown["checks"] if not c["passed"]] == [check]


@given("the agency has redeemed the voucher and the SME has confirmed it")
def redeemed_and_confirmed(v: dict[str, Any]) -> None:
    ok(v["cli"]("voucher", "redeem", v["ref"], *evidence(v["tmp"]), "--as", "wu"))
    ok(v["cli"]("voucher", "confirm", v["ref"], "--as", "sme1"))


@given(parsers.parse("the reviewer has approved the redemption and the evaluators have graded the service {grade:d}"))
def approved_and_graded(v: dict[str, Any], grade: int) -> None:
    evaluate(v["cli"], v["tmp"], v["ref"], grade)
    assert status(v["cli"], v["ref"]) == "evaluated"


@given("the agency has redeemed the voucher")
def redeemed(v: dict[str, Any]) -> None:
    ok(v["cli"]("voucher", "redeem", v["ref"], *evidence(v["tmp"]), "--as", "wu"))


@when("the SME disputes the service because the custody report was never delivered")
def disputes(v: dict[str, Any]) -> None:
    ok(v["cli"]("voucher", "dispute", v["ref"], "--reason", "托管报告未交付", "--as", "sme1"))


@when("the finance officer pays the custody-voucher batch")
def pays(v: dict[str, Any]) -> None:
    set_clock("2021-06-30T01:00:00Z")  # the first settlement date of 2021 (custody-voucher.settlement_dates)
    v["due"] = json.loads(ok(v["cli"]("pay", "list", "--scheme", SCHEME, "--json", "--as", "chen")))
    ok(v["cli"]("pay", "batch", "--scheme", SCHEME, "--out", str(v["tmp"] / "bank"), "--as", "chen"))
    v["files"] = sorted((v["tmp"] / "bank").glob("*.csv"))


@when("the finance officer pays the custody-voucher batch and the bank confirms it")
def pays_and_confirms(v: dict[str, Any]) -> None:
    pays(v)
    (v["tmp"] / "ack.csv").write_bytes(bank_ack(v["files"]))
    ok(v["cli"]("pay", "confirm", str(v["tmp"] / "ack.csv"), "--as", "chen"))
    assert v["ref"] in {d["ref"] for d in v["due"] if d["bank_account_on_file"]}, v["due"]
    latest = json.loads(ok(v["cli"]("pay", "batches", "--scheme", SCHEME, "--json", "--as", "chen")))[0]
    assert (latest["paid"], latest["failed"], latest["pending"], latest["file_written"]) == (latest["count"], 0, 0, True)


@when(parsers.parse("imports an acknowledgement with a second line for voucher {other}"))
def imports_with_stranger(v: dict[str, Any], other: str) -> None:
    ack = bank_ack(v["files"]).decode("utf-8") + f"{other}:settlement:1,paid,B9,,400000,烟台海拓机械有限公司,6222020000000001\n"
    (v["tmp"] / "ack.csv").write_text(ack, encoding="utf-8")
    run(v, "pay", "confirm", str(v["tmp"] / "ack.csv"), "--as", "chen")


@then(parsers.parse("{payee} is paid {amount} for the voucher"))
def paid(v: dict[str, Any], payee: str, amount: str) -> None:
    shown = json.loads(ok(v["cli"]("voucher", "show", v["ref"], "--json", "--as", "sme1")))
    assert shown["status"] == "settled"
    assert [(p["payee"], p["amount_fen"], p["status"]) for p in shown["payments"]] == [(payee, parse_yuan(amount), "paid")]


@then(parsers.parse("the voucher line shows {committed} committed = {settled} settled + {released} released + "
                    "{open_} open"))
def identity(v: dict[str, Any], committed: str, settled: str, released: str, open_: str) -> None:
    assert line_figures(v["db"]) == {"committed": parse_yuan(committed), "settled": parse_yuan(settled),
                                     "released": parse_yuan(released), "open": parse_yuan(open_)}


@then("no bank file is written")
def no_file(v: dict[str, Any]) -> None:
    assert v["files"] == []
    assert status(v["cli"], v["ref"]) in ("disputed", "confirmed")  # neither is payable


@then(parsers.parse('it is refused by line with "{words}"'))
def refused_by_line(v: dict[str, Any], words: str) -> None:
    why = refused(v["result"])
    assert words in why and "nothing was written" in why, why


# --- features/custody_voucher_evaluation.feature: the reviewer's check, the evaluation, the grade, disputes -----

@given(parsers.parse("the agency has redeemed the voucher for {amount} on {day}"))
def redeemed_for(v: dict[str, Any], amount: str, day: str) -> None:
    set_clock(f"{day}T01:00:00Z")
    ok(v["cli"]("voucher", "redeem", v["ref"], *evidence(v["tmp"]), "--amount", yuan_arg(amount), "--as", "wu"))


@given("the SME has confirmed the service")
def has_confirmed(v: dict[str, Any]) -> None:
    ok(v["cli"]("voucher", "confirm", v["ref"], "--as", "sme1"))


@given(parsers.parse('the SME has disputed the service because "{reason}"'))
def has_disputed(v: dict[str, Any], reason: str) -> None:
    ok(v["cli"]("voucher", "dispute", v["ref"], "--reason", reason, "--as", "sme1"))


@given(parsers.parse("the policy settles a voucher graded below the pass grade for {mode}"))
def below_pass_mode(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dated value from 2021-01-01 (the engine reads the value in force on the grading day)."""
    import datetime as dt

    from rules.policy import Parameter, load_policy

    policy = load_policy("yantai-2020")
    name = "custody-voucher.below_pass"
    old = policy.parameters[name]
    monkeypatch.setitem(policy.parameters, name, Parameter.model_validate(
        {**old.model_dump(exclude={"value_references"}), "values": {**old.values, dt.date(2021, 1, 1): mode}}))


@given("the reviewer has approved the redemption and the advance flow has run")
def approved_and_staffed(v: dict[str, Any]) -> None:
    ok(review(v["cli"], v["ref"], "approve"))
    advance_plain(SCHEME, chunk=100)


@when("the reviewer approves the redemption")
def approves(v: dict[str, Any]) -> None:
    v["before"] = v["db"].snapshot()
    v["result"] = review(v["cli"], v["ref"], "approve")


@when("the reviewer 林 of the agency approves the redemption")
def agency_reviewer_approves(v: dict[str, Any]) -> None:
    v["before"] = v["db"].snapshot()
    v["result"] = review(v["cli"], v["ref"], "approve", "lin")


@when(parsers.parse('the reviewer {decision} the redemption because "{reason}"'))
def decides(v: dict[str, Any], decision: str, reason: str) -> None:
    v["result"] = review(v["cli"], v["ref"], {"returns": "return", "refuses": "reject"}[decision], reason=reason)
    v["reason"] = reason


def decision_file(v: dict[str, Any], decision: str, reason: str = "", user: str = "li") -> Any:
    """The reviewer's decision file (`ipfund review decide-file`): one line, this voucher's decision."""
    path = v["tmp"] / "decisions.csv"
    path.write_text(f"case,decision,reason\n{v['ref']},{decision},{reason}\n", encoding="utf-8")
    return run(v, "review", "decide-file", str(path), "--as", user)


@when("in a decision file the reviewer approves the redemption")
def file_approves(v: dict[str, Any]) -> None:
    decision_file(v, "approve")


@when(parsers.parse('in a decision file the reviewer returns the redemption because "{reason}"'))
def file_returns(v: dict[str, Any], reason: str) -> None:
    v["reason"] = reason
    decision_file(v, "return", reason)


@when("in a decision file the reviewer returns the redemption with no reason")
def file_returns_bare(v: dict[str, Any]) -> None:
    decision_file(v, "return")


@when("in a decision file the reviewer 林 of the agency approves the redemption")
def file_agency_reviewer(v: dict[str, Any]) -> None:
    decision_file(v, "approve", user="lin")


@then(parsers.parse("the voucher's review event names the decision file and line {line:d}"))
def review_event_names_file(v: dict[str, Any], line: int) -> None:
    history = json.loads(ok(v["cli"]("voucher", "show", v["ref"], "--json", "--as", "admin")))["history"]
    events = [e for e in history if e["action"] == "case.approve"]
    assert len(events) == 1, events
    assert (events[0]["payload"]["file"], events[0]["payload"]["line"], events[0]["actor"]) == (
        "decisions.csv", line, "li")


@then(parsers.parse('the decision file is refused at line {line:d} with "{words}"'))
def decision_file_refused(v: dict[str, Any], line: int, words: str) -> None:
    why = refused(v["result"])
    assert f"line {line}: " in why and words in why, why


@when(parsers.parse("the reviewer approves the redemption and both evaluators score {grade} on every criterion"))
def approves_and_scores(v: dict[str, Any], grade: str) -> None:
    set_clock("2021-05-01T01:00:00Z")
    ok(review(v["cli"], v["ref"], "approve"))
    advance_plain(SCHEME, chunk=100)
    names = assigned(v["ref"])
    assert len(names) == 2
    for ev in names:
        ok(score(v["cli"], v["tmp"], v["ref"], ev, grade))  # type: ignore[arg-type]
    advance_plain(SCHEME, chunk=100)


@when("the advance flow runs")
def advance_runs(v: dict[str, Any]) -> None:
    ok(v["result"])
    advance_plain(SCHEME, chunk=100)


@when(parsers.parse("the advance flow runs on {day}, the day after the redeem-by date"))
def advance_runs_on(v: dict[str, Any], day: str) -> None:
    set_clock(f"{day}T01:00:00Z")
    advance_plain(SCHEME, chunk=100)


@when(parsers.parse('the reviewer {outcome} the dispute because "{reason}"'))
def resolves(v: dict[str, Any], outcome: str, reason: str) -> None:
    flag = {"dismisses": "--dismiss", "upholds": "--uphold"}[outcome]
    run(v, "voucher", "resolve", v["ref"], flag, "--reason", reason, "--as", "zhao")
    v["reason"] = reason


@when(parsers.parse('the reviewer upholds the dispute on {day} because "{reason}"'))
def upholds_on(v: dict[str, Any], day: str, reason: str) -> None:
    set_clock(f"{day}T01:00:00Z")
    ok(run(v, "voucher", "resolve", v["ref"], "--uphold", "--reason", reason, "--as", "zhao"))


@when("the evaluator of the agency uploads scores for the voucher")
def agency_evaluator_scores(v: dict[str, Any]) -> None:
    assert "ea" not in assigned(v["ref"])
    v["before"] = v["db"].snapshot()
    v["result"] = score(v["cli"], v["tmp"], v["ref"], "ea", 100)


@then("the voucher waits for the third-party evaluation")
def in_evaluation(v: dict[str, Any]) -> None:
    assert status(v["cli"], v["ref"]) == "evaluation"


@then("2 evaluators are assigned, none of the agency and none of the SME")
def two_independent(v: dict[str, Any]) -> None:
    names = assigned(v["ref"])
    assert names == ["ev1", "ev2"], names  # ea (agency A) and es (SME1) sort first: the duties rule left them out


@then(parsers.parse("the voucher is contracted again and its first redemption is marked {ended_as}"))
def contracted_again(v: dict[str, Any], ended_as: str) -> None:
    ok(v["result"])
    from flows.services import vouchers
    from models.uow import read_only

    assert status(v["cli"], v["ref"]) == "contracted"
    with read_only(v["db"].engine) as s:
        app = vouchers.get_voucher(s, v["ref"])
        assert app.id is not None
        [r] = vouchers.redemptions_of(s, app.id)
        assert (r.ended_as, r.ended_reason) == (ended_as, v["reason"])
        assert vouchers.redemption_of(s, app.id) is None


@then("the agency and the SME are told with a reason")
def both_told(v: dict[str, Any]) -> None:
    ok(v["result"])
    for who in (A, SME1):
        told = json.loads(ok(v["cli"]("notify", "list", "--to", who, "--json", "--as", "admin")))
        assert any(v["ref"] in n["subject"] and v["reason"] in n["body"] for n in told), (who, told)


@then(parsers.parse("the agency can redeem the voucher again on {day}"))
def redeems_again(v: dict[str, Any], day: str) -> None:
    set_clock(f"{day}T01:00:00Z")
    ok(v["cli"]("voucher", "redeem", v["ref"], *evidence(v["tmp"]), "--as", "wu"))
    assert status(v["cli"], v["ref"]) == "delivered"
    check_ok(v["cli"])


@then(parsers.parse("the voucher ends {state:w}"))
@then(parsers.parse("the voucher is {state:w}"))
def ends(v: dict[str, Any], state: str) -> None:
    if v["result"] is not None:
        ok(v["result"])
    assert status(v["cli"], v["ref"]) == state
    check_ok(v["cli"])


@then("the voucher is still disputed")
def still_disputed(v: dict[str, Any]) -> None:
    assert status(v["cli"], v["ref"]) == "disputed"


@then(parsers.parse("the agency's 2021 monitoring record counts the grade {grade}"))
def record_counts(v: dict[str, Any], grade: str) -> None:
    from fractions import Fraction

    from flows.services import agencies
    from models.uow import read_only

    with read_only(v["db"].engine) as s:
        record = agencies.year_record(s, agencies.get(s, A), 2021)
    assert record.grades == (Fraction(grade),)


@then(parsers.parse('it is refused naming "{words}"'))
def refused_naming(v: dict[str, Any], words: str) -> None:
    why = refused(v["result"])
    assert words in why, why
