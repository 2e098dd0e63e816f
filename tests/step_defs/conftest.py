"""Steps and fixtures shared by the certification-award features (pytest-bdd finds steps here)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_bdd import given, parsers, when

from tests.step_defs.world import FINALIZE_AT, World, new_world
from tests.support import staff_and_plan


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
    world.result = cli("round", "finalize", "--year", "2021", "--json", "--as", user)
    assert world.result.exit_code == 0, world.result.stderr
    world.report = json.loads(world.result.stdout)
