"""The accredited service-agency registry (服务机构库): pure rules, no I/O.

烟政字〔2020〕47号 二(二)5 buys full-process IP custody (咨询、培训、信息、申请、维护、运营、保护) from
service agencies; 二(四)10 manages the agencies of the cluster zone dynamically (入驻和迁出的动态监测、奖励和
退出); 二(四)13 adds public information and credit supervision (信息公示和信用监管). This module says:

* the lifecycle: applied → accredited → warned → suspended → expelled, or withdrawn, with reinstatement
  (warned or suspended → accredited, after rectification: 整改) and re-application (applied or withdrawn
  → applied, with new facts). Expelled is final: expulsion is for fraud and the agency's credit record
  keeps it;
* what accreditation checks (the policy's ``agency_registry.requirements``, each a named result with
  its clause and what it found);
* what a year's record recommends (warning, suspension, expulsion) by the policy's thresholds;
* who gets the yearly reward (a deterministic ranking);
* whether an agency is accredited for a service, at a price, on a date — the question vouchers ask.

Every number is a policy parameter read as of a date; nothing here knows Yantai.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

from rules.errors import IllegalTransition, ReasonRequired
from rules.uscc import CreditCodeError, validate_uscc

if TYPE_CHECKING:
    from rules.policy import AgencyRegistryDef, AgencyRequirementDef, Policy

STATES = ("applied", "accredited", "warned", "suspended", "expelled", "withdrawn")
# On the public list: may be contracted and redeem vouchers. A warned agency still serves (a warning is
# public, 信息公示); a suspended one does not, from the moment it is suspended.
ACTIVE = frozenset({"accredited", "warned"})
DISPOSITIONS = ("return_to_holder", "void")  # what happens to an agency's open vouchers when it leaves

Action = Literal["apply", "accredit", "warn", "suspend", "expel", "reinstate", "withdraw"]


@dataclass(frozen=True, slots=True)
class Transition:
    action: str
    from_states: frozenset[str | None]  # None: the agency is not yet in the registry
    to: str
    clause: str
    reason_required: bool


TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition("apply", frozenset({None, "applied", "withdrawn"}), "applied", "二(四)10", False),
    Transition("accredit", frozenset({"applied"}), "accredited", "二(四)10", False),
    Transition("warn", frozenset({"accredited"}), "warned", "二(四)13", True),
    Transition("suspend", frozenset({"accredited", "warned"}), "suspended", "二(四)10", True),
    Transition("expel", frozenset({"accredited", "warned", "suspended"}), "expelled", "二(四)10", True),
    Transition("reinstate", frozenset({"warned", "suspended"}), "accredited", "二(四)10", True),
    # A suspended agency cannot withdraw: leaving would escape the expulsion its suspension may lead to.
    Transition("withdraw", frozenset({"applied", "accredited", "warned"}), "withdrawn", "二(四)10", True),
)}


def transition(action: str, state: str | None, reason: str = "", who: str = "the agency") -> Transition:
    """The transition ``action`` takes from ``state``; IllegalTransition (naming the states it may be
    taken from) or ReasonRequired when it may not be taken."""
    t = TRANSITIONS.get(action)
    if t is None:
        raise IllegalTransition(f"{action!r} is not an act of the agency registry (acts: {', '.join(TRANSITIONS)})")
    if state not in t.from_states:
        allowed = ", ".join(sorted("not yet registered" if s is None else s for s in t.from_states))
        now = "not registered" if state is None else state
        raise IllegalTransition(f"{who} is {now}; {action!r} applies only to an agency that is {allowed} "
                                f"({t.clause})")
    if t.reason_required and not reason.strip():
        raise ReasonRequired(f"{action!r} of {who} needs a reason (--reason TEXT): the public list and the agency's "
                             f"credit record show it ({t.clause})")
    return t


def open_vouchers_disposition(policy: Policy, to_state: str, on: dt.date) -> str | None:
    """What happens to the agency's open vouchers when it moves to ``to_state``: the policy's choice for a
    suspension or an expulsion (``return_to_holder`` or ``void``), None for any other state."""
    reg = registry_of(policy)
    name = {"suspended": reg.open_vouchers.suspended, "expelled": reg.open_vouchers.expelled}.get(to_state)
    return None if name is None else policy.text(name, on)


def registry_of(policy: Policy) -> AgencyRegistryDef:
    if policy.agency_registry is None:
        raise LookupError(f"policy {policy.id} has no agency_registry section; the registry needs one")
    return policy.agency_registry


# --- accreditation ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AgencyFacts:
    """What an agency declares when it applies (and a reviewer verifies before accrediting)."""

    uscc: str
    name: str
    office_address: str
    staff_count: int
    independent_liability: bool


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: str
    passed: bool
    clause: str
    detail: str
    parameter: str | None = None


def _registered(facts: AgencyFacts, req: AgencyRequirementDef, policy: Policy, on: dt.date) -> tuple[bool, str]:
    try:
        code = validate_uscc(facts.uscc)
    except CreditCodeError as exc:
        return False, f"credit code {facts.uscc!r} fails GB 32100-2015 ({exc.check}): {exc}"
    return True, f"credit code {code} passes GB 32100-2015"


def _office(facts: AgencyFacts, req: AgencyRequirementDef, policy: Policy, on: dt.date) -> tuple[bool, str]:
    address = facts.office_address.strip()
    if not address:
        return False, "no fixed office address is declared (有固定的办公场所)"
    return True, f"fixed office at {address}"


def _staff(facts: AgencyFacts, req: AgencyRequirementDef, policy: Policy, on: dt.date) -> tuple[bool, str]:
    assert req.parameter is not None  # the policy loader refuses a minimum_staff check without one
    least = policy.integer(req.parameter, on)
    if facts.staff_count < least:
        return False, f"{facts.staff_count} full-time staff; at least {least} are needed ({req.parameter})"
    return True, f"{facts.staff_count} full-time staff (at least {least})"


def _liability(facts: AgencyFacts, req: AgencyRequirementDef, policy: Policy, on: dt.date) -> tuple[bool, str]:
    if not facts.independent_liability:
        return False, "the agency does not bear legal liability independently (能独立承担法律责任)"
    return True, "bears legal liability independently"


_CheckFn = Callable[[AgencyFacts, "AgencyRequirementDef", "Policy", dt.date], tuple[bool, str]]
_CHECK_FNS: dict[str, _CheckFn] = {
    "registered_credit_code": _registered,
    "fixed_office": _office,
    "minimum_staff": _staff,
    "independent_liability": _liability,
}
# check name -> the unit of the parameter it reads (None: it reads none). The policy loader reads this.
CHECKS: dict[str, str | None] = {"registered_credit_code": None, "fixed_office": None, "minimum_staff": "count",
                                 "independent_liability": None}


def accreditation_checks(policy: Policy, facts: AgencyFacts, on: dt.date) -> list[CheckResult]:
    """Every requirement of the policy's registry, in its order, judged on ``facts`` as of ``on``."""
    out = []
    for req in registry_of(policy).requirements:
        passed, detail = _CHECK_FNS[req.check](facts, req, policy, on)
        out.append(CheckResult(req.check, passed, req.clause, detail, req.parameter))
    return out


@dataclass(frozen=True, slots=True)
class PriceEntry:
    """One line of an agency's price schedule (服务定价机制): the price of a service from a date on."""

    service: str
    effective_from: dt.date
    price_fen: int


def schedule_problems(policy: Policy, entries: Sequence[PriceEntry], on: dt.date) -> list[str]:
    """Every problem with a price schedule an agency is accredited with, naming the service: a service
    the policy does not list, a negative price, a service priced twice on one date, none at all."""
    services = registry_of(policy).services
    out = []
    if not entries:
        out.append("services: accredit the agency for at least one service (--service SERVICE=YUAN)")
    seen: set[tuple[str, dt.date]] = set()
    for e in entries:
        if e.service not in services:
            out.append(f"service {e.service!r} is not a custody service of the policy "
                       f"(services: {', '.join(services)}; 二(二)5)")
        if e.price_fen < 0:
            out.append(f"service {e.service!r}: price {e.price_fen} fen is negative; a price is 0 fen or more")
        if (e.service, e.effective_from) in seen:
            out.append(f"service {e.service!r} is priced twice from {e.effective_from.isoformat()}")
        seen.add((e.service, e.effective_from))
    return out


# --- the question vouchers ask --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AgencyRecord:
    """An agency as the registry knows it: its states over time (date, state after the event, in event
    order) and its price schedule."""

    uscc: str
    name: str
    history: tuple[tuple[dt.date, str], ...]
    prices: tuple[PriceEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class Standing:
    """Whether an agency may provide a service on a date (and at a price), and why (not)."""

    accredited: bool
    state: str | None
    price_fen: int | None
    reason: str


def state_on(record: AgencyRecord, on: dt.date) -> str | None:
    """The agency's state at the end of ``on`` (the last event on or before it), None before it applied."""
    state = None
    for when, to in record.history:
        if when > on:
            break
        state = to
    return state


def price_on(record: AgencyRecord, service: str, on: dt.date) -> int | None:
    """The scheduled price of ``service`` in force on ``on`` (the latest entry from on or before it)."""
    dated = [e for e in record.prices if e.service == service and e.effective_from <= on]
    return max(dated, key=lambda e: e.effective_from).price_fen if dated else None


def standing(record: AgencyRecord, service: str, on: dt.date, price_fen: int | None = None) -> Standing:
    """Is the agency accredited for ``service`` on ``on`` (and, given ``price_fen``, at that price: a
    contract may not exceed the scheduled price)? Accredited means on the public list (accredited or
    warned) that day, with the service in its schedule in force that day."""
    state = state_on(record, on)
    if state not in ACTIVE:
        why = "was not registered" if state is None else f"was {state}"
        return Standing(False, state, None, f"{record.name} ({record.uscc}) {why} on {on.isoformat()} (二(四)10)")
    scheduled = price_on(record, service, on)
    if scheduled is None:
        return Standing(False, state, None, f"{record.name} is not accredited for {service!r} on {on.isoformat()} "
                                            "(二(二)5)")
    if price_fen is not None and price_fen > scheduled:
        return Standing(False, state, scheduled, f"{price_fen} fen is above {record.name}'s scheduled price of "
                                                 f"{scheduled} fen for {service!r} (服务定价机制, 二(二)5)")
    return Standing(True, state, scheduled, f"{record.name} is {state} for {service!r} at {scheduled} fen")


def is_accredited(record: AgencyRecord, service: str, on: dt.date, price_fen: int | None = None) -> bool:
    return standing(record, service, on, price_fen).accredited


# --- monitoring -------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class YearRecord:
    """An agency's record for one calendar year (动态监测): complaints, spot checks, evaluation grades."""

    year: int
    complaints: int = 0
    spot_checks_passed: int = 0
    spot_checks_failed: int = 0
    fraud_found: int = 0  # spot checks that found fraud (恶意串通、弄虚作假)
    grades: tuple[Fraction, ...] = ()  # evaluation grades 0–100 of its services


@dataclass(frozen=True, slots=True)
class Recommendation:
    action: Literal["none", "warn", "suspend", "expel"]
    clause: str
    reasons: tuple[str, ...] = field(default_factory=tuple)


def low_grades(policy: Policy, record: YearRecord, on: dt.date) -> int:
    least = Fraction(policy.decimal(registry_of(policy).monitoring.min_grade, on))
    return sum(1 for g in record.grades if g < least)


def recommend(policy: Policy, record: YearRecord, on: dt.date) -> Recommendation:
    """What the year's record calls for, the gravest first: fraud → expulsion (二(四)13 credit
    supervision); failed spot checks or low grades at or above their thresholds → suspension (二(四)10);
    complaints at or above theirs → a warning (二(四)13). Every threshold that is met is a reason."""
    mon = registry_of(policy).monitoring
    reasons: list[str] = []
    action: Literal["none", "warn", "suspend", "expel"] = "none"
    clause = ""
    if record.fraud_found:
        reasons.append(f"{record.fraud_found} spot check(s) found fraud (恶意串通、弄虚作假)")
        action, clause = "expel", "二(四)13"
    failed_limit = policy.integer(mon.spot_check_failures_suspension, on)
    if record.spot_checks_failed >= failed_limit:
        reasons.append(f"{record.spot_checks_failed} failed spot check(s) in {record.year} "
                       f"(suspension from {failed_limit}, {mon.spot_check_failures_suspension})")
    low = low_grades(policy, record, on)
    low_limit = policy.integer(mon.low_grades_suspension, on)
    if low >= low_limit:
        reasons.append(f"{low} evaluation grade(s) below {policy.decimal(mon.min_grade, on)} in {record.year} "
                       f"(suspension from {low_limit}, {mon.low_grades_suspension})")
    if action == "none" and (record.spot_checks_failed >= failed_limit or low >= low_limit):
        action, clause = "suspend", "二(四)10"
    complaint_limit = policy.integer(mon.complaints_warning, on)
    if record.complaints >= complaint_limit:
        reasons.append(f"{record.complaints} complaint(s) in {record.year} "
                       f"(warning from {complaint_limit}, {mon.complaints_warning})")
        if action == "none":
            action, clause = "warn", "二(四)13"
    return Recommendation(action, clause, tuple(reasons))


def act_for(state: str, rec: Recommendation) -> str | None:
    """The registry act the monitoring takes on an agency in ``state``, or None: it never repeats a step
    already taken (a warned agency is not warned again) and never moves an agency back."""
    if rec.action == "expel" and state in TRANSITIONS["expel"].from_states:
        return "expel"
    if rec.action == "suspend" and state in TRANSITIONS["suspend"].from_states:
        return "suspend"
    if rec.action == "warn" and state in TRANSITIONS["warn"].from_states:
        return "warn"
    return None


# --- the yearly reward --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RewardCandidate:
    uscc: str
    name: str
    state: str
    record: YearRecord


@dataclass(frozen=True, slots=True)
class Ranked:
    rank: int
    uscc: str
    name: str
    mean_grade: Fraction
    record: YearRecord


def reward_ranking(policy: Policy, candidates: Iterable[RewardCandidate], on: dt.date) -> tuple[
        list[Ranked], list[tuple[str, str]]]:
    """The agencies eligible for the yearly reward in rank order, and (credit code, why) for the rest.

    Eligible: accredited (not warned, suspended or gone) when the reward is decided, nothing in the
    year's record that calls for a warning or worse, and at least the policy's minimum of grades.
    Ranked by mean grade (exact, highest first), then fewer complaints, fewer failed spot checks, more
    passed spot checks, and finally the credit code (ascending) so that equal records never tie."""
    reward = registry_of(policy).reward
    least = policy.integer(reward.min_grades, on)
    eligible: list[RewardCandidate] = []
    excluded: list[tuple[str, str]] = []
    for c in sorted(candidates, key=lambda c: c.uscc):
        rec = recommend(policy, c.record, on)
        if c.state != "accredited":
            excluded.append((c.uscc, f"is {c.state}, not accredited"))
        elif rec.action != "none":
            excluded.append((c.uscc, f"its {c.record.year} record calls for {rec.action}: {'; '.join(rec.reasons)}"))
        elif len(c.record.grades) < least:
            excluded.append((c.uscc, f"{len(c.record.grades)} grade(s) in {c.record.year}; at least {least} needed"))
        else:
            eligible.append(c)

    def mean(c: RewardCandidate) -> Fraction:
        return Fraction(sum(c.record.grades, Fraction(0)), len(c.record.grades))

    ordered = sorted(eligible, key=lambda c: (-mean(c), c.record.complaints, c.record.spot_checks_failed,
                                              -c.record.spot_checks_passed, c.uscc))
    return [Ranked(i, c.uscc, c.name, mean(c), c.record) for i, c in enumerate(ordered, 1)], excluded
