"""知识产权托管服务券 (二(二)5): custody service vouchers — who may hold one, what it is worth, what it
pays, until when, and to whom.

A voucher is a case of the scheme: an SME (中小微企业) applies for a voucher for one custody service of
the agency registry (咨询、培训、信息、申请、维护、运营、保护); vouchers are issued first come first served
within the budget line, each committing its face value. The SME then contracts an accredited agency at no
more than its scheduled price; the voucher pays at most ``share × contract amount`` and at most its face
value (the SME co-pays the rest). It must be contracted by its use-by date and redeemed by its redeem-by
date (months after issue); a round settles with the agency (通兑) or reimburses the enterprise (通用), as
the mode in force on the day the round is finalized says. Every number is a dated, cited, illustrative
parameter of the policy; these functions are pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from rules.money import RoundingMode, format_yuan, round_to_fen
from rules.policy import Policy, VoucherDef
from rules.schemes import Candidate, CheckResult, IntakeFacts, SchemeRules
from rules.schemes.certification_award import add_months

SCHEME = "custody-voucher"
CLAUSE = "二(二)5"

RULES = SchemeRules(SCHEME, outcomes={
    "funded": "voucher issued, its face value committed on the budget line",
    "budget_exhausted": "eligible, but the budget line cannot hold the voucher's face value",
})

# What each evidence type's content starts with (a file named .pdf that is not a PDF is refused).
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
}


def voucher_def(policy: Policy, scheme: str = SCHEME) -> VoucherDef:
    v = policy.scheme(scheme).voucher
    if v is None:
        raise LookupError(f"scheme {scheme!r} issues no vouchers (its policy section has no voucher: key)")
    return v


def services(policy: Policy) -> list[str]:
    """The custody services of the agency registry (二(二)5), in the policy's order."""
    reg = policy.agency_registry
    return list(reg.services) if reg is not None else []


@RULES.check("sme_only")
def sme_only(policy: Policy, f: IntakeFacts) -> CheckResult:
    """Custody vouchers are for 中小微企业: an enterprise registered as an SME."""
    ok = f.applicant_kind == "enterprise" and f.applicant_sme
    what = "an SME" if ok else ("an enterprise, but not an SME" if f.applicant_kind == "enterprise"
                                else f"a {f.applicant_kind or 'party of unknown kind'}, not an enterprise")
    return CheckResult("sme_only", ok, "custody vouchers are for 中小微企业 (SMEs) only", CLAUSE, None,
                       f"the applicant is {what}")


@RULES.check("custody_service")
def custody_service(policy: Policy, f: IntakeFacts) -> CheckResult:
    """The voucher is for one custody service of the agency registry, and the policy gives that service a
    face value on the day of the application."""
    v = voucher_def(policy, f.scheme)
    service = str(f.form.get(v.service_field) or "")
    known = services(policy)
    faces = policy.value(v.face_value, f.submitted_on)
    ok = service in known and service in faces
    detail = (f"service {service!r} ({policy.agency_registry.services[service].name if policy.agency_registry else ''})"
              f" has a face value of {format_yuan(int(faces[service]))}" if ok
              else f"service {service!r} is not a custody service of the registry with a face value "
                   f"(services: {', '.join(s for s in known if s in faces)})")
    return CheckResult("custody_service", ok, "the voucher is for a custody service of the agency registry", CLAUSE,
                       v.face_value, detail)


@RULES.amount("face_value")
def face_value(policy: Policy, c: Candidate, as_of: dt.date) -> int:
    """The voucher's face value: the policy's value for its service (0 for a service it does not price,
    which intake refuses before)."""
    v = voucher_def(policy)
    faces = policy.value(v.face_value, as_of)
    return int(faces.get(str(c.form.get(v.service_field) or ""), 0))


@RULES.rank_key("custody_priority")
def custody_priority(policy: Policy, as_of: dt.date) -> Callable[[Candidate], tuple[object, ...]]:
    """The order vouchers are issued in when ``custody-voucher.issue_order`` is ``ranked`` and the round asks
    for more than the line holds: first-time custody SMEs (no live voucher in an earlier fiscal year) first,
    then SMEs holding no voucher yet this year before those adding a service, then earlier submission, then
    the application id. Both priorities widen coverage, which is what the plan counts (专业知识产权托管服务
    累计覆盖中小企业 2000 家以上, 一(二)2: distinct SMEs); the facts hold no micro / small / medium size, so
    size is not a key."""
    return lambda c: (c.earlier_years_awards > 0, c.awarded_this_year_fen > 0, c.submitted_at, c.application_id)


@RULES.rank_reason("custody_priority")
def custody_priority_reason(policy: Policy, c: Candidate, as_of: dt.date) -> str:
    first = ("first-time custody SME" if c.earlier_years_awards == 0
             else f"held {c.earlier_years_awards} voucher(s) in earlier years")
    year = ("no voucher yet this year" if c.awarded_this_year_fen == 0
            else f"already holds {format_yuan(c.awarded_this_year_fen)} of vouchers this year")
    return f"ranked: {first}; {year}; submitted {c.submitted_at or '-'}"


def cover_fen(policy: Policy, on: dt.date, face_fen: int, contract_fen: int, scheme: str = SCHEME) -> int:
    """What a voucher pays for a contract: at most ``share × contract amount`` (the SME co-pays the rest)
    and at most its face value. Exact decimal inside, the policy's rounding, whole fen out."""
    if face_fen < 0 or contract_fen < 0:
        raise ValueError(f"face {face_fen} fen and contract {contract_fen} fen must not be negative")
    share = policy.decimal(voucher_def(policy, scheme).cover_share, on)
    mode = RoundingMode(policy.text("money.rounding", on))
    return min(face_fen, round_to_fen(Decimal(contract_fen) * share, mode))


@RULES.amount("voucher_cover")
def voucher_cover(policy: Policy, c: Candidate, as_of: dt.date) -> int:
    """The cover of a voucher for its service (face value from the policy) and the contract amount in
    ``form.contract_fen`` (policy test cases of :func:`cover_fen`)."""
    return cover_fen(policy, as_of, face_value(policy, c, as_of), int(c.form.get("contract_fen") or 0))


@dataclass(frozen=True, slots=True)
class Terms:
    """A voucher's terms, fixed on the day it is issued (its round's finalize date)."""

    issued_on: dt.date
    use_by: dt.date  # contract by then (使用截止日期)
    redeem_by: dt.date  # redeem by then (兑付截止日期)
    settlement_mode: str  # agency (通兑) | enterprise (通用)


def terms(policy: Policy, issued_on: dt.date, scheme: str = SCHEME, mode: str | None = None) -> Terms:
    """The use-by and redeem-by dates (months after issue, clamped to the month's end) and the settlement
    mode of a voucher issued on ``issued_on``, from the parameters in force that day; ``mode`` is the one
    its round recorded when it was opened (a round from before rounds recorded it: the mode in force on
    the day it was finalized)."""
    v = voucher_def(policy, scheme)
    use = policy.integer(v.use_by_months, issued_on)
    redeem = policy.integer(v.redeem_by_months, issued_on)
    if mode is None:
        mode_param = policy.scheme(scheme).payment.payee_mode
        mode = policy.text(mode_param, issued_on) if mode_param else "enterprise"
    return Terms(issued_on, add_months(issued_on, use), add_months(issued_on, max(redeem, use)), mode)


def required_evidence(policy: Policy, on: dt.date, mode: str | None = None, scheme: str = SCHEME) -> tuple[str, list[str]]:
    """(the parameter, the kinds of evidence) a redemption must carry in a round of settlement ``mode``:
    通兑 (agency) — the contract, the SME's receipt for its share, the deliverables; 通用 (enterprise) —
    also the agency's invoice for the full contract amount, the SME's receipt being of paying it in full
    (it is reimbursed). Which list applies to which mode is the policy's (voucher.evidence_required_by_mode)."""
    v = voucher_def(policy, scheme)
    pname = v.evidence_required_by_mode.get(mode or "", v.evidence_required)
    return pname, [str(k) for k in policy.value(pname, on)]


def payee_kind(mode: str) -> str:
    """The payment path's payee for a settlement mode: 通兑 pays the agency, 通用 the applicant."""
    return "agency" if mode == "agency" else "applicant"


def lapses(t: Terms, contracted: bool, on: dt.date) -> bool:
    """Does a voucher not yet redeemed lapse on ``on``? Uncontracted, the day after its use-by date;
    contracted, the day after its redeem-by date. (A redeemed voucher never lapses: expiry gates
    redemption, not settlement.)"""
    return on > (t.redeem_by if contracted else t.use_by)


@dataclass(frozen=True)
class Reminder:
    """A reminder due for a waiting voucher: the deadline that applies, which threshold (days ahead) it
    is, and how many days are left on the day asked."""

    deadline: dt.date
    kind: str  # use_by (使用截止日期) | redeem_by (兑付截止日期)
    days: int  # the threshold reached (a value of reminder_days)
    left: int  # days from the day asked to the deadline (0 on the day itself)


def reminder_due(t: Terms, contracted: bool, on: dt.date, thresholds: Sequence[int],
                 sent: Collection[int] = ()) -> Reminder | None:
    """Which expiry reminder, if any, is due for a voucher still waiting on ``on``: the deadline that
    applies is its use-by date uncontracted, its redeem-by date contracted; the threshold due is the
    nearest one reached (the smallest ``d`` with days left <= ``d``), unless it (for this deadline) is in
    ``sent``. So a voucher first seen 5 days ahead gets only the 7-day reminder, never the 30-day one
    too, and none is due before the largest threshold or after the deadline (the voucher lapses then)."""
    kind = "redeem_by" if contracted else "use_by"
    deadline = t.redeem_by if contracted else t.use_by
    left = (deadline - on).days
    if left < 0:
        return None
    reached = [d for d in thresholds if left <= d]
    if not reached:
        return None
    due = min(reached)
    if due in sent:
        return None
    return Reminder(deadline, kind, due, left)


def reminder_problems(values: object, where: str) -> list[str]:
    """Why a value of ``reminder_days`` is refused: it must be a non-empty list of positive whole days."""
    if not isinstance(values, list) or not values:
        return [f"{where}: {values!r} must be a non-empty list of whole days (e.g. [30, 7])"]
    return [f"{where}[{i}]: {d!r} must be a positive whole number of days"
            for i, d in enumerate(values) if isinstance(d, bool) or not isinstance(d, int) or d <= 0]


def evidence_problem(policy: Policy, on: dt.date, kind: str, filename: str, content: bytes,
                     scheme: str = SCHEME, mode: str | None = None) -> str | None:
    """Why one evidence file is refused, or None: an unknown kind (for the round's settlement mode), an
    empty file, a type the policy does not allow, or content that is not of the type its name says."""
    v = voucher_def(policy, scheme)
    pname, required = required_evidence(policy, on, mode, scheme)
    if kind not in required:
        return f"evidence kind {kind!r} is not one the policy names ({', '.join(required)}; {pname})"
    if not content:
        return f"{kind} file {filename!r} is empty (0 bytes); attach the document itself"
    allowed = [str(t).lower() for t in policy.value(v.evidence_types, on)]
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in allowed:
        return (f"{kind} file {filename!r} is of type {suffix or '(none)'!r}; the policy allows "
                f"{', '.join(allowed)} ({v.evidence_types})")
    sigs = SIGNATURES.get(suffix)
    if sigs is not None and not content.startswith(sigs):
        return f"{kind} file {filename!r} is named .{suffix} but its content is not a {suffix.upper()} file"
    return None


def missing_evidence(policy: Policy, on: dt.date, kinds: list[str], scheme: str = SCHEME,
                     mode: str | None = None) -> list[str]:
    """The kinds of evidence the policy requires (for the round's settlement mode) that a redemption lacks."""
    return [k for k in required_evidence(policy, on, mode, scheme)[1] if k not in kinds]

# --- fraud found after settlement: the clawback (追回, 二(四)13; 三(三) 保障财政资金安全) --------------------------

FRAUD_CLAUSE = "二(四)13"
# A fraud (恶意串通、弄虚作假) always voids the agency's open vouchers, whatever the policy's disposition for an
# ordinary expulsion says (agency.open_vouchers_on_expulsion): the service they would pay for is the
# evidence found false, so no holder keeps a voucher on it (Zhangye 张政办发〔2016〕66号: 该券作废).
FRAUD_DISPOSITION = "void"


def clawback_fen(paid_fen: int, named_fen: int | None = None) -> int:
    """What a fraud finding claws back of a settled voucher (追回, 二(四)13): everything the voucher was paid,
    unless the finding names an amount — then that amount, which must be more than ¥0.00 and at most what
    was paid (a clawback never asks back more than the line paid out). ValueError saying which side."""
    if paid_fen <= 0:
        raise ValueError(f"the voucher was paid {format_yuan(paid_fen)}: nothing to claw back")
    if named_fen is None:
        return paid_fen
    if named_fen <= 0:
        raise ValueError(f"{format_yuan(named_fen)} is no amount to claw back; name more than ¥0.00 or leave it "
                         "out to claw back in full")
    if named_fen > paid_fen:
        raise ValueError(f"{format_yuan(named_fen)} is above the {format_yuan(paid_fen)} the voucher was paid; a "
                         f"clawback asks back at most what was paid ({FRAUD_CLAUSE})")
    return named_fen


def recovery_problem(outstanding_fen: int, amount_fen: int) -> str | None:
    """Why money recovered on a clawback cannot be recorded, or None: it is more than ¥0.00 and at most
    what is still outstanding on the receivable (三(三): the line is never credited more than it is owed)."""
    if amount_fen <= 0:
        return f"--amount: {format_yuan(amount_fen)} must be more than ¥0.00"
    if amount_fen > outstanding_fen:
        return (f"--amount: {format_yuan(amount_fen)} is above the {format_yuan(outstanding_fen)} still outstanding "
                f"on the clawback; record at most what is owed ({FRAUD_CLAUSE}, 三(三))")
    return None


def fully_recovered(amount_fen: int, recovered_fen: int) -> bool:
    """A clawback is closed (clawed back in full) when everything it asked back has been recovered."""
    return recovered_fen >= amount_fen


# --- the grade decides the settlement (引入第三方开展托管项目绩效评价, 二(二)5) ------------------------------------

@dataclass(frozen=True, slots=True)
class Settlement:
    """What a graded voucher settles for: ``outcome`` passed (its redeemed amount), reduced (a share of
    it) or failed (nothing); ``pay_fen`` + ``release_fen`` is always the amount it held."""

    outcome: str  # passed | reduced | failed
    pay_fen: int
    release_fen: int
    grade: Fraction
    pass_grade: Decimal


def _grading(policy: Policy, scheme: str) -> tuple[str, str, str]:
    v = voucher_def(policy, scheme)
    if v.pass_grade is None or v.below_pass is None or v.reduced_share is None:
        raise LookupError(f"scheme {scheme!r} declares no grading (voucher.pass_grade, below_pass, reduced_share)")
    return v.pass_grade, v.below_pass, v.reduced_share


def passes(policy: Policy, on: dt.date, grade: Fraction, scheme: str = SCHEME) -> bool:
    """A voucher's evaluation grade (0–100, exact) passes at or above the policy's pass grade."""
    return grade >= Fraction(policy.decimal(_grading(policy, scheme)[0], on))


def settlement(policy: Policy, on: dt.date, grade: Fraction, held_fen: int, scheme: str = SCHEME) -> Settlement:
    """What a voucher holding ``held_fen`` (its redeemed amount) settles for with ``grade`` on ``on``: at or
    above the pass grade, all of it; below, the policy's choice — ``none`` (nothing, all released to the
    line) or ``reduced`` (``reduced_share × held``, rounded by money.rounding, the rest released). A
    reduced amount of ¥0.00 is no settlement (failed)."""
    if held_fen <= 0:
        raise ValueError(f"a graded voucher holds {held_fen} fen; it must hold its redeemed amount")
    pass_name, mode_name, share_name = _grading(policy, scheme)
    least = policy.decimal(pass_name, on)
    if passes(policy, on, grade, scheme):
        return Settlement("passed", held_fen, 0, grade, least)
    if policy.text(mode_name, on) == "reduced":
        share = policy.decimal(share_name, on)
        pay = min(held_fen, round_to_fen(Decimal(held_fen) * share, RoundingMode(policy.text("money.rounding", on))))
        if pay > 0:
            return Settlement("reduced", pay, held_fen - pay, grade, least)
    return Settlement("failed", 0, held_fen, grade, least)
