"""Everyone's screen (可视化数据大屏, 二(四)11): the fund rules of 三(二) planned and actual with clauses, the
budget lines and the KPIs — the figures `ipfund budget status` and `ipfund kpi` compute, for any signed-in
user, with nothing written."""

from __future__ import annotations

import json
import re

import pytest

from flows.desk.dashboard import chart_data
from flows.services import budget, kpis
from models.uow import read_only
from rules.money import format_yuan
from tests.desk.conftest import Desk


@pytest.mark.parametrize("user", ["ann.applicant", "sun.audit", "li.review", "wang.approve"])
def test_every_role_sees_the_fund_rules_lines_and_kpis_as_the_services_compute_them(desk: Desk, user: str) -> None:
    c = desk.signed_in(user)
    c.get("/dashboard")
    before = desk.db.snapshot()
    page = c.get("/dashboard")
    assert page.status_code == 200
    with read_only(desk.db.engine) as s:
        status = budget.status(s)
        rows = [k.as_dict() for k in kpis.report(s)]
    for r in status["rules"]:
        row = page.text.split(f'id="rule-{r["rule"]}"', 1)[1].split("</tr>", 1)[0]
        assert r["clause"] in row and r["planned"]["threshold"] in row
        assert (r["planned"]["ratio"] or "-") in row and (r["actual"]["ratio"] or "-") in row
    for ln in status["lines"]:
        assert ln["code"] in page.text and format_yuan(ln["allocated_fen"]) in page.text
    for k in rows:
        assert f'id="kpi-{k["id"]}"' in page.text
        if k["figures"] is not None:  # the pledge KPI (一(二)3): the registry's loans by drawdown year, the pool
            row = page.text.split(f'id="kpi-{k["id"]}-figures"', 1)[1].split("</tr>", 1)[0]
            for y, fen in k["figures"]["amount_fen"].items():
                assert f"{y}: {format_yuan(fen)} / {k['figures']['count'][y]}" in row
    m = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', page.text, re.S)
    assert m and json.loads(m.group(1)) == json.loads(json.dumps(chart_data(status, rows)))
    assert desk.db.snapshot() == before


def test_the_dashboard_needs_a_sign_in(desk: Desk) -> None:
    r = desk.client().get("/dashboard")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
