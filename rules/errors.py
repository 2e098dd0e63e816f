"""One named exception per broken rule (django-hordak style).

Every refusal a user can cause derives from :class:`RuleViolation`; the CLI turns it into a message
on stderr and exit status 1, never a traceback. Messages say what is wrong, why (rule and clause) and
how to fix it.
"""

from __future__ import annotations


class RuleViolation(Exception):
    """A request was refused by a rule, a permission or validation. Nothing was written."""


class ValidationFailed(RuleViolation):
    """Input (a file, a form) has problems; each is listed with its field, row or line."""

    def __init__(self, what: str, problems: list[str]) -> None:
        self.what = what
        self.problems = problems
        body = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{what}: {len(problems)} problem(s), nothing was written:\n{body}")


class NotFound(RuleViolation):
    """The named record does not exist."""


class PermissionDenied(RuleViolation):
    """The acting user's role does not allow this action (roles are checked in the service layer)."""


class NotYours(PermissionDenied, NotFound):
    """A case the acting user may not see, or none by that reference: both refused with the same words,
    so a guessed reference tells nothing (the desk answers 403 to both)."""


class FourEyesViolation(PermissionDenied):
    """不相容岗位相互分离: reviewer, approver and payer of one case are different people, and nobody
    acts on a case of their own organisation."""


class IllegalTransition(RuleViolation):
    """An application may only move along the transitions its scheme's policy defines."""


class ReasonRequired(RuleViolation):
    """Returning, rejecting, objecting and resolving objections need a written reason."""


class LedgerViolation(RuleViolation):
    """The fund ledger's invariants: every posting balances; no line or source balance goes negative."""


class UnbalancedPosting(LedgerViolation):
    """A posting's entries must sum to zero fen (double entry)."""


class NegativeBalance(LedgerViolation):
    """No budget line or fund source may hold less than zero fen in any bucket."""


class FundRuleViolation(RuleViolation):
    """One or more of the 三(二) fund rules (1:1.2 match, two 40 % floors) would be broken."""

    def __init__(self, message: str, violations: list[str]) -> None:
        self.violations = violations
        super().__init__(message)


class MatchRatioViolation(FundRuleViolation):
    """三(二): local funds (municipal + district) must be at least 1.2 x the central funds received."""


class ClusterFloorViolation(FundRuleViolation):
    """三(二): central funds on cluster-zone lines must be at least 40 % of the central funds received."""


class MarketFloorViolation(FundRuleViolation):
    """三(二): central funds used in market-oriented ways must be at least 40 % of central funds received."""


class IdempotencyConflict(RuleViolation):
    """The same idempotency key was used with a different request (amount or payee): nothing is written."""


class OverAward(RuleViolation):
    """不超额奖励 (二(二)4): no award above the per-applicant cap, no total above the budget line."""


class InvariantsBroken(Exception):
    """After a flow committed its stages, the invariant check found some broken: data changed around the
    services, or a bug. Not a refusal (what the stages did stands and is in the audit log); an operator
    must look before anything else runs. The CLI prints each broken invariant and exits 3."""

    def __init__(self, where: str, failed: list[dict[str, object]]) -> None:
        self.where = where
        self.failed = failed
        body = "\n".join(f"  - {c.get('check')}: {c.get('detail')}" for c in failed)
        super().__init__(f"invariant check failed after {where}: {len(failed)} invariant(s) broken; stop and "
                         f"investigate (`ipfund check` shows them):\n{body}")


class VoucherRefused(RuleViolation):
    """A custody voucher act the rules of 二(二)5 refuse: contracting after the use-by date or with an
    agency not in standing for the service at that price, redeeming after the redeem-by date, by an
    agency suspended or expelled, above the cover, or a second time. The message names the rule, the
    clause and the parameter."""


class NotASettlementDay(RuleViolation):
    """定期兑付: a scheme with a settlement calendar pays only the cases that became payable on or before the
    latest settlement date reached; before the year's first settlement date nothing is released."""
