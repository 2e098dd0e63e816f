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


@pytest.mark.parametrize("seconds", [30, 0])
def test_the_dashboards_figures_are_reused_for_dashboard_seconds_then_computed_again(desk: Desk, seconds: int) -> None:
    import dataclasses

    from fastapi.testclient import TestClient

    from flows.desk.web import create_app
    from flows.services import budget as budget_svc
    from models.uow import unit_of_work
    from tests.desk.conftest import SETTINGS, sign_in

    app = create_app(desk.db.url, dataclasses.replace(SETTINGS, dashboard_seconds=seconds))
    c = TestClient(app, follow_redirects=False)
    assert sign_in(c, "ann.applicant", "correct horse battery").status_code == 303
    with read_only(desk.db.engine) as s:
        line = budget.status(s)["lines"][0]
    source = next(src for src, b in sorted(line["by_source"].items()) if b["available"] >= 123456)
    before = c.get("/dashboard").text
    assert format_yuan(line["allocated_fen"]) in before
    with unit_of_work(desk.db.engine) as s:
        budget_svc.adjust_line(s, "admin", 2021, line["code"], source, "-1234.56", "退回未用资金")
    after = c.get("/dashboard").text
    grown = format_yuan(line["allocated_fen"] - 123456)
    assert (grown in after) is (seconds == 0)  # within dashboard_seconds the same figures are shown
    c.close()


def test_kpis_measured_outside_show_their_imported_figures_money_in_yuan(desk: Desk,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from fastapi.testclient import TestClient

    from flows.desk.web import create_app
    from models.uow import unit_of_work
    from tests.desk.conftest import SETTINGS, sign_in

    body = ("kpi,year,value,unit,source,reference,as_of\n"
            "patent_contract_value_growth,2021,10000000000,fen,烟台市统计局,,2022-03-01\n"
            "patent_contract_value_growth,2022,14000000000,fen,烟台市统计局,,2023-03-01\n")
    monkeypatch.setenv("IPFUND_NOW", "2023-06-01T01:00:00Z")
    with unit_of_work(desk.db.engine) as s:
        kpis.import_figures(s, "admin", body.encode(), "figures.csv")
    app = create_app(desk.db.url, dataclasses.replace(SETTINGS, dashboard_seconds=0))
    c = TestClient(app, follow_redirects=False)
    assert sign_in(c, "ann.applicant", "correct horse battery").status_code == 303
    page = c.get("/dashboard").text
    row = page.split('id="kpi-patent_contract_value_growth"', 1)[1].split("</tr>", 1)[0]
    assert "2021: ¥100,000,000.00" in row and "2022: ¥140,000,000.00 (+40.0 %)" in row and "✓" in row
    c.close()
