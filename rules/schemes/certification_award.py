"""贯标认证奖励 (二(二)4): the certification award's own checks, amount and rank key.

择优奖励: awards go in rank order of the third-party effectiveness evaluation (贯标有效性评价).
不超额奖励: no award above the per-applicant cap; no total above the budget line (rules.allocation).
The checks every scheme shares (registered applicant, jurisdiction, no double claim, the yearly cap)
are in rules.schemes.common; this module adds the certificate's form and its window, the award by
applicant kind, and the tie-break order.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from fractions import Fraction

from rules.policy import Policy
from rules.schemes import Candidate, CheckResult, IntakeFacts, SchemeRules

SCHEME = "certification-award"
CLAUSE = "二(二)4"

RULES = SchemeRules(SCHEME, outcomes={
    "funded": "择优奖励 within the budget line",
    "below_min_score": "final score below the minimum",
    "budget_exhausted": "eligible, but the budget line cannot fund the full award",
})


def param(name: str) -> str:
    return f"{SCHEME}.{name}"


def add_months(d: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (or earlier), clamped to the month's last day."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    days = [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30,
            31, 30, 31][month - 1]
    return dt.date(year, month, min(d.day, days))


@RULES.check("certificate_number")
def certificate_number(policy: Policy, f: IntakeFacts) -> CheckResult:
    """A GB/T 29490 certificate number, present and of the form the policy sets."""
    pattern = policy.text(param("certificate_pattern"), f.submitted_on)
    cert = f.certificate_no.strip()
    ok = bool(cert) and re.fullmatch(pattern, cert) is not None
    return CheckResult(
        "certificate_number", ok, "GB/T 29490 certificate number present and well formed", CLAUSE,
        f"{param('certificate_pattern')} = {pattern}",
        f"certificate {cert!r} " + ("is well formed" if ok else "is missing or not of the form 165IP2100123R0M"))


@RULES.check("certification_window")
def certification_window(policy: Policy, f: IntakeFacts) -> CheckResult:
    """Certified on or after the window's start, at most the policy's months before the application,
    and not after it."""
    as_of = f.submitted_on
    start = dt.date.fromisoformat(policy.text(param("certification_window_start"), as_of))
    months = policy.integer(param("certification_window_months"), as_of)
    earliest = max(start, add_months(f.submitted_on, -months))
    d = f.certification_date
    in_window = d is not None and earliest <= d <= f.submitted_on
    return CheckResult(
        "certification_window", in_window, "certified inside the window the policy sets", CLAUSE,
        f"{param('certification_window_start')} = {start}, {param('certification_window_months')} = {months}",
        f"certified on {d.isoformat() if d else '(no date)'}; window {earliest} – {f.submitted_on}")


@RULES.amount("award_by_kind")
def award_by_kind(policy: Policy, c: Candidate, as_of: dt.date) -> int:
    """The fixed award for the applicant's kind (enterprise, university, institute; illustrative)."""
    return policy.fen(param("award_fen"), as_of, c.kind)


def award_fen(policy: Policy, kind: str, as_of: dt.date) -> int:
    return policy.fen(param("award_fen"), as_of, kind)


def tie_break_criteria(policy: Policy, as_of: dt.date) -> frozenset[str]:
    """The rubric criteria whose mean score the policy's tie-break reads (``criterion:NAME``)."""
    return frozenset(tb.split(":", 1)[1] for tb in policy.value(param("tie_break"), as_of)
                     if tb.startswith("criterion:"))


def sort_key(c: Candidate, tie_break: Sequence[str]) -> tuple[object, ...]:
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


@RULES.rank_key("score_then_tie_break")
def score_then_tie_break(policy: Policy, as_of: dt.date) -> Callable[[Candidate], tuple[object, ...]]:
    """Higher final score first; ties by the policy's tie_break list (a criterion's mean, SME first,
    earlier submission, application id)."""
    tie_break = list(policy.value(param("tie_break"), as_of))
    return lambda c: sort_key(c, tie_break)
