"""The pure rules of 二(二)4: weighted scores, their combination, and allocation within budget."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.certification import Candidate, allocate
from rules.policy import load_policy
from rules.scoring import (
    Weighting,
    combine,
    combine_scaled,
    criterion_means,
    display,
    evaluator_total,
    exact_record,
    read_exact_record,
    rubric_weights,
)

POLICY = load_policy("yantai-2020")
AS_OF = dt.date(2021, 5, 10)
WEIGHTS = rubric_weights(POLICY.value("certification-award.rubric", AS_OF))


def test_an_evaluator_total_is_the_rubric_weighted_sum_of_the_criteria() -> None:
    scores = {"system_operation": 900, "ip_output_quality": 800, "ip_utilisation": 700, "innovation_capacity": 600}
    # 30 % x 90 + 25 % x 80 + 25 % x 70 + 20 % x 60 = 27 + 20 + 17.5 + 12 = 76.5
    assert evaluator_total(scores, WEIGHTS) == Fraction(153, 2)


def test_three_evaluators_are_averaged_and_five_are_trimmed() -> None:
    assert combine([Fraction(60), Fraction(70), Fraction(95)], trim_from=5) == Fraction(75)
    assert combine([Fraction(10), Fraction(60), Fraction(70), Fraction(80), Fraction(100)], trim_from=5) == 70


def test_display_rounds_half_up_but_ranking_keeps_the_exact_value() -> None:
    assert display(Fraction(76525, 1000)) == "76.53"
    assert display(Fraction(2, 3)) == "0.67"


def cand(i: int, score: int, kind: str = "enterprise", applicant: int | None = None, sme: bool = False,
         system: int = 80) -> Candidate:
    return Candidate(i, f"CA-{i}", applicant or i, kind, sme, f"2021-03-01T00:00:{i:02d}.000000Z", Fraction(score),
                     {"system_operation": Fraction(system)})


def test_cases_are_funded_in_rank_order_until_the_line_cannot_pay_a_full_award() -> None:
    out = {o.ref: o for o in allocate(POLICY, [cand(1, 90), cand(2, 80), cand(3, 70, "university"), cand(4, 65)],
                                      budget_fen=12_000_000, as_of=AS_OF)}
    assert out["CA-1"].outcome == out["CA-2"].outcome == "funded"
    # ¥20,000 left cannot pay the ¥80,000 university award; merit order is not skipped for the ¥50,000 one.
    assert out["CA-3"].outcome == out["CA-4"].outcome == "budget_exhausted"


def test_a_score_below_the_minimum_of_60_is_not_funded_and_59_9_is_below() -> None:
    out = allocate(POLICY, [cand(1, 60), Candidate(2, "CA-2", 2, "enterprise", False, "t", Fraction(599, 10))],
                   budget_fen=10**9, as_of=AS_OF)
    assert {o.ref: o.outcome for o in out} == {"CA-1": "funded", "CA-2": "below_min_score"}


def test_a_second_award_to_one_applicant_is_cut_to_the_cap() -> None:
    out = allocate(POLICY, [cand(1, 90, applicant=7), cand(2, 85, applicant=7)], budget_fen=10**9, as_of=AS_OF)
    assert [o.award_fen for o in out] == [5_000_000, 3_000_000]  # ¥50,000 then ¥30,000: cap ¥80,000


def test_ties_are_broken_by_the_system_operation_criterion_then_sme_first() -> None:
    out = allocate(POLICY, [cand(1, 80, system=70), cand(2, 80, system=90), cand(3, 80, system=70, sme=True)],
                   budget_fen=10**9, as_of=AS_OF)
    assert [o.ref for o in out] == ["CA-2", "CA-3", "CA-1"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 100), st.sampled_from(["enterprise", "university", "institute"]),
                          st.integers(1, 8)), max_size=40), st.integers(0, 100_000_000))
def test_allocation_never_exceeds_the_line_or_a_cap_and_is_deterministic(cases: list[tuple[int, str, int]],
                                                                        budget_fen: int) -> None:
    cands = [cand(i + 1, s, kind, applicant) for i, (s, kind, applicant) in enumerate(cases)]
    out = allocate(POLICY, cands, budget_fen, AS_OF)
    assert sum(o.award_fen for o in out) <= budget_fen
    per_applicant: dict[int, int] = {}
    for o, c in zip(sorted(out, key=lambda o: o.application_id), cands, strict=True):
        per_applicant[c.applicant_id] = per_applicant.get(c.applicant_id, 0) + o.award_fen
    assert all(v <= 8_000_000 for v in per_applicant.values())
    assert allocate(POLICY, list(reversed(cands)), budget_fen, AS_OF) == out


@given(n=st.integers(min_value=0, max_value=10**9), d=st.integers(min_value=1, max_value=10**6),
       places=st.integers(min_value=0, max_value=4))
def test_display_rounds_half_up_exactly(n: int, d: int, places: int) -> None:
    x = Fraction(n, d) * 10**places
    whole = int(x) + (1 if x - int(x) >= Fraction(1, 2) else 0)  # the definition: half up
    text = display(Fraction(n, d), places)
    expected = f"{whole // 10**places}.{whole % 10**places:0{places}d}"
    assert text == expected


@given(st.lists(st.tuples(*[st.integers(min_value=0, max_value=1000)] * 4), min_size=1, max_size=7),
       st.sampled_from([0, 3, 4, 5]))  # a trimmed mean keeps at least one evaluator
def test_the_exact_record_written_at_scoring_reads_back_the_same_exact_scores(
        sheets: list[tuple[int, int, int, int]], trim_from: int) -> None:
    """Ranking reads the record aggregation wrote on the case: it must give back exactly the final score
    and criterion means that recomputing from the score rows gives."""
    criteria = sorted(WEIGHTS)
    scores = {f"eval{i}": dict(zip(criteria, sheet, strict=True)) for i, sheet in enumerate(sheets)}
    final = combine([evaluator_total(s, WEIGHTS) for _, s in sorted(scores.items())], trim_from)
    assert read_exact_record(exact_record(final, scores, WEIGHTS)) == (final, criterion_means(scores, WEIGHTS))
    assert criterion_means(scores, WEIGHTS)["system_operation"] == \
        Fraction(sum(s["system_operation"] for s in scores.values()), 10 * len(scores))


@given(st.lists(st.tuples(*[st.integers(min_value=0, max_value=1000)] * 4), min_size=1, max_size=7),
       st.sampled_from([0, 3, 4, 5]))
def test_the_integer_scoring_of_a_stage_equals_the_fraction_definition(
        sheets: list[tuple[int, int, int, int]], trim_from: int) -> None:
    """Aggregation adds integers over the weights' common denominator; the result must be exactly the
    Σ weight × score and trimmed mean computed in Fractions."""
    criteria = sorted(WEIGHTS)
    w = Weighting.of(WEIGHTS)
    scaled = [w.scaled_total(dict(zip(criteria, sheet, strict=True))) for sheet in sheets]
    by_definition = [sum((WEIGHTS[c] * Fraction(t, 10) for c, t in zip(criteria, sheet, strict=True)), Fraction(0))
                     for sheet in sheets]
    assert [Fraction(x, w.scale) for x in scaled] == by_definition
    assert combine_scaled(scaled, w.scale, trim_from) == combine(by_definition, trim_from)


def test_a_sheet_missing_a_criterion_is_refused_by_name() -> None:
    import pytest

    with pytest.raises(ValueError, match="missing criteria: innovation_capacity"):
        Weighting.of(WEIGHTS).scaled_total({"system_operation": 900, "ip_output_quality": 800, "ip_utilisation": 700})
