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


def test_a_kpi_measured_outside_has_no_figure_and_is_never_met() -> None:
    r = kpis.evaluate(POLICY, "transfers_licences_growth", END, {2021: 5}, 5)
    assert r.total is None and r.kind is None
    assert [(t.target, t.met, t.share) for t in r.targets] == [(Fraction(1, 5), None, None)]
    assert r.as_dict()["targets"][0]["target"] == "1/5"


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
    ("    tags: [committed, paid]\n", "    tags: [committed, settled]\n",
     "kpis.certified_entities.tags[1]: no state of certification-award carries the tag 'settled'"),
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
