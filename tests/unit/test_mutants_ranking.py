"""贯标认证奖励 (二(二)4) through rules.certification: the intake checks, the award, merit ranking and
allocation within budget, both sides of every boundary (OpenFisca style; written to kill the mutants
`make mutate` found surviving)."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from rules import certification
from rules.certification import Candidate, IntakeFacts, allocate, award_fen, intake_checks, tie_break_criteria
from rules.policy import load_policy
from rules.uscc import CreditCodeError, make_uscc, validate_uscc

POLICY = load_policy("yantai-2020")
AS_OF = dt.date(2021, 5, 10)
ENTERPRISE = 5_000_000  # ¥50,000.00
UNIVERSITY = 8_000_000  # ¥80,000.00
CAP = 8_000_000  # ¥80,000.00 per applicant and fiscal year
CODE = make_uscc("370602", 4242)
CERT = "165IP2100123R0M"


def cand(i: int, score: Fraction | int | None = 80, *, kind: str = "enterprise", applicant: int | None = None,
         sme: bool = False, system: Fraction | int | None = 80, submitted: str | None = None,
         status: str = "scored", failed_check: str | None = None, awarded: int = 0) -> Candidate:
    means = {} if system is None else {"system_operation": Fraction(system)}
    return Candidate(i, f"CA-{i}", applicant or i, kind, sme, submitted or f"2021-03-01T00:00:{i:02d}.000000Z",
                     None if score is None else Fraction(score), means, status, failed_check, awarded)


def outcomes(cands: list[Candidate], budget: int = 10**9) -> list[tuple[str, int | None, str, int]]:
    return [(o.ref, o.rank, o.outcome, o.award_fen) for o in allocate(POLICY, cands, budget, AS_OF)]


# --- the award and the budget line --------------------------------------------------------------------

def test_the_award_is_fixed_by_applicant_kind() -> None:
    assert award_fen(POLICY, "enterprise", AS_OF) == ENTERPRISE
    assert award_fen(POLICY, "university", AS_OF) == UNIVERSITY
    assert award_fen(POLICY, "institute", AS_OF) == UNIVERSITY


def test_a_line_holding_exactly_one_award_funds_it_and_one_fen_less_funds_nothing() -> None:
    assert outcomes([cand(1)], budget=ENTERPRISE) == [("CA-1", 1, "funded", ENTERPRISE)]
    assert outcomes([cand(1)], budget=ENTERPRISE - 1) == [("CA-1", 1, "budget_exhausted", 0)]


def test_a_funded_and_an_exhausted_case_say_why() -> None:
    out = allocate(POLICY, [cand(1, 90), cand(2, 85)], ENTERPRISE * 2 - 1, AS_OF)
    assert [o.reason for o in out] == ["rank 1, award ¥50,000.00",
                                       "award ¥50,000.00 exceeds the ¥49,999.99 left on the line"]


def test_once_the_line_cannot_pay_a_case_no_case_below_it_is_funded_even_a_cheaper_one() -> None:
    # ¥130,000: the enterprise (¥50,000) is funded, the university (¥80,000) fits exactly, then ¥0 is left.
    assert [o[2] for o in outcomes([cand(1, 90), cand(2, 85, kind="university"), cand(3, 80)],
                                   budget=13_000_000)] == ["funded", "funded", "budget_exhausted"]
    # ¥129,999.99: the university award no longer fits; the ¥50,000 below it is not funded either.
    assert outcomes([cand(1, 90), cand(2, 85, kind="university"), cand(3, 80), cand(4, 70)],
                    budget=13_000_000 - 1) == [
        ("CA-1", 1, "funded", ENTERPRISE), ("CA-2", 2, "budget_exhausted", 0), ("CA-3", 3, "budget_exhausted", 0),
        ("CA-4", 4, "budget_exhausted", 0)]


def test_what_is_funded_is_taken_off_the_line_before_the_next_case() -> None:
    assert outcomes([cand(1, 90), cand(2, 85), cand(3, 80)], budget=ENTERPRISE * 2) == [
        ("CA-1", 1, "funded", ENTERPRISE), ("CA-2", 2, "funded", ENTERPRISE), ("CA-3", 3, "budget_exhausted", 0)]


# --- the minimum score ----------------------------------------------------------------------------------

def test_a_final_score_of_exactly_60_is_funded_and_one_just_below_it_is_not() -> None:
    just_below = Fraction(59_999_999, 1_000_000)
    out = allocate(POLICY, [cand(1, 60), cand(2, just_below)], 10**9, AS_OF)
    assert [(o.ref, o.rank, o.outcome, o.award_fen, o.final_score) for o in out] == [
        ("CA-1", 1, "funded", ENTERPRISE, Fraction(60)), ("CA-2", 2, "below_min_score", 0, just_below)]
    assert out[1].reason == "final score 60.00 < minimum 60.00"  # shown to two places, compared exactly
    out = allocate(POLICY, [cand(3, Fraction(599, 10))], 10**9, AS_OF)
    assert out[0].reason == "final score 59.90 < minimum 60.00"


def test_a_case_below_the_minimum_takes_no_money_from_the_line() -> None:
    assert outcomes([cand(1, 59), cand(2, 61)], budget=ENTERPRISE) == [
        ("CA-2", 1, "funded", ENTERPRISE), ("CA-1", 2, "below_min_score", 0)]


# --- the per-applicant cap (不超额奖励) -------------------------------------------------------------------

def test_an_applicant_with_exactly_one_award_of_room_under_the_cap_gets_it_whole_and_one_fen_less_is_cut() -> None:
    assert outcomes([cand(1, awarded=CAP - ENTERPRISE)]) == [("CA-1", 1, "funded", ENTERPRISE)]
    assert outcomes([cand(1, awarded=CAP - ENTERPRISE + 1)]) == [("CA-1", 1, "funded", ENTERPRISE - 1)]


def test_an_applicant_with_one_fen_of_room_gets_one_fen_and_one_with_none_is_ineligible() -> None:
    assert outcomes([cand(1, awarded=CAP - 1)]) == [("CA-1", 1, "funded", 1)]
    out = allocate(POLICY, [cand(1, awarded=CAP), cand(2, 70)], ENTERPRISE, AS_OF)
    assert [(o.ref, o.outcome, o.award_fen) for o in out] == [("CA-1", "ineligible", 0), ("CA-2", "funded", ENTERPRISE)]
    assert out[0].reason == "applicant_year_cap: the applicant's cap of ¥80,000.00 is used"


def test_an_award_cut_to_the_cap_is_what_the_line_must_pay() -> None:
    # One fen of room under the cap and one fen on the line: funded with that fen.
    assert outcomes([cand(1, awarded=CAP - 1)], budget=1) == [("CA-1", 1, "funded", 1)]


def test_awards_in_one_round_count_against_the_same_applicants_cap_and_no_one_elses() -> None:
    assert outcomes([cand(1, 90, applicant=7), cand(2, 85, applicant=7), cand(3, 80, applicant=7),
                     cand(4, 75, applicant=8)]) == [
        ("CA-1", 1, "funded", ENTERPRISE), ("CA-2", 2, "funded", CAP - ENTERPRISE), ("CA-3", 3, "ineligible", 0),
        ("CA-4", 4, "funded", ENTERPRISE)]


def test_a_case_ineligible_under_the_cap_takes_no_money_from_the_line() -> None:
    assert outcomes([cand(1, 90, awarded=CAP), cand(2, 80)], budget=ENTERPRISE) == [
        ("CA-1", 1, "ineligible", 0), ("CA-2", 2, "funded", ENTERPRISE)]


# --- cases that are not ranked ---------------------------------------------------------------------------

def test_cases_that_are_not_scored_are_listed_after_the_ranked_ones_with_their_reason() -> None:
    out = allocate(POLICY, [cand(5, None, status="evaluation"), cand(4, status="rejected", score=None),
                            cand(3, failed_check="certification_window", status="ineligible", score=None),
                            cand(2, 70), cand(1, None), cand(6, 80, status="evaluation")], 10**9, AS_OF)
    assert [(o.ref, o.rank, o.outcome, o.award_fen, o.reason) for o in out] == [
        ("CA-2", 1, "funded", ENTERPRISE, "rank 1, award ¥50,000.00"),
        ("CA-1", None, "pending", 0, "not yet scored (status scored)"),
        ("CA-3", None, "ineligible", 0, "intake check failed: certification_window"),
        ("CA-4", None, "rejected_in_review", 0, "rejected in formal review"),
        ("CA-5", None, "pending", 0, "not yet scored (status evaluation)"),
        ("CA-6", None, "pending", 0, "not yet scored (status evaluation)"),
    ]
    assert out[5].final_score == Fraction(80) and out[3].final_score is None


# --- merit order and its tie-breaks -------------------------------------------------------------------------

def test_a_higher_final_score_ranks_first_whatever_the_tie_breakers_say() -> None:
    assert [o[0] for o in outcomes([cand(1, 80, system=100, sme=True), cand(2, Fraction(8001, 100), system=0)])] == [
        "CA-2", "CA-1"]


def test_the_tie_break_reads_the_system_operation_criterion() -> None:
    assert tie_break_criteria(POLICY, AS_OF) == frozenset({"system_operation"})


def test_of_two_equal_scores_the_higher_system_operation_mean_ranks_first_before_sme() -> None:
    assert [o[0] for o in outcomes([cand(1, system=Fraction(7999, 100), sme=True), cand(2, system=80)])] == [
        "CA-2", "CA-1"]


def test_a_case_without_a_system_operation_mean_counts_it_as_zero() -> None:
    assert [o[0] for o in outcomes([cand(1, system=None), cand(2, system=Fraction(1, 2))])] == ["CA-2", "CA-1"]
    assert [o[0] for o in outcomes([cand(1, system=None, sme=True), cand(2, system=0)])] == ["CA-1", "CA-2"]


def test_of_two_cases_equal_on_score_and_criterion_the_sme_ranks_first() -> None:
    assert [o[0] for o in outcomes([cand(1), cand(2, sme=True)])] == ["CA-2", "CA-1"]


def test_of_two_cases_equal_but_for_submission_the_earlier_ranks_first_whatever_its_id() -> None:
    assert [o[0] for o in outcomes([cand(1, submitted="2021-03-01T00:00:02.000000Z"),
                                    cand(2, submitted="2021-03-01T00:00:01.000000Z")])] == ["CA-2", "CA-1"]


def test_of_two_cases_equal_on_everything_the_lower_application_id_ranks_first() -> None:
    same = "2021-03-01T00:00:00.000000Z"
    assert [o[0] for o in outcomes([cand(2, submitted=same), cand(1, submitted=same)])] == ["CA-1", "CA-2"]


def test_ranks_count_from_one_in_merit_order() -> None:
    assert [o[1] for o in outcomes([cand(3, 70), cand(1, 90), cand(2, 80)])] == [1, 2, 3]


# --- intake checks ---------------------------------------------------------------------------------------

def facts(**kw: object) -> object:
    base: dict[str, object] = dict(applicant_found=True, applicant_uscc=CODE, applicant_kind="enterprise",
                                   applicant_district="370602", certificate_no=CERT,
                                   certification_date=dt.date(2021, 3, 1), submitted_on=AS_OF)
    base.update(kw)
    return IntakeFacts(**base)  # type: ignore[arg-type]


def checks(**kw: object) -> dict[str, tuple[bool, str]]:
    return {c.check: (c.passed, c.detail) for c in intake_checks(POLICY, facts(**kw))}  # type: ignore[arg-type]


def test_a_clean_application_passes_every_check_each_naming_rule_clause_and_parameter() -> None:
    got = [(c.check, c.passed, c.rule, c.clause, c.parameter, c.detail)
           for c in intake_checks(POLICY, facts())]  # type: ignore[arg-type]
    assert got == [
        ("applicant_registered", True, "applicant is registered with a valid credit code", "GB 32100-2015", None,
         f"credit code {CODE} is valid"),
        ("district_in_jurisdiction", True, "applicant is located in 烟台市", "二(二)4", "jurisdiction.districts",
         "district 370602 芝罘区"),
        ("certificate_number", True, "GB/T 29490 certificate number present and well formed", "二(二)4",
         "certification-award.certificate_pattern = ^[0-9]{3}IP[0-9]{2}[0-9]{4,6}R[0-9][SML]$",
         "certificate '165IP2100123R0M' is well formed"),
        ("certification_window", True, "certified inside the window the policy sets", "二(二)4",
         "certification-award.certification_window_start = 2020-01-01, "
         "certification-award.certification_window_months = 24",
         "certified on 2021-03-01; window 2020-01-01 – 2021-05-10"),
        ("no_prior_award", True, "不重复奖励: one award per certificate", "二(二)4", None,
         "no earlier award or claim for this certificate"),
        ("applicant_year_cap", True, "不超额奖励: per-applicant cap per fiscal year", "二(二)4",
         "certification-award.cap_fen_per_applicant_year = ¥80,000.00",
         "already awarded ¥0.00 this year; the enterprise award is ¥50,000.00; room under the cap ¥80,000.00"),
        ("duplicate_benefit", True, "从优从高不重复: 贯标咨询辅导 (GB/T 29490 implementation support)", "二(二)4 / 二(二)5",
         "duplicate_benefits.standard-implementation-consulting",
         "no award of the same benefit in another scheme this fiscal year"),
    ]


def test_an_applicant_not_registered_fails_the_first_check() -> None:
    assert checks(applicant_found=False)["applicant_registered"] == (
        False, "the applicant is not registered; import it first")


def test_an_applicant_with_an_invalid_credit_code_fails_naming_the_check_the_code_fails() -> None:
    bad = CODE[:-1] + ("0" if CODE[-1] != "0" else "1")
    with pytest.raises(CreditCodeError) as exc:
        validate_uscc(bad)
    assert checks(applicant_uscc=bad)["applicant_registered"] == (False, str(exc.value))


def test_a_district_outside_the_jurisdiction_fails() -> None:
    assert checks(applicant_district="370100")["district_in_jurisdiction"] == (
        False, "district 370100 (not in the jurisdiction)")


@pytest.mark.parametrize("cert", [CERT, f"  {CERT} ", "123IP21123456R9S"])
def test_a_certificate_number_of_the_policys_form_passes(cert: str) -> None:
    assert checks(certificate_no=cert)["certificate_number"] == (True, f"certificate {cert.strip()!r} is well formed")


@pytest.mark.parametrize("cert", ["", "   ", "165IP2100123R0X", "165ip2100123R0M", CERT + "1"])
def test_a_missing_or_malformed_certificate_number_fails(cert: str) -> None:
    assert checks(certificate_no=cert)["certificate_number"] == (
        False, f"certificate {cert.strip()!r} is missing or not of the form 165IP2100123R0M")


def test_a_certificate_of_the_windows_first_day_passes_and_of_the_day_before_fails() -> None:
    assert checks(certification_date=dt.date(2020, 1, 1))["certification_window"][0]
    assert checks(certification_date=dt.date(2019, 12, 31))["certification_window"] == (
        False, "certified on 2019-12-31; window 2020-01-01 – 2021-05-10")


def test_a_certificate_24_months_before_the_application_passes_and_one_day_older_fails() -> None:
    submitted = dt.date(2022, 3, 15)
    assert checks(submitted_on=submitted, certification_date=dt.date(2020, 3, 15))["certification_window"] == (
        True, "certified on 2020-03-15; window 2020-03-15 – 2022-03-15")
    assert not checks(submitted_on=submitted, certification_date=dt.date(2020, 3, 14))["certification_window"][0]


def test_a_certificate_of_the_application_day_passes_and_one_dated_after_it_fails() -> None:
    assert checks(certification_date=AS_OF)["certification_window"][0]
    assert not checks(certification_date=AS_OF + dt.timedelta(days=1))["certification_window"][0]


def test_an_application_without_a_certification_date_fails_the_window() -> None:
    assert checks(certification_date=None)["certification_window"] == (
        False, "certified on (no date); window 2020-01-01 – 2021-05-10")


@pytest.mark.parametrize(("start", "months", "expected"), [
    (dt.date(2021, 1, 31), 1, dt.date(2021, 2, 28)),
    (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
    (dt.date(2100, 1, 31), 1, dt.date(2100, 2, 28)),
    (dt.date(2000, 1, 31), 1, dt.date(2000, 2, 29)),
    (dt.date(2021, 5, 31), -1, dt.date(2021, 4, 30)),
    (dt.date(2021, 1, 15), -1, dt.date(2020, 12, 15)),
    (dt.date(2021, 12, 15), 1, dt.date(2022, 1, 15)),
    (dt.date(2021, 5, 10), -24, dt.date(2019, 5, 10)),
    (dt.date(2024, 2, 29), -24, dt.date(2022, 2, 28)),
])
def test_months_are_added_to_the_same_day_clamped_to_the_months_last_day(start: dt.date, months: int,
                                                                          expected: dt.date) -> None:
    assert certification._add_months(start, months) == expected


def test_every_months_last_day_is_known() -> None:
    ends = [certification._add_months(dt.date(2021, 1, 31), k).day for k in range(12)]
    assert ends == [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def test_a_certificate_claimed_before_fails_naming_the_earlier_cases() -> None:
    assert checks(earlier_same_certificate=("CA-2021-00001", "CA-2021-00007"))["no_prior_award"] == (
        False, "certificate already claimed by CA-2021-00001, CA-2021-00007")


def test_an_applicant_with_one_fen_of_room_under_the_cap_passes_and_with_none_fails() -> None:
    assert checks(awarded_this_year_fen=CAP - 1)["applicant_year_cap"] == (
        True, "already awarded ¥79,999.99 this year; the enterprise award is ¥50,000.00; room under the cap ¥0.01")
    assert checks(awarded_this_year_fen=CAP)["applicant_year_cap"] == (
        False, "already awarded ¥80,000.00 this year; the enterprise award is ¥50,000.00; room under the cap ¥0.00")
    assert checks(awarded_this_year_fen=CAP + 1)["applicant_year_cap"][1].endswith("room under the cap ¥0.00")


def test_an_applicant_kind_without_an_award_shows_an_award_of_zero() -> None:
    assert checks(applicant_kind="charity")["applicant_year_cap"] == (
        True, "already awarded ¥0.00 this year; the charity award is ¥0.00; room under the cap ¥80,000.00")


def test_a_score_is_shown_to_two_places_rounded_half_up() -> None:
    assert certification.float_free(Fraction(2, 3)) == "0.67"
    assert certification.float_free(Fraction(6005, 100)) == "60.05"


def test_a_criterion_whose_name_holds_a_colon_is_read_whole_by_the_tie_break() -> None:
    from pathlib import Path

    import rules
    from rules.policy import parse_policy

    text = (Path(rules.__file__).parent / "policies" / "yantai-2020.yaml").read_text(encoding="utf-8")
    policy = parse_policy(text.replace("system_operation", "system:operation"), "colon.yaml")
    assert tie_break_criteria(policy, AS_OF) == frozenset({"system:operation"})
    low = Candidate(1, "CA-1", 1, "enterprise", True, "2021-03-01T00:00:01.000000Z", Fraction(80),
                    {"system:operation": Fraction(70), "operation": Fraction(99)})
    high = Candidate(2, "CA-2", 2, "enterprise", False, "2021-03-01T00:00:02.000000Z", Fraction(80),
                     {"system:operation": Fraction(90), "operation": Fraction(0)})
    assert [o.ref for o in allocate(policy, [low, high], 10**9, AS_OF)] == ["CA-2", "CA-1"]


def test_the_facts_of_a_case_keep_what_the_service_adds_beyond_the_first_fields() -> None:
    f = facts(applicant_sme=True, applicant_whitelist=True)
    assert (f.applicant_sme, f.applicant_whitelist) == (True, True)  # type: ignore[attr-defined]


def test_a_tie_break_the_rule_does_not_know_is_refused_naming_it_and_the_parameter() -> None:
    from pathlib import Path

    import rules
    from rules.policy import parse_policy

    text = (Path(rules.__file__).parent / "policies" / "yantai-2020.yaml").read_text(encoding="utf-8")
    policy = parse_policy(text.replace("[criterion:system_operation, sme_first, submitted_at, application_id]",
                                       "[criterion:system_operation, oldest_first]"), "tie.yaml")
    with pytest.raises(ValueError) as exc:
        allocate(policy, [cand(1)], 10**9, AS_OF)
    assert str(exc.value) == "unknown tie-break 'oldest_first' in certification-award.tie_break"
