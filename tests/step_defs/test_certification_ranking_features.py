"""Step definitions for features/certification_ranking.feature: ranking and allocation within the budget
line (择优、不超额, 二(二)4) through `ipfund round trial|finalize`; setup through the services."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from flows.services import rounds
from rules.errors import FourEyesViolation
from rules.money import format_yuan, parse_yuan
from tests.conftest import EXAMPLES, FEATURES
from tests.step_defs.world import (
    FINALIZE_AT,
    World,
    assert_refused,
    new_world,
    tenths,
)
from tests.support import SCHEME, staff_and_plan

scenarios("certification_ranking.feature", features_base_dir=str(FEATURES))


@pytest.fixture
def world(db: Any, monkeypatch: pytest.MonkeyPatch) -> World:
    return new_world(db, monkeypatch)

CAP_FEN = 8_000_000  # certification-award.cap_fen_per_applicant_year


@pytest.fixture
def trials() -> list[dict[str, Any]]:
    return []


def _yuan(fen: int) -> str:
    return format_yuan(fen).lstrip("¥")


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"examples/plan-2021.toml changed: {old!r}"
    return text.replace(old, new)


def plan_with_line(tmp_path: Path, line_fen: int) -> Path:
    """The sample plan with the certification-award line cut to ``line_fen`` of central money. The rest
    of that line's money goes to the untagged patent-navigation line, so the receipts, the 1:1.2
    match and both 40 % floors stay exactly as in the sample plan."""
    line_central, line_local, nav_central, nav_local = 100_000_000, 250_000_000, 400_000_000, 1_000_000_000
    assert 0 < line_fen <= line_central
    text = (EXAMPLES / "plan-2021.toml").read_text(encoding="utf-8")
    text = _replace_once(
        text, f'central_yuan = "{_yuan(line_central)}"\nlocal_yuan = "{_yuan(line_local)}"\nscheme = "{SCHEME}"',
        f'central_yuan = "{_yuan(line_fen)}"\nscheme = "{SCHEME}"')
    text = _replace_once(
        text, f'tags = []\ncentral_yuan = "{_yuan(nav_central)}"\nlocal_yuan = "{_yuan(nav_local)}"\nscheme = "project-navigation"',
        f'tags = []\ncentral_yuan = "{_yuan(nav_central + line_central - line_fen)}"\n'
        f'local_yuan = "{_yuan(nav_local + line_local)}"\nscheme = "project-navigation"')
    path = tmp_path / "plan-2021-small-line.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _scores(datatable: list[list[str]]) -> list[tuple[str, int | dict[str, int]]]:
    header = datatable[0]
    out: list[tuple[str, int | dict[str, int]]] = []
    for row in datatable[1:]:
        cells = dict(zip(header, row, strict=True))
        name = cells.pop("applicant")
        out.append((name, tenths(cells["score"]) if "score" in cells else
                    {crit: tenths(v) for crit, v in cells.items()}))
    return out


def _scored(world: World, datatable: list[list[str]], reviewer: str = "li.review") -> None:
    wanted = _scores(datatable)
    refs = [world.apply(name) for name, _ in wanted]
    world.approve(refs, reviewer=reviewer)
    world.score({ref: s for ref, (_, s) in zip(refs, wanted, strict=True)})
    assert {world.show(ref)["status"] for ref in refs} == {"scored"}


def _by_applicant(world: World, cases: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Report rows per applicant name, in submission order."""
    owner = {ref: name for name, refs in world.cases.items() for ref in refs}
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in sorted(cases, key=lambda c: c["ref"]):
        out[owner[c["ref"]]].append(c)
    return out


# --- Given ------------------------------------------------------------------------------------

@given(parsers.parse("a 2021 budget plan whose certification-award line holds ¥{amount}, and the round is staffed"))
def small_line(world: World, cli: Any, tmp_path: Path, amount: str) -> None:
    staff_and_plan(world.db.engine, plan=str(plan_with_line(tmp_path, parse_yuan(amount))))
    st = json.loads(cli("budget", "status", "--json").stdout)
    line = next(ln for ln in st["lines"] if ln["code"] == SCHEME)
    assert line["available_fen"] == parse_yuan(amount) and st["all_planned_pass"], line


@given("the scored cases")
def scored(world: World, datatable: list[list[str]]) -> None:
    _scored(world, datatable)


@given(parsers.parse('the scored cases, approved in formal review by "{user}"'))
def scored_by(world: World, datatable: list[list[str]], user: str) -> None:
    _scored(world, datatable, reviewer=user)


@given(parsers.parse("{name} has applied with a certificate issued on {date}"))
def applied_out_of_window(world: World, name: str, date: str) -> None:
    ref = world.apply(name, date=date)
    world.advance()
    assert world.show(ref)["status"] == "rejected"


@given(parsers.parse('the case of {name} has been rejected in formal review by "{user}" because "{reason}"'))
def rejected_by(world: World, name: str, user: str, reason: str) -> None:
    ref = world.apply(name)
    world.advance()
    world.decide(ref, "reject", reason, reviewer=user)
    assert world.show(ref)["status"] == "rejected"


@given(parsers.parse('the case of {name} has been rejected in formal review because "{reason}"'))
def rejected_in_review(world: World, name: str, reason: str) -> None:
    ref = world.apply(name)
    world.advance()
    world.decide(ref, "reject", reason)
    world.advance()
    assert world.show(ref)["status"] == "rejected"


@given(parsers.parse('"{user}" has finalized the 2021 round'))
def has_finalized(world: World, user: str) -> None:
    world.finalize(user)


@given(parsers.parse('the user "{user}" is a reviewer and an approver'))
def reviewer_and_approver(world: World, user: str) -> None:
    world.add_user(user, ["reviewer", "approver"], "烟台市财政局")


@given(parsers.parse('the approver "{user}" belongs to {name}'))
def affiliated_approver(world: World, user: str, name: str) -> None:
    world.add_user(user, ["approver"], world.uscc[name])


# --- When -------------------------------------------------------------------------------------

@when(parsers.parse('"{user}" tries to finalize the 2021 round'))
def tries_to_finalize(world: World, cli: Any, user: str) -> None:
    world.clock(FINALIZE_AT)
    world.remember()
    world.result = cli("round", "finalize", SCHEME, "--year", "2021", "--json", "--as", user)
    world.replay = lambda s: rounds.finalize(s, user, SCHEME, 2021)


def _trial(world: World, cli: Any, user: str) -> dict[str, Any]:
    r = cli("round", "trial", SCHEME, "--year", "2021", "--json", "--as", user)
    assert r.exit_code == 0, r.stderr
    report: dict[str, Any] = json.loads(r.stdout)
    return report


@when(parsers.parse('"{user}" runs a trial allocation of the 2021 round'))
def trial(world: World, cli: Any, trials: list[dict[str, Any]], user: str) -> None:
    world.clock(FINALIZE_AT)
    world.remember()
    trials.append(_trial(world, cli, user))


# --- Then -------------------------------------------------------------------------------------

@then("the round report lists")
def report_lists(world: World, datatable: list[list[str]]) -> None:
    assert world.report is not None
    rows = _by_applicant(world, world.report["cases"])
    header = datatable[0]
    expected = [dict(zip(header, row, strict=True)) for row in datatable[1:]]
    seen: dict[str, int] = defaultdict(int)
    for e in expected:
        c = rows[e["applicant"]][seen[e["applicant"]]]
        seen[e["applicant"]] += 1
        got = (c["rank"], c["outcome"], c["award_fen"], c["reason"])
        want = (None if e["rank"] == "-" else int(e["rank"]), e["outcome"], parse_yuan(e["award"], allow_zero=True),
                e["reason"])
        assert got == want, (e["applicant"], got)
    assert len(world.report["cases"]) == len(expected)


@then(parsers.parse("the case of {name} is in state {status} ({state_name})"))
def case_state(world: World, name: str, status: str, state_name: str) -> None:
    case = world.show(world.ref(name))
    assert (case["status"], case["state_name"]) == (status, state_name), case["status"]


@then("nothing is written to the database")
def nothing_written(world: World) -> None:
    world.unchanged()


@then(parsers.parse("the finalized allocation is the trial's, case by case, with ¥{amount} awarded"))
def same_allocation(world: World, trials: list[dict[str, Any]], amount: str) -> None:
    assert world.report is not None and trials

    def allocation(report: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [(c["ref"], c["rank"], c["outcome"], c["award_fen"]) for c in report["cases"]]

    assert allocation(world.report) == allocation(trials[0])
    assert world.report["total_fen"] == trials[0]["total_fen"] == parse_yuan(amount)
    for c in world.report["cases"]:  # the finalized outcome is written on each case
        case = world.show(c["ref"])
        assert (case["outcome"], case["award_fen"] or 0) == (c["outcome"], c["award_fen"]), case


@then("the trial ranks")
def trial_ranks(world: World, trials: list[dict[str, Any]], datatable: list[list[str]]) -> None:
    owner = {ref: name for name, refs in world.cases.items() for ref in refs}
    got = [(str(c["rank"]), owner[c["ref"]], c["final_score"]) for c in trials[-1]["cases"]]
    assert got == [tuple(row) for row in datatable[1:]], got


@then("a second trial ranks them the same")
def second_trial(world: World, cli: Any, trials: list[dict[str, Any]]) -> None:
    assert _trial(world, cli, "qian.approve")["cases"] == trials[-1]["cases"]


@then(parsers.parse('the finalization is refused naming "{text}"'))
def finalization_refused(world: World, text: str) -> None:
    assert_refused(world.result, text)


@then(parsers.parse('the finalization is refused as a four-eyes violation naming "{text}"'))
def refused_four_eyes(world: World, text: str) -> None:
    assert_refused(world.result, text)
    exc = world.refusal()
    assert isinstance(exc, FourEyesViolation) and text in str(exc), exc


@then(parsers.parse("every applicant's awards of 2021 are at most ¥{cap}"))
def within_cap(world: World, cap: str) -> None:
    assert parse_yuan(cap) == CAP_FEN
    for name, refs in world.cases.items():
        awards = [world.show(ref)["award_fen"] or 0 for ref in refs]
        assert all(a <= CAP_FEN for a in awards) and sum(awards) <= CAP_FEN, (name, awards)


@then(parsers.parse("the awards total ¥{total}, within the line's ¥{line}"))
def within_line(world: World, total: str, line: str) -> None:
    assert world.report is not None
    assert world.report["budget_fen"] == parse_yuan(line)
    assert world.report["total_fen"] == sum(c["award_fen"] for c in world.report["cases"]) == parse_yuan(total)
    assert world.report["total_fen"] <= world.report["budget_fen"]


@then(parsers.parse("the budget status shows ¥{committed} committed and ¥{available} available on the "
                    "certification-award line"))
def budget_status(world: World, cli: Any, committed: str, available: str) -> None:
    st = json.loads(cli("budget", "status", "--json").stdout)
    line = next(ln for ln in st["lines"] if ln["code"] == SCHEME)
    assert (line["committed_fen"], line["available_fen"]) == (parse_yuan(committed), parse_yuan(available)), line
