"""贯标认证奖励 (二(二)4) in the shape the first version of ipfund gave it: the checks, amount and rank
key now live in rules.schemes.certification_award (the scheme's rules module) and allocation in
rules.allocation; this module keeps their old names for callers written against them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from rules import allocation
from rules.policy import Policy
from rules.schemes import Candidate, CheckResult, Outcome, run_checks
from rules.schemes import IntakeFacts as _Facts
from rules.schemes.certification_award import CLAUSE, SCHEME, add_months, award_fen, param, tie_break_criteria
from rules.scoring import display

__all__ = ["CLAUSE", "SCHEME", "Candidate", "CheckResult", "IntakeFacts", "Outcome", "allocate", "award_fen",
           "float_free", "intake_checks", "param", "tie_break_criteria"]

_add_months = add_months


def IntakeFacts(applicant_found: bool, applicant_uscc: str, applicant_kind: str, applicant_district: str,
                certificate_no: str, certification_date: dt.date | None, submitted_on: dt.date,
                earlier_same_certificate: tuple[str, ...] = (), awarded_this_year_fen: int = 0,
                **extra: Any) -> _Facts:
    """The facts of a certification-award case, from the fields the checks were first written with."""
    form: dict[str, Any] = {"certificate_no": certificate_no}
    if certification_date is not None:
        form["certification_date"] = certification_date
    return _Facts(scheme=SCHEME, applicant_found=applicant_found, applicant_uscc=applicant_uscc,
                  applicant_kind=applicant_kind, applicant_district=applicant_district, form=form,
                  submitted_on=submitted_on, earlier_claims=earlier_same_certificate,
                  awarded_this_year_fen=awarded_this_year_fen, **extra)


def intake_checks(policy: Policy, f: _Facts) -> list[CheckResult]:
    """The automatic checks the policy lists for the certification award, in its order."""
    return run_checks(policy, SCHEME, policy.scheme(SCHEME).intake_checks, f, policy.scheme(SCHEME).module)


def allocate(policy: Policy, candidates: Sequence[Candidate], budget_fen: int, as_of: dt.date) -> list[Outcome]:
    """择优、不超额 for the certification award (rules.allocation, mode merit)."""
    return allocation.allocate(policy, SCHEME, candidates, budget_fen, as_of)


def float_free(score: Fraction) -> str:
    """Two-decimal display of an exact score (half-up), no float involved."""
    return display(score)
