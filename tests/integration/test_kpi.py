"""`ipfund kpi` on a real round and registry: an entity counts while its award stands (not after an upheld
objection), an agency while it is on the public list at the year's end; the CLI says the same as the
service, and a year outside the programme is refused."""

from __future__ import annotations

import json
from typing import Any

from flows.services import agencies, kpis, notice, users
from rules.uscc import make_uscc
from tests.conftest import Db
from tests.support import scored_round, set_clock

A = make_uscc("370602", 7301)
B = make_uscc("370611", 7302)


def test_kpis_count_what_stands_and_the_cli_agrees(db: Db, cli: Any) -> None:
    r = scored_round(db.engine, n_apps=12)
    final = r.finalize_and_end_notice()
    funded = [c["ref"] for c in final["cases"] if c["outcome"] == "funded"]
    assert len(funded) >= 3
    entities = {r.show(ref)["applicant"]["uscc"] for ref in funded}
    set_clock("2021-05-12T01:00:00Z")
    with r.uow() as s:
        users.create_user(s, "admin", "citizen", ["applicant"], "市民", "")
        notice.object_to(s, "citizen", funded[0], "重复申报")
    with r.uow() as s:
        notice.resolve(s, "wang.approve", funded[0], True, "异议成立")
    withdrawn = r.show(funded[0])["applicant"]["uscc"]
    with r.uow() as s:
        for code, name in ((A, "烟台正道知识产权代理有限公司"), (B, "福山华知知识产权服务有限公司")):
            agencies.apply(s, "admin", code, name, "芝罘区南大街1号", 5, True)
            agencies.accredit(s, "li.review", code, ["consulting=3000"])
    set_clock("2022-02-01T01:00:00Z")
    with r.uow() as s:
        agencies.change(s, "li.review", B, "suspend", "抽查不合格")  # on the 2021 list, off the 2022 one
    set_clock("2022-03-01T01:00:00Z")
    with r.ro() as s:
        got = {k.id: k for k in kpis.report(s)}
    ent = got["certified_entities"]
    assert withdrawn not in {r.show(x)["applicant"]["uscc"] for x in funded[1:]}  # one case per entity here
    expected = len(entities) - 1
    assert ent.by_year == {2020: 0, 2021: expected, 2022: 0}
    assert ent.total == expected
    assert [(t.target, t.met) for t in ent.targets] == [(240, False), (200, False)]
    ag = got["supported_agencies"]
    assert ag.by_year == {2020: 0, 2021: 2, 2022: 1}
    assert ag.total == 1
    assert got["pledge_financing_growth"].total == 0  # measured from the loan registry: no loans here
    assert [t.met for t in got["pledge_financing_growth"].targets] == [None]
    out = cli("kpi", "--json")
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout) == [k.as_dict() for k in got.values()]
    assert got["custody_smes"].by_year == {2020: 0, 2021: 0, 2022: 0} and got["custody_smes"].total == 0
    one = {k["id"]: k for k in json.loads(cli("kpi", "--year", "2021", "--json").stdout)}
    assert one["certified_entities"]["by_year"] == {"2021": expected}
    assert one["supported_agencies"]["by_year"] == {"2021": 2}
    assert one["certified_entities"]["total"] == expected
    text = cli("kpi", env={"COLUMNS": "200"}).stdout
    row = next(line for line in text.splitlines() if "贯标认证支持单位" in line)
    assert f"│ {expected} │" in " ".join(row.split()) and "240+ 烟台 plan" in row
    assert "cumulative" in text and "not measurable yet" in text
    bad = cli("kpi", "--year", "2019")
    assert bad.exit_code == 1 and "--year: 2019 is not a year of policy yantai-2020 (2020–2023)" in bad.stderr


def test_a_kpi_with_where_counts_only_the_cases_whose_form_holds_the_value(db: Db, monkeypatch: Any) -> None:
    """The project KPIs' filter on the submitted form (`where: {project_type: [...]}`), run here on the
    certification award's form (its certification body) through the service's read of application.data."""
    import json as json_

    from sqlalchemy import select as sa_select

    from flows.services import kpis as service
    from models.tables import Application
    from rules.policy import load_policy

    r = scored_round(db.engine, n_apps=12)
    final = r.finalize_and_end_notice()
    funded = [c["ref"] for c in final["cases"] if c["outcome"] == "funded"]
    with r.ro() as s:
        bodies = {ref: json_.loads(d)["certification_body"] for ref, d in s.execute(
            sa_select(Application.ref, Application.data).where(Application.ref.in_(funded))).all()}  # type: ignore[attr-defined]
    body = sorted(bodies.values())[0]
    policy = load_policy("yantai-2020")
    k = policy.kpis["certified_entities"].model_copy(update={"where": {"certification_body": [body]}, "count": "cases"})
    monkeypatch.setattr(service, "current_policy", lambda _s: policy.model_copy(
        update={"kpis": {**policy.kpis, "certified_entities": k}}))
    set_clock("2022-03-01T01:00:00Z")
    with r.ro() as s:
        got = {x.id: x for x in service.report(s)}["certified_entities"]
    assert got.total == sum(1 for b in bodies.values() if b == body) >= 1
    assert got.total < len(funded) or len(set(bodies.values())) == 1
