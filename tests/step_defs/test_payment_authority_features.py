"""Step definitions for features/payment_authority.feature: releases, the payment stage, bank files,
payee bank details and the bank's acknowledgements (拨付, 三(三)); shared steps in conftest.py."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from pytest_bdd import given, parsers, scenarios, then, when
from sqlalchemy import text

from flows.services import payments
from models.uow import unit_of_work
from tests.conftest import FEATURES
from tests.step_defs.world import World, assert_refused, flat
from tests.support import SCHEME

scenarios("payment_authority.feature", features_base_dir=str(FEATURES))


def _sent(ctx: dict[str, Any]) -> list[dict[str, str]]:
    return [r for f in sorted(ctx["out"].glob("payment-batch-*.csv"))
            for r in csv.DictReader(io.StringIO(f.read_bytes().decode("utf-8-sig")))]


@given(parsers.parse('"{user}" has released the payable awards'))
def released(world: World, user: str) -> None:
    with unit_of_work(world.db.engine) as s:
        assert len(payments.release(s, user, SCHEME).released) == len(world.cases)


@when("the advance flow is run from the command line without --as")
def advance_without_user(world: World, cli: Any) -> None:
    world.result = cli("flows", "advance")


@when(parsers.parse('the advance flow is run from the command line as "{user}"'))
def advance_as(world: World, cli: Any, user: str) -> None:
    world.result = cli("flows", "advance", "--as", user)


@when(parsers.parse('"{user}" asks for the bank file of batch {batch:d} again'))
def copy_asked(world: World, cli: Any, ctx: dict[str, Any], user: str, batch: int) -> None:
    ctx["copy_dir"] = ctx["out"].parent / "copies"
    world.result = cli("pay", "file", str(batch), "--out", f"{ctx['copy_dir']}/", "--as", user)


@when(parsers.parse('"{user}" records the bank account of {name} as "{bank}", "{account}"'))
def records_bank(world: World, cli: Any, user: str, name: str, bank: str, account: str) -> None:
    world.remember()
    world.result = cli("applicant", "bank", world.uscc[name], "--bank-name", bank, "--account", account,
                       "--reason", "开户许可证更正", "--as", user)


@then("no bank file is written at all")
def no_file_at_all(ctx: dict[str, Any]) -> None:
    assert not list(ctx["out"].glob("*.csv")) if ctx["out"].exists() else True


@then(parsers.parse('every payment names "{payer}" as payer and "{approver}" as approver'))
def payer_and_approver(world: World, payer: str, approver: str) -> None:
    with world.db.engine.connect() as c:
        rows = c.execute(text("SELECT payer, approver, release_id FROM payment")).all()
    assert len(rows) == len(world.cases)
    assert {(r[0], r[1]) for r in rows} == {(payer, approver)} and all(r[2] for r in rows)


@then("the bank file pays each award into the payee's account on file")
def into_accounts(world: World, ctx: dict[str, Any]) -> None:
    with world.db.engine.connect() as c:
        on_file = {r[0]: (r[1], r[2]) for r in c.execute(text("SELECT uscc, bank_name, bank_account FROM applicant"))}
    rows = _sent(ctx)
    assert len(rows) == len(world.cases)
    for r in rows:
        assert (r["bank_name"], r["bank_account"]) == on_file[r["credit_code"]] and r["bank_account"]


@then(parsers.parse('the command is refused naming "{text}"'))
def command_refused(world: World, text: str) -> None:
    assert_refused(world.result, text)


@then(parsers.parse('the command warns "{text}"'))
def warns(world: World, text: str) -> None:
    assert world.result.exit_code == 0, world.result.stderr
    assert text in flat(world.result.stderr), world.result.stderr


@then(parsers.parse("the copy is byte for byte the file of batch {batch:d}"))
def same_bytes(ctx: dict[str, Any], batch: int) -> None:
    name = f"payment-batch-{batch:05d}.csv"
    assert (ctx["copy_dir"] / name).read_bytes() == (ctx["out"] / name).read_bytes()


@then(parsers.parse("the audit log records both writings of batch {batch:d}'s file, the second as a copy"))
def both_writings(cli: Any, batch: int) -> None:
    events = json.loads(cli("audit", "log", "--subject", f"batch:{batch}", "--json").stdout)
    writes = [e["payload"]["copy"] for e in events if e["action"] == "pay.file"]
    assert writes == [False, True], events


@then(parsers.parse('the bank account of {name} is "{account}" at "{bank}"'))
def account_is(world: World, name: str, account: str, bank: str) -> None:
    assert world.result.exit_code == 0, world.result.stderr
    with world.db.engine.connect() as c:
        got = c.execute(text("SELECT bank_name, bank_account FROM applicant WHERE uscc = :u"),
                        {"u": world.uscc[name]}).one()
    assert tuple(got) == (bank, account)


@then(parsers.parse('the audit log records the old and the new bank details of {name} by "{user}"'))
def bank_audited(world: World, cli: Any, name: str, user: str) -> None:
    events = json.loads(cli("audit", "log", "--subject", f"applicant:{world.uscc[name]}", "--json").stdout)
    changes = [e for e in events if e["action"] == "applicant.bank"]
    assert len(changes) == 1 and changes[0]["actor"] == user
    old, new = changes[0]["payload"]["old"], changes[0]["payload"]["new"]
    assert old["bank_account"] and old["bank_account"] != new["bank_account"] == "6216610000012345678"

