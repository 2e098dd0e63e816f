"""Fraud found after settlement (恶意串通、弄虚作假, 二(四)13; 三(三) 保障财政资金安全): the finding, the clawback
as a receivable on the ledger, and the money recovered.

* :func:`record_finding` — one human act (a reviewer or admin not of the agency), in the caller's unit of
  work: the finding is recorded; the agency is expelled through the registry's own transition (unless it
  already is), which voids every open voucher of the agency — redeemed ones not yet in payment too, a
  fraud always voids — releasing their commitments and telling each holder; and each *settled* voucher the
  finding names is clawed back: a ``clawback`` posting moves the amount (all it was paid, or the amount
  the finding names) from the line's ``paid`` bucket to its ``receivable``, owed by the payee the
  settlement paid. The settlement's posting and payment row are never touched.
* :func:`recover` — finance records money recovered with the bank's receipt reference (part or all;
  idempotent on the receipt): a ``recovery`` posting moves it receivable → available, the money returns
  to the line; recovered in full, the voucher is clawed back (``recovered``).

Which vouchers are clawed back: those the finding names (``--voucher REF`` or ``REF=YUAN``), never all of
an agency's settled vouchers by default — a clawback asks a payee for money, and each one needs the
finding's evidence behind it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from flows.services import agencies, cases, vouchers
from flows.services import duties as duty_svc
from flows.services.context import acting, current_policy
from flows.services.notifications import notify
from flows.services.text_input import clean, limit
from models import audit, ledger
from models.clock import now, stamp
from models.tables import (
    Agency,
    AgencyEvent,
    Application,
    FraudFinding,
    Payment,
    Posting,
    VoucherClawback,
    VoucherRecovery,
)
from rules import duties
from rules.audit_chain import canonical_json
from rules.errors import IdempotencyConflict, NotFound, ValidationFailed, VoucherRefused
from rules.funds import proportional_moves
from rules.money import MoneyFormatError, format_yuan, parse_yuan
from rules.schemes import custody_voucher as rules

CLAUSE = rules.FRAUD_CLAUSE


@dataclass
class FindingResult:
    finding: FraudFinding
    expelled: bool
    voided: list[str]
    in_payment: list[str]
    clawbacks: list[tuple[str, VoucherClawback]]  # (voucher ref, its clawback)


@dataclass
class RecoveryResult:
    recovery: VoucherRecovery
    clawback: VoucherClawback
    created: bool  # False: the receipt was recorded before (the same request), nothing written


def _live_payment(session: Session, app_id: int) -> Payment | None:
    """The settlement's payment the bank confirmed paid (at most one: the live-payment unique index)."""
    return session.exec(select(Payment).where(Payment.application_id == app_id, Payment.status == "paid")).first()


def _payment_posting(session: Session, app: Application, p: Payment) -> Posting:
    post = session.exec(select(Posting).where(Posting.subject == f"app:{app.ref}", Posting.kind == "payment",
                                              Posting.memo == f"payment {p.idempotency_key}")).first()
    assert post is not None and post.id is not None, (app.ref, p.idempotency_key)
    return post


def _split(amount_fen: int, left: dict[tuple[str, str], int], src: str, dst: str) -> list[tuple[str, int]]:
    """Entries moving ``amount_fen`` from ``src`` to ``dst`` on each (line, source) in proportion to what it
    holds (largest remainder), so a full amount moves exactly as it was booked."""
    assert sum(v for v in left.values() if v > 0) >= amount_fen, (amount_fen, left)  # paired with the clawback rule
    return proportional_moves(amount_fen, left, src, dst)


def _named(specs: Sequence[str]) -> tuple[list[tuple[str, int | None]], list[str]]:
    """``REF`` or ``REF=YUAN`` for each --voucher: (ref, named amount or None) and the problems."""
    out: list[tuple[str, int | None]] = []
    problems: list[str] = []
    for spec in specs:
        ref, eq, amount = spec.partition("=")
        ref = ref.strip().upper()
        if not ref:
            problems.append(f"--voucher {spec.strip()[:40]!r}: write REF or REF=YUAN, e.g. CV-2021-00001=4000")
            continue
        if ref in [r for r, _ in out]:
            problems.append(f"--voucher {ref}: named twice")
            continue
        fen = None
        if eq:
            try:
                fen = parse_yuan(amount, field=f"--voucher {ref}: amount")
            except MoneyFormatError as exc:
                problems.append(str(exc))
                continue
        out.append((ref, fen))
    return out, problems


def record_finding(session: Session, actor: str | None, uscc: str, finding: str, clause: str = CLAUSE,
                   voucher_specs: Sequence[str] = ()) -> FindingResult:
    """A fraud finding against an agency (二(四)13), one act in the caller's unit of work: record it, expel
    the agency (its open vouchers void, holders told), and claw back each settled voucher it names. Refused,
    nothing written, naming the voucher and the rule: a member of the agency recording it, a named voucher
    that is not this agency's, not settled (an open one is voided by the finding itself), already clawed
    back, or an amount above what it was paid."""
    user = acting(session, actor, "agency.fraud")
    agency = agencies.get(session, uscc)
    duty_svc.require("agency.fraud", user, [agencies.parties(agency)])
    policy = current_policy(session)
    what = f"fraud finding against agency {agency.uscc}"
    text = clean(finding, field="--finding", max_len=limit(FraudFinding, "finding"), what=what, multiline=True,
                 required=True)
    cl = clean(clause, field="--clause", max_len=limit(FraudFinding, "clause"), what=what, required=True)
    named, problems = _named(voucher_specs)
    targets: list[tuple[Application, Payment, int]] = []
    for ref, fen in named:
        try:
            app = vouchers.get_voucher(session, ref)
        except NotFound:
            problems.append(f"--voucher {ref}: no such voucher")
            continue
        assert app.id is not None
        wf = cases.workflow(policy, app.scheme)
        if session.exec(select(VoucherClawback.id).where(VoucherClawback.application_id == app.id)).first():
            problems.append(f"--voucher {ref} was already clawed back; a voucher is clawed back once ({CLAUSE})")
            continue
        p = _live_payment(session, app.id)
        if "claw_back" not in wf.actions_from(app.status) or p is None:
            problems.append(f"--voucher {ref} is {app.status!r} ({wf.state_name(app.status)}), not settled: only "
                            "money paid out is clawed back; an open voucher of the agency is voided by the finding "
                            f"itself ({CLAUSE})")
            continue
        r = vouchers.redemption_of(session, app.id)
        if r is None or r.agency_id != agency.id:
            problems.append(f"--voucher {ref} was not redeemed by agency {agency.uscc}; a finding claws back only "
                            f"the agency's own vouchers ({CLAUSE})")
            continue
        try:
            amount = rules.clawback_fen(p.amount_fen, fen)
        except ValueError as exc:
            problems.append(f"--voucher {ref}: {exc}")
            continue
        targets.append((app, p, amount))
    if problems:
        raise ValidationFailed(what, problems)

    expelled = agency.state != "expelled"
    event_id = None
    refs_before = _open_refs(session, policy, agency)
    if expelled:
        ev = agencies._move(session, agency, "expel", user.name, reason=f"fraud finding ({cl}): {text}"[:1000],
                            clause=cl, policy=policy, fraud=True,
                            detail={"fraud_finding": True, "vouchers_named": [a.ref for a, _, _ in targets]})
        event_id = ev.id
    else:
        # Expelled earlier: nothing to transition, but any voucher still open with it is void all the same.
        last = session.exec(select(AgencyEvent).where(AgencyEvent.agency_id == agency.id)
                            .order_by(col(AgencyEvent.id).desc())).first()
        assert last is not None
        vouchers.on_agency_exit(session, policy, agency, rules.FRAUD_DISPOSITION, last, stamp(), redeemed_too=True)
    voided = [ref for ref in refs_before if _status(session, ref) == "voided"]
    in_payment = [ref for ref in refs_before if ref not in voided]
    at = stamp()
    ff = FraudFinding(agency_id=agency.id or 0, finding=text, clause=cl, found_by=user.name, found_on=today().isoformat(),
                      agency_event_id=event_id, at=at, detail=canonical_json({
                          "vouchers_named": [{"ref": a.ref, "amount_fen": amt, "paid_fen": p.amount_fen}
                                             for a, p, amt in targets],
                          "voided": voided, "in_payment": in_payment, "expelled": expelled}))
    session.add(ff)
    session.flush()
    assert ff.id is not None
    audit.append(session, actor=user.name, action="agency.fraud", subject=f"agency:{agency.uscc}", at=at,
                 payload={"finding_id": ff.id, "finding": text, "clause": cl, "agency_event_id": event_id,
                          "vouchers_named": [a.ref for a, _, _ in targets], "voided": voided,
                          "in_payment": in_payment})
    clawbacks = [(app.ref, _claw_back(session, policy, user.name, ff, app, p, amount, at)) for app, p, amount in targets]
    return FindingResult(ff, expelled, voided, in_payment, clawbacks)


def today() -> dt.date:
    return now().date()


def _status(session: Session, ref: str) -> str:
    return str(session.exec(select(Application.status).where(Application.ref == ref)).one())


def _open_refs(session: Session, policy: Any, agency: Agency) -> list[str]:
    """The vouchers with a live contract with the agency that are not paid (what a fraud voids, or — in a
    payment batch — leaves to settle)."""
    from models.tables import VoucherContract

    rows = session.exec(select(Application).join(VoucherContract, col(VoucherContract.application_id)
                                                 == col(Application.id))
                        .where(VoucherContract.agency_id == agency.id, col(VoucherContract.ended_at).is_(None))
                        .order_by(col(Application.id))).all()
    out = []
    for app in rows:
        if app.status not in policy.scheme(app.scheme).states_tagged("paid"):
            out.append(app.ref)
    return out


def _claw_back(session: Session, policy: Any, actor: str, ff: FraudFinding, app: Application, p: Payment,
               amount: int, at: str) -> VoucherClawback:
    """paid → receivable on the settlement's line and sources for ``amount`` (a new posting), the
    clawback row, the voucher's state (claw_back) and the payee told."""
    assert app.id is not None and p.id is not None and ff.id is not None
    paid: dict[tuple[str, str], int] = defaultdict(int)
    pay_post = _payment_posting(session, app, p)
    assert pay_post.id is not None
    for account, fen in ledger.posting_entries(session, pay_post.id):
        _, code, source, bucket = account.split(":")
        if bucket == "paid" and fen > 0:
            paid[(code, source)] += fen
    entries = _split(amount, paid, "paid", "receivable")
    post = ledger.post(session, year=app.year, kind="clawback", memo=f"clawback {app.ref}: fraud finding {ff.id}",
                       actor=actor, entries=entries, subject=f"app:{app.ref}", at=at)
    assert post.id is not None
    cb = VoucherClawback(application_id=app.id, finding_id=ff.id, payment_id=p.id, year=app.year,
                         line_code=p.line_code, debtor_uscc=p.uscc, debtor_name=p.payee, amount_fen=amount,
                         recovered_fen=0, posting_id=post.id, opened_by=actor, at=at)
    session.add(cb)
    session.flush()
    cases.move(session, app, "claw_back", actor, {"system"}, reason=f"fraud finding {ff.id} ({ff.clause}): {ff.finding}",
               at=at, policy=policy, payload={"finding_id": ff.id, "clawback_id": cb.id, "amount_fen": amount,
                                               "paid_fen": p.amount_fen, "debtor": p.uscc, "posting_id": post.id,
                                               "payment": p.idempotency_key})
    notify(session, recipient=p.uscc, subject=f"托管服务券资金追回 {app.ref} ({ff.clause})",
           body=(f"{p.payee} ({p.uscc}): a fraud finding ({ff.clause}) claws back {format_yuan(amount)} of the "
                 f"{format_yuan(p.amount_fen)} paid for {app.ref} ({p.idempotency_key}). Repay it to the programme's "
                 "account; the finance bureau records the repayment with the bank's receipt."),
           cause=f"voucher_clawback:{cb.id}", at=at)
    return cb


# --- recovery -----------------------------------------------------------------------------------------------

def clawback_of(session: Session, app_id: int) -> VoucherClawback | None:
    return session.exec(select(VoucherClawback).where(VoucherClawback.application_id == app_id)).first()


def _parties(session: Session, app: Application, cb: VoucherClawback) -> duties.CaseParties:
    ff = session.get(FraudFinding, cb.finding_id)
    return duties.CaseParties(ref=f"{app.ref} (clawed back from {cb.debtor_uscc})", applicant_code=cb.debtor_uscc,
                              applicant_name=cb.debtor_name, finder=ff.found_by if ff else None)


def _date(value: str | None, what: str) -> dt.date:
    if value is None or not value.strip():
        return today()
    try:
        d = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed(what, [f"--on: {value.strip()[:20]!r} is not a date (YYYY-MM-DD)"]) from None
    if d > today():
        raise ValidationFailed(what, [f"--on: {d.isoformat()} is in the future (today is {today().isoformat()})"])
    return d


def recover(session: Session, actor: str | None, key: str, amount_yuan: str, receipt: str,
            received_on: str | None = None) -> RecoveryResult:
    """Finance records money recovered on a voucher's clawback with the bank's receipt reference (二(四)13,
    三(三)): receivable → available on the line, in part or in full; in full, the voucher is clawed back.
    Idempotent on the receipt: the same receipt for the same voucher and amount returns the recovery
    recorded before (nothing written); the same receipt for anything else is a conflict. Refused, nothing
    written: above what is outstanding, by whoever recorded the finding, by the payee's own organisation."""
    user = acting(session, actor, "voucher.recover")
    app = vouchers.get_voucher(session, key)
    assert app.id is not None
    what = f"recovery on voucher {app.ref}"
    cb = clawback_of(session, app.id)
    if cb is None:
        raise VoucherRefused(f"{app.ref} is {app.status!r}: it has no clawback; money is recovered only on a voucher "
                             f"a fraud finding clawed back (`ipfund agency fraud`, {CLAUSE})")
    duty_svc.require("voucher.recover", user, [_parties(session, app, cb)])
    ref = clean(receipt, field="--receipt", max_len=limit(VoucherRecovery, "receipt_ref"), what=what, required=True)
    try:
        amount = parse_yuan(amount_yuan, field="--amount")
    except MoneyFormatError as exc:
        raise ValidationFailed(what, [str(exc)]) from None
    earlier = session.exec(select(VoucherRecovery).where(VoucherRecovery.receipt_ref == ref)).first()
    if earlier is not None:
        if earlier.clawback_id == cb.id and earlier.amount_fen == amount:
            return RecoveryResult(earlier, cb, False)
        other = session.get(VoucherClawback, earlier.clawback_id)
        on_ref = session.get(Application, other.application_id).ref if other else "?"  # type: ignore[union-attr]
        raise IdempotencyConflict(f"receipt {ref} was recorded on {earlier.received_on} for {format_yuan(earlier.amount_fen)} "
                                  f"on {on_ref}; this request is {format_yuan(amount)} on {app.ref} — a bank receipt is "
                                  "recorded once; refused, nothing written")
    outstanding = cb.amount_fen - cb.recovered_fen
    problem = rules.recovery_problem(outstanding, amount)
    if problem is not None:
        raise ValidationFailed(what, [problem])
    on = _date(received_on, what)
    left: dict[tuple[str, str], int] = defaultdict(int)
    for pid in [cb.posting_id] + [r.posting_id for r in session.exec(
            select(VoucherRecovery).where(VoucherRecovery.clawback_id == cb.id)).all()]:
        for account, fen in ledger.posting_entries(session, pid):
            _, code, source, bucket = account.split(":")
            if bucket == "receivable":
                left[(code, source)] += fen
    at = stamp()
    post = ledger.post(session, year=cb.year, kind="recovery", memo=f"recovery {app.ref}: receipt {ref}",
                       actor=user.name, entries=_split(amount, left, "receivable", "available"),
                       subject=f"app:{app.ref}", at=at)
    assert post.id is not None and cb.id is not None
    rec = VoucherRecovery(clawback_id=cb.id, amount_fen=amount, receipt_ref=ref, received_on=on.isoformat(),
                          recorded_by=user.name, posting_id=post.id, at=at)
    session.add(rec)
    session.execute(update(VoucherClawback).where(col(VoucherClawback.id) == cb.id)
                    .values(recovered_fen=VoucherClawback.recovered_fen + amount)
                    .execution_options(synchronize_session=False))
    session.flush()
    session.refresh(cb)
    payload = {"recovery_id": rec.id, "clawback_id": cb.id, "amount_fen": amount, "receipt": ref,
               "received_on": rec.received_on, "recovered_fen": cb.recovered_fen,
               "outstanding_fen": cb.amount_fen - cb.recovered_fen, "posting_id": post.id}
    if rules.fully_recovered(cb.amount_fen, cb.recovered_fen):
        cases.move(session, app, "recovered", user.name, {"finance"}, at=at, payload=payload)
    else:
        audit.append(session, actor=user.name, action="voucher.recovery", subject=f"app:{app.ref}", at=at,
                     payload=payload)
    return RecoveryResult(rec, cb, True)


# --- reads ------------------------------------------------------------------------------------------------

def clawback_view(session: Session, app_id: int) -> dict[str, Any] | None:
    """A voucher's clawback as `voucher show` and the dossier print it, None when it has none."""
    cb = clawback_of(session, app_id)
    if cb is None:
        return None
    ff = session.get(FraudFinding, cb.finding_id)
    agency = session.get(Agency, ff.agency_id) if ff else None
    recs = session.exec(select(VoucherRecovery).where(VoucherRecovery.clawback_id == cb.id)
                        .order_by(col(VoucherRecovery.id))).all()
    return {"id": cb.id, "amount_fen": cb.amount_fen, "recovered_fen": cb.recovered_fen,
            "outstanding_fen": cb.amount_fen - cb.recovered_fen, "debtor": cb.debtor_name,
            "debtor_uscc": cb.debtor_uscc, "opened_by": cb.opened_by, "at": cb.at, "posting_id": cb.posting_id,
            "finding": None if ff is None else {
                "id": ff.id, "agency": agency.uscc if agency else None, "agency_name": agency.name if agency else None,
                "finding": ff.finding, "clause": ff.clause, "found_by": ff.found_by, "found_on": ff.found_on},
            "recoveries": [{"amount_fen": r.amount_fen, "receipt": r.receipt_ref, "received_on": r.received_on,
                            "by": r.recorded_by, "posting_id": r.posting_id} for r in recs]}


def clawback_totals(session: Session, app_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """application id -> (clawed back, recovered) fen, for the voucher list."""
    out: dict[int, tuple[int, int]] = {}
    ids = list(app_ids)
    for i in range(0, len(ids), 900):
        for cb in session.exec(select(VoucherClawback).where(col(VoucherClawback.application_id).in_(ids[i:i + 900]))):
            out[cb.application_id] = (cb.amount_fen, cb.recovered_fen)
    return out


def findings(session: Session, uscc: str) -> list[dict[str, Any]]:
    a = agencies.get(session, uscc)
    return [{"id": f.id, "finding": f.finding, "clause": f.clause, "found_by": f.found_by, "found_on": f.found_on,
             "agency_event_id": f.agency_event_id, "detail": json.loads(f.detail)}
            for f in session.exec(select(FraudFinding).where(FraudFinding.agency_id == a.id)
                                  .order_by(col(FraudFinding.id))).all()]


# --- the checker's view -------------------------------------------------------------------------------------

def invariants(session: Session, apps: dict[int, Any]) -> list[tuple[str, bool, str]]:
    """Each clawback against its own rows (written by any path): its posting moved exactly its amount into
    the receivable; its recovered figure is the sum of its recovery rows and of their postings; its voucher
    waits for recovery exactly while something is outstanding; and every finding and recovery decided
    again by the duties rule."""

    policy = current_policy(session)
    clawbacks = list(session.exec(select(VoucherClawback).order_by(col(VoucherClawback.id))).all())
    recs: dict[int, list[VoucherRecovery]] = defaultdict(list)
    for r in session.exec(select(VoucherRecovery).order_by(col(VoucherRecovery.id))).all():
        recs[r.clawback_id].append(r)
    bad = []

    def moved(posting_id: int, bucket: str) -> int:
        return sum(fen for account, fen in ledger.posting_entries(session, posting_id)
                   if account.split(":")[-1] == bucket and fen > 0)

    for cb in clawbacks:
        app = apps.get(cb.application_id)
        ref = app.ref if app is not None else f"application {cb.application_id}"
        if moved(cb.posting_id, "receivable") != cb.amount_fen:
            bad.append(f"{ref}: clawback {cb.id} of {cb.amount_fen} fen, its posting moved "
                       f"{moved(cb.posting_id, 'receivable')} fen into the receivable")
        rows = sum(r.amount_fen for r in recs.get(cb.id or 0, []))
        posted = sum(moved(r.posting_id, "available") for r in recs.get(cb.id or 0, []))
        if not (rows == posted == cb.recovered_fen):
            bad.append(f"{ref}: clawback {cb.id} says {cb.recovered_fen} fen recovered, its recovery rows "
                       f"{rows} fen, their postings {posted} fen")
        if app is not None:
            waiting = "recovered" in cases.workflow(policy, app.scheme).actions_from(app.status)
            if waiting != (cb.recovered_fen < cb.amount_fen) or "clawback" not in policy.scheme(
                    app.scheme).states[app.status].tag_set():
                bad.append(f"{ref} is {app.status!r} with {cb.amount_fen - cb.recovered_fen} fen outstanding")
    out = [("voucher clawbacks match their postings and recoveries", not bad,
            f"{len(clawbacks)} clawback(s), {sum(len(v) for v in recs.values())} recovery(ies)" if not bad
            else "; ".join(bad[:10]))]

    agencies_by_id = {a.id: a for a in session.exec(select(Agency)).all()}
    found = {f.id: f for f in session.exec(select(FraudFinding)).all()}
    acts: list[tuple[str, str, duties.CaseParties]] = []
    for f in found.values():
        if f.agency_id in agencies_by_id:
            acts.append(("agency.fraud", f.found_by, agencies.parties(agencies_by_id[f.agency_id])))
    for cb in clawbacks:
        app = apps.get(cb.application_id)
        finder = found[cb.finding_id].found_by if cb.finding_id in found else None
        for r in recs.get(cb.id or 0, []):
            acts.append(("voucher.recover", r.recorded_by, duties.CaseParties(
                ref=f"{app.ref if app is not None else cb.application_id} (clawed back from {cb.debtor_uscc})",
                applicant_code=cb.debtor_uscc, applicant_name=cb.debtor_name, finder=finder)))
    judged, breaches = duty_svc.judge_again(session, acts)
    out.append(("fraud findings and recoveries (不相容岗位相互分离)", not breaches,
                f"{judged} act(s) decided again by the duties rule" if not breaches else "; ".join(breaches[:10])))
    return out
