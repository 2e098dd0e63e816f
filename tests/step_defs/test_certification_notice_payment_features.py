"""Step definitions for features/certification_notice_payment.feature: public notice (公示), objections and
disbursement (拨付, 二(二)4) through `ipfund notice` and `ipfund pay`; setup through the services."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when
from sqlalchemy import text
from sqlmodel import select

from flows.services import notice, payments
from models.tables import Payment
from models.uow import unit_of_work
from rules.errors import FourEyesViolation, IdempotencyConflict, RuleViolation
from rules.money import parse_yuan
from tests.conftest import FEATURES
from tests.step_defs.conftest import _confirm
from tests.step_defs.world import World, assert_refused, flat, new_world
from tests.support import SCHEME

scenarios("certification_notice_payment.feature", features_base_dir=str(FEATURES))


@pytest.fixture
def world(db: Any, monkeypatch: pytest.MonkeyPatch) -> World:
    return new_world(db, monkeypatch)


def _line(cli: Any) -> dict[str, Any]:
    st = json.loads(cli("budget", "status", "--json").stdout)
    line: dict[str, Any] = next(ln for ln in st["lines"] if ln["code"] == SCHEME)
    return line


def _rows(db: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Payments, cases and ledger postings row by row (finer than the row counts of db.snapshot())."""
    queries = {"payment": "SELECT idempotency_key, status, bank_ref, failure_reason, confirmed_at FROM payment",
               "application": "SELECT ref, status, status_at, award_fen FROM application",
               "posting": "SELECT id, kind, memo FROM posting", "account": "SELECT id, balance_fen FROM account"}
    with db.engine.connect() as conn:
        return {k: sorted(tuple(r) for r in conn.execute(text(q))) for k, q in queries.items()}


# --- Given ------------------------------------------------------------------------------------

@given(parsers.parse('the finance officer "{user}" belongs to {name}'))
def affiliated_finance(world: World, user: str, name: str) -> None:
    world.add_user(user, ["finance"], world.uscc[name])


@given(parsers.parse('the user "{user}" is an approver of the finance bureau'))
def bureau_approver(world: World, user: str) -> None:
    world.add_user(user, ["approver"], "烟台市财政局")


@given(parsers.parse('the user "{user}" is an approver and a finance officer'))
def approver_and_finance(world: World, user: str) -> None:
    world.add_user(user, ["approver", "finance"], "烟台市财政局")


@given(parsers.parse('"{user}" has objected to the award of {name}'))
def has_objected(world: World, user: str, name: str) -> None:
    with unit_of_work(world.db.engine) as s:
        notice.object_to(s, user, world.ref(name), "证书状态存疑，请核实")


@given(parsers.parse("the certification-award line has ¥{amount} committed"))
@then(parsers.parse("the certification-award line has ¥{amount} committed"))
def committed(cli: Any, ctx: dict[str, Any], amount: str) -> None:
    ctx["committed"] = _line(cli)["committed_fen"]
    assert ctx["committed"] == parse_yuan(amount)


# --- When -------------------------------------------------------------------------------------

@when(parsers.parse('"{user}" objects to the award of {name} because "{reason}"'))
def objects(world: World, cli: Any, user: str, name: str, reason: str) -> None:
    world.last = world.ref(name)
    world.result = cli("notice", "object", world.last, "--reason", reason, "--as", user)
    assert world.result.exit_code == 0, world.result.stderr


@when(parsers.parse('"{user}" tries to object to the award of {name} because "{reason}"'))
def tries_to_object(world: World, cli: Any, user: str, name: str, reason: str) -> None:
    world.remember()
    world.result = cli("notice", "object", world.ref(name), "--reason", reason, "--as", user)


@when(parsers.parse('"{user}" tries to dismiss the objection to {name} because "{reason}"'))
def tries_to_dismiss(world: World, cli: Any, user: str, name: str, reason: str) -> None:
    world.remember()
    world.result = cli("notice", "resolve", world.ref(name), "--dismiss", "--reason", reason, "--as", user)


@when(parsers.re(r'"(?P<user>[^"]+)" (?P<verb>upholds|dismisses) the objection to (?P<name>.+) because "(?P<reason>[^"]+)"'))
def resolves(world: World, cli: Any, user: str, verb: str, name: str, reason: str) -> None:
    flag = {"upholds": "--uphold", "dismisses": "--dismiss"}[verb]
    world.result = cli("notice", "resolve", world.ref(name), flag, "--reason", reason, "--as", user)
    assert world.result.exit_code == 0, world.result.stderr


@when(parsers.parse('"{user}" imports the same bank confirmation again'))
def confirms_again(world: World, cli: Any, ctx: dict[str, Any], user: str) -> None:
    world.remember()
    ctx["rows"] = _rows(world.db)
    _confirm(world, cli, ctx, user, None)


@when(parsers.parse("the payment to {name} is requested again under the key {key} for ¥{amount}"))
def requested_again(world: World, ctx: dict[str, Any], name: str, key: str, amount: str) -> None:
    world.remember()
    try:
        with unit_of_work(world.db.engine) as s:
            p = s.exec(select(Payment).where(Payment.idempotency_key == key)).one()
            ctx["original"] = (p.id, p.amount_fen)
            fields = p.model_dump(exclude={"id", "idempotency_key"}) | {"amount_fen": parse_yuan(amount)}
            got, created = payments.ensure_payment(s, key, **fields)
            ctx["outcome"] = (got.id, got.amount_fen, created)
    except RuleViolation as exc:
        ctx["outcome"] = exc


# --- Then -------------------------------------------------------------------------------------

@then(parsers.parse("the case of {name} is in state {status} ({state_name})"))
def case_state(world: World, name: str, status: str, state_name: str) -> None:
    case = world.show(world.ref(name))
    assert (case["status"], case["state_name"]) == (status, state_name), case["status"]


@then(parsers.parse("the case of {name} is in state {status} ({state_name}) with no award"))
def case_without_award(world: World, name: str, status: str, state_name: str) -> None:
    case = world.show(world.ref(name))
    assert (case["status"], case["state_name"], case["award_fen"]) == (status, state_name, None), case["status"]
    assert case["outcome"] == "objection_upheld"


@then(parsers.parse("the case of {name} is in state {status} ({state_name}) with an award of ¥{amount}"))
def case_with_award(world: World, name: str, status: str, state_name: str, amount: str) -> None:
    case = world.show(world.ref(name))
    assert (case["status"], case["state_name"], case["award_fen"]) == (status, state_name, parse_yuan(amount))


@then(parsers.parse("their notice period ends on {day}"))
def notice_ends(world: World, day: str) -> None:
    for refs in world.cases.values():
        assert (world.show(refs[0])["notice_ends"] or "")[:10] == day


@then(parsers.parse('the case shows the open objection of "{user}", "{reason}"'))
def open_objection(world: World, cli: Any, user: str, reason: str) -> None:
    r = cli("application", "show", world.last or "", "--json", "--as", "li.review")
    objections = json.loads(r.stdout)["objections"]
    assert [(o["raised_by"], o["reason"], o["resolution"]) for o in objections] == [(user, reason, None)]


@then(parsers.parse("the certification-award line has ¥{amount} committed, ¥{less} less"))
def committed_less(cli: Any, ctx: dict[str, Any], amount: str, less: str) -> None:
    now_fen = _line(cli)["committed_fen"]
    assert now_fen == parse_yuan(amount) and ctx["committed"] - now_fen == parse_yuan(less)


def _bank_rows(ctx: dict[str, Any]) -> list[dict[str, str]]:
    assert ctx["bank_file"] is not None, "no bank file was written"
    return list(csv.DictReader(io.StringIO(ctx["bank_file"].read_bytes().decode("utf-8-sig"))))


@then(parsers.parse("the bank file has the columns {columns}"))
def bank_columns(world: World, ctx: dict[str, Any], columns: str) -> None:
    assert world.result.exit_code == 0, world.result.stderr
    header = ctx["bank_file"].read_bytes().decode("utf-8-sig").splitlines()[0]
    assert header == columns


@then("the bank file pays")
def bank_pays(world: World, ctx: dict[str, Any], datatable: list[list[str]]) -> None:
    assert world.result.exit_code == 0, world.result.stderr
    header = datatable[0]
    rows = _bank_rows(ctx)
    assert [{k: r[k] for k in header} for r in rows] == [dict(zip(header, row, strict=True)) for row in datatable[1:]]
    for r in rows:
        assert r["credit_code"] == world.uscc[r["payee"]]


@then(parsers.parse('the batch is refused as a four-eyes violation naming "{text}"'))
def batch_refused(world: World, text: str) -> None:
    assert_refused(world.result, text)
    exc = world.refusal()
    assert isinstance(exc, FourEyesViolation) and text in str(exc), exc


@then(parsers.parse('the batch reports "{text}"'))
def batch_reports(world: World, text: str) -> None:
    assert world.result.exit_code == 0, world.result.stderr
    assert text in flat(world.result.stdout)


@then("nothing is written to the database")
def nothing_written(world: World) -> None:
    world.unchanged()


@then(parsers.parse("the import reports {paid:d} paid, {failed:d} failed and {unchanged:d} already recorded"))
def import_counts(world: World, paid: int, failed: int, unchanged: int) -> None:
    assert world.result.exit_code == 0, world.result.stderr
    assert json.loads(world.result.stdout) == {"paid": paid, "failed": failed, "unchanged": unchanged}


@then("no payment, case or ledger entry changes")
def no_change(world: World, ctx: dict[str, Any]) -> None:
    assert _rows(world.db) == ctx["rows"]
    after = world.db.snapshot()
    assert world.before is not None
    assert {k: v for k, v in after.items() if k != "audit_event"} == \
        {k: v for k, v in world.before.items() if k != "audit_event"}


@then(parsers.parse('the objection is refused naming "{text}"'))
def objection_refused(world: World, text: str) -> None:
    assert_refused(world.result, text)


@then(parsers.parse("the original payment of ¥{amount} is returned"))
def original_returned(ctx: dict[str, Any], amount: str) -> None:
    assert ctx["outcome"] == (ctx["original"][0], parse_yuan(amount), False)


@then(parsers.parse('the request is refused as an idempotency conflict naming "{text}"'))
def idempotency_conflict(ctx: dict[str, Any], text: str) -> None:
    assert isinstance(ctx["outcome"], IdempotencyConflict), ctx["outcome"]
    assert text in str(ctx["outcome"]) and "nothing written" in str(ctx["outcome"])
