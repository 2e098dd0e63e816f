"""The programme's KPIs (一(二) targets; rules/kpis.py): what counts, both sides of each target, and a
policy's KPI section refused by key path."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

import pytest

from rules import kpis
from rules.policy import POLICY_DIR, PolicyError, load_policy, load_policy_file

POLICY = load_policy("yantai-2020")
K = POLICY.kpis["certified_entities"]
END = dt.date(2023, 12, 31)


def fact(case: int, applicant: int, year: int, state: str, sme: bool = True) -> kpis.CaseFact:
    return kpis.CaseFact(case, applicant, year, state, sme)


def test_the_counted_states_are_those_with_the_kpis_tags() -> None:
    assert kpis.states_counted(POLICY, K) == {"awarded", "in_notice", "on_hold", "payable", "payment_pending", "paid"}


def test_custody_counts_smes_whose_service_was_delivered() -> None:
    k = POLICY.kpis["custody_smes"]
    assert kpis.states_counted(POLICY, k) == {"delivered", "disputed", "confirmed", "evaluation", "scored",
                                                   "evaluated", "settlement_pending", "settled"}
    facts = [fact(1, 10, 2021, "settled"), fact(2, 10, 2021, "confirmed"), fact(3, 11, 2021, "issued"),
             fact(4, 12, 2021, "expired"), fact(5, 13, 2022, "delivered"), fact(6, 14, 2021, "settled", sme=False)]
    assert kpis.count_cases(POLICY, k, facts, [2021, 2022]) == ({2021: 1, 2022: 1}, 2)
    r = kpis.evaluate(POLICY, "custody_smes", END, {}, 1000)
    assert [(t.target, t.met) for t in r.targets] == [(2000, False), (1000, True)]


def test_an_applicant_counts_once_in_the_programme_and_once_a_year() -> None:
    facts = [fact(1, 10, 2021, "paid"), fact(2, 10, 2022, "paid"),  # the same entity in two years
             fact(3, 11, 2021, "payable"), fact(4, 11, 2021, "paid"),  # two cases of one entity in one year
             fact(5, 12, 2021, "not_awarded"), fact(6, 13, 2021, "withdrawn"), fact(7, 14, 2021, "scored"),
             fact(8, 15, 2024, "paid")]  # after the programme
    by_year, total = kpis.count_cases(POLICY, K, facts, [2020, 2021, 2022, 2023])
    assert by_year == {2020: 0, 2021: 2, 2022: 1, 2023: 0}
    assert total == 2


def test_counting_cases_instead_of_applicants_and_smes_only() -> None:
    facts = [fact(1, 10, 2021, "paid"), fact(2, 10, 2021, "paid"), fact(3, 11, 2021, "paid", sme=False)]
    by_cases = K.model_copy(update={"count": "cases"})
    assert kpis.count_cases(POLICY, by_cases, facts, [2021]) == ({2021: 3}, 3)
    smes = K.model_copy(update={"sme_only": True})
    assert kpis.count_cases(POLICY, smes, facts, [2021]) == ({2021: 1}, 1)


@pytest.mark.parametrize(("total", "met_city", "met_national"), [(199, False, False), (200, False, True),
                                                                 (239, False, True), (240, True, True)])
def test_each_target_on_both_sides(total: int, met_city: bool, met_national: bool) -> None:
    r = kpis.evaluate(POLICY, "certified_entities", END, {2021: total}, total)
    city, national = r.targets
    assert (city.target, national.target) == (240, 200)
    assert (city.met, national.met) == (met_city, met_national)
    assert city.share == Fraction(total, 240)
    assert "240 家以上" in city.reference


def test_a_kpi_measured_outside_without_an_imported_figure_has_no_figure_and_is_never_met() -> None:
    r = kpis.evaluate(POLICY, "transfers_licences_growth", END, {2021: 5}, 5)
    assert r.total is None and r.kind == "growth" and r.by_year == {} and r.manual == ()
    assert [(t.target, t.met, t.share) for t in r.targets] == [(Fraction(1, 5), None, None)]
    assert r.as_dict()["targets"][0]["target"] == "1/5"
    r = kpis.evaluate(POLICY, "securitisations", END)
    assert r.total is None and [(t.target, t.met) for t in r.targets] == [(1, None)]


def fig(year: int, value: int, unit: str = "count") -> kpis.Figure:
    return kpis.Figure(year, value, unit, "市统计局", "烟统字〔2022〕1号", f"{year + 1}-02-01")


@pytest.mark.parametrize(("v2021", "v2022", "met"), [(1000, 1200, True), (1000, 1199, False), (0, 5, None)])
def test_growth_of_imported_figures_follows_the_pledge_rule(v2021: int, v2022: int, met: bool | None) -> None:
    r = kpis.evaluate(POLICY, "transfers_licences_growth", END, manual=[fig(2021, v2021), fig(2022, v2022)])
    assert [t.met for t in r.targets] == [met]
    assert r.by_year == {2021: v2021, 2022: v2022} and r.total == v2022
    if v2021:
        assert r.growth == {2022: Fraction(v2022 - v2021, v2021)}
    # the same figures through rules.kpis.growth_met, the pledge KPI's rule
    assert kpis.growth_met({2021: v2021, 2022: v2022}, Fraction(1, 5)) is met


def test_contract_value_is_money_and_compounds_over_the_years() -> None:
    f = [fig(2021, 100_000_000_00, "fen"), fig(2023, 196_000_000_00, "fen")]  # +40 %/yr over 2 years = +96 %
    r = kpis.evaluate(POLICY, "patent_contract_value_growth", END, manual=f)
    assert r.unit == "fen" and [t.met for t in r.targets] == [True]
    f[1] = fig(2023, 195_999_999_99, "fen")
    assert [t.met for t in kpis.evaluate(POLICY, "patent_contract_value_growth", END, manual=f).targets] == [False]


@pytest.mark.parametrize(("values", "met"), [((40, 59), False), ((40, 60), True)])
def test_imported_counts_sum_over_the_years_against_the_target(values: tuple[int, int], met: bool) -> None:
    r = kpis.evaluate(POLICY, "university_patent_smes", END, manual=[fig(2021, values[0]), fig(2022, values[1])])
    assert r.total == sum(values) and r.kind == "flow" and [t.met for t in r.targets] == [met]


@pytest.mark.parametrize(("latest", "met"), [(29, False), (30, True)])
def test_agencies_in_the_cluster_zone_are_the_latest_years_figure(latest: int, met: bool) -> None:
    r = kpis.evaluate(POLICY, "cluster_zone_agencies", END, manual=[fig(2021, 25), fig(2022, latest)])
    assert r.total == latest and r.kind == "stock" and [t.met for t in r.targets] == [met]


def test_project_kpis_filter_the_cases_on_their_form() -> None:
    k = POLICY.kpis["navigation_industry_projects"]
    assert k.where == {"project_type": ["navigation_industry"]} and k.count == "cases"
    nav = {"project_type": "navigation_industry"}
    ent = {"project_type": "navigation_enterprise"}
    assert kpis.matches(k, nav) and not kpis.matches(k, ent) and not kpis.matches(k, None)
    assert kpis.matches(k, {"project_type": ["cultivation", "navigation_industry"]})
    assert kpis.matches(POLICY.kpis["certified_entities"], None)  # no where: every case
    if k.scheme not in POLICY.schemes:  # in the catalog, not yet run: counts zero
        assert kpis.states_counted(POLICY, k) == frozenset()
        facts = [kpis.CaseFact(1, 1, 2021, "agreed", True, nav)]
        assert kpis.count_cases(POLICY, k, facts, [2021]) == ({2021: 0}, 0)
        r = kpis.evaluate(POLICY, "navigation_industry_projects", END, {2021: 0}, 0)
        assert r.source is not None and "not run yet" in r.source


def test_a_figure_row_is_checked_field_by_field() -> None:
    ok = {"kpi": "patent_contract_value_growth", "year": "2021", "value": "12345600", "unit": "fen",
          "source": "市统计局", "reference": "", "as_of": "2022-02-01"}
    today = dt.date(2022, 6, 1)
    f, kid, errs = kpis.check_figure(POLICY, ok, today)
    assert errs == [] and kid == "patent_contract_value_growth" and f == kpis.Figure(2021, 12345600, "fen", "市统计局", "",
                                                                                  "2022-02-01")
    cases = [({"kpi": "nope"}, "kpi: 'nope' is not a KPI of policy yantai-2020"),
             ({"kpi": "certified_entities", "unit": "count"}, "kpi: certified_entities is computed by ipfund"),
             ({"year": "2019"}, "year: 2019 is not a year of policy yantai-2020 (2020–2023)"),
             ({"year": "21"}, "year: '21' is not a year"),
             ({"value": "123456.00"}, "value: '123456.00' has a decimal point; money is whole fen"),
             ({"value": "-5"}, "value: '-5' is negative"),
             ({"value": "1e6"}, "value: '1e6' is not a whole number"),
             ({"unit": "yuan"}, "unit: 'yuan' must be count or fen"),
             ({"unit": "count"}, "unit: count, but patent_contract_value_growth is given in fen"),
             ({"source": " "}, "source: missing"),
             ({"as_of": "2022-13-01"}, "as_of: '2022-13-01' is not a date"),
             ({"as_of": "2020-12-31"}, "as_of: 2020-12-31 is before 2021 began"),
             ({"as_of": "2022-06-02"}, "as_of: 2022-06-02 is after today")]
    for change, problem in cases:
        f, _kid, errs = kpis.check_figure(POLICY, {**ok, **change}, today)
        assert f is None and any(e.startswith(problem) for e in errs), (change, errs)
    _f, _k, errs = kpis.check_figure(POLICY, {**ok, "kpi": "university_patent_smes", "unit": "count",
                                              "value": "3.0"}, today)
    assert errs == ["value: '3.0' is not a whole number"]


def test_shares_are_shown_to_one_decimal_rounded_half_up() -> None:
    r = kpis.evaluate(POLICY, "certified_entities", END, {}, 1)  # 1/240 = 0.4166 %, 1/200 = 0.5 %
    assert [t["share"] for t in r.as_dict()["targets"]] == ["0.4 %", "0.5 %"]
    r = kpis.evaluate(POLICY, "supported_agencies", END, {}, 1)  # 1/50 = 2 %
    assert r.as_dict()["targets"][0]["share"] == "2.0 %"


def test_the_programme_years_end_with_the_policy_or_today() -> None:
    assert kpis.period_years(POLICY, dt.date(2021, 6, 1)) == [2020, 2021]
    assert kpis.period_years(POLICY, dt.date(2026, 1, 1)) == [2020, 2021, 2022, 2023]


def _with(tmp_path: Path, old: str, new: str) -> Path:
    text = (POLICY_DIR / "yantai-2020.yaml").read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "alt.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "problem"), [
    ("    measure: cases\n    scheme: certification-award\n", "    measure: counts\n    scheme: certification-award\n",
     "kpis.certified_entities.measure: 'counts' is not a measure rules/kpis.py defines"),
    ("    scheme: certification-award\n    tags: [committed, paid]\n",
     "    scheme: certification-awards\n    tags: [committed, paid]\n",
     "kpis.certified_entities.scheme: 'certification-awards' is not a scheme of the policy"),
    ("    scheme: certification-award\n    tags: [committed, paid]\n",
     "    scheme: certification-award\n    tags: [committed, settled]\n",
     "kpis.certified_entities.tags[1]: no state of certification-award carries the tag 'settled'"),
    ("    scheme: certification-award\n    tags: [committed, paid]\n",
     "    scheme: certification-award\n    tags: [committed, paid]\n    where: {kind: [enterprise]}\n",
     "kpis.certified_entities.where.kind: not a field of certification-award's form"),
    ("    where: {project_type: [navigation_industry]}\n", "    where: {project_type: []}\n",
     "kpis.navigation_industry_projects.where.project_type: list at least one value"),
    ("    programme_figure: latest\n", "    programme_figure: latest\n    unit: fen\n",
     "kpis.cluster_zone_agencies.targets[0].parameter: the figures of cluster_zone_agencies are money (fen)"),
    ("    measure: accredited_agencies\n", "    measure: accredited_agencies\n    unit: fen\n",
     "kpis.supported_agencies: unit and programme_figure belong to a KPI measured outside ipfund"),
    ("      - {parameter: kpi.certified_entities_national, label: national floor}",
     "      - {parameter: kpi.certified_entities_nationa, label: national floor}",
     "kpis.certified_entities.targets[1].parameter: parameter 'kpi.certified_entities_nationa' is not in"),
    ("      - {parameter: kpi.supported_agencies, label: 烟台 plan}",
     "      - {parameter: kpi.pledge_financing_growth, label: 烟台 plan}",
     "kpis.supported_agencies.targets[0].parameter: a growth ratio ('kpi.pledge_financing_growth') is a target "
     "only of a KPI measured outside"),
    ("      - {parameter: kpi.pledge_financing_growth, label: 烟台 plan and national programme}",
     "      - {parameter: kpi.supported_agencies, label: 烟台 plan and national programme}",
     "kpis.pledge_financing_growth.targets[0].parameter: the measure 'pledge_loans' is a growth a year, its target "
     "is a ratio, not the count 'kpi.supported_agencies'"),
    ("    states: [delivered, disputed, confirmed, evaluation, scored, evaluated, settlement_pending, settled]\n",
     "    states: [delivered, redeemed]\n",
     "kpis.custody_smes.states[1]: 'redeemed' is not a state of custody-voucher"),
    ("    source: 国家知识产权局 transfer and licence registrations (not held by ipfund)\n", "",
     "kpis.transfers_licences_growth.source: a KPI measured outside ipfund says where it is measured"),
])
def test_a_bad_kpi_is_refused_by_key_path(tmp_path: Path, old: str, new: str, problem: str) -> None:
    with pytest.raises(PolicyError) as err:
        load_policy_file(_with(tmp_path, old, new))
    assert any(p.startswith(problem) for p in err.value.problems), err.value.problems
