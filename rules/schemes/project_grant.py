"""专利导航项目 / 高价值专利培育 / 产业知识产权运营中心 (二(一)1, 二(四)12, 三(三)): project grants whose money
follows the evaluated results — KPI attainment, grade bands, tranches, rectification and clawback.

The seed funds projects and asks for 第三方绩效评价 and a 绩效考核体系 (二(四)12), and for the whole fund
制定专项经费使用分配与绩效考核方案 (三(二)) and 广泛借助第三方评价 … 保障财政资金安全和效益 (三(三)). Real practice
(research/schemes.md §0, §4): the MoF grade bands 优 ≥ 90, 良 ≥ 80, 中 ≥ 60, 差 < 60; the national programme
pays about ⅔ up front and releases the rest banded by the mid-term evaluation; a poor result means 限期整改
(a deadline to rectify), then cuts, cancellation and recovery of money paid. Values the seed does not give
are illustrative, dated parameters named ``project-grant.<what>``. These functions are pure.

* **KPI attainment** is exact (Fraction): ``reach`` — (actual − baseline) / (target − baseline), for a KPI that
  should rise (patents navigated, licences brokered, SMEs served); ``reduce`` — the same for one that should
  fall; ``done`` — 1 when the actual reaches the target, else 0 (a report delivered per GB/T 39551-2020).
  Attainment is never below 0 and at most ``project-grant.attainment_cap`` (no credit beyond the target by
  default). The KPI score is Σ weight × attainment (weights in percent summing to 100).
* **The evaluation score** = (1 − kpi_weight) × the evaluators' rubric score + kpi_weight × the KPI score
  (``project-grant.kpi_weight``: 项目管理 60 / 项目绩效 40 by default), each 0–100, exactly.
* **The grade** is the first band whose floor the score reaches (``project-grant.grade_bands``: bands from the
  best down, floors strictly falling to 0 — they partition 0–100 with no gap or overlap).
* **Tranches** (``project-grant.tranches``: each with its share, the event it falls due on, and whether it is
  banded by the grade) split the grant by largest remainder, so they always sum to it; a banded tranche
  releases ``release_by_grade[grade]`` of itself and the rest is cancelled (back to the line).
* **差**: a rectification period (``rectification_days``); unrectified, every tranche not yet released is
  cancelled, ``clawback_share_unrectified`` of what was paid is clawed back (never more than was paid), and
  the organisation is barred from the calls of the next ``bar_years`` years.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from rules.money import RoundingMode, apply_ratio, format_yuan, split_by_shares
from rules.policy import Policy
from rules.trace import Step
from rules.trace import parameter_step as _step

SCHEME = "project-grant"
CLAUSE = "二(四)12"
FORMULAS: tuple[str, ...] = ("reach", "reduce", "done")
EVENTS: tuple[str, ...] = ("agreement", "mid_term", "final")


class ProjectProblem(ValueError):
    """A KPI, report or tranche that cannot be right (names the field and the rule)."""


def _p(name: str) -> str:
    return f"{SCHEME}.{name}"


def _dec(f: Fraction) -> str:
    d = (Decimal(f.numerator) / Decimal(f.denominator)).quantize(Decimal("0.0001"))
    return f"{d.normalize():f}"


@dataclass(frozen=True, slots=True)
class Kpi:
    """One KPI target of an agreement. Numbers are exact (Fraction): counts, or yuan for money KPIs."""

    code: str
    name: str
    unit: str
    baseline: Fraction
    target: Fraction
    weight: Fraction  # percent; an agreement's weights sum to 100
    formula: Literal["reach", "reduce", "done"] = "reach"
    due: dt.date | None = None


def kpi_problems(kpis: Sequence[Kpi]) -> list[str]:
    """What is wrong with an agreement's KPI targets, each naming the KPI and field."""
    out = []
    seen: set[str] = set()
    for k in kpis:
        where = f"kpi {k.code or '?'}"
        if not k.code:
            out.append(f"{where}: code is missing")
        if k.code in seen:
            out.append(f"{where}: given twice")
        seen.add(k.code)
        if not k.unit:
            out.append(f"{where}: unit is missing")
        if k.formula not in FORMULAS:
            out.append(f"{where}: formula {k.formula!r} is not one of {', '.join(FORMULAS)}")
        elif k.formula == "reach" and k.target <= k.baseline:
            out.append(f"{where}: target {_dec(k.target)} must be above the baseline {_dec(k.baseline)} for a KPI that rises")
        elif k.formula == "reduce" and k.target >= k.baseline:
            out.append(f"{where}: target {_dec(k.target)} must be below the baseline {_dec(k.baseline)} for a KPI that falls")
        if k.weight <= 0:
            out.append(f"{where}: weight must be above 0")
    total = sum((k.weight for k in kpis), Fraction(0))
    if kpis and total != 100:
        out.append(f"kpis: weights sum to {_dec(total)} %, they must sum to exactly 100 %")
    if not kpis:
        out.append("kpis: an agreement needs at least one KPI")
    return out


def attainment(policy: Policy, k: Kpi, actual: Fraction, on: dt.date) -> Fraction:
    """The KPI's attainment from its actual, by its formula, exactly, in [0, attainment_cap]."""
    cap = policy.ratio(_p("attainment_cap"), on)
    if k.formula == "done":
        raw = Fraction(1) if actual >= k.target else Fraction(0)
    else:
        span = k.target - k.baseline
        raw = (actual - k.baseline) / span  # for reduce both are negative
    return min(max(raw, Fraction(0)), cap)


@dataclass(frozen=True, slots=True)
class Evaluation:
    kpi_score: Fraction  # 0–100
    score: Fraction  # 0–100
    grade: str
    grade_name: str
    trace: tuple[Step, ...]


def kpi_score(policy: Policy, kpis: Sequence[Kpi], actuals: Mapping[str, Fraction], on: dt.date
              ) -> tuple[Fraction, list[Step]]:
    unknown = sorted(set(actuals) - {k.code for k in kpis})
    if unknown:
        raise ProjectProblem(f"actuals: {', '.join(unknown)} is not a KPI of the agreement "
                             f"(its KPIs: {', '.join(k.code for k in kpis)})")
    total = Fraction(0)
    steps = []
    for k in kpis:
        actual = actuals.get(k.code, k.baseline)
        a = attainment(policy, k, actual, on)
        total += k.weight * a
        steps.append(Step(f"KPI {k.code} {k.name}: baseline {_dec(k.baseline)}, target {_dec(k.target)} {k.unit}, "
                          f"actual {_dec(actual)} ({k.formula})", f"attainment {_dec(a)} × weight {_dec(k.weight)} %",
                          clause=CLAUSE))
    steps.append(_step(policy, "attainment counts at most", _p("attainment_cap"), on,
                       _dec(policy.ratio(_p("attainment_cap"), on))))
    return total, steps


def bands(policy: Policy, on: dt.date) -> list[tuple[str, str, Fraction]]:
    """(grade, name, floor) from the best down; floors strictly fall to 0."""
    raw: Sequence[Mapping[str, Any]] = policy.value(_p("grade_bands"), on)
    return [(str(b["grade"]), str(b.get("name", b["grade"])), Fraction(Decimal(str(b["min"])))) for b in raw]


def grade_of(policy: Policy, score: Fraction, on: dt.date) -> tuple[str, str]:
    if not 0 <= score <= 100:
        raise ProjectProblem(f"score: {_dec(score)} must be between 0 and 100")
    for grade, name, floor in bands(policy, on):
        if score >= floor:
            return grade, name
    raise ProjectProblem("grade_bands: no band reaches down to 0")  # pragma: no cover - refused at load


def evaluate(policy: Policy, kpis: Sequence[Kpi], actuals: Mapping[str, Fraction], rubric_score: Fraction,
             on: dt.date) -> Evaluation:
    """The evaluation of a project on ``on``: the KPI score from the actuals, combined with the evaluators'
    rubric score by ``kpi_weight``, and the grade band it falls in, with the trace."""
    if not 0 <= rubric_score <= 100:
        raise ProjectProblem(f"rubric score: {_dec(rubric_score)} must be between 0 and 100")
    ks, steps = kpi_score(policy, kpis, actuals, on)
    w = policy.ratio(_p("kpi_weight"), on)
    score = (1 - w) * rubric_score + w * ks
    grade, name = grade_of(policy, score, on)
    steps += [Step("KPI score (Σ weight × attainment)", _dec(ks), clause=CLAUSE),
              Step("evaluators' rubric score (第三方评价)", _dec(rubric_score), clause="三(三)"),
              _step(policy, "weight of the KPI score (项目绩效)", _p("kpi_weight"), on, _dec(w)),
              Step("score", _dec(score), clause=CLAUSE),
              _step(policy, "grade band", _p("grade_bands"), on, f"{grade} {name}")]
    return Evaluation(ks, score, grade, name, tuple(steps))


@dataclass(frozen=True, slots=True)
class Tranche:
    key: str
    share: Fraction
    on: str  # agreement | mid_term | final
    banded: bool
    amount_fen: int


def tranche_plan(policy: Policy, grant_fen: int, on: dt.date) -> list[Tranche]:
    """The grant split into its tranches by largest remainder (they sum to the grant exactly)."""
    raw: Sequence[Mapping[str, Any]] = policy.value(_p("tranches"), on)
    shares = [Fraction(Decimal(str(t["share"]))) for t in raw]
    parts = split_by_shares(grant_fen, shares)
    return [Tranche(str(t["key"]), s, str(t["due_on"]), bool(t.get("banded", False)), a)
            for t, s, a in zip(raw, shares, parts, strict=True)]


@dataclass(frozen=True, slots=True)
class Release:
    tranche: str
    released_fen: int
    cancelled_fen: int
    trace: tuple[Step, ...]


def release(policy: Policy, t: Tranche, grade: str | None, on: dt.date) -> Release:
    """What a tranche releases: all of it, or for a banded tranche the grade's share of it (rounded by
    money.rounding); the rest is cancelled. A banded tranche needs a grade."""
    if not t.banded:
        return Release(t.key, t.amount_fen, 0, (Step(f"tranche {t.key} on {t.on}", format_yuan(t.amount_fen),
                                                     clause=CLAUSE, reference="not banded: released in full"),))
    if grade is None:
        raise ProjectProblem(f"tranche {t.key}: banded by the {t.on} grade, and the project has no {t.on} grade yet")
    by_grade: Mapping[str, Any] = policy.value(_p("release_by_grade"), on)
    if grade not in by_grade:
        raise ProjectProblem(f"release_by_grade: no share for grade {grade!r}")
    share = Fraction(Decimal(str(by_grade[grade])))
    mode = RoundingMode(policy.text("money.rounding", on))
    released = apply_ratio(t.amount_fen, share, mode)
    steps = (Step(f"tranche {t.key} on {t.on}", format_yuan(t.amount_fen), clause=CLAUSE),
             _step(policy, f"share released for grade {grade}", _p("release_by_grade"), on, _dec(share)),
             Step("released", format_yuan(released), clause=CLAUSE),
             Step("cancelled, back to the line", format_yuan(t.amount_fen - released), clause=CLAUSE))
    return Release(t.key, released, t.amount_fen - released, steps)


def rectification_due(policy: Policy, evaluated_on: dt.date) -> dt.date:
    """限期整改: the day by which a project graded at the bottom band must be rectified."""
    return evaluated_on + dt.timedelta(days=policy.integer(_p("rectification_days"), evaluated_on))


def needs_rectification(policy: Policy, grade: str, on: dt.date) -> bool:
    """The bottom band (差 by default) opens a rectification period."""
    return grade == bands(policy, on)[-1][0]


@dataclass(frozen=True, slots=True)
class Unrectified:
    cancelled_fen: int  # every tranche not yet released
    clawback_fen: int  # of what was paid
    barred_until: dt.date
    trace: tuple[Step, ...]


def unrectified(policy: Policy, grant_fen: int, released_fen: int, paid_fen: int, on: dt.date) -> Unrectified:
    """What an unrectified project loses on ``on``: the tranches not yet released are cancelled, a share of
    what was paid is clawed back (never more than was paid), and the organisation is barred from the calls
    of the next ``bar_years`` years."""
    if not 0 <= paid_fen <= released_fen <= grant_fen:
        raise ProjectProblem(f"paid {format_yuan(paid_fen)} ≤ released {format_yuan(released_fen)} ≤ grant "
                             f"{format_yuan(grant_fen)} does not hold")
    share = policy.ratio(_p("clawback_share_unrectified"), on)
    mode = RoundingMode(policy.text("money.rounding", on))
    claw = min(paid_fen, apply_ratio(paid_fen, share, mode))
    years = policy.integer(_p("bar_years"), on)
    until = dt.date(on.year + years, 12, 31)
    steps = (Step("not yet released: cancelled, back to the line", format_yuan(grant_fen - released_fen), clause=CLAUSE),
             _step(policy, "share of what was paid clawed back", _p("clawback_share_unrectified"), on, _dec(share)),
             Step("clawed back (a receivable)", format_yuan(claw), clause="三(三)"),
             _step(policy, "barred from the next calls, years", _p("bar_years"), on, f"{years} (until {until})"))
    return Unrectified(grant_fen - released_fen, claw, until, steps)


def clawback_problem(amount_fen: int, paid_fen: int, clawed_before_fen: int) -> str | None:
    """A clawback above what was paid (less what was clawed back before) is refused."""
    left = paid_fen - clawed_before_fen
    if amount_fen <= 0:
        return f"clawback: {format_yuan(amount_fen)} must be above ¥0.00"
    if amount_fen > left:
        return (f"clawback: {format_yuan(amount_fen)} is more than the {format_yuan(left)} paid and not yet clawed "
                f"back (三(三))")
    return None


# --- the calls: intake checks, the grant, the agreement's KPIs and the report deadlines --------------------

from rules.schemes import CheckResult, IntakeFacts, SchemeRules  # noqa: E402

RULES = SchemeRules(SCHEME, outcomes={
    "funded": "立项资助 within the budget line",
    "below_min_score": "expert review score below the minimum",
    "budget_exhausted": "eligible, but the budget line cannot fund the project",
})
STAGES: tuple[str, ...] = ("mid_term", "final")


@dataclass(frozen=True, slots=True)
class Bar:
    """A dated bar of an organisation from new calls (三(三)): from the day after it was barred to ``until``."""

    since: dt.date
    until: dt.date
    ref: str  # the unrectified project that caused it


def bar_in_force(bars: Sequence[Bar], on: dt.date) -> Bar | None:
    return next((b for b in bars if b.since <= on <= b.until), None)


@RULES.check("not_barred")
def not_barred(policy: Policy, f: IntakeFacts) -> CheckResult:
    """An organisation barred after an unrectified project (三(三)) applies to no call until the bar ends."""
    bars: Sequence[Bar] = f.linked.get("bar") or ()
    b = bar_in_force(bars, f.submitted_on)
    return CheckResult("not_barred", b is None, "not barred from calls after an unrectified project", "三(三)",
                       _p("bar_years"), "no bar in force" if b is None else
                       f"barred until {b.until.isoformat()} after project {b.ref} was left unrectified")


def max_grant(policy: Policy, project_type: str, on: dt.date) -> int:
    return policy.fen(_p("max_grant_fen"), on, project_type)


@RULES.check("requested_within_cap")
def requested_within_cap(policy: Policy, f: IntakeFacts) -> CheckResult:
    """The grant asked for is above ¥0 and at most the type's cap."""
    kind = str(f.form.get("project_type", ""))
    asked = int(f.form.get("requested") or 0)
    cap = max_grant(policy, kind, f.submitted_on)
    ok = 0 < asked <= cap
    return CheckResult("requested_within_cap", ok, "grant asked for within the project type's cap", "二(一)1",
                       f"{_p('max_grant_fen')}[{kind}] = {format_yuan(cap)}",
                       f"asked {format_yuan(asked)}, cap {format_yuan(cap)}")


@RULES.amount("requested_grant")
def requested_grant(policy: Policy, c: Any, as_of: dt.date) -> int:
    """The grant: what the project asked for, at most its type's cap (the budget line is rules.allocation's)."""
    kind = str(c.form.get("project_type", ""))
    return min(int(c.form.get("requested") or 0), max_grant(policy, kind, as_of))


@dataclass(frozen=True, slots=True)
class KpiTemplate:
    code: str
    name: str
    unit: str
    formula: Literal["reach", "reduce", "done"]


def kpi_template(policy: Policy, param: str, project_type: str, on: dt.date) -> list[KpiTemplate]:
    rows: Sequence[Mapping[str, Any]] = policy.value(param, on)
    return [KpiTemplate(str(r["code"]), str(r["name"]), str(r["unit"]), r["formula"]) for r in rows
            if r["type"] == project_type]


def _number(text: Any, where: str, problems: list[str]) -> Fraction | None:
    raw = "" if text is None else str(text).strip().replace(",", "")
    if raw == "":
        problems.append(f"{where}: missing")
        return None
    try:
        d = Decimal(raw)
    except ArithmeticError:
        problems.append(f"{where}: {raw!r} is not a number")
        return None
    if not d.is_finite():
        problems.append(f"{where}: {raw!r} is not a number")
        return None
    return Fraction(d)


def agreement_kpis(template: Sequence[KpiTemplate], rows: Sequence[Mapping[str, Any]], project_type: str
                   ) -> tuple[list[Kpi], list[str]]:
    """The agreement's KPIs from its rows (code, baseline, target, weight, due; name, unit and formula from the
    type's template): every template KPI present once, none other, each number exact; with every problem."""
    problems: list[str] = []
    known = {t.code: t for t in template}
    out: list[Kpi] = []
    for i, r in enumerate(rows, start=1):
        code = str(r.get("code") or "").strip()
        where = f"kpi {i} ({code or '?'})"
        if code not in known:
            problems.append(f"{where}: not a KPI of a {project_type} project (its KPIs: {', '.join(known)})")
            continue
        t = known[code]
        unit = str(r.get("unit", t.unit) or "").strip()
        base = _number(r.get("baseline"), f"{where}.baseline", problems)
        target = _number(r.get("target"), f"{where}.target", problems)
        weight = _number(r.get("weight"), f"{where}.weight", problems)
        due = None
        if r.get("due"):
            try:
                due = dt.date.fromisoformat(str(r["due"]))
            except ValueError:
                problems.append(f"{where}.due: {r['due']!r} is not a date (YYYY-MM-DD)")
        if base is None or target is None or weight is None:
            continue
        out.append(Kpi(code, t.name, unit, base, target, weight, t.formula, due))
    problems += kpi_problems(out) if out else ([] if problems else ["kpis: an agreement needs at least one KPI"])
    missing = sorted(set(known) - {k.code for k in out} - {str(r.get("code") or "").strip() for r in rows})
    problems += [f"kpi {m}: the {project_type} template requires it (project-grant.kpi_template)" for m in missing]
    return out, problems


def report_due(policy: Policy, months_param: str, agreed_on: dt.date) -> dt.date:
    """The day a stage's report is due: the agreement's date plus the stage's months (clamped to month end)."""
    months = policy.integer(months_param, agreed_on)
    y, m = divmod(agreed_on.month - 1 + months, 12)
    year, month = agreed_on.year + y, m + 1
    last = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(agreed_on.day, last))


def extension_problem(due: dt.date, asked_on: dt.date, new_due: dt.date) -> str | None:
    """An extension is asked before the due date, for a later date."""
    if asked_on > due:
        return (f"extension: asked on {asked_on.isoformat()}, after the report was due on {due.isoformat()}; "
                "an extension must be asked before the due date (二(四)12)")
    if new_due <= due:
        return f"extension: the new due date {new_due.isoformat()} must be after {due.isoformat()}"
    return None


def tranches_due(plan: Sequence[Tranche], stage: str) -> list[Tranche]:
    """The tranches that fall due on ``stage`` (agreement, mid_term or final)."""
    return [t for t in plan if t.on == stage]
