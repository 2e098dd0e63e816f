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
* ``pledge_loans`` — a *growth*: the loan registry's IP-pledge financing by drawdown year, the amount (fen)
  and the number of loans, each year's growth on the year before, held against a yearly growth target
  (年均增幅, 一(二)3): met when both the amount and the count of the latest year reach the first year's
  compounded by the target, ``last ≥ first × (1 + target)^(years − 1)`` (exact, no root taken); beside
  them the borrowers with a first loan (首贷) by year and, when the service gives them, the pool's leverage
  and loss rate.
* ``outside`` — measured outside ipfund (transfers and licences, contract value …): reported with its
  source and targets, never computed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from typing import Any

from rules.policy import KpiDef, Policy

MEASURES: dict[str, str | None] = {"cases": "flow", "accredited_agencies": "stock", "pledge_loans": "growth",
                                   "outside": None}

__all__ = ["MEASURES", "CaseFact", "KpiResult", "LoanFact", "PledgeSeries", "TargetResult", "count_cases",
           "evaluate", "growth_met", "period_years", "pledge_series", "series_dict", "states_counted"]


@dataclass(frozen=True, slots=True)
class CaseFact:
    """One case as a KPI sees it."""

    case_id: int
    applicant_id: int
    year: int
    state: str
    sme: bool


@dataclass(frozen=True, slots=True)
class LoanFact:
    """One registered pledge loan as a KPI sees it (its drawdown year, principal, borrower, 首贷)."""

    year: int
    principal_fen: int
    borrower_id: int
    first_loan: bool


@dataclass(frozen=True, slots=True)
class PledgeSeries:
    """The registry's pledge financing by drawdown year: amount (fen), number of loans, borrowers with a first
    loan, and the growth of amount and count on the year before (None where the year before had none)."""

    amount_fen: dict[int, int]
    count: dict[int, int]
    first_loan_borrowers: dict[int, int]
    amount_growth: dict[int, Fraction | None]
    count_growth: dict[int, Fraction | None]


def _growth(series: Mapping[int, int]) -> dict[int, Fraction | None]:
    ys = sorted(series)
    return {y: (Fraction(series[y] - series[p], series[p]) if series[p] else None) for p, y in pairwise(ys)}


def pledge_series(loans: Iterable[LoanFact], years: Iterable[int]) -> PledgeSeries:
    """Sum the loans by drawdown year over the programme's years (loans drawn outside them are not counted)."""
    wanted = list(years)
    amount = dict.fromkeys(wanted, 0)
    count = dict.fromkeys(wanted, 0)
    first: dict[int, set[int]] = {y: set() for y in wanted}
    for f in loans:
        if f.year not in amount:
            continue
        amount[f.year] += f.principal_fen
        count[f.year] += 1
        if f.first_loan:
            first[f.year].add(f.borrower_id)
    return PledgeSeries(amount, count, {y: len(v) for y, v in first.items()}, _growth(amount), _growth(count))


def growth_met(series: Mapping[int, int], target: Fraction) -> bool | None:
    """年均增幅 ≥ target from the first year with any figure to the latest year: ``last ≥ first × (1 +
    target)^(last − first)``. None when there is no year with a figure before the latest (no growth yet)."""
    ys = sorted(y for y in series if series[y] > 0)
    if not ys or max(series) == ys[0]:
        return None
    first, last = ys[0], max(series)
    return Fraction(series[last]) >= series[first] * (1 + target) ** (last - first)


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
    figures: dict[str, Any] | None = None  # a growth measure's series and the pool's figures (display-ready)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "name_en": self.name_en, "clause": self.clause,
                "reference": self.reference, "measure": self.measure, "kind": self.kind,
                "by_year": {str(y): n for y, n in self.by_year.items()}, "total": self.total,
                "source": self.source, "as_of": self.as_of.isoformat(),
                "targets": [{"label": t.label, "parameter": t.parameter, "target": _plain(t.target),
                             "illustrative": t.illustrative, "reference": t.reference, "met": t.met,
                             "share": None if t.share is None else _percent(t.share)} for t in self.targets],
                "figures": self.figures}


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


def _pct(f: Fraction | None) -> str | None:
    if f is None:
        return None
    return ("-" if f < 0 else "+") + _percent(abs(f))


def series_dict(ps: PledgeSeries, pool: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The figures a growth KPI shows: per year amount (fen), count, growth and first-loan borrowers; the
    pool's leverage and loss rate as the service read them."""
    return {"amount_fen": {str(y): v for y, v in ps.amount_fen.items()},
            "count": {str(y): v for y, v in ps.count.items()},
            "amount_growth": {str(y): _pct(v) for y, v in ps.amount_growth.items()},
            "count_growth": {str(y): _pct(v) for y, v in ps.count_growth.items()},
            "first_loan_borrowers": {str(y): v for y, v in ps.first_loan_borrowers.items()},
            **({"pool": dict(pool)} if pool is not None else {})}


def evaluate(policy: Policy, kid: str, as_of: dt.date, by_year: Mapping[int, int] | None = None,
             total: int | None = None, pledge: PledgeSeries | None = None,
             pool: Mapping[str, Any] | None = None) -> KpiResult:
    """The KPI against each of its targets as in force on ``as_of`` (met when the programme figure reaches
    the target; a growth KPI when both its amount and its count grew by the target a year, see
    :func:`growth_met`; a KPI measured outside ipfund has no figure and is never called met here)."""
    k = policy.kpis[kid]
    kind = MEASURES[k.measure]
    results = []
    ps = pledge or pledge_series([], by_year or {})
    if kind == "growth":
        by_year = ps.count
        total = ps.count[max(ps.count)] if ps.count else 0
    for t in k.targets:
        p = policy.parameter(t.parameter)
        value = policy.value(t.parameter, as_of)
        target: int | Fraction = int(value) if p.unit == "count" else policy.ratio(t.parameter, as_of)
        ref = p.reference_at(as_of)
        if kind == "growth":
            rate = Fraction(target)
            a, c = growth_met(ps.amount_fen, rate), growth_met(ps.count, rate)
            met = None if a is None or c is None else a and c
            results.append(TargetResult(t.label, t.parameter, target, p.illustrative, ref or "", met, None))
            continue
        if total is None or kind is None:
            results.append(TargetResult(t.label, t.parameter, target, p.illustrative, ref or "", None, None))
            continue
        share = Fraction(total, target) if target else None
        results.append(TargetResult(t.label, t.parameter, target, p.illustrative, ref or "", total >= target, share))
    figures = series_dict(ps, pool) if kind == "growth" else None
    return KpiResult(kid, k.name, k.name_en, k.clause, k.reference, k.measure, kind,
                     dict(by_year or {}), total if kind is not None else None, tuple(results), k.source, as_of,
                     figures)
