"""Intake checks and outcomes every scheme may use: the applicant is registered with a valid credit code
and located in the jurisdiction, nobody claims the same thing twice (不重复奖励), and nobody receives
more than the scheme's yearly cap (不超额奖励). A scheme lists the ones it uses in its policy section."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from fractions import Fraction

from rules.money import format_yuan
from rules.policy import Policy
from rules.schemes import Candidate, CheckResult, IntakeFacts, Resolved, SchemeRules
from rules.uscc import CreditCodeError, validate_uscc

RULES = SchemeRules("common", outcomes={
    "ineligible": "an intake check failed (the rule is named)",
    "rejected_in_review": "rejected by a reviewer",
    "pending": "not yet through review and evaluation",
})


@RULES.check("applicant_registered")
def applicant_registered(policy: Policy, f: IntakeFacts) -> CheckResult:
    rule = "applicant is registered with a valid credit code"
    if not f.applicant_found:
        return CheckResult("applicant_registered", False, rule, "GB 32100-2015", None,
                           "the applicant is not registered; import it first")
    try:
        validate_uscc(f.applicant_uscc)
    except CreditCodeError as exc:
        return CheckResult("applicant_registered", False, rule, "GB 32100-2015", None, str(exc))
    return CheckResult("applicant_registered", True, rule, "GB 32100-2015", None,
                       f"credit code {f.applicant_uscc} is valid")


def clause_of(policy: Policy, scheme: str) -> str:
    return policy.scheme(scheme).clause


@RULES.check("district_in_jurisdiction")
def district_in_jurisdiction(policy: Policy, f: IntakeFacts) -> CheckResult:
    districts = policy.jurisdiction.districts
    inside = f.applicant_district in districts
    return CheckResult(
        "district_in_jurisdiction", inside, f"applicant is located in {policy.jurisdiction.name}",
        clause_of(policy, f.scheme), "jurisdiction.districts",
        f"district {f.applicant_district} {districts.get(f.applicant_district, '(not in the jurisdiction)')}")


@RULES.check("no_prior_award")
def no_prior_award(policy: Policy, f: IntakeFacts) -> CheckResult:
    """不重复奖励: one live claim per claim key (the form fields the scheme names, e.g. the certificate)."""
    dup = bool(f.earlier_claims)
    key = policy.scheme(f.scheme).form.claim_key
    what = "certificate" if key == ["certificate_no"] else " + ".join(key)
    return CheckResult(
        "no_prior_award", not dup, f"不重复奖励: one award per {what}", clause_of(policy, f.scheme), None,
        f"{what} already claimed by {', '.join(f.earlier_claims)}" if dup
        else f"no earlier award or claim for this {what}")


@RULES.check("applicant_year_cap")
def applicant_year_cap(policy: Policy, f: IntakeFacts) -> CheckResult:
    """不超额奖励: the applicant still has room under the scheme's cap for the fiscal year."""
    scheme = policy.scheme(f.scheme)
    name = scheme.allocation.cap
    if name is None:
        return CheckResult("applicant_year_cap", True, "不超额奖励: per-applicant cap per fiscal year", scheme.clause,
                           None, "the scheme sets no per-applicant cap")
    as_of = f.submitted_on
    cap = policy.fen(name, as_of)
    try:
        amount_name = scheme.allocation.amount
        fn = Resolved(f.scheme, scheme.module).amount(amount_name, as_of) if amount_name else None
        amount = int(fn(policy, Candidate(0, "", 0, f.applicant_kind, f.applicant_sme, "", Fraction(0),
                                          form=f.form), as_of)) if fn else 0
    except LookupError:
        amount = 0
    room = cap - f.awarded_this_year_fen
    return CheckResult(
        "applicant_year_cap", room > 0, "不超额奖励: per-applicant cap per fiscal year", scheme.clause,
        f"{name} = {format_yuan(cap)}",
        f"already awarded {format_yuan(f.awarded_this_year_fen)} this year; the {f.applicant_kind} award is "
        f"{format_yuan(amount)}; room under the cap {format_yuan(max(room, 0))}")


@RULES.rank_key("score_desc")
def score_desc(policy: Policy, as_of: dt.date) -> Callable[[Candidate], tuple[object, ...]]:
    """Higher final score first; then earlier submission, then application id."""
    return lambda c: (-(c.final_score or Fraction(0)), c.submitted_at, c.application_id)


@RULES.rank_key("submission_order")
def submission_order(policy: Policy, as_of: dt.date) -> Callable[[Candidate], tuple[object, ...]]:
    """First come, first served: earlier submission first, then application id."""
    return lambda c: (c.submitted_at, c.application_id)
