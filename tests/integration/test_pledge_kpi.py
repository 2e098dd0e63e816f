"""The pledge KPI (一(二)3: 知识产权质押融资金额和项目数年均增幅 30 %) read by `ipfund kpi` from the loan registry,
both sides of the target: 2 loans of ¥2,000,000 in 2021, then 3 loans of ¥2,600,000 in 2022 (+30 % in amount,
+50 % in loans) meet it; one fen less in 2022 does not. The CLI says what the service computes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flows.services import kpis
from models.uow import read_only
from tests.conftest import Db
from tests.loan_support import SME1, SME2, SME3, loan_args, ok, setup_registry
from tests.support import set_clock


@pytest.mark.parametrize(("third", "met"), [("600,000", True), ("599,999.99", False)])
def test_pledge_growth_is_measured_from_the_registry(cli: Any, db: Db, tmp_path: Path, third: str, met: bool) -> None:
    setup_registry(cli, tmp_path)
    ok(cli(*loan_args("PK-001", SME1, "1,000,000"), "--as", "zhao"))
    ok(cli(*loan_args("PK-002", SME2, "1,000,000", drawdown="2021-02-10", maturity="2022-02-10",
                      pledge_date="2021-02-05"), "--as", "zhao"))
    set_clock("2022-12-20T01:00:00Z")
    for ref, who, amount in (("PK-003", SME1, "1,000,000"), ("PK-004", SME2, "1,000,000"), ("PK-005", SME3, third)):
        ok(cli(*loan_args(ref, who, amount, drawdown="2022-03-10", maturity="2023-03-10", pledge_date="2022-03-05"),
               "--as", "qian"))
    set_clock("2022-12-31T01:00:00Z")
    with read_only(db.engine) as s:
        k = {r.id: r for r in kpis.report(s)}["pledge_financing_growth"]
    assert k.figures is not None
    assert k.figures["count"] == {"2020": 0, "2021": 2, "2022": 3}
    assert k.figures["amount_fen"]["2021"] == 200_000_000
    assert k.figures["count_growth"]["2022"] == "+50.0 %"
    assert k.figures["amount_growth"]["2022"] == "+30.0 %"  # one fen short still shows +30.0 % (display rounds)
    assert k.figures["first_loan_borrowers"] == {"2020": 0, "2021": 2, "2022": 1}  # SME3's is its first loan
    assert [t.met for t in k.targets] == [met]
    out = cli("kpi", "--json", "--as", "admin")
    assert out.exit_code == 0, out.stderr
    shown = {r["id"]: r for r in json.loads(out.stdout)}["pledge_financing_growth"]
    assert shown == k.as_dict()
    one = {r["id"]: r for r in json.loads(cli("kpi", "--year", "2022", "--json", "--as", "admin").stdout)}
    year = one["pledge_financing_growth"]  # --year: that year against the year before
    assert year["figures"]["count"] == {"2021": 2, "2022": 3} and [t["met"] for t in year["targets"]] == [met]
    text = cli("kpi", "--as", "admin").stdout
    pledge = text.split("一(二)3", 1)[1]
    assert "2022: ¥2,600,000.00 in 3 loans" in pledge or not met
    assert ("not met" in pledge) is not met and "met" in pledge
