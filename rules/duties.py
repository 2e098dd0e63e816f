"""不相容岗位相互分离 (segregation of incompatible duties): who may do which act on which case.

One pure rule, called by every service before it writes an act and by the checker (`ipfund check`)
over every act already committed, so that data written around the services is caught too. It reads
the actor (name, roles, organisation) and the case's parties (the applicant, who submitted or imported
the case, everyone who took a review decision on it, the approver of its round, the evaluators who
declared a conflict with the applicant, the objector) and answers with the first duty the act would
break, or None.

The duties (烟政字〔2020〕47号 三(三) 保障财政资金安全; the finance bureau's internal-control rules):

* every act needs a role that may take it (:data:`rules.roles.PERMISSIONS`); auditors change nothing;
* nobody acts on a case of their own organisation (the applicant, by credit code or registered name);
* nobody reviews, evaluates, approves or pays a case they submitted or imported;
* a reviewer's case is never finalized, evaluated or paid by that reviewer (any decision counts:
  approve, return or reject), and a case reviewed in several tiers has a different reviewer at each;
* evaluators are never assigned, and never score, a case whose applicant they declared a conflict with;
* nobody of the case's other party organisations (a custody voucher's contracted agency, 二(二)5) reviews,
  evaluates, resolves, approves or pays it;
* whoever objects to an award never resolves that objection;
* the finance officer who releases or confirms a payment is not the approver of its round;
* a fraud finding (二(四)13) is never recorded by a member of the agency, and whoever recorded it does
  not record the money recovered on its clawbacks; the payee clawed back from never acts on its own
  receivable.

Organisations are compared by a normal form (:func:`org_key`): Unicode NFKC, no spaces, case folded,
so ``91370602mA3c…`` or a trailing space can never defeat a check.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from rules.roles import PERMISSIONS, allowed, roles_for
from rules.uscc import validate_uscc

ACTS: dict[str, str] = {
    "review.decide": "take a review decision (approve, return or reject)",
    "round.finalize": "finalize the round",
    "round.open": "open the round (and choose its settlement mode)",
    "evaluation.assign": "be assigned as evaluator",
    "scores.upload": "upload scores",
    "notice.object": "object to an award in public notice",
    "notice.resolve": "resolve the objection",
    "pay.batch": "release the payment",
    "pay.confirm": "import the bank's acknowledgement",
    # The service-agency registry (二(四)10, 13): the "case" is the agency, its organisation the agency's.
    "agency.apply": "apply to the registry for the agency",
    "agency.accredit": "accredit the agency",
    "agency.warn": "warn the agency",
    "agency.suspend": "suspend the agency",
    "agency.expel": "expel the agency",
    "agency.reinstate": "reinstate the agency",
    "agency.withdraw": "withdraw the agency from the registry",
    "agency.complaint": "record a complaint against the agency",
    "agency.spot_check": "record a spot check of the agency",
    "agency.monitor": "apply the monitoring thresholds to the agency",
    "agency.reward": "reward the agency",
    # Custody vouchers (二(二)5): the "case" of contract, confirm and dispute is the SME holding the voucher;
    # that of redeem is the agency the voucher is contracted with.
    "voucher.contract": "contract a service with the voucher",
    "voucher.redeem": "redeem the voucher",
    "voucher.confirm": "confirm the service of the voucher",
    "voucher.dispute": "dispute the service of the voucher",
    # Fraud found after settlement (二(四)13): the finding's "case" is the agency; a recovery's is the voucher,
    # its organisation the payee clawed back from (the agency in 通兑, the SME in 通用).
    "agency.fraud": "record a fraud finding against the agency",
    "voucher.recover": "record money recovered on the voucher's clawback",
    "voucher.resolve": "resolve the dispute of the voucher",
    # Funded projects (二(一)1, 二(四)12, 三(三)): the "case" is the project (its organisation the applicant's).
    "project.agree": "sign the agreement of the project",
    "project.report": "file a progress report of the project",
    "project.extend": "ask for an extension of the project's report",
    "project.decide_extension": "decide an extension of the project's report",
    "project.evaluate": "evaluate the project (mid-term or final)",
    "project.release": "sign off the release of the project's tranche",
    "project.rectify": "accept the project's rectification",
    "project.recover": "record money recovered on the project's clawback",
    # The IP-pledge loan registry (二(三)7): the "case" is the lending bank.
    "bank.add": "add the bank to the registry",
    "bank.suspend": "suspend the bank",
    "bank.reinstate": "reinstate the bank",
    "bank.tier": "change the bank's tier",
    "bank.account": "record the bank's account (where its 首贷 rewards are paid)",
    "loan.register": "register a loan of the bank",
    "loan.extend": "record an extension (展期) of the bank's loan",
    "loan.interest": "record an interest receipt of the bank's loan",
    "loan.repay": "record a repayment of the bank's loan",
    # The risk-compensation pool (二(三)7): a contribution's "case" is the pool; a filing's and a claim's the
    # lending bank (its staff file and claim their own bank's loans only).
    "pool.contribute": "record a contribution to the risk-compensation pool",
    "pool.file": "file the bank's loan into the risk-compensation pool",
    "pool.revoke": "revoke the filing of the bank's loan",
    "pool.claim": "claim compensation from the pool for the bank's loan",
    "pool.decide": "decide the pool claim of the bank",
    "pool.pay": "pay the pool's compensation to the bank",
    "pool.settle": "settle the pool claim of the bank after disposal",
    "loan.claim": "file a claim on the bank's loan for its borrower (代为申报)",
}

# Which relationships bar which act. Kept as data so the table-driven test, the README and the rule
# read the same thing.
BARRED: dict[str, frozenset[str]] = {
    "review.decide": frozenset({"member", "party", "submitter", "tier_decider"}),
    "round.finalize": frozenset({"member", "party", "submitter", "reviewer"}),
    "round.open": frozenset({"member", "submitter"}),  # who a round pays is not chosen by one of its applicants
    "evaluation.assign": frozenset({"member", "party", "submitter", "reviewer", "conflict"}),
    "scores.upload": frozenset({"member", "party", "submitter", "reviewer", "conflict"}),
    "notice.object": frozenset(),
    "notice.resolve": frozenset({"member", "party", "submitter", "objector"}),
    "pay.batch": frozenset({"member", "party", "submitter", "reviewer", "approver"}),
    "pay.confirm": frozenset({"member", "party", "approver"}),
    # Nobody accredits, judges, monitors or rewards an agency they belong to; its own staff apply and
    # withdraw for it (and only for it: OWN_ONLY).
    "agency.apply": frozenset(),
    "agency.accredit": frozenset({"member"}),
    "agency.warn": frozenset({"member"}),
    "agency.suspend": frozenset({"member"}),
    "agency.expel": frozenset({"member"}),
    "agency.reinstate": frozenset({"member"}),
    "agency.withdraw": frozenset(),
    "agency.complaint": frozenset({"member"}),
    "agency.spot_check": frozenset({"member"}),
    "agency.monitor": frozenset({"member"}),
    "agency.reward": frozenset({"member"}),
    "voucher.contract": frozenset(),
    "voucher.redeem": frozenset(),
    "voucher.confirm": frozenset(),
    "voucher.dispute": frozenset(),
    "agency.fraud": frozenset({"member"}),
    "voucher.recover": frozenset({"member", "finder"}),
    # the approver signing the agreement or a tranche is not of the project, did not submit or review it; the
    # evaluator has no tie to it (nor a declared conflict); whoever reviewed the report does not sign the release
    "project.agree": frozenset({"member", "submitter", "reviewer"}),
    "project.report": frozenset(),
    "project.extend": frozenset(),
    "project.decide_extension": frozenset({"member", "submitter"}),
    "project.evaluate": frozenset({"member", "submitter", "reviewer", "conflict", "approver"}),
    "project.release": frozenset({"member", "submitter", "reviewer"}),
    "project.rectify": frozenset({"member", "submitter", "approver"}),
    "project.recover": frozenset({"member", "approver"}),
    # A reviewer resolves a dispute between the SME and its agency: of neither, and not who submitted it.
    "voucher.resolve": frozenset({"member", "party", "submitter"}),
    # Nobody adds, suspends or grades a bank they belong to; its staff act for it, and only for it (OWN_ONLY).
    "bank.add": frozenset({"member"}),
    "bank.suspend": frozenset({"member"}),
    "bank.reinstate": frozenset({"member"}),
    "bank.tier": frozenset({"member"}),
    "bank.account": frozenset({"member"}),
    "loan.register": frozenset(),
    "loan.extend": frozenset(),
    "loan.interest": frozenset(),
    "loan.repay": frozenset(),
    # Nobody of the claiming bank, nor who filed the claim, decides, pays or settles it; nobody pays a claim
    # they decided.
    "pool.contribute": frozenset(),
    "pool.file": frozenset(),
    "pool.revoke": frozenset(),
    "pool.claim": frozenset(),
    "pool.decide": frozenset({"member", "submitter"}),
    "pool.pay": frozenset({"member", "submitter", "reviewer"}),
    "pool.settle": frozenset({"member", "submitter"}),
    "loan.claim": frozenset(),
}

# Acts a role may take only for its own organisation: an agency's staff (role agency) apply for and
# withdraw their own agency, never another one (admins and reviewers may act for any).
OWN_ONLY: dict[str, str] = {"agency.apply": "agency", "agency.withdraw": "agency",
                            # the SME acts on its own vouchers only; an agency redeems only its own contracts
                            "voucher.contract": "applicant", "voucher.confirm": "applicant",
                            # a project's own staff report and ask for extensions for it only
                            "project.report": "applicant", "project.extend": "applicant",
                            "voucher.dispute": "applicant", "voucher.redeem": "agency",
                            # a bank's staff register and receipt their own bank's loans only
                            "loan.register": "bank", "loan.extend": "bank", "loan.interest": "bank",
                            "loan.repay": "bank", "pool.file": "bank", "pool.revoke": "bank", "pool.claim": "bank",
                            "loan.claim": "bank"}

_OWN_PHRASE = {"agency": "an agency's staff act only for their own agency",
               "bank": "a bank's staff act only for their own bank's loans (二(三)7)"}

# being assigned needs the evaluator's role; resolving a voucher dispute the reviewer's
_ROLE_OF_ACT = {"evaluation.assign": "scores.upload", "voucher.resolve": "review.decide"}


@dataclass(frozen=True, slots=True)
class Actor:
    """The person acting, as the users table knows them."""

    name: str
    roles: frozenset[str]
    org: str | None = None


@dataclass(frozen=True, slots=True)
class CaseParties:
    """Everyone who already stands in a relationship to the case."""

    ref: str
    applicant_code: str
    applicant_name: str = ""
    submitted_by: str = ""
    reviewers: frozenset[str] = field(default_factory=frozenset)  # any review decision, any kind
    approver: str | None = None  # who finalized the round that decided the case
    conflicted: frozenset[str] = field(default_factory=frozenset)  # evaluators with a declared conflict
    objector: str | None = None  # who raised the objection being resolved
    tier_deciders: frozenset[str] = field(default_factory=frozenset)  # decided another tier of this review
    finder: str | None = None  # who recorded the fraud finding behind a clawback
    # The case's other party organisations (credit codes and names), e.g. the agencies a custody voucher
    # was contracted with (二(二)5): their people are as barred as the applicant's.
    others: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Breach:
    """The first duty an act breaks: ``kind`` is "role" (no permission) or the relationship."""

    act: str
    kind: str
    message: str


_SPACE = re.compile(r"\s+")
_CODE_LIKE = re.compile(r"[0-9A-Za-z]{15,20}")


def normalise_org(text: str) -> str:
    """The stored form of an organisation: NFKC, trimmed, inner whitespace collapsed to one space;
    a credit code in upper case without spaces."""
    t = _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    compact = t.replace(" ", "")
    if _looks_like_code(compact):
        return compact.upper()
    return t


def _looks_like_code(compact: str) -> bool:
    return bool(_CODE_LIKE.fullmatch(compact)) and any(c.isdigit() for c in compact)


def org_key(text: str | None) -> str:
    """The comparison form of an organisation (never stored): no whitespace at all, case folded."""
    if not text:
        return ""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def validate_affiliation(text: str) -> str:
    """The normal form of an affiliation a user is given, or ValueError saying what is wrong: a credit
    code must pass GB 32100-2015; a name is 2–128 printable characters."""
    t = normalise_org(text)
    if not t:
        raise ValueError("affiliation is empty; give the organisation's credit code or its name, or leave it out")
    if _looks_like_code(t.replace(" ", "")):
        return validate_uscc(t)  # CreditCodeError (a ValueError) names the failing check
    if len(t) < 2 or len(t) > 128:
        raise ValueError(f"affiliation {t[:40]!r} has {len(t)} characters; an organisation name has 2–128")
    bad = next((c for c in t if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn")), None)
    if bad is not None:
        raise ValueError(f"affiliation contains the control character U+{ord(bad):04X}; remove it")
    return t


def is_member(actor: Actor, case: CaseParties) -> bool:
    """The actor belongs to the applicant: their organisation is its credit code or its registered name."""
    mine = org_key(actor.org)
    return bool(mine) and mine in {org_key(case.applicant_code), org_key(case.applicant_name)}


_PHRASE = {
    "member": "belongs to the applicant of",
    "submitter": "submitted or imported",
    "reviewer": "took a review decision on",
    "approver": "approved the round of",
    "conflict": "declared a conflict of interest with the applicant of",
    "objector": "raised the objection to",
    "tier_decider": "already decided another review tier of",
    "finder": "recorded the fraud finding behind",
    "party": "belongs to another party (the contracted agency) of",
}


def is_party(actor: Actor, case: CaseParties) -> bool:
    """The actor belongs to one of the case's other party organisations (by credit code or name)."""
    mine = org_key(actor.org)
    return bool(mine) and mine in {org_key(o) for o in case.others}


def relations(actor: Actor, case: CaseParties) -> list[str]:
    """Every relationship the actor has with the case (kinds of :data:`_PHRASE`)."""
    out = []
    if is_member(actor, case):
        out.append("member")
    if is_party(actor, case):
        out.append("party")
    if case.submitted_by and actor.name == case.submitted_by:
        out.append("submitter")
    if actor.name in case.reviewers:
        out.append("reviewer")
    if case.approver and actor.name == case.approver:
        out.append("approver")
    if actor.name in case.conflicted:
        out.append("conflict")
    if case.objector and actor.name == case.objector:
        out.append("objector")
    if actor.name in case.tier_deciders:
        out.append("tier_decider")
    if case.finder and actor.name == case.finder:
        out.append("finder")
    return out


def breach(act: str, actor: Actor, case: CaseParties) -> Breach | None:
    """The first duty ``act`` by ``actor`` on ``case`` would break, or None when it may be taken."""
    if act not in ACTS:
        raise KeyError(f"unknown act {act!r}; known: {', '.join(ACTS)}")
    permission = _ROLE_OF_ACT.get(act, act)
    if not allowed(set(actor.roles), permission):
        return Breach(act, "role", f"{actor.name} (roles: {','.join(sorted(actor.roles)) or 'none'}) may not "
                                   f"{ACTS[act]}; this needs one of the roles {', '.join(roles_for(permission))}")
    own_role = OWN_ONLY.get(act)
    if own_role is not None and not allowed(set(actor.roles) - {own_role}, permission) \
            and not is_member(actor, case):
        named = f" ({case.applicant_name})" if case.applicant_name else ""
        return Breach(act, "not_member", f"{actor.name} (role {own_role}, of {actor.org or 'no organisation'}) does "
                                         f"not belong to {case.ref}{named}, so may not {ACTS[act]}; "
                                         + _OWN_PHRASE.get(own_role, "an applicant acts only for their own organisation"))
    barred = BARRED[act]
    for kind in relations(actor, case):
        if kind in barred:
            who = f" ({case.applicant_name})" if kind == "member" and case.applicant_name else ""
            phrase = "belongs to" if kind == "member" and act.startswith(("agency.", "bank.", "pool.")) else _PHRASE[kind]
            return Breach(act, kind, f"{actor.name} {phrase} {case.ref}{who}, so may not {ACTS[act]} "
                                     "(不相容岗位相互分离); another person must")
    return None


def breaches(act: str, actor: Actor, cases: list[CaseParties]) -> list[tuple[str, Breach]]:
    """(case ref, breach) for every case the act would break."""
    out = []
    for case in cases:
        b = breach(act, actor, case)
        if b is not None:
            out.append((case.ref, b))
    return out


def refusal(act: str, actor: Actor, found: list[tuple[str, Breach]]) -> str:
    """One message for an act refused on one or many cases (a round, a batch): what, on which cases,
    and that another person must act."""
    if len(found) == 1:
        return found[0][1].message
    roles = [b for _, b in found if b.kind == "role"]
    if roles:
        return roles[0].message
    by_kind: dict[str, list[str]] = {}
    for ref, b in found:
        by_kind.setdefault(b.kind, []).append(ref)
    parts = []
    for kind, refs in by_kind.items():
        more = f" and {len(refs) - 5} more" if len(refs) > 5 else ""
        parts.append(f"{_PHRASE[kind]} {len(refs)} case(s) ({', '.join(refs[:5])}{more})")
    return (f"{actor.name} {'; '.join(parts)}, so may not {ACTS[act]} (不相容岗位相互分离); "
            "another person must")


assert set(BARRED) == set(ACTS) and all(_ROLE_OF_ACT.get(a, a) in PERMISSIONS for a in ACTS)
