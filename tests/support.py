"""Building realistic certification-award rounds for tests, through the real services (no Prefect)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from flows import synthetic
from flows.services import applicants as applicants_svc
from flows.services import applications, evaluation, payments, review, rounds, users
from flows.services.advance import advance_plain
from flows.services.budget import load_plan
from models.uow import read_only, unit_of_work
from tests.conftest import EXAMPLES

SCHEME = "certification-award"
STAFF = [
    ("li.review", ["reviewer"], "烟台市市场监管局"),
    ("zhao.review", ["reviewer"], "烟台市财政局"),
    ("wang.approve", ["approver"], "烟台市财政局"),
    ("qian.approve", ["approver"], "烟台市财政局"),
    ("chen.finance", ["finance"], "烟台市财政局国库科"),
    ("sun.audit", ["auditor"], "烟台市审计局"),
    ("eval1", ["evaluator"], "烟台正信知识产权评估事务所"),
    ("eval2", ["evaluator"], "山东知衡认证评价中心"),
    ("eval3", ["evaluator"], "青岛华智第三方评价有限公司"),
    ("eval4", ["evaluator"], "青岛华智第三方评价有限公司"),
    ("zhou.citizen", ["applicant"], ""),  # a member of the public: anyone but an auditor may object in 公示
]


def set_clock(iso: str) -> None:
    from models.clock import pin

    pin(iso)


def bank_ack(files: list[str] | list[Any], status: str = "paid", failed: dict[str, str] | None = None) -> bytes:
    """The bank's acknowledgement of every payment in the given bank files: each line echoes the
    amount, payee and account the bank received; ``failed`` maps keys to a failure reason."""
    import csv
    import io
    from pathlib import Path

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(payments.CONFIRM_COLUMNS)
    n = 0
    for f in files:
        for row in csv.DictReader(io.StringIO(Path(f).read_bytes().decode("utf-8-sig"))):
            key = row["idempotency_key"]
            why = (failed or {}).get(key)
            w.writerow([key, "failed" if why else status, "" if why else f"B{n}", why or "", row["amount_fen"],
                        row["payee"], row["bank_account"]])
            n += 1
    return out.getvalue().encode("utf-8")


@dataclass
class Round:
    engine: Engine
    pool: list[synthetic.SynthApplicant] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)

    def uow(self) -> Any:
        return unit_of_work(self.engine)

    def ro(self) -> Any:
        return read_only(self.engine)

    def advance(self, payer: str | None = None, out_dir: str = "payments") -> dict[str, Any]:
        """One advance run; with ``payer``, that finance officer then releases every payable case (the
        payment authority) and a second run's payment stage pays them (its totals are returned)."""
        totals = advance_plain(SCHEME, chunk=500, out_dir=out_dir)
        if not payer:
            return totals
        with self.uow() as s:
            payments.release(s, payer, SCHEME)
        paid = advance_plain(SCHEME, chunk=500, out_dir=out_dir)
        return {**paid, "notice_expiry": totals["notice_expiry"] + paid["notice_expiry"]}

    def finalize_and_end_notice(self) -> dict[str, Any]:
        """The approver finalizes the 2021 round on 10 May; the clock then moves past the notice period
        (25 May), so the next advance makes the awards payable. Returns the round report."""
        set_clock("2021-05-10T01:00:00Z")
        with self.uow() as s:
            final = rounds.finalize(s, "wang.approve", SCHEME, 2021)
        set_clock("2021-05-25T01:00:00Z")
        return final

    def show(self, ref: str) -> dict[str, Any]:
        with self.ro() as s:
            return applications.show(s, "admin", ref)

    def status(self, ref: str) -> str:
        return str(self.show(ref)["status"])


def staff_and_plan(engine: Engine, plan: str = "plan-2021.toml", staff: list[tuple[str, list[str], str]] | None = None,
                   ) -> None:
    set_clock("2021-03-01T01:00:00Z")
    with unit_of_work(engine) as s:
        for name, roles, org in staff or STAFF:
            users.create_user(s, "admin", name, roles, name, org)
        load_plan(s, "admin", tomllib.loads((EXAMPLES / plan).read_text(encoding="utf-8")), plan)


def applicants_and_applications(engine: Engine, n_applicants: int = 40, n_apps: int = 20, seed: int = 7,
                                flawed: bool = False) -> Round:
    pool = synthetic.applicants(n_applicants, seed)
    rows = synthetic.applications(pool, n_apps, seed, flawed=flawed)
    with unit_of_work(engine) as s:
        applicants_svc.import_applicants(s, "admin", synthetic.applicants_csv(pool), "applicants.csv")
        apps = applications.import_applications(s, "admin", SCHEME, synthetic.applications_csv(rows), "apps.csv")
    return Round(engine, pool, [a.ref for a in apps])


def approve_all(r: Round, reviewer: str = "li.review") -> None:
    r.advance()
    while True:
        with r.uow() as s:
            q = review.queue(s, reviewer, limit=1000)
            for item in q:
                review.decide(s, reviewer, item["ref"], "approve", "材料齐全")
        if not q:
            break
    r.advance()


def score_all(r: Round, scores_by_ref: dict[str, int] | None = None) -> None:
    """Every assigned evaluator uploads: each criterion gets the case's score (tenths) if given."""
    set_clock("2021-04-15T01:00:00Z")
    for ev in ("eval1", "eval2", "eval3", "eval4"):
        with r.ro() as s:
            tpl = evaluation.template(s, ev, "csv")
        lines = tpl.decode("utf-8-sig").splitlines()[1:]
        rows = []
        for line in lines:
            ref, crit = line.split(",")[:2]
            t = (scores_by_ref or {}).get(ref, 800)
            rows.append((ref, crit, f"{t // 10}.{t % 10}", "评价意见"))
        if rows:
            with r.uow() as s:
                evaluation.upload(s, ev, synthetic.scores_csv(rows), f"{ev}.csv")
    r.advance()


def scored_round(engine: Engine, n_apps: int = 20, scores_by_index: dict[int, int] | None = None) -> Round:
    staff_and_plan(engine)
    r = applicants_and_applications(engine, n_apps=n_apps)
    approve_all(r)
    score_all(r, {r.refs[i]: v for i, v in (scores_by_index or {}).items()})
    return r
