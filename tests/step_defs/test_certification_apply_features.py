"""Step definitions for features/certification_apply.feature (二(二)4), and the small world the five
certification-award features share.

``World`` drives a round through the real services (setup, the advance stages, scoring) so that the
Given steps stay short; the user-facing actions under test go through the ``ipfund`` CLI. Applicants
are named in the features; their credit codes are made here (rules.uscc.make_uscc) and never shown."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from pytest_bdd import given, parsers, scenarios, then, when

from rules.money import parse_yuan
from tests.conftest import FEATURES
from tests.step_defs.world import BODY, World, assert_refused, flat, names_in, tenths
from tests.support import SCHEME

scenarios("certification_apply.feature", features_base_dir=str(FEATURES))

# --- Given ------------------------------------------------------------------------------------

@given(parsers.parse("{name} has applied with certificate {cert} and passed the automatic checks"))
def applied_earlier(world: World, name: str, cert: str) -> None:
    ref = world.apply(name, cert)
    world.advance()
    assert world.show(ref)["status"] == "formal_review"


@given(parsers.parse('"{user}" has withdrawn that application'))
def withdrawn(world: World, cli: Any, user: str) -> None:
    r = cli("application", "withdraw", world.last or "", "--reason", "证书信息填写有误，撤回重报", "--as", user)
    assert r.exit_code == 0, r.stderr


@given(parsers.parse("{name} has been awarded ¥{amount} in a finalized 2021 round"))
def awarded_earlier(world: World, name: str, amount: str) -> None:
    world.awarded(name, parse_yuan(amount))


@given(parsers.parse("{name} has two applications of 2021, approved and scored {first} and {second}"))
def two_applications(world: World, name: str, first: str, second: str) -> None:
    refs = [world.apply(name), world.apply(name)]
    world.approve(refs)
    world.score({refs[0]: tenths(first), refs[1]: tenths(second)})


@given(parsers.parse("{name} has applied again, been approved and scored {score}"))
def applied_again(world: World, name: str, score: str) -> None:
    ref = world.apply(name)
    world.approve([ref])
    world.score({ref: tenths(score)})


@given("an application file with the rows")
def application_file(world: World, tmp_path: Path, datatable: list[list[str]]) -> None:
    header = ["applicant_uscc", *datatable[0][1:]]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for row in datatable[1:]:
        w.writerow([world.code(row[0]), *row[1:]])
    path = tmp_path / "applications.csv"
    path.write_bytes(buf.getvalue().encode("utf-8"))
    world.files["applications"] = path


# --- When -------------------------------------------------------------------------------------

def _submitted(world: World, applicant: str) -> None:
    r = world.result
    if r.exit_code == 0:
        m = re.search(r"submitted (CA-\d{4}-\d{5})", flat(r.stdout))
        assert m, r.stdout
        world.filed(applicant, m.group(1))


@given(parsers.parse("it is {day}"))
def it_is(world: World, day: str) -> None:
    world.clock(f"{day}T02:00:00Z")


@when(parsers.parse('"{user}" applies with certificate {cert} issued on {date} by {body}'))
def applies(world: World, cli: Any, user: str, cert: str, date: str, body: str) -> None:
    world.remember()
    world.result = cli("apply", SCHEME, "--field", f"certificate_no={cert}", "--field", f"certification_date={date}",
                       "--field", f"certification_body={body}", "--as", user)
    _submitted(world, world.members[user])


@when(parsers.parse('"{user}" applies for {name} with certificate {cert} issued on {date}'))
def applies_for_other(world: World, cli: Any, user: str, name: str, cert: str, date: str) -> None:
    world.remember()
    world.result = cli("apply", SCHEME, "--applicant", world.uscc[name], "--field", f"certificate_no={cert}",
                       "--field", f"certification_date={date}", "--field", f"certification_body={BODY}", "--as", user)
    _submitted(world, name)


@when("the automatic checks run")
def checks_run(world: World) -> None:
    assert world.result is None or world.result.exit_code == 0, world.result.stderr
    world.advance()


@when(parsers.parse('"{user}" imports the application file'))
def imports(world: World, cli: Any, user: str) -> None:
    world.remember()
    world.result = cli("application", "import", str(world.files["applications"]), "--scheme", SCHEME, "--as", user)


# --- Then -------------------------------------------------------------------------------------

def _state(world: World, ref: str, status: str, state_name: str) -> None:
    case = world.show(ref)
    assert (case["status"], case["state_name"]) == (status, state_name), (case["status"], case["outcome_reason"])


@then(parsers.parse("the case of {name} is in state {status} ({state_name})"))
def case_state(world: World, name: str, status: str, state_name: str) -> None:
    _state(world, world.ref(name, 0), status, state_name)


@then(parsers.parse("the newer case of {name} is in state {status} ({state_name})"))
def newer_case_state(world: World, name: str, status: str, state_name: str) -> None:
    _state(world, world.ref(name), status, state_name)


@then(parsers.parse("the cases of {names} are in state {status} ({state_name})"))
def cases_state(world: World, cli: Any, names: str, status: str, state_name: str) -> None:
    r = cli("application", "list", "--json", "--as", "admin")
    rows = {row["applicant"]: row for row in json.loads(r.stdout)}
    for name in names_in(names):
        assert rows[name]["status"] == status, rows[name]
        world.filed(name, rows[name]["ref"])
        _state(world, rows[name]["ref"], status, state_name)


@then("the case shows the intake checks")
def shows_checks(world: World, cli: Any, datatable: list[list[str]]) -> None:
    r = cli("application", "show", world.last or "", "--json", "--as", "li.review")
    assert r.exit_code == 0, r.stderr
    checks = json.loads(r.stdout)["checks"]
    header = datatable[0]
    expected = [dict(zip(header, row, strict=True)) for row in datatable[1:]]
    assert [c["check"] for c in checks] == [e["check"] for e in expected]
    for c, e in zip(checks, expected, strict=True):
        assert c["passed"] is (e["result"] == "passed"), c
        assert c["rule"], c  # every result names the rule it applied
        assert c["clause"] == e["clause"], c
        if e["parameter"]:
            assert e["parameter"] in (c["parameter"] or ""), c
        else:
            assert c["parameter"] is None, c


@then(parsers.parse('its only failed check is {check}, saying "{detail}"'))
def only_failed(world: World, check: str, detail: str) -> None:
    case = world.show(world.last or "")
    failed = [c for c in case["checks"] if not c["passed"]]
    assert [c["check"] for c in failed] == [check], failed
    assert detail in failed[0]["detail"], failed[0]
    assert failed[0]["clause"] == "二(二)4"
    assert case["outcome"] == "ineligible" and check in (case["outcome_reason"] or "")


@then(parsers.re(r'its (?P<check>[a-z_]+) check (?P<result>passes|passed|fails|failed), saying "(?P<detail>.+)"'))
def check_result(world: World, check: str, result: str, detail: str) -> None:
    c = world.check(world.last or "", check)
    assert c["passed"] is (result in ("passes", "passed")), c
    assert detail in c["detail"], c


@then(parsers.parse('the application is refused naming "{text}"'))
def application_refused(world: World, text: str) -> None:
    assert_refused(world.result, text)


@then("nothing is written to the database")
def nothing_written(world: World) -> None:
    world.unchanged()


@then(parsers.parse("the case of {name} scoring {score} is funded with ¥{amount}"))
def funded_by_score(world: World, name: str, score: str, amount: str) -> None:
    cases = [world.show(ref) for ref in world.cases[name]]
    case = next(c for c in cases if c["final_score"] == score)
    assert (case["outcome"], case["award_fen"], case["status"]) == ("funded", parse_yuan(amount), "in_notice"), case


@then(parsers.parse("the newer case of {name} is funded with ¥{amount}"))
def newer_funded(world: World, name: str, amount: str) -> None:
    case = world.show(world.ref(name))
    assert (case["outcome"], case["award_fen"]) == ("funded", parse_yuan(amount)), case
    world.last = case["ref"]


@then(parsers.parse("the awards to {name} in 2021 total ¥{amount}"))
def awards_total(world: World, cli: Any, name: str, amount: str) -> None:
    r = cli("application", "list", "--json", "--as", "admin")
    rows = [row for row in json.loads(r.stdout) if row["applicant"] == name and row["year"] == 2021]
    assert sum(row["award_fen"] or 0 for row in rows) == parse_yuan(amount), rows


@then(parsers.parse('the import reports "{text}"'))
def import_reports(world: World, text: str) -> None:
    assert world.result.exit_code == 0, world.result.stderr
    assert text in flat(world.result.stdout), world.result.stdout


@then("the import is refused naming every bad line")
def import_refused(world: World, datatable: list[list[str]]) -> None:
    r = world.result
    assert r.exit_code == 1 and "Traceback" not in r.stderr, r.stderr
    problems = [ln.strip()[2:] for ln in r.stderr.splitlines() if ln.strip().startswith("- ")]
    for line, reason in datatable[1:]:
        assert any(p.startswith(f"line {line}: ") and reason in p for p in problems), (line, reason, problems)
    assert "nothing was written" in r.stderr


@then(parsers.parse("line {n:d} is not reported"))
def line_not_reported(world: World, n: int) -> None:
    assert f"line {n}:" not in world.result.stderr
