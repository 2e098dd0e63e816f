"""Step definitions for features/certification_scores.feature: assignment of third-party evaluators and
score uploads (二(二)4) through `ipfund evaluator` and `ipfund scores`; setup through the services."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.conftest import FEATURES
from tests.step_defs.world import World, assert_refused, flat, names_in, new_world

scenarios("certification_scores.feature", features_base_dir=str(FEATURES))


@pytest.fixture
def world(db: Any, monkeypatch: pytest.MonkeyPatch) -> World:
    return new_world(db, monkeypatch)


@dataclass
class Sheet:
    """An evaluator's score sheet as it is edited before the upload (line 1 is the header)."""

    path: Path
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    encoding: str = "utf-8-sig"

    def row(self, line: int) -> list[str]:
        return self.rows[line - 2]

    def save(self) -> Path:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(self.header)
        w.writerows(self.rows)
        self.path.write_bytes(buf.getvalue().encode(self.encoding))
        return self.path


@pytest.fixture
def sheet(tmp_path: Path) -> Sheet:
    return Sheet(tmp_path / "scores.csv")


def _show(cli: Any, ref: str) -> dict[str, Any]:
    r = cli("application", "show", ref, "--json", "--as", "sun.audit")
    assert r.exit_code == 0, r.stderr
    case: dict[str, Any] = json.loads(r.stdout)
    return case


# --- Given ------------------------------------------------------------------------------------

@given(parsers.parse('the evaluator "{user}" belongs to {name}'))
def affiliated_evaluator(world: World, user: str, name: str) -> None:
    world.add_user(user, ["evaluator"], world.uscc[name])


@given(parsers.parse("the cases of {names} have been approved in formal review"))
def approved(world: World, names: str) -> None:
    refs = [world.apply(name) for name in names_in(names)]
    world.advance()
    for ref in refs:
        world.decide(ref)


@given(parsers.parse('"{user}" has declared a conflict of interest with {name}, "{reason}"'))
def declared_conflict(world: World, cli: Any, user: str, name: str, reason: str) -> None:
    r = cli("evaluator", "declare-conflict", world.uscc[name], "--reason", reason, "--as", user)
    assert r.exit_code == 0, r.stderr


@given(parsers.parse("the cases of {names} are in the third-party evaluation"))
def in_evaluation(world: World, names: str) -> None:
    refs = [world.apply(name) for name in names_in(names)]
    world.approve(refs)
    assert {world.show(ref)["status"] for ref in refs} == {"evaluation"}


def _fill(world: World, cli: Any, sheet: Sheet, user: str, score: str, comment: str) -> None:
    r = cli("scores", "template", "--out", str(sheet.path), "--as", user)
    assert r.exit_code == 0, r.stderr
    lines = list(csv.reader(io.StringIO(sheet.path.read_bytes().decode("utf-8-sig"))))
    sheet.header, sheet.rows = lines[0], [[ref, crit, score, comment] for ref, crit, *_ in lines[1:]]
    assert sheet.rows, f"scenario: {user} has nothing to score"


@given(parsers.parse('"{user}" has filled in its score sheet with {score} on every criterion'))
def filled(world: World, cli: Any, sheet: Sheet, user: str, score: str) -> None:
    _fill(world, cli, sheet, user, score, "贯标前后对比评价")


@given(parsers.parse('"{user}" has filled in its score sheet with {score} on every criterion and the comment "{comment}"'))
def filled_with_comment(world: World, cli: Any, sheet: Sheet, user: str, score: str, comment: str) -> None:
    _fill(world, cli, sheet, user, score, comment)


@given(parsers.parse("the sheet is changed: {change}"))
def changed(world: World, sheet: Sheet, change: str) -> None:
    first = sheet.rows[0]
    if m := re.fullmatch(r"a line for (CA-\d{4}-\d{5}) is added", change):
        sheet.rows.append([m[1], "system_operation", "80.0", ""])
    elif m := re.fullmatch(r"a line for the case of (.+) is added", change):
        sheet.rows.append([world.ref(m[1]), "system_operation", "80.0", ""])
    elif m := re.fullmatch(r"a line for the criterion (\w+) is added", change):
        sheet.rows.append([first[0], m[1], "80.0", ""])
    elif m := re.fullmatch(r"the (\w+) line is deleted", change):
        sheet.rows = [r for r in sheet.rows if r[1] != m[1]]
    elif m := re.fullmatch(r"line (\d+) has the score (.+)", change):
        sheet.row(int(m[1]))[2] = m[2]
    elif m := re.fullmatch(r"line (\d+) has an empty score", change):
        sheet.row(int(m[1]))[2] = ""
    elif m := re.fullmatch(r"line (\d+) has the comment (.+)", change):
        sheet.row(int(m[1]))[3] = m[2]
    elif m := re.fullmatch(r"line (\d+) is repeated at the end", change):
        sheet.rows.append(list(sheet.row(int(m[1]))))
    else:
        raise AssertionError(f"scenario: unknown change to the sheet: {change!r}")


@given("the sheet is saved in the GBK encoding")
def gbk(sheet: Sheet) -> None:
    sheet.encoding = "gbk"
    data = sheet.save().read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really not UTF-8


@given(parsers.parse('"{user}" has uploaded the score sheet'))
def has_uploaded(world: World, cli: Any, sheet: Sheet, user: str) -> None:
    r = cli("scores", "upload", str(sheet.save()), "--as", user)
    assert r.exit_code == 0, r.stderr


# --- When -------------------------------------------------------------------------------------

@when("the advance run assigns the evaluators")
def assigns(world: World) -> None:
    world.advance()


@when(parsers.parse('"{user}" uploads the score sheet'))
def uploads(world: World, cli: Any, sheet: Sheet, user: str) -> None:
    path = sheet.save()
    world.remember()
    world.result = cli("scores", "upload", str(path), "--as", user)


@when(parsers.parse('"{user}" uploads the score sheet as a dry run'))
def uploads_dry(world: World, cli: Any, sheet: Sheet, user: str) -> None:
    path = sheet.save()
    world.remember()
    world.result = cli("scores", "upload", str(path), "--dry-run", "--as", user)


# --- Then -------------------------------------------------------------------------------------

@then(parsers.parse("each case has {n:d} evaluators from {k:d} different organisations"))
def each_case(world: World, cli: Any, n: int, k: int) -> None:
    refs = [ref for refs in world.cases.values() for ref in refs]
    assert refs
    for ref in refs:
        assignments = _show(cli, ref)["assignments"]
        assert len(assignments) == n and len({a["org"] for a in assignments}) == k, assignments


@then(parsers.parse('the case of {name} has {n:d} evaluators, none of them "{user}"'))
def none_of(world: World, cli: Any, name: str, n: int, user: str) -> None:
    evaluators = [a["evaluator"] for a in _show(cli, world.ref(name))["assignments"]]
    assert len(evaluators) == n and user not in evaluators, evaluators


@then(parsers.parse('the case of {name} has "{user}" among its evaluators'))
def among(world: World, cli: Any, name: str, user: str) -> None:
    evaluators = [a["evaluator"] for a in _show(cli, world.ref(name))["assignments"]]
    assert user in evaluators, evaluators


@then(parsers.parse('the upload is refused naming "{message}"'))
def upload_refused(world: World, message: str) -> None:
    assert_refused(world.result, message)
    assert "nothing was written" in world.result.stderr


@then(parsers.parse('the upload reports "{text}"'))
def upload_reports(world: World, text: str) -> None:
    assert world.result.exit_code == 0, world.result.stderr
    assert text in flat(world.result.stdout), world.result.stdout


@then("nothing is written to the database")
def nothing_written(world: World) -> None:
    world.unchanged()


@then(parsers.parse('the case of {name} shows the active scores of "{user}"'))
def active_scores(world: World, cli: Any, name: str, user: str, datatable: list[list[str]]) -> None:
    world.last = world.ref(name)
    scores = [s for s in _show(cli, world.last)["scores"] if s["evaluator"] == user and s["active"]]
    assert sorted((s["criterion"], s["score"]) for s in scores) == sorted(tuple(r) for r in datatable[1:]), scores


@then(parsers.parse('it keeps the {n:d} earlier scores of "{user}", {score} each, as inactive'))
def inactive_scores(world: World, cli: Any, n: int, user: str, score: str) -> None:
    scores = _show(cli, world.last or "")["scores"]
    old = [s for s in scores if s["evaluator"] == user and not s["active"]]
    assert len(old) == n and {s["score"] for s in old} == {score}, old
    new = {s["upload_id"] for s in scores if s["evaluator"] == user and s["active"]}
    assert len({s["upload_id"] for s in old}) == 1 and not new & {s["upload_id"] for s in old}


@then(parsers.parse('the case of {name} shows the comment "{comment}" from "{user}" on every criterion'))
def comments(world: World, cli: Any, name: str, comment: str, user: str) -> None:
    scores = [s for s in _show(cli, world.ref(name))["scores"] if s["evaluator"] == user]
    assert len(scores) == 4 and {s["comment"] for s in scores} == {comment}, scores
