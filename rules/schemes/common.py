"""Intake checks and outcomes every scheme may use: the applicant is registered with a valid credit code
and located in the jurisdiction, nobody claims the same thing twice (不重复奖励), and nobody receives
more than the scheme's yearly cap (不超额奖励). A scheme lists the ones it uses in its policy section."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from rules.money import format_yuan
from rules.policy import BenefitMemberDef, DuplicateBenefitDef, Policy
from rules.schemes import BenefitAward, Candidate, CheckResult, IntakeFacts, Resolved, SchemeRules
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
    """不重复奖励: one live claim per claim key (the form fields the scheme names, e.g. the certificate), or as
    many as the form's ``claim_limit`` parameter allows on the day of the application."""
    form = policy.scheme(f.scheme).form
    limit = policy.integer(form.claim_limit, f.submitted_on) if form.claim_limit else 1
    dup = len(f.earlier_claims) >= limit
    key = form.claim_key
    what = "certificate" if key == ["certificate_no"] else " + ".join(key)
    if limit == 1:
        return CheckResult(
            "no_prior_award", not dup, f"不重复奖励: one award per {what}", clause_of(policy, f.scheme), None,
            f"{what} already claimed by {', '.join(f.earlier_claims)}" if dup
            else f"no earlier award or claim for this {what}")
    return CheckResult(
        "no_prior_award", not dup, f"不重复奖励: at most {limit} awards per {what}", clause_of(policy, f.scheme),
        f"{form.claim_limit} = {limit}",
        f"{what} already claimed {len(f.earlier_claims)} time(s) ({', '.join(f.earlier_claims) or 'none'}); "
        f"{'no' if dup else max(limit - len(f.earlier_claims), 0)} more allowed")


def claim_amount(policy: Policy, f: IntakeFacts) -> int:
    """What the claim would be awarded by the scheme's amount function, before caps and the budget (0 for a
    scheme without one)."""
    scheme = policy.scheme(f.scheme)
    try:
        amount_name = scheme.allocation.amount
        fn = Resolved(f.scheme, scheme.module).amount(amount_name, f.submitted_on) if amount_name else None
        return int(fn(policy, Candidate(0, "", 0, f.applicant_kind, f.applicant_sme, "", Fraction(0),
                                        form=f.form, linked=f.linked), f.submitted_on)) if fn else 0
    except LookupError:
        return 0


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
    amount = claim_amount(policy, f)
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


# --- 从优从高不重复: one benefit funded once a year across schemes ----------------------------------------

def member_matches(m: BenefitMemberDef, scheme: str, form: Mapping[str, Any]) -> bool:
    """Does a claim of ``scheme`` with these form values fund the benefit through member ``m``?"""
    return m.scheme == scheme and all(str(form.get(k) or "") in vs for k, vs in m.where.items())


def benefits_of(policy: Policy, scheme: str, form: Mapping[str, Any]) -> list[DuplicateBenefitDef]:
    """The policy's duplicate_benefits entries a claim of ``scheme`` with these form values belongs to."""
    return [b for b in policy.duplicate_benefits if any(member_matches(m, scheme, form) for m in b.members)]


def other_members(b: DuplicateBenefitDef, scheme: str) -> list[BenefitMemberDef]:
    """The members of a benefit in schemes other than ``scheme`` (whose awards a claim of it may duplicate)."""
    return [m for m in b.members if m.scheme != scheme]


def _same_benefit(policy: Policy, scheme: str, form: Mapping[str, Any],
                  awards: Sequence[BenefitAward]) -> tuple[list[DuplicateBenefitDef], list[BenefitAward]]:
    mine = benefits_of(policy, scheme, form)
    names = {b.name for b in mine}
    return mine, [a for a in awards if a.benefit in names and a.scheme != scheme]


def _shown_awards(awards: Sequence[BenefitAward]) -> str:
    return ", ".join(f"{a.ref} ({a.scheme}, {format_yuan(a.award_fen)})" for a in awards)


DUPLICATE_RULE = "从优从高不重复: one benefit funded once a fiscal year across schemes, the higher award kept"


@RULES.check("duplicate_benefit")
def duplicate_benefit(policy: Policy, f: IntakeFacts) -> CheckResult:
    """从优从高不重复: when the applicant already holds, this fiscal year, an award of another scheme that funds
    the same benefit (the policy's duplicate_benefits) and that award is at least this claim's amount, the
    claim is refused naming the other case (the higher award is kept). A claim higher than every such award
    passes; allocation then deducts them (:func:`rules.allocation.allocate`), so the applicant receives the
    higher amount in all, never both."""
    mine, found = _same_benefit(policy, f.scheme, f.form, f.same_benefit_awards)
    clause = " / ".join(dict.fromkeys(b.clause for b in mine)) or clause_of(policy, f.scheme)
    rule = " / ".join(dict.fromkeys(f"{b.rule}: {b.title}" for b in mine)) or DUPLICATE_RULE
    if not mine:
        return CheckResult("duplicate_benefit", True, DUPLICATE_RULE, clause, "duplicate_benefits",
                           "the claim funds no benefit that another scheme funds too")
    where = "duplicate_benefits." + ",".join(b.name for b in mine)
    amount = claim_amount(policy, f)
    if not found:
        return CheckResult("duplicate_benefit", True, rule, clause, where,
                           "no award of the same benefit in another scheme this fiscal year")
    higher = [a for a in found if a.award_fen >= amount] or (found if sum(a.award_fen for a in found) >= amount else [])
    if higher:  # one award, or several together (the same benefit twice in the year), at least this claim's
        return CheckResult("duplicate_benefit", False, rule, clause, where,
                           f"从优从高不重复: {_shown_awards(higher)} already funds the same benefit this year, at least "
                           f"this claim's {format_yuan(amount)}; the higher award is kept")
    lower = sum(a.award_fen for a in found)
    return CheckResult("duplicate_benefit", True, rule, clause, where,
                       f"this claim's {format_yuan(amount)} is higher than {_shown_awards(found)}: the higher award "
                       f"is kept, {format_yuan(lower)} already awarded for the same benefit is deducted at allocation")


def duplicate_deduction(c: Candidate, amount_fen: int) -> tuple[int, str | None]:
    """(fen to deduct, refusal) for a candidate of ``amount_fen`` holding other schemes' awards of the same
    benefit (``c.same_benefit``, filtered by the service to the benefits the case belongs to): refused
    when one of them is at least the amount (the higher award is kept), else their sum is deducted."""
    if not c.same_benefit:
        return 0, None
    higher = [a for a in c.same_benefit if a.award_fen >= amount_fen]
    if not higher and sum(a.award_fen for a in c.same_benefit) >= amount_fen:
        higher = list(c.same_benefit)  # together they are at least the amount: deducting them leaves nothing
    if higher:
        return 0, (f"duplicate_benefit: 从优从高不重复 — {_shown_awards(higher)} already funds the same benefit, at "
                   f"least this award's {format_yuan(amount_fen)}")
    return sum(a.award_fen for a in c.same_benefit), None
