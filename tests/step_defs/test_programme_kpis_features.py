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


def _fen(yuan: str) -> int:
    whole, _, cents = yuan.replace(",", "").partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


@given(parsers.re(r"pledge loans of ¥(?P<amount>[\d,.]+) in (?P<n>\d+) loans drawn down in (?P<year>\d{4})"
                  r"(?:, (?P<first>\d+) of them first loans)?$"))
def _loans(world: dict[str, Any], amount: str, n: str, year: str, first: str | None) -> None:
    fen, count = _fen(amount), int(n)
    base = len(world.setdefault("loans", []))
    world["loans"] += [kpis.LoanFact(int(year), fen // count + (1 if i < fen % count else 0), base + i,
                                     i < int(first or 0)) for i in range(count)]


@when(parsers.parse("the KPIs are reported at the end of {year:d}"))
def _report(world: dict[str, Any], year: int) -> None:
    end = dt.date(year, 12, 31)
    years = kpis.period_years(POLICY, end)
    by_year, total = kpis.count_cases(POLICY, POLICY.kpis["certified_entities"], world["facts"], years)
    world["certified"] = kpis.evaluate(POLICY, "certified_entities", end, by_year, total)
    world["outside"] = kpis.evaluate(POLICY, "transfers_licences_growth", end)
    world["pledge"] = kpis.evaluate(POLICY, "pledge_financing_growth", end,
                                    pledge=kpis.pledge_series(world.get("loans", []), years))


@then(parsers.parse("the pledge financing growth target of 30 % a year is {state}"))
def _pledge_state(world: dict[str, Any], state: str) -> None:
    [t] = world["pledge"].targets
    assert t.target == Fraction(3, 10)
    assert t.met is {"met": True, "not met": False, "not measurable yet": None}[state]


@then(parsers.parse("{year:d} shows growth of {amount} in amount and {count} in loans"))
def _pledge_growth(world: dict[str, Any], year: int, amount: str, count: str) -> None:
    f = world["pledge"].figures
    assert (f["amount_growth"][str(year)], f["count_growth"][str(year)]) == (amount, count)


@then(parsers.parse("{year:d} shows {n:d} borrowers with a first loan"))
def _first(world: dict[str, Any], year: int, n: int) -> None:
    assert world["pledge"].figures["first_loan_borrowers"][str(year)] == n


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


@then("the transfers and licences growth target of 20 % a year is listed as measured outside ipfund")
def _outside(world: dict[str, Any]) -> None:
    r = world["outside"]
    assert r.total is None and r.source
    assert [(t.target, t.met) for t in r.targets] == [(Fraction(1, 5), None)]
