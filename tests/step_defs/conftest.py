"""Steps and fixtures shared by the certification-award features (pytest-bdd finds steps here)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from flows.services import payments, rounds
from models.uow import unit_of_work
from tests.step_defs.world import FINALIZE_AT, World, assert_refused, flat, names_in, new_world
from tests.support import SCHEME, staff_and_plan


@pytest.fixture
def world(db: Any, monkeypatch: pytest.MonkeyPatch) -> World:
    return new_world(db, monkeypatch)


@given("the sample 2021 budget plan is loaded and the round is staffed")
def sample_plan(world: World) -> None:
    staff_and_plan(world.db.engine)


@given("the registered applicants")
def registered(world: World, datatable: list[list[str]]) -> None:
    header = datatable[0]
    world.register([dict(zip(header, row, strict=True)) for row in datatable[1:]])


@given(parsers.parse('the applicant user "{user}" belongs to {name}'))
def applicant_user(world: World, user: str, name: str) -> None:
    world.member(user, name)


@when(parsers.parse('the approver "{user}" finalizes the 2021 round'))
def finalizes(world: World, cli: Any, user: str) -> None:
    world.clock(FINALIZE_AT)
    world.result = cli("round", "finalize", SCHEME, "--year", "2021", "--json", "--as", user)
    assert world.result.exit_code == 0, world.result.stderr
    world.report = json.loads(world.result.stdout)


# --- notice, payment and bank files (shared by the notice/payment and payment-authority features) ---

@pytest.fixture
def ctx(tmp_path: Path) -> dict[str, Any]:
    return {"out": tmp_path / "bank", "files": 0}


@given(parsers.parse("the scored cases of {names}"))
def scored_cases(world: World, names: str) -> None:
    refs = [world.apply(name) for name in names_in(names)]
    world.approve(refs)
    world.score(dict.fromkeys(refs, 800))
    assert {world.show(ref)["status"] for ref in refs} == {"scored"}


@given(parsers.parse('"{user}" has finalized the 2021 round on {day}'))
def finalized(world: World, user: str, day: str) -> None:
    world.clock(f"{day}T01:00:00Z")
    with unit_of_work(world.db.engine) as s:
        world.report = rounds.finalize(s, user, SCHEME, 2021)
    assert world.report["funded"] == len(world.cases)


@given("the notice period has ended")
def notice_ended(world: World) -> None:
    world.clock("2021-05-18T01:00:00Z")
    world.advance()
    assert {world.show(refs[0])["status"] for refs in world.cases.values()} == {"payable"}


def _batch(world: World, cli: Any, ctx: dict[str, Any], user: str) -> None:
    world.result = cli("pay", "batch", "--scheme", SCHEME, "--out", str(ctx["out"]), "--as", user)
    world.replay = lambda s: payments.batch(s, user, SCHEME)
    m = re.search(r"batch (\d+)\b", flat(world.result.stdout))
    ctx["bank_file"] = ctx["out"] / f"payment-batch-{int(m[1]):05d}.csv" if m else None


@given(parsers.parse('"{user}" has made a payment batch'))
def has_batched(world: World, cli: Any, ctx: dict[str, Any], user: str) -> None:
    _batch(world, cli, ctx, user)
    assert world.result.exit_code == 0 and ctx["bank_file"], world.result.stderr


def _confirm(world: World, cli: Any, ctx: dict[str, Any], user: str, datatable: list[list[str]] | None) -> None:
    if datatable is not None:
        ctx["files"] += 1
        path = ctx["out"].parent / f"bank-ack-{ctx['files']}.csv"
        header, rows = datatable[0], datatable[1:]
        # The bank echoes what it was sent (amount, payee, account) unless the table says otherwise.
        sent = {r["idempotency_key"]: r for f in sorted(ctx["out"].glob("payment-batch-*.csv"))
                for r in csv.DictReader(io.StringIO(f.read_bytes().decode("utf-8-sig")))}
        echo = [c for c in ("amount_fen", "payee", "bank_account") if c not in header]
        table = [header + echo] + [row + [sent.get(row[0], {}).get(c, "") for c in echo] for row in rows]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows(table)
        path.write_bytes(buf.getvalue().encode("utf-8"))
        ctx["ack"] = path
    world.result = cli("pay", "confirm", str(ctx["ack"]), "--json", "--as", user)


@given(parsers.parse('"{user}" has imported the bank confirmation'))
def has_confirmed(world: World, cli: Any, ctx: dict[str, Any], user: str, datatable: list[list[str]]) -> None:
    _confirm(world, cli, ctx, user, datatable)
    assert world.result.exit_code == 0, world.result.stderr


@when(parsers.parse("the advance run goes on {day}"))
def advance_on(world: World, ctx: dict[str, Any], day: str) -> None:
    world.clock(f"{day}T01:00:00Z")
    world.advance(out_dir=str(ctx["out"]))


@when(parsers.parse('"{user}" makes a payment batch'))
def batches(world: World, cli: Any, ctx: dict[str, Any], user: str) -> None:
    world.remember()
    _batch(world, cli, ctx, user)


@when(parsers.parse('"{user}" imports the bank confirmation'))
def confirms(world: World, cli: Any, ctx: dict[str, Any], user: str, datatable: list[list[str]]) -> None:
    world.remember()
    _confirm(world, cli, ctx, user, datatable)


@then(parsers.parse("the cases of {names} are in state {status} ({state_name})"))
def cases_state(world: World, names: str, status: str, state_name: str) -> None:
    for name in names_in(names):
        case = world.show(world.ref(name))
        assert (case["status"], case["state_name"]) == (status, state_name), (name, case["status"])


@then("no bank file is written")
def no_file(ctx: dict[str, Any]) -> None:
    assert sorted(p.name for p in ctx["out"].glob("*.csv")) == ["payment-batch-00001.csv"]


@then(parsers.parse('the confirmation is refused naming "{text}"'))
def confirmation_refused(world: World, text: str) -> None:
    assert_refused(world.result, text)

@then("nothing is written to the database")
def nothing_written_shared(world: World) -> None:
    world.unchanged()
