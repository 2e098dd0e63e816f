"""Step definitions for features/certification_review.feature: formal review (形式审查, 二(二)4) through
the `ipfund review` commands; setup through the services (tests.step_defs.test_certification_apply_features)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from flows.services import applications, review
from models.uow import unit_of_work
from rules.errors import FourEyesViolation
from tests.conftest import FEATURES
from tests.step_defs.world import World, assert_refused, new_world

scenarios("certification_review.feature", features_base_dir=str(FEATURES))


@pytest.fixture
def world(db: Any, monkeypatch: pytest.MonkeyPatch) -> World:
    return new_world(db, monkeypatch)


def _case(world: World) -> str:
    assert world.last, "scenario: no case yet"
    return world.last


# --- Given ------------------------------------------------------------------------------------

@given(parsers.parse('the reviewer "{user}" belongs to {name}, its credit code typed {typed}'))
def affiliated_reviewer_typed(world: World, user: str, name: str, typed: str) -> None:
    code = world.uscc[name]
    written = {"as registered": code, "in lower case": code.lower(), "with a trailing space": code + " ",
               "with spaces between groups": " ".join(code[i:i + 6] for i in range(0, 18, 6))}[typed]
    world.add_user(user, ["reviewer"], written)


@given(parsers.parse('the reviewer "{user}" belongs to {name}'))
def affiliated_reviewer(world: World, user: str, name: str) -> None:
    world.add_user(user, ["reviewer"], world.uscc[name])


@given(parsers.parse('the user "{user}" is a reviewer who may import applications'))
def importing_reviewer(world: World, user: str) -> None:
    world.add_user(user, ["reviewer"], "烟台市市场监管局")


@given(parsers.parse('"{user}" has imported the application of {name} and it waits in formal review'))
def imported_by(world: World, user: str, name: str) -> None:
    content = ("applicant_uscc,certificate_no,certification_date,certification_body\n"
               f"{world.uscc[name]},{world.next_cert()},2021-01-15,中知(北京)认证有限公司\n").encode()
    with unit_of_work(world.db.engine) as s:
        ref = applications.import_applications(s, user, "certification-award", content, "apps.csv")[0].ref
    world.filed(name, ref)
    world.advance()
    assert world.show(ref)["status"] == "formal_review"


@given(parsers.parse('"{user}" has asked for the next case'))
def has_asked(world: World, cli: Any, user: str) -> None:
    r = cli("review", "next", "--json", "--as", user)
    assert r.exit_code == 0 and json.loads(r.stdout)["ref"] == _case(world), r.stderr


@given("the applications entering formal review")
def entering(world: World, datatable: list[list[str]]) -> None:
    for name, day in datatable[1:]:
        world.clock(f"{day}T09:00:00Z")
        world.apply(name)
        world.advance()
        assert world.show(world.ref(name))["status"] == "formal_review"


@given(parsers.parse("the case of {name} waits in formal review"))
def waits(world: World, name: str) -> None:
    world.apply(name)
    world.advance()
    assert world.show(world.ref(name))["status"] == "formal_review"


@given(parsers.parse("the case of {name} has been returned, resubmitted and checked again on {day}"))
def returned_and_resubmitted(world: World, name: str, day: str) -> None:
    ref = world.ref(name)
    world.decide(ref, "return", "认证日期与证书不一致，请核对")
    world.advance()
    world.clock(f"{day}T09:00:00Z")
    with unit_of_work(world.db.engine) as s:
        applications.resubmit(s, "admin", ref, {"certification_date": "2021-01-20"}, "已核对认证日期")
    world.advance()
    assert world.show(ref)["status"] == "formal_review"


@given(parsers.parse('"{user}" has approved it'))
def has_approved(world: World, user: str) -> None:
    world.decide(_case(world), "approve", "材料齐全", reviewer=user)




# --- When -------------------------------------------------------------------------------------

@when(parsers.parse('"{user}" opens the review queue'))
def opens_queue(world: World, cli: Any, user: str) -> None:
    world.result = cli("review", "queue", "--json", "--as", user)
    assert world.result.exit_code == 0, world.result.stderr


@when(parsers.parse('"{user}" asks for the next case'))
def next_case(world: World, cli: Any, user: str) -> None:
    world.result = cli("review", "next", "--json", "--as", user)
    assert world.result.exit_code == 0, world.result.stderr
    world.report = json.loads(world.result.stdout)
    world.handed[user] = world.report["ref"]


@when(parsers.parse('{minutes:d} minutes pass and "{user}" asks for the next case'))
def later_next(world: World, cli: Any, minutes: int, user: str) -> None:
    import datetime as dt

    from models.clock import now

    world.clock((now() + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    next_case(world, cli, user)


def _decide(world: World, cli: Any, user: str, decision: str, reason: str | None) -> None:
    ref = _case(world)
    world.remember()
    args = ["review", "decide", ref, f"--{decision}", "--as", user]
    if reason is not None:
        args += ["--reason", reason]
    world.result = cli(*args)
    world.replay = lambda s: review.decide(s, user, ref, decision, reason)


@when(parsers.parse('"{user}" decides to {decision} it with the reason "{reason}"'))
def decides(world: World, cli: Any, user: str, decision: str, reason: str) -> None:
    _decide(world, cli, user, decision, reason)


@when(parsers.parse('"{user}" decides to {decision} it without a reason'))
def decides_without_reason(world: World, cli: Any, user: str, decision: str) -> None:
    _decide(world, cli, user, decision, None)


@when("the advance run moves decided cases on")
def advance_run(world: World) -> None:
    assert world.result.exit_code == 0, world.result.stderr
    world.advance()


# --- Then -------------------------------------------------------------------------------------

@then("the queue lists")
def queue_lists(world: World, datatable: list[list[str]]) -> None:
    rows = json.loads(world.result.stdout)
    got = [(r["applicant"], r["waiting_since"][:10]) for r in rows]
    assert got == [(name, day) for name, day in datatable[1:]], got
    for r in rows:  # each row names the case of that applicant
        assert r["ref"] in world.cases[r["applicant"]] and r["uscc"] == world.uscc[r["applicant"]]


@then(parsers.parse("it shows the case of {name}, an {kind} in district {district}, with its credit code"))
def shows_applicant(world: World, name: str, kind: str, district: str) -> None:
    case = world.report
    assert case is not None and case["ref"] == world.ref(name)
    assert case["applicant"]["name"] == name
    assert (case["applicant"]["kind"], case["applicant"]["district"]) == (kind, district)
    assert case["applicant"]["uscc"] == world.uscc[name]


@then(parsers.parse("it shows the certificate {cert} issued on {date} by {body}"))
def shows_data(world: World, cert: str, date: str, body: str) -> None:
    assert world.report is not None
    assert world.report["data"] == {"certificate_no": cert, "certification_date": date, "certification_body": body}


@then(parsers.parse("it shows all {n:d} intake checks passed, each with its rule and clause"))
def shows_checks(world: World, n: int) -> None:
    assert world.report is not None
    checks = world.report["checks"]
    assert len(checks) == n and all(c["passed"] for c in checks), checks
    assert all(c["rule"] and c["clause"] for c in checks), checks


@then(parsers.parse("its history reads {first} by {first_actor}, then {second} by {second_actor}"))
def shows_history(world: World, first: str, first_actor: str, second: str, second_actor: str) -> None:
    assert world.report is not None
    history = [(h["action"], h["actor"]) for h in world.report["history"]]
    assert history == [(first, first_actor), (second, second_actor)], history


@then(parsers.parse('"{first}" was handed the case of {a} and "{second}" the case of {b}'))
def handed_two(world: World, first: str, a: str, second: str, b: str) -> None:
    assert (world.handed[first], world.handed[second]) == (world.ref(a), world.ref(b)), world.handed


@then(parsers.parse('"{user}" now holds the case of {name}'))
def handed_one(world: World, user: str, name: str) -> None:
    assert world.handed[user] == world.ref(name), world.handed


@then(parsers.parse('the queue of "{user}" shows the case of {a} held by "{ha}" and the case of {b} held by "{hb}"'))
def queue_holders(world: World, cli: Any, user: str, a: str, ha: str, b: str, hb: str) -> None:
    rows = {r["ref"]: r["held_by"] for r in json.loads(cli("review", "queue", "--json", "--as", user).stdout)}
    assert (rows[world.ref(a)], rows[world.ref(b)]) == (ha, hb), rows


@then(parsers.parse('"{user}" asking again is handed the case of {name} again'))
def handed_again(world: World, cli: Any, user: str, name: str) -> None:
    r = cli("review", "next", "--json", "--as", user)
    assert json.loads(r.stdout)["ref"] == world.ref(name)


@then(parsers.parse('the case is in state {status} ({state_name}) and no longer in the queue of "{user}"'))
def moved_and_gone(world: World, cli: Any, status: str, state_name: str, user: str) -> None:
    assert world.result.exit_code == 0, world.result.stderr
    case = world.show(_case(world))
    assert (case["status"], case["state_name"]) == (status, state_name)
    queue = json.loads(cli("review", "queue", "--json", "--as", user).stdout)
    assert _case(world) not in [r["ref"] for r in queue]


@then(parsers.parse("the case is in state {status} ({state_name})"))
def case_state(world: World, status: str, state_name: str) -> None:
    case = world.show(_case(world))
    assert (case["status"], case["state_name"]) == (status, state_name), case["status"]


@then(parsers.parse('its history records the {decision} decision of "{user}" with the reason "{reason}"'))
def history_records(world: World, decision: str, user: str, reason: str) -> None:
    case = world.show(_case(world))
    assert [(d["decision"], d["reviewer"], d["reason"]) for d in case["decisions"]] == [(decision, user, reason)]
    moved = [h for h in case["history"] if h["action"] == f"case.{decision}"]
    assert [(h["actor"], h["payload"]["to"]) for h in moved] == [(user, case["status"])], moved


@then(parsers.parse('"{user}" reads the reason "{reason}" in its case'))
def applicant_reads(world: World, cli: Any, user: str, reason: str) -> None:
    r = cli("application", "show", _case(world), "--json", "--as", user)
    assert r.exit_code == 0, r.stderr
    case = json.loads(r.stdout)
    assert [d["reason"] for d in case["decisions"]] == [reason]
    assert case["history"][-1]["payload"]["reason"] == reason


@then(parsers.parse('the decision is refused naming "{text}"'))
def refused(world: World, text: str) -> None:
    assert_refused(world.result, text)


@then(parsers.parse('the decision is refused as a four-eyes violation naming "{text}"'))
def refused_four_eyes(world: World, text: str) -> None:
    assert_refused(world.result, text)
    exc = world.refusal()
    assert isinstance(exc, FourEyesViolation) and text in str(exc), exc


@then("nothing is written to the database")
def nothing_written(world: World) -> None:
    world.unchanged()
