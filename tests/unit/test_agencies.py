"""The service-agency registry's pure rules (rules/agencies.py): the lifecycle, accreditation checks,
monitoring thresholds (both sides of each), the yearly reward's ranking, the standing vouchers ask for,
and the policy section refused by key path."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

import pytest

from rules import agencies as ag
from rules.errors import IllegalTransition, ReasonRequired
from rules.policy import POLICY_DIR, Policy, PolicyError, load_policy, load_policy_file
from rules.uscc import make_uscc

ON = dt.date(2021, 6, 1)
CODE = make_uscc("370602", 901)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy("yantai-2020")


# --- the lifecycle ---------------------------------------------------------------------------------------

STATES: tuple[str | None, ...] = (None, *ag.STATES)
# Written out by hand (the specification): which act may be taken from which state; "." = refused.
#                 None applied accredited warned suspended expelled withdrawn
ALLOWED = {
    "apply":     ("applied", "applied", ".", ".", ".", ".", "applied"),
    "accredit":  (".", "accredited", ".", ".", ".", ".", "."),
    "warn":      (".", ".", "warned", ".", ".", ".", "."),
    "suspend":   (".", ".", "suspended", "suspended", ".", ".", "."),
    "expel":     (".", ".", "expelled", "expelled", "expelled", ".", "."),
    "reinstate": (".", ".", ".", "accredited", "accredited", ".", "."),
    "withdraw":  (".", "withdrawn", "withdrawn", "withdrawn", ".", ".", "."),
}
MATRIX = [(act, state, ALLOWED[act][i]) for act in ALLOWED for i, state in enumerate(STATES)]


def test_the_matrix_covers_every_act() -> None:
    assert set(ALLOWED) == set(ag.TRANSITIONS)


@pytest.mark.parametrize(("act", "state", "to"), MATRIX, ids=[f"{a} from {s}" for a, s, _ in MATRIX])
def test_each_act_is_taken_exactly_from_the_states_the_lifecycle_allows(act: str, state: str | None, to: str) -> None:
    if to == ".":
        with pytest.raises(IllegalTransition) as exc:
            ag.transition(act, state, "a reason", who="agency X")
        assert str(exc.value).startswith(f"agency X is {state or 'not registered'}; {act!r} applies only to an agency")
    else:
        assert ag.transition(act, state, "a reason").to == to


@pytest.mark.parametrize("act", ["warn", "suspend", "expel", "reinstate", "withdraw"])
def test_warning_suspension_expulsion_reinstatement_and_withdrawal_need_a_reason(act: str) -> None:
    state = "suspended" if act == "reinstate" else "accredited"
    with pytest.raises(ReasonRequired, match=f"{act!r} of agency X needs a reason"):
        ag.transition(act, state, "   ", who="agency X")
    assert ag.transition(act, state, "整改完成").to == ALLOWED[act][STATES.index(state)]


def test_expulsion_is_final_and_a_suspended_agency_cannot_withdraw_to_escape_it() -> None:
    for act in ag.TRANSITIONS:
        with pytest.raises(IllegalTransition):
            ag.transition(act, "expelled", "x")
    with pytest.raises(IllegalTransition, match="'withdraw' applies only to an agency that is accredited, applied, "
                                                r"warned \(二\(四\)10\)"):
        ag.transition("withdraw", "suspended", "x")


def test_an_unknown_act_is_named() -> None:
    with pytest.raises(IllegalTransition, match="'promote' is not an act of the agency registry"):
        ag.transition("promote", "accredited")


# --- accreditation checks -----------------------------------------------------------------------------------

def _facts(**change: object) -> ag.AgencyFacts:
    base: dict[str, object] = {"uscc": CODE, "name": "烟台正道知识产权代理有限公司", "office_address": "芝罘区南大街1号",
                               "staff_count": 3, "independent_liability": True}
    return ag.AgencyFacts(**{**base, **change})  # type: ignore[arg-type]


def _failed(policy: Policy, facts: ag.AgencyFacts) -> dict[str, tuple[str, str]]:
    return {c.check: (c.clause, c.detail) for c in ag.accreditation_checks(policy, facts, ON) if not c.passed}


def test_an_agency_meeting_every_requirement_passes_every_check_in_the_policys_order(policy: Policy) -> None:
    checks = ag.accreditation_checks(policy, _facts(), ON)
    assert [(c.check, c.clause, c.passed) for c in checks] == [
        ("registered_credit_code", "二(四)13", True), ("fixed_office", "二(二)5", True),
        ("minimum_staff", "二(二)5", True), ("independent_liability", "二(四)10", True)]
    assert checks[2].detail == "3 full-time staff (at least 3)" and checks[2].parameter == "agency.min_staff"


def test_three_staff_meet_the_minimum_and_two_do_not(policy: Policy) -> None:
    assert "minimum_staff" not in _failed(policy, _facts(staff_count=3))
    assert _failed(policy, _facts(staff_count=2)) == {
        "minimum_staff": ("二(二)5", "2 full-time staff; at least 3 are needed (agency.min_staff)")}


def test_no_office_no_liability_and_a_bad_credit_code_each_fail_their_own_check(policy: Policy) -> None:
    assert _failed(policy, _facts(office_address="  ")) == {
        "fixed_office": ("二(二)5", "no fixed office address is declared (有固定的办公场所)")}
    assert set(_failed(policy, _facts(independent_liability=False))) == {"independent_liability"}
    bad = CODE[:-1] + ("0" if CODE[-1] != "0" else "1")
    clause, detail = _failed(policy, _facts(uscc=bad))["registered_credit_code"]
    assert clause == "二(四)13" and "fails GB 32100-2015 (check_char)" in detail


# --- price schedules -----------------------------------------------------------------------------------------

def test_a_schedule_names_an_unknown_service_a_negative_price_and_a_service_priced_twice(policy: Policy) -> None:
    day = dt.date(2021, 3, 1)
    assert ag.schedule_problems(policy, [ag.PriceEntry("consulting", day, 0)], day) == []  # free is a price
    assert ag.schedule_problems(policy, [
        ag.PriceEntry("lobbying", day, 100), ag.PriceEntry("training", day, -1),
        ag.PriceEntry("consulting", day, 1), ag.PriceEntry("consulting", day, 2)], day) == [
        "service 'lobbying' is not a custody service of the policy (services: consulting, training, information, "
        "application, maintenance, operation, protection; 二(二)5)",
        "service 'training': price -1 fen is negative; a price is 0 fen or more",
        "service 'consulting' is priced twice from 2021-03-01"]
    assert ag.schedule_problems(policy, [], day) == [
        "services: accredit the agency for at least one service (--service SERVICE=YUAN)"]


# --- the standing vouchers ask for ---------------------------------------------------------------------------

RECORD = ag.AgencyRecord(CODE, "正道", history=(
    (dt.date(2021, 2, 1), "applied"), (dt.date(2021, 3, 1), "accredited"), (dt.date(2021, 5, 1), "warned"),
    (dt.date(2021, 8, 1), "suspended"), (dt.date(2021, 9, 1), "accredited")), prices=(
    ag.PriceEntry("consulting", dt.date(2021, 3, 1), 300_000), ag.PriceEntry("consulting", dt.date(2021, 7, 1), 350_000),
    ag.PriceEntry("application", dt.date(2021, 6, 1), 500_000)))


@pytest.mark.parametrize(("day", "accredited", "state"), [
    ("2021-02-28", False, "applied"), ("2021-03-01", True, "accredited"), ("2021-05-01", True, "warned"),
    ("2021-07-31", True, "warned"), ("2021-08-01", False, "suspended"), ("2021-08-31", False, "suspended"),
    ("2021-09-01", True, "accredited"), ("2021-01-31", False, None),
])
def test_an_agency_is_accredited_while_accredited_or_warned_and_not_before_or_while_suspended(
        day: str, accredited: bool, state: str | None) -> None:
    s = ag.standing(RECORD, "consulting", dt.date.fromisoformat(day))
    assert (s.accredited, s.state) == (accredited, state)
    assert ag.is_accredited(RECORD, "consulting", dt.date.fromisoformat(day)) is accredited


def test_the_price_in_force_changes_on_its_date_and_a_contract_above_it_is_refused() -> None:
    assert ag.price_on(RECORD, "consulting", dt.date(2021, 6, 30)) == 300_000
    assert ag.price_on(RECORD, "consulting", dt.date(2021, 7, 1)) == 350_000
    assert ag.is_accredited(RECORD, "consulting", dt.date(2021, 6, 30), price_fen=300_000)
    s = ag.standing(RECORD, "consulting", dt.date(2021, 6, 30), price_fen=300_001)
    assert not s.accredited and s.price_fen == 300_000
    assert s.reason == "300001 fen is above 正道's scheduled price of 300000 fen for 'consulting' (服务定价机制, 二(二)5)"


def test_a_service_is_accredited_only_from_the_first_date_of_its_schedule() -> None:
    assert not ag.is_accredited(RECORD, "application", dt.date(2021, 5, 31))
    assert ag.standing(RECORD, "training", dt.date(2021, 6, 1)).reason == (
        "正道 is not accredited for 'training' on 2021-06-01 (二(二)5)")
    assert not ag.is_accredited(RECORD, "application", dt.date(2021, 5, 31))
    assert ag.is_accredited(RECORD, "application", dt.date(2021, 9, 1))


# --- monitoring: both sides of every threshold ----------------------------------------------------------------

def rec(**kw: object) -> ag.YearRecord:
    return ag.YearRecord(year=2021, **kw)  # type: ignore[arg-type]


def grades(*g: str) -> tuple[Fraction, ...]:
    return tuple(Fraction(x) for x in g)


@pytest.mark.parametrize(("record", "action"), [
    (rec(complaints=2), "none"), (rec(complaints=3), "warn"),
    (rec(spot_checks_failed=1), "none"), (rec(spot_checks_failed=2), "suspend"),
    (rec(grades=grades("59.9", "95")), "none"), (rec(grades=grades("59.9", "59.9")), "suspend"),
    (rec(grades=grades("60", "60")), "none"),  # 60 is not below the minimum grade
    (rec(fraud_found=0, spot_checks_passed=5), "none"), (rec(fraud_found=1), "expel"),
], ids=["2 complaints", "3 complaints", "1 failed check", "2 failed checks", "1 low grade", "2 low grades",
        "two grades of exactly 60", "no fraud", "fraud"])
def test_the_record_calls_for_what_its_thresholds_say(policy: Policy, record: ag.YearRecord, action: str) -> None:
    assert ag.recommend(policy, record, ON).action == action


def test_the_gravest_act_wins_and_every_threshold_met_is_a_reason(policy: Policy) -> None:
    r = ag.recommend(policy, rec(complaints=4, spot_checks_failed=2, fraud_found=1), ON)
    assert (r.action, r.clause) == ("expel", "二(四)13")
    assert r.reasons == ("1 spot check(s) found fraud (恶意串通、弄虚作假)",
                         "2 failed spot check(s) in 2021 (suspension from 2, agency.spot_check_failures_suspension)",
                         "4 complaint(s) in 2021 (warning from 3, agency.complaints_warning)")
    r = ag.recommend(policy, rec(complaints=3, grades=grades("10", "20")), ON)
    assert (r.action, r.clause) == ("suspend", "二(四)10") and len(r.reasons) == 2


@pytest.mark.parametrize(("state", "action", "act"), [
    ("accredited", "warn", "warn"), ("warned", "warn", None), ("suspended", "warn", None),
    ("accredited", "suspend", "suspend"), ("warned", "suspend", "suspend"), ("suspended", "suspend", None),
    ("warned", "expel", "expel"), ("suspended", "expel", "expel"), ("expelled", "expel", None),
    ("accredited", "none", None), ("withdrawn", "suspend", None),
])
def test_the_monitoring_never_takes_a_step_twice_nor_moves_an_agency_back(state: str, action: str,
                                                                          act: str | None) -> None:
    assert ag.act_for(state, ag.Recommendation(action, "x")) == act  # type: ignore[arg-type]


# --- the yearly reward -----------------------------------------------------------------------------------------

def cand(serial: int, state: str = "accredited", **kw: object) -> ag.RewardCandidate:
    return ag.RewardCandidate(make_uscc("370602", serial), f"机构{serial}", state, rec(**kw))


def test_the_reward_ranks_by_mean_grade_then_complaints_failed_and_passed_checks_then_credit_code(
        policy: Policy) -> None:
    cs = [cand(1, grades=grades("80")), cand(2, grades=grades("90", "70"), complaints=1),
          cand(3, grades=grades("80"), spot_checks_passed=2), cand(4, grades=grades("85")),
          cand(5, grades=grades("80"), spot_checks_failed=1), cand(6, grades=grades("80"))]
    ranked, excluded = ag.reward_ranking(policy, cs, dt.date(2021, 12, 31))
    assert excluded == []
    assert [(r.rank, r.name) for r in ranked] == [(1, "机构4"), (2, "机构3"), (3, "机构1"), (4, "机构6"),
                                                   (5, "机构5"), (6, "机构2")]
    assert ranked[0].mean_grade == 85 and ranked[-1].mean_grade == 80
    # The same candidates in another order rank the same (the credit code breaks the last tie).
    again, _ = ag.reward_ranking(policy, list(reversed(cs)), dt.date(2021, 12, 31))
    assert [r.uscc for r in again] == [r.uscc for r in ranked]


def test_a_warned_agency_one_whose_record_calls_for_a_warning_and_one_without_grades_are_not_ranked(
        policy: Policy) -> None:
    ranked, excluded = ag.reward_ranking(policy, [
        cand(1, "warned", grades=grades("99")), cand(2, grades=grades("99"), complaints=3), cand(3),
        cand(4, grades=grades("70"), complaints=2)], dt.date(2021, 12, 31))
    assert [r.name for r in ranked] == ["机构4"]  # 2 complaints: below the warning threshold, still eligible
    assert [(c, why.split(":")[0]) for c, why in excluded] == [
        (make_uscc("370602", 1), "is warned, not accredited"),
        (make_uscc("370602", 2), "its 2021 record calls for warn"),
        (make_uscc("370602", 3), "0 grade(s) in 2021; at least 1 needed")]


def test_open_vouchers_are_returned_on_suspension_and_void_on_expulsion(policy: Policy) -> None:
    assert ag.open_vouchers_disposition(policy, "suspended", ON) == "return_to_holder"
    assert ag.open_vouchers_disposition(policy, "expelled", ON) == "void"
    assert ag.open_vouchers_disposition(policy, "warned", ON) is None


# --- the policy section is refused by key path ------------------------------------------------------------------

def _spoil(tmp_path: Path, old: str, new: str) -> Path:
    src = (POLICY_DIR / "yantai-2020.yaml").read_text(encoding="utf-8")
    assert src.count(old) == 1, f"test setup: {old!r} must occur once in the bundled policy"
    path = tmp_path / "spoiled.yaml"
    path.write_text(src.replace(old, new), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "message"), [
    ("- {check: fixed_office,", "- {check: fixed_adress,",
     "agency_registry.requirements[1].check: 'fixed_adress' is not a check rules/agencies.py defines (known: "
     "fixed_office, independent_liability, minimum_staff, registered_credit_code)"),
    ("    complaints_warning: agency.complaints_warning", "    complaints_warning: agency.complaint_warning",
     "agency_registry.monitoring.complaints_warning: parameter 'agency.complaint_warning' is not in the policy's "
     "parameters"),
    ("    min_grades: agency.reward_min_grades", "    min_grades: agency.min_grade",
     "agency_registry.reward.min_grades: parameter 'agency.min_grade' has unit 'score', this needs unit 'count'"),
    ("      2020-10-19: {value: void,", "      2020-10-19: {value: burn,",
     "parameters.agency.open_vouchers_on_expulsion: Value error, values.2020-10-19: 'burn' is not one of the "
     "choices (return_to_holder, void)"),
    ("      2020-10-19: {value: 3, reference: \"illustrative — the seed gives no number\"}\n  agency.complaints_warning",
     "      2020-10-19: {value: -3, reference: \"illustrative — the seed gives no number\"}\n  agency.complaints_warning",
     "parameters.agency.min_staff: Value error, values.2020-10-19: -3 must be a whole number >= 0"),
    ("      2020-10-19: {value: 10000000,", "      2020-10-19: {value: -1,",
     "parameters.agency.reward_fen: Value error, values.2020-10-19: -1 must be a whole number of fen >= 0"),
    ("    consulting: {name: 咨询,", "    Consulting: {name: 咨询,",
     "agency_registry.services: Value error, 'Consulting': a service code is 1–32 lower-case letters or '_'"),
    ("    choices: [return_to_holder, void]\n    clause: 二(四)10\n    illustrative: true\n    reference: Zhangye",
     "    choices: [return_to_holder, void, burn]\n    clause: 二(四)10\n    illustrative: true\n    reference: Zhangye",
     "agency_registry.open_vouchers.expelled: parameter 'agency.open_vouchers_on_expulsion' offers burn, which the "
     "engine does not know (known: return_to_holder, void)"),
], ids=["unknown check", "unknown parameter", "wrong unit", "a choice not offered", "negative staff minimum",
        "negative reward", "a service code in capitals", "a choice the engine does not know"])
def test_a_bad_registry_section_is_refused_naming_the_key_path(tmp_path: Path, old: str, new: str,
                                                                message: str) -> None:
    with pytest.raises(PolicyError) as exc:
        load_policy_file(_spoil(tmp_path, old, new))
    assert any(p == message for p in exc.value.problems), exc.value.problems


def test_every_registry_parameter_is_dated_cited_and_illustrative(policy: Policy) -> None:
    names = [n for n in policy.parameters if n.startswith("agency.")]
    assert len(names) == 9
    for n in names:
        p = policy.parameters[n]
        assert p.illustrative and p.clause in ("二(二)5", "二(四)10", "二(四)13"), n
        assert all(p.reference_at(d) for d in p.values), n
    assert policy.agency_registry is not None and policy.agency_registry.illustrative
    assert [s.name for s in policy.agency_registry.services.values()] == ["咨询", "培训", "信息", "申请", "维护", "运营", "保护"]
