"""Step definitions for features/programme_kpi_figures.feature: the project KPIs (rules/kpis.py on the bundled
policy, with a stand-in project-grant scheme while the policy does not run one yet) and the KPIs measured
outside ipfund, judged on imported figures (rules/kpis.py; the import itself through `ipfund kpi import`)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when
from sqlmodel import Session

from flows.services import kpis as service
from models import audit
from rules import kpis
from rules.policy import FieldDef, Policy, load_policy
from tests.conftest import Db
from tests.support import set_clock

FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("programme_kpi_figures.feature", features_base_dir=str(FEATURES))
POLICY = load_policy("yantai-2020")
TYPES = ["navigation_industry", "navigation_enterprise", "cultivation", "operation_centre"]


def _with_projects(policy: Policy) -> Policy:
    """The policy with the schemes its project KPIs count; while the bundled policy does not run one yet,
    a stand-in: the certification award's states (committed and paid tagged) with the form field
    project_type."""
    base = policy.schemes["certification-award"]
    form = base.form.model_copy(update={"fields": {"project_type": FieldDef(type="choice", choices=TYPES)}})
    stand_in = base.model_copy(update={"form": form})
    missing = {k.scheme: stand_in for k in policy.kpis.values() if k.where and k.scheme and k.scheme not in policy.schemes}
    return policy.model_copy(update={"schemes": {**policy.schemes, **missing}})


PROJECTS = _with_projects(POLICY)


KPI_OF = {"navigation_industry": "navigation_industry_projects", "navigation_enterprise": "navigation_enterprise_projects",
          "operation_centre": "operation_centres"}


def _states(kid: str) -> tuple[str, str]:
    """A state the KPI counts (committed or paid) and one it does not, of the scheme it counts."""
    k = PROJECTS.kpis[kid]
    counted = kpis.states_counted(PROJECTS, k)
    other = next(s for s in PROJECTS.schemes[k.scheme or ""].states if s not in counted)
    return sorted(counted)[0], other


@pytest.fixture
def world() -> dict[str, Any]:
    return {"facts": {}, "figures": {}}


def _add(world: dict[str, Any], n: int, kind: str, year: int, agreed: bool) -> None:
    kid = KPI_OF[kind]
    counted, other = _states(kid)
    scheme = PROJECTS.kpis[kid].scheme or ""
    facts = world["facts"].setdefault(scheme, [])
    base = sum(len(v) for v in world["facts"].values())
    facts += [kpis.CaseFact(base + i, 5000 + base + i, year, counted if agreed else other, False,
                            {"project_type": kind}) for i in range(n)]


@given(parsers.parse("{n:d} agreed project grants of type {kind} in {year:d}"))
def _agreed(world: dict[str, Any], n: int, kind: str, year: int) -> None:
    _add(world, n, kind, year, True)


@given(parsers.parse("{n:d} project grants of type {kind} that were not agreed"))
def _not_agreed(world: dict[str, Any], n: int, kind: str) -> None:
    _add(world, n, kind, 2022, False)


@when(parsers.parse("the project KPIs are counted at the end of {year:d}"))
def _count(world: dict[str, Any], year: int) -> None:
    end = dt.date(year, 12, 31)
    years = kpis.period_years(PROJECTS, end)
    for kid in ("navigation_industry_projects", "navigation_enterprise_projects", "operation_centres"):
        k = PROJECTS.kpis[kid]  # the service reads the cases of the KPI's scheme only
        by_year, total = kpis.count_cases(PROJECTS, k, world["facts"].get(k.scheme, []), years)
        world[kid] = kpis.evaluate(PROJECTS, kid, end, by_year, total)


def _met(state: str) -> bool | None:
    return {"met": True, "not met": False, "not measurable yet": None}[state]


@then(parsers.parse("the industry navigation projects are {n:d} and the target of 15 is {state}"))
def _industry(world: dict[str, Any], n: int, state: str) -> None:
    r = world["navigation_industry_projects"]
    assert r.total == n and [(t.target, t.met) for t in r.targets] == [(15, _met(state))]
    assert r.clause == "二(一)1"


@then(parsers.parse("the enterprise navigation projects are {n:d}"))
def _enterprise_n(world: dict[str, Any], n: int) -> None:
    assert world["navigation_enterprise_projects"].total == n


@then(parsers.parse("the enterprise navigation projects' target of 50 is {state}"))
def _enterprise(world: dict[str, Any], state: str) -> None:
    assert [(t.target, t.met) for t in world["navigation_enterprise_projects"].targets] == [(50, _met(state))]


@then(parsers.parse("the operation centres' 烟台 plan target of 6 is {state}"))
def _centres_city(world: dict[str, Any], state: str) -> None:
    city = world["operation_centres"].targets[0]
    assert (city.target, city.met) == (6, _met(state))


@then(parsers.parse("the operation centres' national floor of 3 is {state}"))
def _centres_national(world: dict[str, Any], state: str) -> None:
    national = world["operation_centres"].targets[1]
    assert (national.label, national.target, national.met) == ("national floor", 3, _met(state))


def _fig(year: int, value: int, unit: str = "count") -> kpis.Figure:
    return kpis.Figure(year, value, unit, "市统计局", "", f"{year + 1}-01-15")


@given(parsers.parse("the imported figures of {kid}: {figures}"))
def _figures(world: dict[str, Any], kid: str, figures: str) -> None:
    world["figures"][kid] = [_fig(int(y), int(v)) for y, v in (p.split() for p in figures.split(", "))]


def _fen(yuan: str) -> int:
    whole, _, cents = yuan.replace(",", "").partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


@given(parsers.parse("the imported contract values ¥{a} for 2021 and ¥{b} for 2022"))
def _contract(world: dict[str, Any], a: str, b: str) -> None:
    world["figures"]["patent_contract_value_growth"] = [_fig(2021, _fen(a), "fen"), _fig(2022, _fen(b), "fen")]


@when(parsers.parse("the KPIs are judged at the end of {year:d}"))
def _judge(world: dict[str, Any], year: int) -> None:
    end = dt.date(year, 12, 31)
    world["results"] = {kid: kpis.evaluate(POLICY, kid, end, manual=world["figures"].get(kid, []))
                        for kid in kpis.imported_kpis(POLICY)}


@then(parsers.parse("the target of {kid} is {state}"))
def _state(world: dict[str, Any], kid: str, state: str) -> None:
    assert [t.met for t in world["results"][kid].targets] == [_met(state)]


@then(parsers.parse("the programme figure of {kid} is {total:d} and its target of {target:d} is {state}"))
def _total(world: dict[str, Any], kid: str, total: int, target: int, state: str) -> None:
    r = world["results"][kid]
    assert r.total == total and [(t.target, t.met) for t in r.targets] == [(target, _met(state))]


# --- through `ipfund kpi import` -------------------------------------------------------------------------------

HEADER = "kpi,year,value,unit,source,reference,as_of\n"
SOURCE = "国家知识产权局 专利转让许可登记"


@pytest.fixture
def bureau(db: Db, cli: Any, tmp_path: Path) -> dict[str, Any]:
    set_clock("2023-06-01T01:00:00Z")
    return {"db": db, "cli": cli, "tmp": tmp_path}


def _import(b: dict[str, Any], body: str, name: str) -> Any:
    p = b["tmp"] / name
    p.write_text(HEADER + body, encoding="utf-8")
    return b["cli"]("kpi", "import", str(p), "--as", "admin")


@given("the bureau imported transfers and licences of 1000 for 2021 and 1199 for 2022")
def _imported(bureau: dict[str, Any]) -> None:
    r = _import(bureau, f"transfers_licences_growth,2021,1000,count,{SOURCE},,2022-03-01\n"
                        f"transfers_licences_growth,2022,1199,count,{SOURCE},,2023-03-01\n", "first.csv")
    assert r.exit_code == 0, r.stderr
    bureau["before"] = bureau["db"].snapshot()


@when("the 2022 figure is corrected to 1200 with its reference")
def _correct(bureau: dict[str, Any]) -> None:
    bureau["fix"] = f"transfers_licences_growth,2022,1200,count,{SOURCE},国知发〔2023〕7号 更正,2023-05-20\n"
    r = _import(bureau, bureau["fix"], "fix.csv")
    assert r.exit_code == 0, r.stderr


@then("the transfers and licences target of +20 % a year is met")
def _met_now(bureau: dict[str, Any]) -> None:
    with Session(bureau["db"].engine) as s:
        r = {k.id: k for k in service.report(s)}["transfers_licences_growth"]
    assert r.by_year == {2021: 1000, 2022: 1200} and [t.met for t in r.targets] == [True]


@then("the 2022 figure 1199 is kept as superseded, with an audit event naming both figures")
def _history(bureau: dict[str, Any]) -> None:
    rows = json.loads(bureau["cli"]("kpi", "figures", "--json").stdout)
    assert [(r["value"], r["current"]) for r in rows if r["year"] == 2022] == [(1199, False), (1200, True)]
    with Session(bureau["db"].engine) as s:
        ev = audit.events_for(s, "kpi:transfers_licences_growth:2022")[-1]
    payload = json.loads(ev.payload)
    assert ev.action == "kpi.figure.supersede" and (payload["value"], payload["supersedes"]["value"]) == (1200, 1199)


@then("importing the correction again writes nothing")
def _again(bureau: dict[str, Any]) -> None:
    before = bureau["db"].snapshot()
    r = _import(bureau, bureau["fix"], "fix.csv")
    assert r.exit_code == 0 and "0 added, 0 superseded, 1 unchanged" in r.stdout
    assert bureau["db"].snapshot() == before


@when(parsers.parse("a file with the contract value 140000000.00 on its line 3 is imported"))
def _bad(bureau: dict[str, Any]) -> None:
    bureau["result"] = _import(bureau, "patent_contract_value_growth,2021,10000000000,fen,市统计局,,2022-03-01\n"
                                       "patent_contract_value_growth,2022,140000000.00,fen,市统计局,,2023-03-01\n",
                               "bad.csv")


@then(parsers.parse("it is refused naming line 3 and the field value: money is whole fen"))
def _refused(bureau: dict[str, Any]) -> None:
    r = bureau["result"]
    assert r.exit_code == 1
    assert "line 3: value: '140000000.00' has a decimal point; money is whole fen" in " ".join(r.stderr.split())


@then("nothing was written")
def _nothing(bureau: dict[str, Any]) -> None:
    assert bureau["db"].snapshot() == bureau["before"]
