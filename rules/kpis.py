"""The programme's own indicators (绩效考核, 三(二); the targets of 一(二)), as pure functions.

A KPI is declared in the policy (``kpis:``): what it counts (a *measure*), and one or more targets, each a
dated count parameter with whose target it is — the city's plan is stricter than the national programme's
floor, and both are kept (research/schemes.md §0). The service reads the facts (cases and their states,
the registry's public list at each year's end); this module counts them and holds them against the
targets. Nothing here reads a database or a clock.

Measures:

* ``cases`` — a *flow*: the distinct applicants (or cases) of one scheme whose case is in a state carrying
  any of the KPI's tags (e.g. ``committed`` and ``paid``: awarded and not withdrawn), per year of the case;
  the programme total counts an applicant once however many years it appears in.
* ``accredited_agencies`` — a *stock*: the agencies on the public list on each year's last day (or on the
  report date, for the current year); the programme figure is the latest year's.
* ``outside`` — measured outside ipfund (transfers and licences, contract value …): reported with its
  source and targets, never computed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from rules.policy import KpiDef, Policy

MEASURES: dict[str, str | None] = {"cases": "flow", "accredited_agencies": "stock", "outside": None}

__all__ = ["MEASURES", "CaseFact", "KpiResult", "TargetResult", "count_cases", "evaluate", "period_years",
           "states_counted"]


@dataclass(frozen=True, slots=True)
class CaseFact:
    """One case as a KPI sees it."""

    case_id: int
    applicant_id: int
    year: int
    state: str
    sme: bool


@dataclass(frozen=True, slots=True)
class TargetResult:
    label: str
    parameter: str
    target: int | Fraction
    illustrative: bool
    reference: str
    met: bool | None  # None: not measured by ipfund
    share: Fraction | None  # actual / target


@dataclass(frozen=True, slots=True)
class KpiResult:
    id: str
    name: str
    name_en: str | None
    clause: str
    reference: str | None
    measure: str
    kind: str | None  # flow | stock | None (outside)
    by_year: dict[int, int]
    total: int | None  # the programme figure the targets are held against (None: measured outside)
    targets: tuple[TargetResult, ...]
    source: str | None
    as_of: dt.date

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "name_en": self.name_en, "clause": self.clause,
                "reference": self.reference, "measure": self.measure, "kind": self.kind,
                "by_year": {str(y): n for y, n in self.by_year.items()}, "total": self.total,
                "source": self.source, "as_of": self.as_of.isoformat(),
                "targets": [{"label": t.label, "parameter": t.parameter, "target": _plain(t.target),
                             "illustrative": t.illustrative, "reference": t.reference, "met": t.met,
                             "share": None if t.share is None else _percent(t.share)} for t in self.targets]}


def _plain(v: int | Fraction) -> int | str:
    return v if isinstance(v, int) else str(v)


def _percent(f: Fraction) -> str:
    """A share as a percentage with one decimal, rounded half up (display only)."""
    tenths = (f * 1000 + Fraction(1, 2)).__floor__()
    return f"{tenths // 10}.{tenths % 10} %"


def period_years(policy: Policy, as_of: dt.date) -> list[int]:
    """The years of the programme up to ``as_of``: from the policy's first year to its last (or to
    ``as_of``'s, if earlier)."""
    last = policy.valid_to.year if policy.valid_to is not None else as_of.year
    return list(range(policy.valid_from.year, min(last, as_of.year) + 1))


def states_counted(policy: Policy, k: KpiDef) -> frozenset[str]:
    """The states of the KPI's scheme that carry any of its tags, and those it lists by name."""
    sc = policy.scheme(k.scheme or "")
    return frozenset(name for name, st in sc.states.items() if set(st.tags) & set(k.tags) or name in k.states)


def count_cases(policy: Policy, k: KpiDef, facts: Iterable[CaseFact], years: Iterable[int]) -> tuple[dict[int, int], int]:
    """(distinct per year, distinct over the programme) of the facts the KPI counts."""
    counted = states_counted(policy, k)
    wanted = list(years)
    per: dict[int, set[int]] = {y: set() for y in wanted}
    every: set[int] = set()
    for f in facts:
        if f.state not in counted or (k.sme_only and not f.sme) or f.year not in per:
            continue
        key = f.applicant_id if k.count == "applicants" else f.case_id
        per[f.year].add(key)
        every.add(key)
    return {y: len(v) for y, v in per.items()}, len(every)


def evaluate(policy: Policy, kid: str, as_of: dt.date, by_year: Mapping[int, int] | None = None,
             total: int | None = None) -> KpiResult:
    """The KPI against each of its targets as in force on ``as_of`` (met when the programme figure reaches
    the target; a KPI measured outside ipfund has no figure and is never called met here)."""
    k = policy.kpis[kid]
    kind = MEASURES[k.measure]
    results = []
    for t in k.targets:
        p = policy.parameter(t.parameter)
        value = policy.value(t.parameter, as_of)
        target: int | Fraction = int(value) if p.unit == "count" else policy.ratio(t.parameter, as_of)
        ref = p.reference_at(as_of)
        if total is None or kind is None:
            results.append(TargetResult(t.label, t.parameter, target, p.illustrative, ref or "", None, None))
            continue
        share = Fraction(total, target) if target else None
        results.append(TargetResult(t.label, t.parameter, target, p.illustrative, ref or "", total >= target, share))
    return KpiResult(kid, k.name, k.name_en, k.clause, k.reference, k.measure, kind,
                     dict(by_year or {}), total if kind is not None else None, tuple(results), k.source, as_of)
