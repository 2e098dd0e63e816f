"""rules/scoring.py: the record written on a scored case and what a sheet missing criteria is told
(written to kill the mutants `make mutate` found surviving)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from rules.scoring import Weighting, combine, exact_record, read_exact_record

WEIGHTS = {"a": Fraction(1, 2), "b": Fraction(1, 4), "c": Fraction(1, 4)}


def test_the_record_written_on_a_scored_case_is_compact_json_with_sorted_criteria() -> None:
    scores = {"eval1": {"b": 700, "a": 800}, "eval2": {"b": 655, "a": 905}}
    text = exact_record(Fraction(153, 2), scores, ["b", "a"])
    assert text == '{"final":[153,2],"evaluators":2,"criterion_tenths":{"a":1705,"b":1355}}'
    assert read_exact_record(text) == (Fraction(153, 2), {"a": Fraction(1705, 20), "b": Fraction(1355, 20)})
    assert read_exact_record(text, {"b"}) == (Fraction(153, 2), {"b": Fraction(1355, 20)})


def test_a_sheet_missing_two_criteria_is_refused_naming_both_in_order() -> None:
    with pytest.raises(ValueError) as exc:
        Weighting.of(WEIGHTS).scaled_total({"b": 800})
    assert str(exc.value) == "missing criteria: a, c"


def test_combining_no_evaluator_totals_is_refused() -> None:
    with pytest.raises(ValueError) as exc:
        combine([], trim_from=5)
    assert str(exc.value) == "no evaluator totals to combine"


def test_the_mean_of_evaluator_totals_is_exact() -> None:
    assert combine([Fraction(1, 3), Fraction(1, 3), Fraction(1, 2)], trim_from=0) == Fraction(7, 18)
    assert combine([Fraction(1), Fraction(2), Fraction(3), Fraction(4)], trim_from=4) == Fraction(5, 2)
    assert combine([Fraction(1), Fraction(2), Fraction(30)], trim_from=4) == 11
