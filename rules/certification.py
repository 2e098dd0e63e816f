"""贯标认证奖励 (二(二)4): intake checks, the award amount, and merit ranking within budget.

择优奖励: awards go in rank order of the third-party effectiveness evaluation.
不超额奖励: no award above the per-applicant cap; no total above the budget line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from rules.money import format_yuan
from rules.policy import Policy
from rules.uscc import CreditCodeError, validate_uscc

SCHEME = "certification-award"
CLAUSE = "二(二)4"


def param(name: str) -> str:
    return f"{SCHEME}.{name}"


@dataclass(frozen=True)
class CheckResult:
    check: str
    passed: bool
    rule: str
    clause: str
    parameter: str | None
    detail: str


@dataclass(frozen=True)
class IntakeFacts:
    """Everything the intake checks read, gathered by the service."""

    applicant_found: bool
    applicant_uscc: str
    applicant_kind: str
    applicant_district: str
    certificate_no: str
    certification_date: dt.date | None
    submitted_on: dt.date
    earlier_same_certificate: tuple[str, ...] = ()  # refs of earlier live/awarded applications
    awarded_this_year_fen: int = 0  # awards committed to the applicant in the fiscal year


def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    days = [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30,
            31, 30, 31][month - 1]
    return dt.date(year, month, min(d.day, days))


def award_fen(policy: Policy, kind: str, as_of: dt.date) -> int:
    """The fixed award for an applicant kind (illustrative parameter)."""
    return policy.fen(param("award_fen"), as_of, kind)


def intake_checks(policy: Policy, f: IntakeFacts) -> list[CheckResult]:
    """The automatic checks of a certification-award application, each with rule, clause and parameter."""
    as_of = f.submitted_on
    out: list[CheckResult] = []

    if not f.applicant_found:
        out.append(CheckResult("applicant_registered", False, "applicant is registered with a valid credit code",
                               "GB 32100-2015", None, "the applicant is not registered; import it first"))
    else:
        try:
            validate_uscc(f.applicant_uscc)
            out.append(CheckResult("applicant_registered", True, "applicant is registered with a valid credit code",
                                   "GB 32100-2015", None, f"credit code {f.applicant_uscc} is valid"))
        except CreditCodeError as exc:
            out.append(CheckResult("applicant_registered", False,
                                   "applicant is registered with a valid credit code", "GB 32100-2015", None, str(exc)))

    districts = policy.jurisdiction.districts
    inside = f.applicant_district in districts
    out.append(CheckResult(
        "district_in_jurisdiction", inside, f"applicant is located in {policy.jurisdiction.name}", CLAUSE,
        "jurisdiction.districts",
        f"district {f.applicant_district} {districts.get(f.applicant_district, '(not in the jurisdiction)')}"))

    pattern = policy.text(param("certificate_pattern"), as_of)
    cert = f.certificate_no.strip()
    ok = bool(cert) and re.fullmatch(pattern, cert) is not None
    out.append(CheckResult(
        "certificate_number", ok, "GB/T 29490 certificate number present and well formed", CLAUSE,
        f"{param('certificate_pattern')} = {pattern}",
        f"certificate {cert!r} " + ("is well formed" if ok else "is missing or not of the form 165IP2100123R0M")))

    start = dt.date.fromisoformat(policy.text(param("certification_window_start"), as_of))
    months = policy.integer(param("certification_window_months"), as_of)
    earliest = max(start, _add_months(f.submitted_on, -months))
    d = f.certification_date
    in_window = d is not None and earliest <= d <= f.submitted_on
    out.append(CheckResult(
        "certification_window", in_window, "certified inside the window the policy sets", CLAUSE,
        f"{param('certification_window_start')} = {start}, {param('certification_window_months')} = {months}",
        f"certified on {d.isoformat() if d else '(no date)'}; window {earliest} – {f.submitted_on}"))

    dup = bool(f.earlier_same_certificate)
    out.append(CheckResult(
        "no_prior_award", not dup, "不重复奖励: one award per certificate", CLAUSE, None,
        f"certificate already claimed by {', '.join(f.earlier_same_certificate)}" if dup
        else "no earlier award or claim for this certificate"))

    cap = policy.fen(param("cap_fen_per_applicant_year"), as_of)
    try:
        amount = award_fen(policy, f.applicant_kind, as_of)
    except LookupError:
        amount = 0
    room = cap - f.awarded_this_year_fen
    within = room > 0
    out.append(CheckResult(
        "applicant_year_cap", within, "不超额奖励: per-applicant cap per fiscal year", CLAUSE,
        f"{param('cap_fen_per_applicant_year')} = {format_yuan(cap)}",
        f"already awarded {format_yuan(f.awarded_this_year_fen)} this year; the {f.applicant_kind} award is "
        f"{format_yuan(amount)}; room under the cap {format_yuan(max(room, 0))}"))
    return out


# --- ranking and allocation -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Candidate:
    application_id: int
    ref: str
    applicant_id: int
    kind: str
    sme: bool
    submitted_at: str
    final_score: Fraction | None
    criterion_means: dict[str, Fraction] = field(default_factory=dict)
    status: str = "scored"
    failed_check: str | None = None  # intake check that failed (ineligible)
    awarded_this_year_fen: int = 0


@dataclass(frozen=True, slots=True)
class Outcome:
    application_id: int
    ref: str
    rank: int | None
    outcome: str  # funded | below_min_score | budget_exhausted | ineligible | rejected_in_review | pending
    reason: str
    award_fen: int
    final_score: Fraction | None


def tie_break_criteria(policy: Policy, as_of: dt.date) -> frozenset[str]:
    """The rubric criteria whose mean score the policy's tie-break reads (``criterion:NAME``)."""
    return frozenset(tb.split(":", 1)[1] for tb in policy.value(param("tie_break"), as_of)
                     if tb.startswith("criterion:"))


def _sort_key(c: Candidate, tie_break: Sequence[str]) -> tuple[object, ...]:
    assert c.final_score is not None
    key: list[object] = [-c.final_score]
    for tb in tie_break:
        if tb.startswith("criterion:"):
            key.append(-c.criterion_means.get(tb.split(":", 1)[1], Fraction(0)))
        elif tb == "sme_first":
            key.append(0 if c.sme else 1)
        elif tb == "submitted_at":
            key.append(c.submitted_at)
        elif tb == "application_id":
            key.append(c.application_id)
        else:
            raise ValueError(f"unknown tie-break {tb!r} in {param('tie_break')}")
    key.append(c.application_id)  # total order whatever the policy says
    return tuple(key)


def allocate(policy: Policy, candidates: Sequence[Candidate], budget_fen: int, as_of: dt.date) -> list[Outcome]:
    """择优、不超额: rank scored cases by final score (tie-break from the policy) and fund them in rank
    order while the budget line can pay the full award; the first case it cannot fund, and every case
    below it, is ``budget_exhausted`` (merit order is never skipped for a cheaper award)."""
    min_score = Fraction(policy.decimal(param("min_score"), as_of))
    tie_break = list(policy.value(param("tie_break"), as_of))
    cap = policy.fen(param("cap_fen_per_applicant_year"), as_of)
    out: list[Outcome] = []
    ranked = [c for c in candidates if c.status == "scored" and c.final_score is not None]
    for c in candidates:
        if c.status == "scored" and c.final_score is not None:
            continue
        if c.failed_check:
            out.append(Outcome(c.application_id, c.ref, None, "ineligible", f"intake check failed: {c.failed_check}",
                               0, None))
        elif c.status == "rejected":
            out.append(Outcome(c.application_id, c.ref, None, "rejected_in_review", "rejected in formal review", 0,
                               None))
        else:
            out.append(Outcome(c.application_id, c.ref, None, "pending", f"not yet scored (status {c.status})", 0,
                               c.final_score))
    ranked.sort(key=lambda c: _sort_key(c, tie_break))
    remaining = budget_fen
    exhausted = False
    given: dict[int, int] = {}
    for rank, c in enumerate(ranked, 1):
        assert c.final_score is not None
        if c.final_score < min_score:
            out.append(Outcome(c.application_id, c.ref, rank, "below_min_score",
                               f"final score {float_free(c.final_score)} < minimum {float_free(min_score)}", 0,
                               c.final_score))
            continue
        room = cap - c.awarded_this_year_fen - given.get(c.applicant_id, 0)
        amount = min(award_fen(policy, c.kind, as_of), room)
        if amount <= 0:
            out.append(Outcome(c.application_id, c.ref, rank, "ineligible",
                               f"applicant_year_cap: the applicant's cap of {format_yuan(cap)} is used", 0,
                               c.final_score))
            continue
        if exhausted or amount > remaining:
            exhausted = True
            out.append(Outcome(c.application_id, c.ref, rank, "budget_exhausted",
                               f"award {format_yuan(amount)} exceeds the {format_yuan(remaining)} left on the line",
                               0, c.final_score))
            continue
        remaining -= amount
        given[c.applicant_id] = given.get(c.applicant_id, 0) + amount
        out.append(Outcome(c.application_id, c.ref, rank, "funded", f"rank {rank}, award {format_yuan(amount)}",
                           amount, c.final_score))
    # Paired assertion (TigerBeetle): never above the line, never above a cap.
    assert sum(o.award_fen for o in out) <= budget_fen
    return sorted(out, key=lambda o: (o.rank is None, o.rank or 0, o.application_id))


def float_free(score: Fraction) -> str:
    """Two-decimal display of an exact score (half-up), no float involved."""
    from rules.scoring import display

    return display(score)
