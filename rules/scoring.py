"""Third-party evaluation scores (贯标有效性评价, 二(二)4): rubric-weighted totals and their combination.

Scores are integer tenths (85.5 -> 855); weights are percent. All arithmetic is exact (Fraction).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from math import gcd
from typing import TypeVar

T = TypeVar("T", int, Fraction)


def rubric_weights(rubric: Mapping[str, Mapping[str, object]]) -> dict[str, Fraction]:
    """criterion -> weight as a fraction of 1 (weights sum to exactly 1, checked by the policy loader)."""
    return {k: Fraction(Decimal(str(v["weight"]))) / 100 for k, v in rubric.items()}


def evaluator_total(scores_tenths: Mapping[str, int], weights: Mapping[str, Fraction]) -> Fraction:
    """Weighted total of one evaluator on the 0–100 scale: Σ weight × score (exact; integer arithmetic
    over the weights' common denominator, one Fraction per evaluator)."""
    w = Weighting.of(weights)
    return Fraction(w.scaled_total(scores_tenths), w.scale)


@dataclass(frozen=True)
class Weighting:
    """A rubric's weights as integers over their common denominator, so a stage scoring thousands of
    cases adds integers and makes one Fraction per case: an evaluator's total is
    ``scaled_total(sheet) / scale`` exactly."""

    scale: int  # the weights' common denominator x 10 (scores are tenths)
    weights: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, weights: Mapping[str, Fraction]) -> Weighting:
        denominator, integer_weights = _integer_weights(tuple(sorted(weights.items())))
        return cls(denominator * 10, integer_weights)

    def scaled_total(self, scores_tenths: Mapping[str, int]) -> int:
        try:
            return sum(w * scores_tenths[c] for c, w in self.weights)
        except KeyError:
            missing = {c for c, _ in self.weights} - set(scores_tenths)
            raise ValueError(f"missing criteria: {', '.join(sorted(missing))}") from None


def combine_scaled(scaled_totals: Sequence[int], scale: int, trim_from: int) -> Fraction:
    """:func:`combine` of the totals ``t / scale`` in integers: the same trimmed mean, one Fraction."""
    counted = _trimmed(scaled_totals, trim_from)
    return Fraction(sum(counted), scale * len(counted))


@lru_cache(maxsize=64)
def _integer_weights(weights: tuple[tuple[str, Fraction], ...]) -> tuple[int, tuple[tuple[str, int], ...]]:
    denominator = 1
    for _, w in weights:
        denominator = denominator * w.denominator // gcd(denominator, w.denominator)
    return denominator, tuple((c, int(w * denominator)) for c, w in weights)


def combine(totals: Sequence[Fraction], trim_from: int) -> Fraction:
    """Mean across evaluators; with ``trim_from`` or more evaluators the single highest and lowest
    totals are dropped first (trimmed mean), so one outlier cannot decide a ranking."""
    counted = _trimmed(totals, trim_from)
    return sum(counted, Fraction(0)) / len(counted)


def _trimmed(totals: Sequence[T], trim_from: int) -> list[T]:
    """The totals a mean counts: all of them, or without the single highest and lowest from
    ``trim_from`` evaluators on."""
    if not totals:
        raise ValueError("no evaluator totals to combine")
    ordered = sorted(totals)
    if trim_from and len(ordered) >= trim_from:
        ordered = ordered[1:-1]
    return ordered


def display(score: Fraction, places: int = 2) -> str:
    """Half-up rounding for display only; ranking uses the exact value. Integer arithmetic:
    floor(score x 10^places + 1/2) = (2 n 10^places + d) // 2d for score = n/d >= 0."""
    scale = 10**places
    whole = (2 * score.numerator * scale + score.denominator) // (2 * score.denominator)
    return f"{whole // scale}.{whole % scale:0{places}d}"


def criterion_means(scores_tenths: Mapping[str, Mapping[str, int]], criteria: Iterable[str]) -> dict[str, Fraction]:
    """Mean score of each criterion across the evaluators (exact, on the 0–100 scale): tie-breaks use it."""
    n = 10 * len(scores_tenths)
    return {c: Fraction(sum(per_ev[c] for per_ev in scores_tenths.values()), n) for c in criteria}


def exact_record(final: Fraction, scores_tenths: Mapping[str, Mapping[str, int]], criteria: Iterable[str]) -> str:
    """What ranking needs of a scored case, in integers, written on the case when it is scored so the
    ranking of a round reads one value per case instead of every score row again: the exact final
    score as [numerator, denominator] and each criterion's sum of tenths over the evaluators."""
    return json.dumps({"final": [final.numerator, final.denominator], "evaluators": len(scores_tenths),
                       "criterion_tenths": {c: sum(per_ev[c] for per_ev in scores_tenths.values())
                                            for c in sorted(criteria)}}, separators=(",", ":"))


def read_exact_record(text: str, criteria: Collection[str] | None = None) -> tuple[Fraction, dict[str, Fraction]]:
    """(exact final score, criterion means) from :func:`exact_record`'s text; only the means of
    ``criteria`` when given (ranking holds one per case of a round and needs only its tie-breakers')."""
    record = json.loads(text)
    n = 10 * record["evaluators"]
    num, den = record["final"]
    return Fraction(num, den), {sys.intern(c): Fraction(total, n) for c, total in record["criterion_tenths"].items()
                                if criteria is None or c in criteria}
