"""The shared world of the certification-award step definitions: a test database, named
applicants, users and cases, and helpers that drive them through the CLI and the services."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from flows import synthetic
from flows.services import applicants as applicants_svc
from flows.services import applications, evaluation, review, rounds, users
from flows.services.advance import advance_plain
from models.clock import now, parse
from models.uow import read_only, unit_of_work
from rules.errors import RuleViolation
from rules.uscc import make_uscc
from tests.support import SCHEME, set_clock

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
    handed: dict[str, str] = field(default_factory=dict)  # reviewer -> the case `review next` leased to them
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
        w.writerow([*applicants_svc.COLUMNS, *applicants_svc.BANK_COLUMNS])
        for row in rows:
            n = 4000 + len(self.uscc)
            firm = row["kind"] == "enterprise"
            district = row.get("district", "370602")
            code = make_uscc(district, n, authority="9" if firm else "1", org_type="1" if firm else "2")
            self.uscc[row["name"]] = code
            bank, account = synthetic.bank_of(code, n)
            w.writerow([row["name"], code, row["kind"], district, row.get("sme", "false"), "false", bank, account])
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
