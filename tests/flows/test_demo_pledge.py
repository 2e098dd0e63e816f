"""The pledge-financing demo year (flows/demo_pledge.py) on a fresh database: 3 banks, 150+ loans, claims,
review, notice and payment, and every invariant holds."""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from pathlib import Path

from sqlalchemy import text

from flows.demo_pledge import SCHEME, pledge_year_step
from flows.services import budget, users
from flows.services.advance import run_check
from models.uow import read_only, unit_of_work
from tests.conftest import EXAMPLES, Db
from tests.support import set_clock


def test_the_pledge_year_runs_on_a_fresh_database(db: Db, tmp_path: Path) -> None:
    set_clock("2021-01-02T01:00:00Z")
    with unit_of_work(db.engine) as s:
        for name, role, org in (("li.review", "reviewer", "烟台市市场监管局"), ("wang.approve", "approver", "烟台市财政局"),
                                ("chen.finance", "finance", "烟台市财政局国库科")):
            users.create_user(s, "admin", name, [role], name, org)
        budget.load_plan(s, "chen.finance", tomllib.loads((EXAMPLES / "plan-2021.toml").read_text(encoding="utf-8")),
                         "plan-2021.toml")
    pledge_year_step(db.engine, tmp_path)
    assert db.scalar("SELECT count(*) FROM bank") == 3
    assert db.scalar("SELECT count(*) FROM pledge_loan") >= 150
    assert db.scalar("SELECT count(*) FROM pledge_loan WHERE ip_share_ppm = 600000") == 1
    assert db.scalar("SELECT count(*) FROM pledge_loan WHERE first_loan") >= 60
    assert db.scalar("SELECT count(*) FROM pledge_loan WHERE cover_kind = 'insurance'") >= 30
    with db.engine.connect() as conn:
        statuses = {st: n for st, n in conn.execute(text(
            "SELECT status, count(*) FROM application WHERE scheme = :s GROUP BY status"), {"s": SCHEME})}
        traces = [json.loads(t) for (t,) in conn.execute(text("SELECT trace FROM intake_check WHERE trace IS NOT NULL"))]
    assert statuses == {"paid": 155, "rejected": 1}, statuses
    reason = db.scalar("SELECT outcome_reason FROM application WHERE scheme = :s AND status = 'rejected'", s=SCHEME)
    assert reason.startswith("interest_subsidy:") and "展期不贴息" in reason, reason
    assert any(st["what"] == "excluded: receipt R-PL20210012-OD" for tr in traces for st in tr)
    assert db.scalar("SELECT count(*) FROM application WHERE scheme = :s AND award_fen > 0", s=SCHEME) == 155
    with db.engine.connect() as conn:
        fee = Counter((json.loads(d)["kind"], st) for d, st in conn.execute(text(
            "SELECT data, status FROM application WHERE scheme = 'pledge-fee-subsidy'")))
    assert fee[("guarantee", "paid")] == 1 and fee[("guarantee", "rejected")] == 1, fee
    assert fee[("bank_reward", "paid")] == 4 and fee[("first_loan_bonus", "rejected")] >= 1, fee
    bank_paid = db.scalar("SELECT count(*) FROM payment p JOIN bank b ON p.uscc = b.uscc WHERE p.status = 'paid'")
    assert bank_paid == 4, bank_paid
    with read_only(db.engine):
        chk = run_check()
    assert chk["ok"], [c for c in chk["checks"] if not c["ok"]]
