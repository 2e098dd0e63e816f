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
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from flows import synthetic
from flows.services import applicants as applicants_svc
from flows.services import applications, evaluation, review, rounds, users
from flows.services.advance import advance_plain
from models.clock import now, parse
from models.uow import read_only, unit_of_work
from rules.errors import RuleViolation
from rules.money import parse_yuan
from rules.uscc import make_uscc
from tests.conftest import FEATURES
from tests.support import SCHEME, set_clock, staff_and_plan

scenarios("certification_apply.feature", features_base_dir=str(FEATURES))

BODY = "中知(北京)认证有限公司"
CERT_DATE = "2021-01-15"
SCORING_AT = "2021-04-15T01:00:00Z"
FINALIZE_AT = "2021-05-10T01:00:00Z"


def tenths(score: str) -> int:
    """'85.5' -> 855 (a score with one decimal, as evaluators write it)."""
    t = Decimal(score) * 10
    assert t == t.to_integral_value(), f"scenario: score {score} has more than one decimal"
    return int(t)


def names_in(text: str) -> list[str]:
    """'A, B and C' -> ['A', 'B', 'C']."""
    return [n.strip() for n in re.split(r",| and ", text) if n.strip()]


def flat(text: str) -> str:
    """Console output with rich's line wrapping undone."""
    return " ".join(text.split())


def assert_refused(result: Any, text: str) -> None:
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert text in flat(result.stderr), result.stderr


@dataclass
class World:
    """Named applicants, their cases (oldest first) and what the last action left behind."""

    db: Any
    uscc: dict[str, str] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)  # applicant user -> applicant name
    cases: dict[str, list[str]] = field(default_factory=dict)  # applicant name -> refs
    last: str | None = None
    before: dict[str, int] | None = None
    result: Any = None
    report: dict[str, Any] | None = None
    files: dict[str, Path] = field(default_factory=dict)
    replay: Any = None  # the last action as a service call, to see which rule refused it
    certs: int = 0

    # --- plumbing -----------------------------------------------------------------------------

    def remember(self) -> None:
        self.before = self.db.snapshot()

    def unchanged(self) -> None:
        assert self.before is not None, "scenario: the When step did not remember the database"
        assert self.db.snapshot() == self.before

    def clock(self, iso: str) -> None:
        """Move the clock forward to ``iso`` (never back: stamps must keep increasing)."""
        if parse(iso.replace("Z", ".000000Z")) > now():
            set_clock(iso)

    def advance(self, **kwargs: Any) -> dict[str, Any]:
        return advance_plain(SCHEME, **kwargs)

    def refusal(self) -> RuleViolation:
        """Replay the refused action through its service (rolled back) to see which rule refused it."""
        assert self.replay is not None, "scenario: the When step left no replay"
        with read_only(self.db.engine) as s:
            try:
                self.replay(s)
            except RuleViolation as exc:
                return exc
        raise AssertionError("scenario: the action was not refused")

    # --- people -------------------------------------------------------------------------------

    def register(self, rows: list[dict[str, str]]) -> None:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(applicants_svc.COLUMNS)
        for row in rows:
            n = 4000 + len(self.uscc)
            firm = row["kind"] == "enterprise"
            district = row.get("district", "370602")
            code = make_uscc(district, n, authority="9" if firm else "1", org_type="1" if firm else "2")
            self.uscc[row["name"]] = code
            w.writerow([row["name"], code, row["kind"], district, row.get("sme", "false"), "false"])
        with unit_of_work(self.db.engine) as s:
            applicants_svc.import_applicants(s, "admin", buf.getvalue().encode("utf-8"), "applicants.csv")

    def code(self, name: str) -> str:
        """The credit code of a named applicant; a valid but unregistered code for any other name."""
        return self.uscc.get(name) or make_uscc("370602", 90000 + sum(map(ord, name)))

    def add_user(self, name: str, roles: list[str], affiliation: str | None = None) -> None:
        with unit_of_work(self.db.engine) as s:
            users.create_user(s, "admin", name, roles, name, affiliation)

    def member(self, user: str, applicant: str) -> None:
        self.add_user(user, ["applicant"], self.uscc[applicant])
        self.members[user] = applicant

    # --- cases --------------------------------------------------------------------------------

    def next_cert(self) -> str:
        self.certs += 1
        return f"165IP21{70000 + self.certs:05d}R0M"

    def filed(self, name: str, ref: str) -> str:
        self.cases.setdefault(name, []).append(ref)
        self.last = ref
        return ref

    def apply(self, name: str, cert: str | None = None, date: str = CERT_DATE, body: str = BODY) -> str:
        """The applicant's application, filed by the administrator on its behalf."""
        fields = {"certificate_no": cert or self.next_cert(), "certification_date": date,
                  "certification_body": body}
        with unit_of_work(self.db.engine) as s:
            ref = applications.apply(s, "admin", SCHEME, fields, self.uscc[name]).ref
        return self.filed(name, ref)

    def ref(self, name: str, which: int = -1) -> str:
        return self.cases[name][which]

    def show(self, ref: str, actor: str = "admin") -> dict[str, Any]:
        with read_only(self.db.engine) as s:
            return applications.show(s, actor, ref)

    def decide(self, ref: str, decision: str = "approve", reason: str = "材料齐全",
               reviewer: str = "li.review") -> None:
        with unit_of_work(self.db.engine) as s:
            review.decide(s, reviewer, ref, decision, reason)

    def approve(self, refs: list[str], reviewer: str = "li.review") -> None:
        """Intake, approval in formal review, and assignment of the evaluators."""
        self.advance()
        for ref in refs:
            self.decide(ref, reviewer=reviewer)
        self.advance()

    def evaluators(self) -> list[str]:
        with read_only(self.db.engine) as s:
            return [u.name for u in users.list_users(s) if "evaluator" in u.role_set()]

    def score(self, scores: dict[str, int | dict[str, int]]) -> None:
        """Every assigned evaluator scores the given cases (tenths: one figure or one per criterion)."""
        self.clock(SCORING_AT)
        for ev in self.evaluators():
            with read_only(self.db.engine) as s:
                template = evaluation.template(s, ev, "csv")
            rows = []
            for line in template.decode("utf-8-sig").splitlines()[1:]:
                ref, crit = line.split(",")[:2]
                if ref in scores:
                    given_ = scores[ref]
                    t = given_ if isinstance(given_, int) else given_[crit]
                    rows.append((ref, crit, f"{t // 10}.{t % 10}", "贯标前后知识产权质量对比评价"))
            if rows:
                with unit_of_work(self.db.engine) as s:
                    evaluation.upload(s, ev, synthetic.scores_csv(rows), f"{ev}.csv")
        self.advance()

    def finalize(self, approver: str = "wang.approve") -> dict[str, Any]:
        self.clock(FINALIZE_AT)
        with unit_of_work(self.db.engine) as s:
            self.report = rounds.finalize(s, approver, SCHEME, 2021)
        return self.report

    def awarded(self, name: str, amount_fen: int, score: int = 800) -> str:
        """A case of ``name`` approved, scored and funded with ``amount_fen`` in a finalized round."""
        ref = self.apply(name)
        self.approve([ref])
        self.score({ref: score})
        self.finalize()
        assert self.show(ref)["award_fen"] == amount_fen, self.show(ref)
        return ref

    def check(self, ref: str, name: str) -> dict[str, Any]:
        checks = {c["check"]: c for c in self.show(ref)["checks"]}
        assert name in checks, sorted(checks)
        found: dict[str, Any] = checks[name]
        return found


def new_world(db: Any, monkeypatch: pytest.MonkeyPatch) -> World:
    """A fresh world on the test database. The clock is process-wide (IPFUND_NOW, moved by
    tests.support.set_clock); monkeypatch puts it back after the scenario."""
    monkeypatch.setenv("IPFUND_NOW", "2021-03-01T01:00:00Z")
    return World(db)


@pytest.fixture
def world(db: Any, monkeypatch: pytest.MonkeyPatch) -> World:
    return new_world(db, monkeypatch)


# --- Given ------------------------------------------------------------------------------------

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


@when(parsers.parse('"{user}" applies with certificate {cert} issued on {date} by {body}'))
def applies(world: World, cli: Any, user: str, cert: str, date: str, body: str) -> None:
    world.remember()
    world.result = cli("apply", SCHEME, "--certificate-no", cert, "--certification-date", date,
                       "--certification-body", body, "--as", user)
    _submitted(world, world.members[user])


@when(parsers.parse('"{user}" applies for {name} with certificate {cert} issued on {date}'))
def applies_for_other(world: World, cli: Any, user: str, name: str, cert: str, date: str) -> None:
    world.remember()
    world.result = cli("apply", SCHEME, "--applicant", world.uscc[name], "--certificate-no", cert,
                       "--certification-date", date, "--certification-body", BODY, "--as", user)
    _submitted(world, name)


@when("the automatic checks run")
def checks_run(world: World) -> None:
    assert world.result is None or world.result.exit_code == 0, world.result.stderr
    world.advance()


@when(parsers.parse('the approver "{user}" finalizes the 2021 round'))
def finalizes(world: World, cli: Any, user: str) -> None:
    world.clock(FINALIZE_AT)
    world.result = cli("round", "finalize", "--year", "2021", "--json", "--as", user)
    assert world.result.exit_code == 0, world.result.stderr
    world.report = json.loads(world.result.stdout)


@when(parsers.parse('"{user}" imports the application file'))
def imports(world: World, cli: Any, user: str) -> None:
    world.remember()
    world.result = cli("application", "import", str(world.files["applications"]), "--as", user)


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
