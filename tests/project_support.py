"""Funded projects for tests, through the real services (no Prefect): a call of the navigation scheme applied,
reviewed, scored by experts, finalized and out of its notice, then agreements, reports, evaluations, releases."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from flows import synthetic
from flows.services import applicants as applicants_svc
from flows.services import applications, evaluation, payments, projects, review, rounds, users
from flows.services.advance import advance_plain
from models.uow import read_only, unit_of_work
from tests.support import bank_ack, set_clock, staff_and_plan

NAV = "project-navigation"
CENTRE = "project-operation-centre"

AGREEMENT = {
    "navigation_industry": """
[[kpi]]
code = "patents_navigated"
baseline = "0"
target = "2000"
weight = "50"
due = "2023-06-30"
[[kpi]]
code = "reports"
baseline = "0"
target = "1"
weight = "30"
[[kpi]]
code = "smes_served"
baseline = "0"
target = "40"
weight = "20"
[[deliverable]]
code = "navigation_report"
name = "产业专利导航报告 (GB/T 39551-2020)"
due = "2023-06-30"
""",
    "navigation_enterprise": """
[[kpi]]
code = "patents_navigated"
baseline = "0"
target = "500"
weight = "40"
[[kpi]]
code = "reports"
baseline = "0"
target = "1"
weight = "30"
[[kpi]]
code = "filings"
baseline = "10"
target = "30"
weight = "30"
[[deliverable]]
code = "navigation_report"
name = "企业专利导航报告 (GB/T 39551-2020)"
due = "2023-06-30"
""",
    "operation_centre": """
[[kpi]]
code = "transfers_licences"
baseline = "0"
target = "100"
weight = "40"
[[kpi]]
code = "pledge_financing"
baseline = "0"
target = "50000000"
weight = "30"
[[kpi]]
code = "smes_served"
baseline = "0"
target = "200"
weight = "30"
[[deliverable]]
code = "operation_plan"
name = "运营中心运营方案与年度报告"
due = "2023-06-30"
""",
}

# Actuals that meet every target of each type (a project reaching its KPIs).
FULL = {"navigation_industry": {"patents_navigated": "2000", "reports": "1", "smes_served": "40"},
        "navigation_enterprise": {"patents_navigated": "500", "reports": "1", "filings": "30"},
        "operation_centre": {"transfers_licences": "100", "pledge_financing": "50000000", "smes_served": "200"}}
EVIDENCE = [("report", "progress.pdf", b"%PDF-1.7 progress report\n")]


def scores(tenths: int) -> dict[str, str]:
    """The performance rubric's criteria all scored ``tenths``/10."""
    return {c: f"{tenths // 10}.{tenths % 10}" for c in ("organisation", "funds_use", "deliverables")}


@dataclass
class Call:
    engine: Engine
    scheme: str
    refs: list[str] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)
    applicants: dict[str, str] = field(default_factory=dict)  # ref -> credit code

    def uow(self) -> Any:
        return unit_of_work(self.engine)

    def ro(self) -> Any:
        return read_only(self.engine)

    def advance(self) -> dict[str, Any]:
        return advance_plain(self.scheme, chunk=500, out_dir=str(self.out_dir))

    out_dir: str = "payments"

    def status(self, ref: str) -> str:
        with self.ro() as s:
            return str(applications.show(s, "admin", ref)["status"])

    def show(self, ref: str) -> dict[str, Any]:
        with self.ro() as s:
            return projects.show(s, "admin", ref)

    def pay(self, failed: dict[str, str] | None = None) -> list[str]:
        """chen.finance releases every payable project; the payment stage pays them; the bank acknowledges the
        new bank files (``failed``: idempotency key -> reason)."""
        from pathlib import Path

        before = set(Path(self.out_dir).glob("*.csv"))
        with self.uow() as s:
            payments.release(s, "chen.finance", self.scheme)
        self.advance()
        files = sorted(str(p) for p in set(Path(self.out_dir).glob("*.csv")) - before)
        if files:
            with self.uow() as s:
                payments.confirm(s, "chen.finance", bank_ack(files, failed=failed), "ack.csv")
        return files


def project_staff(engine: Engine) -> None:
    staff_and_plan(engine)
    with unit_of_work(engine) as s:
        users.create_user(s, "admin", "ma.expert", ["evaluator"], "ma.expert", "山东大学知识产权研究院")


def applications_csv(rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["applicant_uscc", "project_type", "project_name", "industry", "requested"],
                       lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def funded_call(engine: Engine, tmp_path: Any, scheme: str = NAV, n: int = 4, seed: int = 11,
                kinds: tuple[str, ...] = ("navigation_industry", "navigation_enterprise"), notice_ended: bool = True) -> Call:
    """``n`` projects of ``scheme`` applied on 1 March 2021, reviewed, scored 80 by three experts, finalized on
    10 May and out of their notice on 25 May: each waits for its agreement (``notice_ended=False``: left in
    their notice, finalized on 10 May)."""
    project_staff(engine)
    pool = synthetic.applicants(n + 2, seed)
    rows = [{"applicant_uscc": a.uscc, "project_type": kinds[i % len(kinds)], "project_name": f"{a.name}专利导航{i}",
             "industry": "高端装备", "requested": "300,000.00" if kinds[i % len(kinds)] != "navigation_industry"
             else "500,000.00"} for i, a in enumerate(pool[:n])]
    if scheme == CENTRE:
        for r in rows:
            r["requested"] = "2,000,000.00"
    with unit_of_work(engine) as s:
        applicants_svc.import_applicants(s, "admin", synthetic.applicants_csv(pool), "applicants.csv")
        apps = applications.import_applications(s, "admin", scheme, applications_csv(rows), "projects.csv")
    call = Call(engine, scheme, [a.ref for a in apps], {a.ref: r["project_type"] for a, r in zip(apps, rows, strict=True)},
                {a.ref: r["applicant_uscc"] for a, r in zip(apps, rows, strict=True)}, out_dir=str(tmp_path))
    call.advance()
    with unit_of_work(engine) as s:
        for item in review.queue(s, "li.review", scheme=scheme, limit=1000):
            review.decide(s, "li.review", item["ref"], "approve", "材料齐全")
    call.advance()
    set_clock("2021-04-15T01:00:00Z")
    for ev in ("eval1", "eval2", "eval3", "eval4", "ma.expert"):
        with read_only(engine) as s:
            tpl = evaluation.template(s, ev, "csv")
        lines = tpl.decode("utf-8-sig").splitlines()[1:]
        rows_ = [(line.split(",")[0], line.split(",")[1], "80.0", "评审意见") for line in lines]
        if rows_:
            with unit_of_work(engine) as s:
                evaluation.upload(s, ev, synthetic.scores_csv(rows_), f"{ev}.csv")
    call.advance()
    set_clock("2021-05-10T01:00:00Z")
    with unit_of_work(engine) as s:
        rounds.finalize(s, "wang.approve", scheme, 2021)
    if not notice_ended:
        return call
    set_clock("2021-05-25T01:00:00Z")
    call.advance()
    return call


def agree_all(call: Call, on: str = "2021-06-01T01:00:00Z") -> None:
    set_clock(on)
    with call.uow() as s:
        for ref in call.refs:
            projects.agree(s, "qian.approve", ref, AGREEMENT[call.types[ref]].encode(), "agreement.toml")
