"""A scheme's own calculations, registered by name: intake checks, the amount of an award, the rank key.

A scheme is a policy section (states, transitions, form, stages, allocation, payee ...) plus one small
rules module, ``rules/schemes/<module>.py``, that registers pure functions under the names the policy
uses. Loading a policy fails, naming the key path, on a check, amount or rank key nobody registered,
so a typo in a policy file can never silently drop a rule.

Checks every scheme may use (the applicant is registered, in the jurisdiction, no double claim, the
yearly cap) live in :mod:`rules.schemes.common`; a scheme module adds its own. A rule that changes on a
date is a dated variant (``@RULES.check("x", since="2022-01-01")``), never an ``if year >= ...``.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rules.policy import Policy

F = Callable[..., Any]


@dataclass(frozen=True)
class CheckResult:
    """One automatic check of a case: its name, whether it passed, the rule and clause it applies, the
    parameter it read, and what it found."""

    check: str
    passed: bool
    rule: str
    clause: str
    parameter: str | None
    detail: str
    # The computation behind the check, when it computed an amount (rules.trace.Step lines): stored with the
    # check and printed in the case dossier.
    trace: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class BenefitAward:
    """A live award (committed or paid) of another scheme that funds the same benefit (policy
    ``duplicate_benefits``), as the service found it for the applicant and fiscal year."""

    benefit: str  # the duplicate_benefits entry's name
    scheme: str
    ref: str
    award_fen: int


@dataclass(frozen=True)
class IntakeFacts:
    """Everything the intake checks read, gathered by the service (the case's form already validated
    against the scheme's declared fields, with typed values)."""

    scheme: str
    applicant_found: bool
    applicant_uscc: str
    applicant_kind: str
    applicant_district: str
    form: Mapping[str, Any]
    submitted_on: dt.date
    earlier_claims: tuple[str, ...] = ()  # refs of earlier live cases with the same claim key
    awarded_this_year_fen: int = 0  # committed or paid to the applicant under the scheme this fiscal year
    applicant_sme: bool = False
    applicant_whitelist: bool = False
    same_benefit_awards: tuple[BenefitAward, ...] = ()  # 从优从高不重复: other schemes' awards of the same benefit
    # The records the scheme's form links to (the policy's ``links:``), by link kind, as the service read them
    # (e.g. ``{"loan": rules.loans.LinkedLoan}``): the scheme's checks and amount read them.
    linked: Mapping[str, Any] = field(default_factory=dict)

    # The names the certification checks were written with (kept: the facts read the same either way).
    @property
    def certificate_no(self) -> str:
        return str(self.form.get("certificate_no", ""))

    @property
    def certification_date(self) -> dt.date | None:
        value = self.form.get("certification_date")
        return value if isinstance(value, dt.date) else None

    @property
    def earlier_same_certificate(self) -> tuple[str, ...]:
        return self.earlier_claims


@dataclass(frozen=True, slots=True)
class Candidate:
    """A case as allocation sees it."""

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
    form: Mapping[str, Any] = field(default_factory=dict)
    earlier_years_awards: int = 0  # live awards of the scheme to the applicant in earlier fiscal years
    same_benefit: tuple[BenefitAward, ...] = ()  # other schemes' live awards of the same benefit this year
    linked: Mapping[str, Any] = field(default_factory=dict)  # the linked records (IntakeFacts.linked)


@dataclass(frozen=True, slots=True)
class Outcome:
    application_id: int
    ref: str
    rank: int | None
    outcome: str  # funded | below_min_score | budget_exhausted | ineligible | rejected_in_review | pending ...
    reason: str
    award_fen: int
    final_score: Fraction | None


@dataclass
class _Dated:
    variants: list[tuple[dt.date, F]] = field(default_factory=list)

    def add(self, since: dt.date, fn: F) -> None:
        if any(d == since for d, _ in self.variants):
            raise ValueError(f"two variants from {since}")
        self.variants.append((since, fn))
        self.variants.sort(key=lambda v: v[0])

    def at(self, as_of: dt.date) -> F:
        chosen = None
        for since, fn in self.variants:
            if since <= as_of:
                chosen = fn
        if chosen is None:
            raise LookupError(f"no variant in force on {as_of} (the first is from {self.variants[0][0]})")
        return chosen


_EPOCH = dt.date(1900, 1, 1)


class SchemeRules:
    """The named functions of one scheme (or of :mod:`rules.schemes.common`)."""

    def __init__(self, name: str, outcomes: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.outcomes: dict[str, str] = dict(outcomes or {})  # outcomes this module's functions produce
        self._checks: dict[str, _Dated] = {}
        self._amounts: dict[str, _Dated] = {}
        self._rank_keys: dict[str, _Dated] = {}
        self._rank_reasons: dict[str, _Dated] = {}

    def _register(self, table: dict[str, _Dated], name: str, since: str | None) -> Callable[[F], F]:
        def deco(fn: F) -> F:
            table.setdefault(name, _Dated()).add(dt.date.fromisoformat(since) if since else _EPOCH, fn)
            return fn
        return deco

    def check(self, name: str, since: str | None = None) -> Callable[[F], F]:
        """Register an intake check ``fn(policy, facts) -> CheckResult``."""
        return self._register(self._checks, name, since)

    def amount(self, name: str, since: str | None = None) -> Callable[[F], F]:
        """Register an amount ``fn(policy, candidate, as_of) -> fen`` (before caps and the budget)."""
        return self._register(self._amounts, name, since)

    def rank_key(self, name: str, since: str | None = None) -> Callable[[F], F]:
        """Register a rank key ``fn(policy, as_of) -> (candidate -> sortable)`` (smaller ranks first)."""
        return self._register(self._rank_keys, name, since)

    def rank_reason(self, name: str, since: str | None = None) -> Callable[[F], F]:
        """Register what a rank key reads, in words, for one candidate: ``fn(policy, candidate, as_of) -> str``
        (shown beside its rank in the trial and the round's report). Optional per rank key."""
        return self._register(self._rank_reasons, name, since)

    def has_rank_reason(self, name: str) -> bool:
        return name in self._rank_reasons

    def get_rank_reason(self, name: str, as_of: dt.date) -> F:
        return self._rank_reasons[name].at(as_of)

    def has_check(self, name: str) -> bool:
        return name in self._checks

    def has_amount(self, name: str) -> bool:
        return name in self._amounts

    def has_rank_key(self, name: str) -> bool:
        return name in self._rank_keys

    def get_check(self, name: str, as_of: dt.date) -> F:
        return self._checks[name].at(as_of)

    def get_amount(self, name: str, as_of: dt.date) -> F:
        return self._amounts[name].at(as_of)

    def get_rank_key(self, name: str, as_of: dt.date) -> F:
        return self._rank_keys[name].at(as_of)

    @property
    def check_names(self) -> list[str]:
        return sorted(self._checks)


def module_name(scheme_id: str, declared: str | None = None) -> str:
    """``certification-award`` -> ``rules.schemes.certification_award`` (or the policy's ``module:``)."""
    return f"rules.schemes.{declared or scheme_id.replace('-', '_')}"


def rules_of(scheme_id: str, declared: str | None = None) -> SchemeRules:
    """The registered functions of a scheme's module (imported on first use)."""
    name = module_name(scheme_id, declared)
    try:
        mod = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        raise LookupError(f"no rules module {name.replace('.', '/')}.py for scheme {scheme_id!r}") from None
    rules = getattr(mod, "RULES", None)
    if not isinstance(rules, SchemeRules):
        raise LookupError(f"{name.replace('.', '/')}.py does not define RULES = SchemeRules(...)")
    return rules


class Resolved:
    """Where each of a scheme's named functions lives: the scheme's own module first, then common."""

    def __init__(self, scheme_id: str, declared: str | None = None) -> None:
        from rules.schemes import common

        self.scheme_id = scheme_id
        self.own = rules_of(scheme_id, declared)
        self.common = common.RULES

    def _where(self, name: str, kind: str) -> SchemeRules | None:
        for r in (self.own, self.common):
            if getattr(r, f"has_{kind}")(name):
                return r
        return None

    def has(self, kind: str, name: str) -> bool:
        return self._where(name, kind) is not None

    def check(self, name: str, as_of: dt.date) -> F:
        where = self._where(name, "check")
        if where is None:
            raise LookupError(f"check {name!r} is registered neither by {self.own.name} nor by common")
        return where.get_check(name, as_of)

    def amount(self, name: str, as_of: dt.date) -> F:
        where = self._where(name, "amount")
        if where is None:
            raise LookupError(f"amount {name!r} is not registered by {self.own.name}")
        return where.get_amount(name, as_of)

    def rank_key(self, name: str, as_of: dt.date) -> F:
        where = self._where(name, "rank_key")
        if where is None:
            raise LookupError(f"rank key {name!r} is not registered by {self.own.name}")
        return where.get_rank_key(name, as_of)

    def rank_reason(self, name: str, as_of: dt.date) -> F | None:
        where = self._where(name, "rank_reason")
        return where.get_rank_reason(name, as_of) if where is not None else None

    def outcomes(self) -> dict[str, str]:
        return {**self.common.outcomes, **self.own.outcomes}


def run_checks(policy: Policy, scheme_id: str, names: list[str], facts: IntakeFacts,
               declared: str | None = None) -> list[CheckResult]:
    """Every intake check the scheme lists, in its order, with the variant in force on submission."""
    resolved = Resolved(scheme_id, declared)
    return [resolved.check(n, facts.submitted_on)(policy, facts) for n in names]
