"""Step definitions for features/programme_kpis.feature (rules/kpis.py, on the bundled policy)."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from rules import kpis
from rules.policy import load_policy

FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("programme_kpis.feature", features_base_dir=str(FEATURES))
POLICY = load_policy("yantai-2020")


@pytest.fixture
def world() -> dict[str, Any]:
    return {"facts": []}


@given(parsers.parse("{n:d} entities whose certification awards stand in 2021"))
def _entities(world: dict[str, Any], n: int) -> None:
    world["facts"] += [kpis.CaseFact(i, 1000 + i, 2021, "paid", True) for i in range(n)]


@given("an entity whose award stands in 2021 and again in 2022")
def _twice(world: dict[str, Any]) -> None:
    world["facts"] += [kpis.CaseFact(1, 7, 2021, "paid", True), kpis.CaseFact(2, 7, 2022, "payable", True)]


@given("another entity whose award was withdrawn after an objection")
def _withdrawn(world: dict[str, Any]) -> None:
    world["facts"].append(kpis.CaseFact(3, 8, 2021, "not_awarded", True))


@when("the KPIs are reported at the end of 2023")
def _report(world: dict[str, Any]) -> None:
    end = dt.date(2023, 12, 31)
    years = kpis.period_years(POLICY, end)
    by_year, total = kpis.count_cases(POLICY, POLICY.kpis["certified_entities"], world["facts"], years)
    world["certified"] = kpis.evaluate(POLICY, "certified_entities", end, by_year, total)
    world["pledge"] = kpis.evaluate(POLICY, "pledge_financing_growth", end)


def _target(world: dict[str, Any], value: int) -> kpis.TargetResult:
    return next(t for t in world["certified"].targets if t.target == value)


@then(parsers.parse("the 烟台 plan's target of 240 is {state}"))
def _city(world: dict[str, Any], state: str) -> None:
    assert _target(world, 240).met is (state == "met")


@then(parsers.parse("the national floor of 200 is {state}"))
def _national(world: dict[str, Any], state: str) -> None:
    assert _target(world, 200).met is (state == "met")


@then(parsers.parse("the certified entities are {a:d} in 2021, {b:d} in 2022 and {total:d} for the programme"))
def _counts(world: dict[str, Any], a: int, b: int, total: int) -> None:
    r = world["certified"]
    assert (r.by_year[2021], r.by_year[2022], r.total) == (a, b, total)


@then("the pledge financing growth target of 30 % a year is listed as measured outside ipfund")
def _outside(world: dict[str, Any]) -> None:
    r = world["pledge"]
    assert r.total is None and r.source
    assert [(t.target, t.met) for t in r.targets] == [(Fraction(3, 10), None)]
