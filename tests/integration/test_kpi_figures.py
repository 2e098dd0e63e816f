"""`ipfund kpi import` / `ipfund kpi figures`: the yearly figures of the KPIs measured outside ipfund (一(二)),
each with its source. Every bad line is named with its field and nothing is written (the database compared
by content); the same file again changes nothing; a changed figure supersedes the year's (history kept,
append-only) with an audit event; the report judges growth on the imported figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from flows.services import kpis, users
from models import audit
from rules.errors import PermissionDenied, ValidationFailed
from tests.conftest import Db
from tests.support import set_clock

HEADER = "kpi,year,value,unit,source,reference,as_of\n"
GOOD = (HEADER
        + "transfers_licences_growth,2021,1000,count,国家知识产权局 专利转让许可登记,,2022-03-01\n"
        + "transfers_licences_growth,2022,1199,count,国家知识产权局 专利转让许可登记,,2023-03-01\n"
        + "patent_contract_value_growth,2021,10000000000,fen,烟台市统计局 技术合同登记,烟统〔2022〕3号,2022-03-10\n"
        + "patent_contract_value_growth,2022,14000000000,fen,烟台市统计局 技术合同登记,烟统〔2023〕3号,2023-03-10\n"
        + "securitisations,2022,1,count,深圳证券交易所 发行公告,,2022-12-20\n"
        + "cluster_zone_agencies,2022,30,count,集聚区管委会 入驻名录,,2023-01-05\n")


def _write(tmp_path: Path, body: str, name: str = "figures.csv") -> Path:
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    return p


def _by_id(db: Db) -> dict[str, Any]:
    with Session(db.engine) as s:
        return {k.id: k for k in kpis.report(s)}


def test_import_reports_supersedes_and_is_idempotent(db: Db, cli: Any, tmp_path: Path) -> None:
    set_clock("2023-06-01T01:00:00Z")
    r = cli("kpi", "import", str(_write(tmp_path, GOOD)), "--as", "admin", "--json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert (len(out["added"]), out["superseded"], out["unchanged"]) == (6, [], 0)
    got = _by_id(db)
    t = got["transfers_licences_growth"]
    assert t.by_year == {2021: 1000, 2022: 1199} and [x.met for x in t.targets] == [False]  # +19.9 % < +20 %
    assert [x.met for x in got["patent_contract_value_growth"].targets] == [True]  # +40 % exactly
    assert got["patent_contract_value_growth"].unit == "fen"
    assert [(x.target, x.met) for x in got["securitisations"].targets] == [(1, True)]
    assert [(x.target, x.met) for x in got["cluster_zone_agencies"].targets] == [(30, True)]
    assert got["university_patent_smes"].total is None  # nothing imported: no figure, not judged

    before = db.snapshot()  # the same file again: no change at all, not even an audit event
    again = json.loads(cli("kpi", "import", str(_write(tmp_path, GOOD)), "--as", "admin", "--json").stdout)
    assert (again["added"], again["superseded"], again["unchanged"]) == ([], [], 6)
    assert db.snapshot() == before

    fixed = HEADER + "transfers_licences_growth,2022,1200,count,国家知识产权局 专利转让许可登记,更正,2023-05-20\n"
    r = cli("kpi", "import", str(_write(tmp_path, fixed, "fix.csv")), "--as", "admin")
    assert r.exit_code == 0, r.stderr
    assert "superseded transfers_licences_growth 2022: 1,199 → 1,200" in r.stdout
    t = _by_id(db)["transfers_licences_growth"]
    assert t.by_year == {2021: 1000, 2022: 1200} and [x.met for x in t.targets] == [True]  # +20 % exactly
    rows = json.loads(cli("kpi", "figures", "--json").stdout)
    hist = [x for x in rows if x["kpi"] == "transfers_licences_growth" and x["year"] == 2022]
    assert [(x["value"], x["current"]) for x in hist] == [(1199, False), (1200, True)]
    assert hist[1]["supersedes"] == hist[0]["id"] and hist[0]["superseded_by"] == hist[1]["id"]
    with Session(db.engine) as s:
        ev = [e for e in audit.events_for(s, "kpi:transfers_licences_growth:2022")]
        assert [e.action for e in ev] == ["kpi.figure", "kpi.figure.supersede"]
        payload = json.loads(ev[1].payload)
        assert (payload["value"], payload["supersedes"]["value"], payload["reference"]) == (1200, 1199, "更正")
        assert audit.verify(s)[1] is None
    assert "superseded by #" in cli("kpi", "figures", env={"COLUMNS": "200"}).stdout
    with Session(db.engine) as s:
        from flows.services import checker

        checks = {c["check"]: c for c in checker.run(s)["checks"]}
    assert checks["KPI figures supersede their own KPI and year"]["ok"]
    assert checks["KPI figures each have an audit event"] == {"check": "KPI figures each have an audit event",
                                                              "ok": True, "detail": "7 figures"}
    one = {k["id"]: k for k in json.loads(cli("kpi", "--year", "2022", "--json").stdout)}
    assert one["transfers_licences_growth"]["by_year"] == {"2022": 1200}
    assert one["transfers_licences_growth"]["growth"] == {"2022": "+20.0 %"}


def test_the_figures_are_append_only(db: Db, cli: Any, tmp_path: Path) -> None:
    set_clock("2023-06-01T01:00:00Z")
    assert cli("kpi", "import", str(_write(tmp_path, GOOD)), "--as", "admin").exit_code == 0
    for stmt in ("UPDATE kpi_figure SET value = value + 1", "DELETE FROM kpi_figure"):
        with db.engine.begin() as c, pytest.raises(DBAPIError, match="append-only"):
            c.execute(text(stmt))


BAD = [
    ("transfers_licences_grow,2021,5,count,x,,2022-01-01", "line 2: kpi: 'transfers_licences_grow' is not a KPI"),
    ("certified_entities,2021,5,count,x,,2022-01-01", "line 2: kpi: certified_entities is computed by ipfund"),
    ("pledge_financing_growth,2021,5,count,x,,2022-01-01", "line 2: kpi: pledge_financing_growth is computed"),
    ("securitisations,2019,1,count,x,,2022-01-01", "line 2: year: 2019 is not a year of policy yantai-2020"),
    ("securitisations,twenty,1,count,x,,2022-01-01", "line 2: year: 'twenty' is not a year"),
    ("securitisations,2021,1.5,count,x,,2022-01-01", "line 2: value: '1.5' is not a whole number"),
    ("securitisations,2021,-1,count,x,,2022-01-01", "line 2: value: '-1' is negative"),
    ("patent_contract_value_growth,2021,100000000.50,fen,x,,2022-01-01",
     "line 2: value: '100000000.50' has a decimal point; money is whole fen"),
    ("patent_contract_value_growth,2021,\"1,000\",fen,x,,2022-01-01", "line 2: value: '1,000' is not a whole number"),
    ("patent_contract_value_growth,2021,100,yuan,x,,2022-01-01", "line 2: unit: 'yuan' must be count or fen"),
    ("securitisations,2021,1,count,,,2022-01-01", "line 2: source: missing"),
    ("securitisations,2021,1,count,=cmd(),,2022-01-01", "line 2: source '=cmd()' starts with '='"),
    ("securitisations,2021,1,count,x,,2022-02-30", "line 2: as_of: '2022-02-30' is not a date"),
    ("securitisations,2022,1,count,x,,2021-12-31", "line 2: as_of: 2021-12-31 is before 2022 began"),
    ("securitisations,2023,1,count,x,,2023-06-02", "line 2: as_of: 2023-06-02 is after today"),
]


@pytest.mark.parametrize(("line", "problem"), BAD)
def test_a_bad_line_is_named_with_its_field_and_nothing_is_written(db: Db, cli: Any, tmp_path: Path, line: str,
                                                                   problem: str) -> None:
    set_clock("2023-06-01T01:00:00Z")
    assert cli("kpi", "import", str(_write(tmp_path, GOOD, "a.csv")), "--as", "admin").exit_code == 0
    before = db.snapshot()
    body = HEADER + line + "\n" + "securitisations,2021,0,count,深交所,,2022-01-01\n"  # a good line after it
    r = cli("kpi", "import", str(_write(tmp_path, body)), "--as", "admin")
    assert r.exit_code == 1
    assert problem in " ".join(r.stderr.split()), r.stderr
    assert "nothing was written" in r.stderr
    assert db.snapshot() == before


def test_a_file_refused_whole_names_every_line_and_the_header(db: Db, tmp_path: Path) -> None:
    set_clock("2023-06-01T01:00:00Z")
    before = db.snapshot()
    body = HEADER + "securitisations,2021,1,count,x,,2022-01-01\nsecuritisations,2021,2,count,y,,2022-02-01\n" \
        + "securitisations,2022,1,count,x,,2023-01-01,extra\n"
    with Session(db.engine) as s:
        with pytest.raises(ValidationFailed) as err:
            kpis.import_figures(s, "admin", body.encode(), "f.csv")
        assert err.value.problems == ["line 3: kpi, year: securitisations 2021 is already on line 2",
                                      "line 4: 8 cells, the header has 7"]
        with pytest.raises(ValidationFailed, match="header lacks source"):
            kpis.import_figures(s, "admin", b"kpi,year,value,unit,as_of\n", "f.csv")
        with pytest.raises(ValidationFailed, match="unknown column"):
            kpis.import_figures(s, "admin", (HEADER.strip() + ",amount\n").encode(), "f.csv")
        users.create_user(s, "admin", "sun.audit", ["auditor"], "孙审计", "")
        s.commit()
        before = db.snapshot()
        with pytest.raises(PermissionDenied):
            kpis.import_figures(s, "sun.audit", GOOD.encode(), "f.csv")
        s.rollback()
    assert db.snapshot() == before


def test_the_year_dossier_prints_imported_figures_of_two_years(db: Db, cli: Any, tmp_path: Path) -> None:
    """The year dossier's KPI page lists each imported year and the growth only where the year before has a
    figure (the first year has none: it used to fail the render)."""
    import tomllib

    from flows.services.budget import load_plan
    from flows.services.dossier.rendering import build_year, render_html
    from models.uow import unit_of_work
    from tests.conftest import EXAMPLES

    set_clock("2022-01-04T01:00:00Z")
    plan = (EXAMPLES / "plan-2021.toml").read_text(encoding="utf-8").replace("year = 2021", "year = 2022")
    with unit_of_work(db.engine) as s:
        load_plan(s, "admin", tomllib.loads(plan), "plan-2022.toml")
    set_clock("2023-06-01T01:00:00Z")
    assert cli("kpi", "import", str(_write(tmp_path, GOOD)), "--as", "admin").exit_code == 0
    with Session(db.engine) as s:
        html = render_html(build_year(s, 2022))
    assert "2021: 1000<br>2022: 1199 (+19.9 %)" in html
    assert "2021: ¥100,000,000.00<br>2022: ¥140,000,000.00 (+40.0 %)" in html
