"""rules/allocation.py in the modes the shipped policy does not use yet (first come first served, a
formula per case, recognition without money) and without its optional parameters, on variants of the
Yantai policy file (written to kill the mutants `make mutate` found surviving)."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

import rules
from rules.allocation import allocate
from rules.policy import Policy, parse_policy
from rules.schemes import Candidate

SCHEME = "certification-award"
AS_OF = dt.date(2021, 5, 10)
YAML = (Path(rules.__file__).parent / "policies" / "yantai-2020.yaml").read_text(encoding="utf-8")
AMOUNT = "      amount: award_by_kind\n"
RANK_KEY = "      rank_key: score_then_tie_break\n"
MIN_SCORE = "      min_score: certification-award.min_score\n"
CAP = "      cap: certification-award.cap_fen_per_applicant_year\n"
EVALUATION = ("    evaluation:\n      rubric: certification-award.rubric\n"
              "      evaluators_per_case: certification-award.evaluators_per_application\n"
              "      trim_from: certification-award.trim_from_evaluators\n")


def variant(mode: str = "merit", drop: tuple[str, ...] = ()) -> Policy:
    text = YAML.replace("      mode: merit\n", f"      mode: {mode}\n")
    for part in drop:
        assert part in text, part
        text = text.replace(part, "")
    return parse_policy(text, f"yantai-{mode}.yaml")


def cand(i: int, score: int | None, *, applicant: int | None = None, submitted: int | None = None) -> Candidate:
    return Candidate(i, f"CA-{i}", applicant or i, "enterprise", False,
                     f"2021-03-01T00:00:{submitted if submitted is not None else i:02d}.000000Z",
                     None if score is None else Fraction(score))


def result(policy: Policy, cands: list[Candidate], budget: int | None = 10**9) -> list[tuple[str, int | None, str, int]]:
    return [(o.ref, o.rank, o.outcome, o.award_fen) for o in allocate(policy, SCHEME, cands, budget, AS_OF)]


def test_first_come_first_served_funds_in_order_of_submission_whatever_the_score() -> None:
    cands = [cand(1, 90, submitted=3), cand(2, 70, submitted=1), cand(3, 80, submitted=2)]
    for mode in ("fcfs", "formula"):
        assert result(variant(mode), cands, budget=10_000_000) == [
            ("CA-2", 1, "funded", 5_000_000), ("CA-3", 2, "funded", 5_000_000), ("CA-1", 3, "budget_exhausted", 0)]


def test_merit_ranks_by_score_where_submission_order_would_not() -> None:
    cands = [cand(1, 70, submitted=1), cand(2, 90, submitted=2)]
    assert [r[0] for r in result(variant("merit"), cands)] == ["CA-2", "CA-1"]


def test_without_a_minimum_score_a_case_of_any_score_is_funded() -> None:
    assert result(variant(drop=(MIN_SCORE,)), [cand(1, 10)]) == [("CA-1", 1, "funded", 5_000_000)]
    assert result(variant(), [cand(1, 10)]) == [("CA-1", 1, "below_min_score", 0)]


def test_without_a_cap_one_applicant_receives_every_award() -> None:
    cands = [cand(1, 90, applicant=7), cand(2, 80, applicant=7)]
    assert result(variant(drop=(CAP,)), cands) == [("CA-1", 1, "funded", 5_000_000), ("CA-2", 2, "funded", 5_000_000)]
    assert result(variant(), cands) == [("CA-1", 1, "funded", 5_000_000), ("CA-2", 2, "funded", 3_000_000)]


def test_recognition_without_money_ranks_in_submission_order_and_records_every_case_reaching_the_minimum() -> None:
    policy = variant("none", drop=(AMOUNT, RANK_KEY, CAP))
    out = allocate(policy, SCHEME, [cand(1, 90, submitted=3), cand(2, 50, submitted=1), cand(3, 60, submitted=2),
                                    cand(4, None)], None, AS_OF)
    assert [(o.application_id, o.ref, o.rank, o.outcome, o.reason, o.award_fen, o.final_score) for o in out] == [
        (2, "CA-2", 1, "below_min_score", "final score 50.00 < minimum 60.00", 0, Fraction(50)),
        (3, "CA-3", 2, "funded", "rank 2", 0, Fraction(60)),
        (1, "CA-1", 3, "funded", "rank 3", 0, Fraction(90)),
        (4, "CA-4", None, "pending", "not yet scored (status scored)", 0, None),
    ]


def test_a_scheme_without_evaluation_ranks_unscored_cases_and_a_minimum_score_refuses_them() -> None:
    policy = variant("none", drop=(AMOUNT, RANK_KEY, CAP, EVALUATION))
    out = allocate(policy, SCHEME, [cand(1, None), cand(2, 75)], None, AS_OF)
    assert [(o.ref, o.rank, o.outcome, o.reason) for o in out] == [
        ("CA-1", 1, "below_min_score", "final score none < minimum 60.00"), ("CA-2", 2, "funded", "rank 2")]
    out = allocate(variant("none", drop=(AMOUNT, RANK_KEY, CAP, EVALUATION, MIN_SCORE)), SCHEME,
                   [cand(1, None), cand(2, 75)], None, AS_OF)
    assert [(o.ref, o.outcome) for o in out] == [("CA-1", "funded"), ("CA-2", "funded")]


def test_an_exhausted_or_capped_case_keeps_its_final_score_on_record() -> None:
    out = allocate(variant(), SCHEME, [cand(1, 90, applicant=7), cand(2, 85, applicant=7), cand(3, 80, applicant=7),
                                       cand(4, 70)], 8_000_000, AS_OF)
    assert [(o.ref, o.outcome, o.final_score) for o in out] == [
        ("CA-1", "funded", Fraction(90)), ("CA-2", "funded", Fraction(85)), ("CA-3", "ineligible", Fraction(80)),
        ("CA-4", "budget_exhausted", Fraction(70))]
