"""Policy load refuses a bad issue order or duplicate_benefits entry, naming the key path (二(二)4 / 二(二)5,
从优从高不重复); a policy test case's ``parameters`` override is checked the same way; the rank keys."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from rules.allocation import allocate, issue_order
from rules.policy import POLICY_DIR, PolicyError, load_policy, load_policy_file, with_values
from rules.policy_tests import CaseFileError, load_cases
from rules.schemes import BenefitAward, Candidate

YANTAI = POLICY_DIR / "yantai-2020.yaml"
ON = dt.date(2021, 6, 30)


def _spoil(tmp_path: Path, old: str, new: str) -> Path:
    src = YANTAI.read_text(encoding="utf-8")
    assert src.count(old) >= 1, f"test setup: {old!r} not in the bundled policy"
    path = tmp_path / "spoiled.yaml"
    path.write_text(src.replace(old, new, 1), encoding="utf-8")
    return path


SPOILED = [
    pytest.param("      - {scheme: certification-award}\n", "      - {scheme: certification-awards}\n",
                 ["duplicate_benefits[0].members[0].scheme: 'certification-awards' is not a scheme of the policy"],
                 id="an unknown scheme"),
    pytest.param("where: {service: [consulting]}", "where: {service: [lobbying]}",
                 ["duplicate_benefits[0].members[1].where.service[0]: 'lobbying' is not a service of custody-voucher"],
                 id="an unknown service"),
    pytest.param("where: {service: [consulting]}", "where: {servce: [consulting]}",
                 ["duplicate_benefits[0].members[1].where.servce: not a field of custody-voucher's form"],
                 id="an unknown form field"),
    pytest.param("      - {scheme: custody-voucher, where: {service: [consulting]}}\n", "",
                 ["duplicate_benefits.0.members: List should have at least 2 items"], id="a single member"),
    pytest.param("      - applicant_year_cap\n      - duplicate_benefit\n", "      - applicant_year_cap\n",
                 ["duplicate_benefits[0].members[0].scheme: 'certification-award' funds the benefit "
                  "'standard-implementation-consulting' but does not list the check duplicate_benefit"],
                 id="a member scheme without the check"),
    pytest.param("2020-10-19: {value: fcfs, reference:", "2020-10-19: {value: lottery, reference:",
                 ["parameters.custody-voucher.issue_order", "'lottery' is not one of the choices (fcfs, ranked)"],
                 id="an unknown issue_order value"),
    pytest.param("choices: [fcfs, ranked]", "choices: [fcfs, ranked, lottery]",
                 ["schemes.custody-voucher.allocation.issue_order: parameter 'custody-voucher.issue_order' offers "
                  "lottery, which the engine does not know (known: fcfs, ranked, pro_rata)"], id="an unknown issue order choice"),
    pytest.param("issue_order: custody-voucher.issue_order", "issue_order: custody-voucher.issue_ordr",
                 ["schemes.custody-voucher.allocation.issue_order: parameter 'custody-voucher.issue_ordr' is not in "
                  "the policy's parameters"], id="an issue_order naming no parameter"),
]


@pytest.mark.parametrize("old, new, fragments", SPOILED)
def test_a_bad_issue_order_or_duplicate_benefit_is_refused_at_load_naming_the_key_path(
        tmp_path: Path, old: str, new: str, fragments: list[str]) -> None:
    path = _spoil(tmp_path, old, new)
    with pytest.raises(PolicyError) as exc:
        load_policy_file(path)
    msg = str(exc.value)
    assert msg.startswith(f"policy file {path} is invalid (1 problem(s)):"), msg
    for fragment in fragments:
        assert fragment in msg, msg


def test_the_bundled_policy_issues_first_come_first_served_until_it_says_ranked() -> None:
    policy = load_policy("yantai-2020")
    assert issue_order(policy, "custody-voucher", ON) == "fcfs"
    assert issue_order(with_values(policy, {"custody-voucher.issue_order": "ranked"}), "custody-voucher", ON) == "ranked"
    assert issue_order(policy, "certification-award", ON) == "merit"
    with pytest.raises(ValueError, match="'lottery' is not one of the choices"):
        with_values(policy, {"custody-voucher.issue_order": "lottery"})
    assert policy.text("custody-voucher.issue_order", ON) == "fcfs"  # the policy itself is unchanged


def _cv(i: int, at: str, earlier: int = 0, this_year: int = 0, same: tuple[BenefitAward, ...] = ()) -> Candidate:
    return Candidate(i, f"CV-{i}", i, "enterprise", True, at, None, status="eligible", awarded_this_year_fen=this_year,
                     form={"service": "consulting"}, earlier_years_awards=earlier, same_benefit=same)


@pytest.mark.parametrize("budget_fen, funded", [(1_000_000, ["CV-1", "CV-2"]), (999_999, ["CV-2"])])
def test_ranked_the_line_holds_both_or_leaves_out_the_earlier_holder(budget_fen: int, funded: list[str]) -> None:
    policy = with_values(load_policy("yantai-2020"), {"custody-voucher.issue_order": "ranked"})
    out = allocate(policy, "custody-voucher", [_cv(1, "2021-05-01", earlier=1), _cv(2, "2021-05-02")], budget_fen, ON,
                   ready=frozenset({"eligible"}))
    assert sorted(o.ref for o in out if o.outcome == "funded") == funded
    assert [o.ref for o in out] == ["CV-2", "CV-1"]


def test_a_voucher_equal_to_the_award_already_held_for_the_benefit_is_refused_one_fen_less_is_deducted() -> None:
    policy = load_policy("yantai-2020")

    def held(fen: int) -> tuple[BenefitAward, ...]:
        return (BenefitAward("standard-implementation-consulting", "certification-award", "CA-1", fen),)

    [o] = allocate(policy, "custody-voucher", [_cv(1, "2021-05-01", same=held(500_000))], 10**8, ON,
                   ready=frozenset({"eligible"}))
    assert (o.outcome, o.award_fen) == ("ineligible", 0) and "从优从高不重复" in o.reason
    [o] = allocate(policy, "custody-voucher", [_cv(1, "2021-05-01", same=held(499_999))], 10**8, ON,
                   ready=frozenset({"eligible"}))
    assert (o.outcome, o.award_fen) == ("funded", 1)


def test_a_policy_case_overriding_an_unknown_parameter_or_a_bad_value_is_refused(tmp_path: Path) -> None:
    policy = load_policy("yantai-2020")
    f = tmp_path / "cases.yaml"
    f.write_text("""
- name: x
  scheme: custody-voucher
  allocate: true
  date: 2021-06-30
  parameters: {custody-voucher.issue_ordr: ranked, custody-voucher.issue_order: lottery}
  input: {budget_fen: 1, candidates: [{ref: CV-1, status: eligible, form: {service: consulting}}]}
  expect: {total_award_fen: 0}
""", encoding="utf-8")
    with pytest.raises(CaseFileError) as exc:
        load_cases(f, policy)
    text = "\n".join(exc.value.problems)
    assert "parameters.custody-voucher.issue_ordr: \"policy yantai-2020 has no parameter 'custody-voucher.issue_ordr'\"" \
        in text or "parameters.custody-voucher.issue_ordr: policy yantai-2020 has no parameter" in text, text
    assert "parameters.custody-voucher.issue_order: values.2020-10-19: 'lottery' is not one of the choices" in text, text
