"""Step definitions for features/project_grant_rules.feature (the pure rules of 二(四)12 / 三(三))."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_bdd import given, parsers, scenarios, then, when

from rules.constants import DEFAULT_POLICY_ID
from rules.money import format_yuan, parse_yuan
from rules.policy import POLICY_DIR, PolicyError, load_policy, parse_policy
from rules.schemes import project_grant as pg

FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("project_grant_rules.feature", features_base_dir=str(FEATURES))

NAMES = {"优": "A", "良": "B", "中": "C", "差": "D"}
ON = dt.date(2022, 3, 1)


def _n(text: str) -> Fraction:
    return Fraction(Decimal(text.strip()))


def _yuan(text: str) -> int:
    return parse_yuan(text.strip())


def _draft(name: str, value: Any) -> str | None:
    doc = yaml.safe_load((POLICY_DIR / f"{DEFAULT_POLICY_ID}.yaml").read_text(encoding="utf-8"))
    doc["parameters"][name]["values"] = {dt.date(2020, 10, 19): value}
    try:
        parse_policy(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "draft.yaml")
    except PolicyError as exc:
        return str(exc)
    return None


@pytest.fixture
def case() -> dict[str, Any]:
    return {"kpis": []}


@given("the policy yantai-2020")
def policy(case: dict[str, Any]) -> None:
    case["policy"] = load_policy()


@when(parsers.parse("a project scores {score}"))
def scores(case: dict[str, Any], score: str) -> None:
    case["grade"] = pg.grade_of(case["policy"], _n(score), ON)


@then(parsers.parse("its grade is {grade}"))
def grade_is(case: dict[str, Any], grade: str) -> None:
    assert case["grade"] == (NAMES[grade], grade)


@when(parsers.parse("a draft policy's bands are {spec}"))
def draft_bands(case: dict[str, Any], spec: str) -> None:
    bands = []
    for part in spec.split(", "):
        name, _, floor = part.split(" ")
        bands.append({"grade": NAMES[name], "name": name, "min": floor})
    case["error"] = _draft("project-grant.grade_bands", bands)


@when(parsers.parse("a draft policy's tranches are {a:d} % and {b:d} %"))
def draft_tranches(case: dict[str, Any], a: int, b: int) -> None:
    case["error"] = _draft("project-grant.tranches", [
        {"key": "advance", "share": str(Decimal(a) / 100), "due_on": "agreement"},
        {"key": "mid_term", "share": str(Decimal(b) / 100), "due_on": "mid_term", "banded": True}])


@then(parsers.parse('the policy is refused: "{text}"'))
def policy_refused(case: dict[str, Any], text: str) -> None:
    assert case["error"] and text in case["error"], case["error"]


@given(parsers.re(r'the agreement\'s KPI "(?P<code>\w+)" (?P<way>rises|falls) from (?P<base>\d+) to (?P<target>\d+) '
                  r'(?P<unit>\S*) ?, weight (?P<weight>\d+) %'))
def kpi(case: dict[str, Any], code: str, way: str, base: str, target: str, unit: str, weight: str) -> None:
    case["kpis"].append(pg.Kpi(code, code, unit, _n(base), _n(target), _n(weight),
                               "reach" if way == "rises" else "reduce"))


@given(parsers.parse('the agreement\'s KPI "{code}" is a report delivered per GB/T 39551-2020, weight {weight:d} %'))
def kpi_done(case: dict[str, Any], code: str, weight: int) -> None:
    case["kpis"].append(pg.Kpi(code, "专利导航报告", "report", Fraction(0), Fraction(1), Fraction(weight), "done"))


def _actuals(text: str) -> dict[str, Fraction]:
    out = {}
    for part in text.split(", "):
        code, value = part.split(" ")
        out[code] = _n(value)
    return out


@when(parsers.re(r"the actuals are (?P<spec>[\w\s,.]+?)(?: and the evaluators' rubric score is (?P<rubric>[\d.]+))?$"))
def actuals(case: dict[str, Any], spec: str, rubric: str | None) -> None:
    try:
        if rubric is None:
            case["kpi_score"] = pg.kpi_score(case["policy"], case["kpis"], _actuals(spec), ON)[0]
        else:
            case["evaluation"] = pg.evaluate(case["policy"], case["kpis"], _actuals(spec), _n(rubric), ON)
    except pg.ProjectProblem as exc:
        case["refused"] = str(exc)


@then(parsers.parse("the KPI score is {score}"))
def kpi_score_is(case: dict[str, Any], score: str) -> None:
    assert case["kpi_score"] == _n(score)


@then(parsers.parse("the evaluation score is {score} and the grade is {grade}"))
def evaluation_is(case: dict[str, Any], score: str, grade: str) -> None:
    e = case["evaluation"]
    assert (e.score, e.grade, e.grade_name) == (_n(score), NAMES[grade], grade)


@then(parsers.parse("the trace names {a} and {b}"))
def trace_names(case: dict[str, Any], a: str, b: str) -> None:
    named = {s.parameter for s in case["evaluation"].trace}
    assert {a, b} <= named


@then(parsers.parse('it is refused: "{text}"'))
def refused(case: dict[str, Any], text: str) -> None:
    assert text in case.get("refused", ""), case


@then(parsers.parse('the agreement is refused: "{text}"'))
def agreement_refused(case: dict[str, Any], text: str) -> None:
    problems = pg.kpi_problems(case["kpis"])
    assert any(text in p for p in problems), problems


@given(parsers.parse("a grant of {amount}"))
def grant(case: dict[str, Any], amount: str) -> None:
    case["grant"] = _yuan(amount)
    case["plan"] = pg.tranche_plan(case["policy"], case["grant"], ON)


@then(parsers.parse("the tranches are advance {a} and mid_term {b}"))
def tranches_are(case: dict[str, Any], a: str, b: str) -> None:
    assert [(t.key, format_yuan(t.amount_fen)) for t in case["plan"]] == [("advance", a), ("mid_term", b)]
    assert sum(t.amount_fen for t in case["plan"]) == case["grant"]


@when(parsers.parse("the mid-term tranche is released for grade {grade}"))
def released(case: dict[str, Any], grade: str) -> None:
    case["release"] = pg.release(case["policy"], case["plan"][1], NAMES[grade], ON)


@then(parsers.parse("{released} is released and {cancelled} cancelled, back to the line"))
def release_is(case: dict[str, Any], released: str, cancelled: str) -> None:
    r = case["release"]
    assert (format_yuan(r.released_fen), format_yuan(r.cancelled_fen)) == (released, cancelled)


@when(parsers.parse("a project is graded 差 on {day}"))
def graded_d(case: dict[str, Any], day: str) -> None:
    on = dt.date.fromisoformat(day)
    assert pg.needs_rectification(case["policy"], "D", on)
    assert not pg.needs_rectification(case["policy"], "C", on)
    case["due"] = pg.rectification_due(case["policy"], on)


@then(parsers.parse("it must be rectified by {day}"))
def due(case: dict[str, Any], day: str) -> None:
    assert case["due"] == dt.date.fromisoformat(day)


@when(parsers.parse("the project is found unrectified on {day} with {amount} released and paid"))
def unrectified(case: dict[str, Any], day: str, amount: str) -> None:
    case["lost"] = pg.unrectified(case["policy"], case["grant"], _yuan(amount), _yuan(amount), dt.date.fromisoformat(day))


@then(parsers.parse("{cancelled} is cancelled, {claw} is clawed back, and it is barred until {day}"))
def lost(case: dict[str, Any], cancelled: str, claw: str, day: str) -> None:
    u = case["lost"]
    assert (format_yuan(u.cancelled_fen), format_yuan(u.clawback_fen), u.barred_until) == \
        (cancelled, claw, dt.date.fromisoformat(day))


@when(parsers.parse("a clawback of {amount} is asked with {paid} paid and {before} clawed back before"))
def clawback(case: dict[str, Any], amount: str, paid: str, before: str) -> None:
    case["claw_problem"] = pg.clawback_problem(_yuan(amount), _yuan(paid), _yuan(before))


@then(parsers.parse("the clawback is {outcome}"))
def clawback_is(case: dict[str, Any], outcome: str) -> None:
    assert (case["claw_problem"] is None) == (outcome == "accepted"), case["claw_problem"]
