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
* ``outside`` — measured outside ipfund (transfers and licences, patent contract value, SMEs converting
  university patents, securitisations …): each year's figure is a dated manual figure with its source,
  imported (``ipfund kpi import``; the latest figure of a year supersedes the earlier ones). Against a
  count target the programme figure is the years' sum (or the latest year's, ``programme_figure: latest``,
  for a stock such as the agencies in the cluster zone); against a growth ratio the yearly figures'
  年均增幅 is judged by :func:`growth_met`, the pledge rule. With no figure imported there is no figure
  and no target is judged.

The ``cases`` measure may keep only the cases whose submitted form holds given values (``where``, e.g.
``{project_type: [navigation_industry]}``): :func:`count_cases` reads them from :attr:`CaseFact.data`.
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

__all__ = ["MEASURES", "CaseFact", "Figure", "KpiResult", "LoanFact", "PledgeSeries", "TargetResult", "count_cases",
           "evaluate", "growth_met", "matches", "period_years", "pledge_series", "series_dict", "states_counted"]


@dataclass(frozen=True, slots=True)
class CaseFact:
    """One case as a KPI sees it."""

    case_id: int
    applicant_id: int
    year: int
    state: str
    sme: bool
    data: Mapping[str, Any] | None = None  # the submitted form, read only for a KPI with ``where``


@dataclass(frozen=True, slots=True)
class Figure:
    """One year's manual figure of a KPI measured outside ipfund, as imported: the value (a count, or
    money in fen), its unit, where it comes from and the date it was reported as of."""

    year: int
    value: int
    unit: str
    source: str
    reference: str
    as_of: str


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
    kind: str | None  # flow | stock | growth (a growth a year, from the loan registry or imported figures)
    by_year: dict[int, int]
    total: int | None  # the programme figure the targets are held against (None: measured outside)
    targets: tuple[TargetResult, ...]
    source: str | None
    as_of: dt.date
    figures: dict[str, Any] | None = None  # a growth measure's series and the pool's figures (display-ready)
    unit: str = "count"  # of by_year and total: a count, or fen (money measured outside)
    growth: dict[int, Fraction | None] | None = None  # a growth KPI measured outside: each year on the year before
    manual: tuple[Figure, ...] | None = None  # a KPI measured outside: the imported figures behind by_year

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "name_en": self.name_en, "clause": self.clause,
                "reference": self.reference, "measure": self.measure, "kind": self.kind,
                "by_year": {str(y): n for y, n in self.by_year.items()}, "total": self.total,
                "source": self.source, "as_of": self.as_of.isoformat(),
                "targets": [{"label": t.label, "parameter": t.parameter, "target": _plain(t.target),
                             "target_text": _target_text(t.target),
                             "illustrative": t.illustrative, "reference": t.reference, "met": t.met,
                             "share": None if t.share is None else _percent(t.share)} for t in self.targets],
                "figures": self.figures, "unit": self.unit,
                "growth": None if self.growth is None else {str(y): _pct(g) for y, g in self.growth.items()},
                "manual": None if self.manual is None else [
                    {"year": f.year, "value": f.value, "unit": f.unit, "source": f.source, "reference": f.reference,
                     "as_of": f.as_of} for f in self.manual]}


def _target_text(v: int | Fraction) -> str:
    """A target as printed: ``≥ 240``, or a growth a year ``≥ +20.0 %/yr``."""
    return f"≥ {v:,}" if isinstance(v, int) else f"≥ +{_percent(v)}/yr"


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
    """The states of the KPI's scheme that carry any of its tags, and those it lists by name (none while
    the scheme is only in the policy's catalog, not yet run)."""
    sc = policy.schemes.get(k.scheme or "")
    if sc is None:
        return frozenset()
    return frozenset(name for name, st in sc.states.items() if set(st.tags) & set(k.tags) or name in k.states)


def matches(k: KpiDef, data: Mapping[str, Any] | None) -> bool:
    """Whether a case's submitted form holds, for each field of the KPI's ``where``, one of its values (a
    multiple-choice answer: any of them); always true for a KPI without ``where``."""
    for field, values in k.where.items():
        got = (data or {}).get(field)
        given = got if isinstance(got, list) else [got]
        if not any(isinstance(v, str) and v in values for v in given):
            return False
    return True


def count_cases(policy: Policy, k: KpiDef, facts: Iterable[CaseFact], years: Iterable[int]) -> tuple[dict[int, int], int]:
    """(distinct per year, distinct over the programme) of the facts the KPI counts."""
    counted = states_counted(policy, k)
    wanted = list(years)
    per: dict[int, set[int]] = {y: set() for y in wanted}
    every: set[int] = set()
    for f in facts:
        if f.state not in counted or (k.sme_only and not f.sme) or f.year not in per or not matches(k, f.data):
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


def _yearly_growth(series: Mapping[int, int]) -> dict[int, Fraction | None]:
    """Each year's growth on the year before, for the years whose year before has a figure (None where it
    was zero)."""
    return {y: (Fraction(series[y] - series[y - 1], series[y - 1]) if series[y - 1] else None)
            for y in sorted(series) if y - 1 in series}


def _evaluate_outside(policy: Policy, kid: str, as_of: dt.date, manual: Iterable[Figure],
                      year: int | None) -> KpiResult:
    k = policy.kpis[kid]
    figs = tuple(sorted(manual, key=lambda f: f.year))
    series = {f.year: f.value for f in figs}
    growth_kpi = any(policy.parameter(t.parameter).unit == "ratio" for t in k.targets)
    total: int | None = None
    if series:  # a growth KPI's figure is its latest year's, as the pledge financing's is
        total = sum(series.values()) if k.programme_figure == "sum" and not growth_kpi else series[max(series)]
    judged = series if year is None else {y: v for y, v in series.items() if y in (year - 1, year)}
    results = []
    for t in k.targets:
        p = policy.parameter(t.parameter)
        ref = p.reference_at(as_of) or ""
        if p.unit == "count":
            target: int | Fraction = int(policy.value(t.parameter, as_of))
            met = None if total is None else total >= target
            share = None if total is None or not target else Fraction(total, target)
        else:
            target = policy.ratio(t.parameter, as_of)
            met, share = growth_met(judged, Fraction(target)), None
        results.append(TargetResult(t.label, t.parameter, target, p.illustrative, ref, met, share))
    has_growth = any(isinstance(t.target, Fraction) for t in results)
    shown = series if year is None else {y: v for y, v in series.items() if y == year}
    growth = {y: g for y, g in _yearly_growth(series).items() if year is None or y == year} if has_growth else None
    kind = "growth" if has_growth else "flow" if k.programme_figure == "sum" else "stock"
    return KpiResult(kid, k.name, k.name_en, k.clause, k.reference, k.measure, kind, shown, total, tuple(results),
                     k.source, as_of, None, k.unit, growth,
                     tuple(f for f in figs if year is None or f.year == year))


def evaluate(policy: Policy, kid: str, as_of: dt.date, by_year: Mapping[int, int] | None = None,
             total: int | None = None, pledge: PledgeSeries | None = None,
             pool: Mapping[str, Any] | None = None, manual: Iterable[Figure] | None = None,
             year: int | None = None) -> KpiResult:
    """The KPI against each of its targets as in force on ``as_of`` (met when the programme figure reaches
    the target; a growth KPI when both its amount and its count grew by the target a year, see
    :func:`growth_met`). A KPI measured outside ipfund is judged on its imported yearly figures
    (``manual``): none imported, no figure and no target judged; ``year`` shows only that year's figure
    and judges a growth target on that year against the year before (the programme figure stays the
    programme's)."""
    k = policy.kpis[kid]
    kind = MEASURES[k.measure]
    if k.measure == "outside":
        return _evaluate_outside(policy, kid, as_of, manual or (), year)
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
    source = k.source
    if k.measure == "cases" and k.scheme not in policy.schemes:
        source = f"the scheme {k.scheme} is in the policy's catalog but not run yet: it counts zero until it is"
    return KpiResult(kid, k.name, k.name_en, k.clause, k.reference, k.measure, kind,
                     dict(by_year or {}), total if kind is not None else None, tuple(results), source, as_of,
                     figures)


# --- manual figures (`ipfund kpi import`): one row of the file, checked ---------------------------------------

FIGURE_COLUMNS = ("kpi", "year", "value", "unit", "source", "reference", "as_of")
FIGURE_REQUIRED = ("kpi", "year", "value", "unit", "source", "as_of")
_MAX_VALUE = 2**63 - 1
TEXT_LIMITS = {"source": 200, "reference": 200}


def imported_kpis(policy: Policy) -> list[str]:
    """The KPIs whose figures are imported: those measured outside ipfund."""
    return [kid for kid, k in policy.kpis.items() if k.measure == "outside"]


def check_figure(policy: Policy, cells: Mapping[str, str], today: dt.date) -> tuple[Figure | None, str | None,
                                                                                     list[str]]:
    """(the figure, its KPI, problems) of one row of a figures file, each problem naming its field: an
    unknown KPI or one ipfund computes, a year outside the programme, a value that is no whole number (money
    is whole fen: no decimal point) or negative, a unit other than the KPI's, a missing source, an as_of
    that is no date, before the year began or after ``today``. The figure is None when there is a problem."""
    from rules.text import shown, text_problem

    errs: list[str] = []
    kid = cells.get("kpi", "").strip()
    k = policy.kpis.get(kid)
    outside = ", ".join(imported_kpis(policy))
    if not kid:
        errs.append(f"kpi: empty; name a KPI measured outside ipfund ({outside})")
    elif k is None:
        errs.append(f"kpi: {shown(kid)} is not a KPI of policy {policy.id} (measured outside ipfund: {outside})")
    elif k.measure != "outside":
        errs.append(f"kpi: {kid} is computed by ipfund from its own records (measure {k.measure}); only the KPIs "
                    f"measured outside ipfund are imported ({outside})")
        k = None
    first, last = policy.valid_from.year, (policy.valid_to or today).year
    raw_year = cells.get("year", "").strip()
    year: int | None = None
    if not (raw_year.isascii() and raw_year.isdigit() and len(raw_year) == 4):
        errs.append(f"year: {shown(raw_year)} is not a year (four digits, e.g. 2021)")
    elif not first <= int(raw_year) <= last:
        errs.append(f"year: {raw_year} is not a year of policy {policy.id} ({first}–{last})")
    else:
        year = int(raw_year)
    unit = cells.get("unit", "").strip().lower()
    if unit not in ("count", "fen"):
        errs.append(f"unit: {shown(unit)} must be count or fen (money is in fen, 分)")
    elif k is not None and unit != k.unit:
        errs.append(f"unit: {unit}, but {kid} is given in {k.unit}" + (" (money in fen, 分: yuan × 100)"
                                                                        if k.unit == "fen" else ""))
    raw = cells.get("value", "").strip()
    value: int | None = None
    money = unit == "fen" or (k is not None and k.unit == "fen")
    if not raw:
        errs.append("value: empty")
    elif raw.startswith("-") and raw[1:].replace(".", "", 1).isdigit():
        errs.append(f"value: {shown(raw)} is negative; a figure is 0 or more")
    elif raw.replace(".", "", 1).isdigit() and raw.isascii() and "." in raw:
        errs.append(f"value: {shown(raw)} has a decimal point; money is whole fen (分), an integer — write "
                    "yuan × 100" if money else f"value: {shown(raw)} is not a whole number")
    elif not (raw.isascii() and raw.isdigit()):
        errs.append(f"value: {shown(raw)} is not a whole number (digits only, no separators)")
    elif int(raw) > _MAX_VALUE:
        errs.append(f"value: {shown(raw)} is too large")
    else:
        value = int(raw)
    texts = {}
    for col, lim in TEXT_LIMITS.items():
        v = cells.get(col, "").strip()
        problem = text_problem(v, field=col, max_len=lim, formula=True)
        if problem is not None:
            errs.append(problem)
        texts[col] = v
    if not texts["source"] and text_problem(cells.get("source", "").strip(), field="source", max_len=200) is None:
        errs.append("source: missing; say where the figure comes from (e.g. 市统计局 technology-contract statistics)")
    raw_date = cells.get("as_of", "").strip()
    try:
        as_of = dt.date.fromisoformat(raw_date) if len(raw_date) == 10 else None
    except ValueError:
        as_of = None
    if as_of is None:
        errs.append(f"as_of: {shown(raw_date)} is not a date (YYYY-MM-DD)")
    elif as_of > today:
        errs.append(f"as_of: {raw_date} is after today ({today})")
    elif year is not None and as_of < dt.date(year, 1, 1):
        errs.append(f"as_of: {raw_date} is before {year} began; a year's figure is reported in or after it")
    if errs or year is None or value is None or as_of is None or k is None:
        return None, kid or None, errs
    return Figure(year, value, unit, texts["source"], texts["reference"], raw_date), kid, []
