"""Disbursement (拨付): the finance officer's release, payment batches with idempotency keys, the bank
file, and the bank's acknowledgements.

Payment authority: nothing is paid on the system's own authority. A finance officer releases payable
cases (`pay release`, or `pay batch`, which releases and pays at once); the payment stage of the
`advance` flow pays only released cases, as the officer who released them, and the duties rule
(rules.duties) is asked again when it does.

Idempotency follows the Formance rule: the same key with the same request returns the original
payment; the same key with a different amount or payee is a conflict and nothing is written. Running
a batch twice never pays anything twice: a case leaves `payable` when its payment is created.

Bank files are written once, after the batch commits, and their writing is recorded in the audit
chain (`pay.file`). A file is written again only by `ipfund pay file BATCH`, which says plainly that
it is a copy of a batch already issued.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from flows.services import cases
from flows.services import duties as duty
from flows.services.applicants import decode_text
from flows.services.context import acting, current_policy, scheme_of
from flows.services.text_input import limit, neutralise_cell, text_problem
from models import audit, faults, ledger
from models.clock import stamp
from models.tables import (
    Applicant,
    Application,
    AwardRound,
    Payment,
    PaymentBatch,
    PaymentRelease,
    Posting,
    User,
)
from rules import duties
from rules.bank import BankDetailsError, normalise_account
from rules.errors import (
    FourEyesViolation,
    IdempotencyConflict,
    IllegalTransition,
    NotFound,
    PermissionDenied,
    RuleViolation,
    ValidationFailed,
)
from rules.funds import move_entries
from rules.money import fen_to_yuan_str, to_daxie

FILE_COLUMNS = ("idempotency_key", "payee", "credit_code", "bank_name", "bank_account", "amount_fen", "amount_yuan",
                "amount_daxie", "reference")
CONFIRM_COLUMNS = ("idempotency_key", "status", "bank_ref", "reason", "amount_fen", "payee", "bank_account")
CONFIRM_OPTIONAL = ("reason",)


@dataclass
class BatchResult:
    batch: PaymentBatch | None
    payments: list[Payment]
    file_content: bytes
    held: list[tuple[str, str]] = field(default_factory=list)  # (ref, why) payable but not released


@dataclass
class ReleaseResult:
    released: list[str]
    held: list[tuple[str, str]]


def payment_key(app: Application, attempt: int, purpose: str = "award") -> str:
    """REF:<purpose>:<n>: the n-th attempt at the payment of that purpose (a failed transfer is paid
    again under n + 1)."""
    return f"{app.ref}:{purpose}:{attempt}"


def _scheme_payment(session: Session, scheme: str) -> tuple[Any, tuple[str, ...]]:
    """(the scheme's payment declaration, its payable states); refused for a scheme that pays nobody."""
    policy = current_policy(session)
    scheme_of(session, scheme, policy)
    sc = policy.scheme(scheme)
    if not sc.pays:
        raise RuleViolation(f"{scheme} pays nothing (its policy section declares payee: none)")
    return sc.payment, sc.states_tagged("payable")


def decided_tranches(session: Session, sc_payment: Any, ids: list[int]) -> dict[tuple[int, str], int]:
    """(case id, tranche) -> the amount its decision released, for a scheme whose tranches are decided per case
    (``share: decided``: a project's agreement and graded releases, models/projects.py); empty otherwise."""
    if not any(t.share == "decided" for t in sc_payment.tranches):
        return {}
    from flows.services.projects import decided_amounts

    return decided_amounts(session, ids)


def due(sc_payment: Any, app: Application, policy: Any = None,
        decided: dict[tuple[int, str], int] | None = None) -> tuple[str, int]:
    """(purpose, amount) of the payment a payable case is due now: the whole award, or — for a scheme
    paid in tranches — the tranche whose state the case is in, its share of the award split by largest
    remainder over every tranche (so the tranches always sum to the award, to the fen), or what the
    tranche's decision released (``share: decided``)."""
    assert app.award_fen is not None
    if not sc_payment.tranches:
        return sc_payment.purpose, app.award_fen
    if any(t.share == "decided" for t in sc_payment.tranches):
        for tranche in sc_payment.tranches:
            if tranche.state == app.status:
                amount = (decided or {}).get((app.id or 0, tranche.purpose))
                if not amount:
                    raise RuleViolation(f"{app.ref} is {app.status!r}: its {tranche.purpose} tranche has not been "
                                        "released (`ipfund project release`)")
                return tranche.purpose, amount
        raise RuleViolation(f"{app.ref} is {app.status!r}: no tranche of its scheme falls due in that state")
    from decimal import Decimal

    from rules.money import split_largest_remainder

    at = dt.date(app.year, 12, 31)
    shares = [Decimal(t.share) if t.share.replace(".", "", 1).isdigit() else policy.decimal(t.share, at)
              for t in sc_payment.tranches]
    scale = 10 ** max(-int(x.as_tuple().exponent) for x in shares)
    parts = split_largest_remainder(app.award_fen, [int(x * scale) for x in shares])
    for tranche, part in zip(sc_payment.tranches, parts, strict=True):
        if tranche.state == app.status:
            return tranche.purpose, part
    raise RuleViolation(f"{app.ref} is {app.status!r}: no tranche of its scheme falls due in that state")


def payee_of(kind: str, applicant: Applicant, agency: Any = None) -> tuple[str, str, str | None, str | None]:
    """(name, credit code, bank name, bank account) of who a scheme pays: the applicant, the service agency
    the case is contracted with (from the agency registry), or the lending bank of the case's loan (``agency``
    holds that organisation's record either way)."""
    if kind == "applicant":
        return applicant.name, applicant.uscc, applicant.bank_name, applicant.bank_account
    if kind in ("agency", "bank"):
        if agency is None:
            raise RuleViolation(f"payee {kind}: the case of {applicant.name} names no "
                                f"{'agency' if kind == 'agency' else 'registered loan'}")
        return agency.name, agency.uscc, agency.bank_name, agency.bank_account
    raise RuleViolation(f"payee {kind!r}: this ipfund pays applicants and agencies; the {kind} registry is not installed")


def payee_kind(session: Session, policy: Any, declared: Any, app: Application,
               rounds: dict[int, AwardRound] | None = None) -> str:
    """The payee of one case: the scheme's declared payee, or — with ``payee_mode`` — the payee of the mode
    in force on the day the case's round was finalized (agency: the agency; enterprise or applicant: the
    applicant). ``rounds`` (round id -> round, read in a batch by the caller) spares a query per case."""
    if declared.payee_field:  # the case's form picks the payee (e.g. a 首贷 reward is the bank's)
        value = str(json.loads(app.data).get(declared.payee_field) or "")
        return str(declared.payees.get(value, declared.payee))
    if not declared.payee_mode:
        return str(declared.payee)
    rnd = None
    if app.round_id is not None:
        rnd = rounds.get(app.round_id) if rounds is not None else session.get(AwardRound, app.round_id)
    mode = round_mode(policy, declared, rnd, app.year)
    return "agency" if mode == "agency" else "applicant"


def round_mode(policy: Any, declared: Any, rnd: AwardRound | None, year: int) -> str:
    """The settlement mode of a round: the one it recorded when opened (or finalized); a round from before
    rounds recorded it, the payee_mode parameter in force on its finalize day."""
    if rnd is not None and rnd.settlement_mode is not None:
        return rnd.settlement_mode
    on = dt.date.fromisoformat(rnd.finalized_at[:10]) if rnd is not None else dt.date(year, 12, 31)
    return str(policy.text(declared.payee_mode, on))


def resolve_payee(session: Session, policy: Any, declared: Any, app: Application,
                  applicant: Applicant, agencies: dict[int, Any] | None = None,
                  rounds: dict[int, AwardRound] | None = None) -> tuple[str, str, str | None, str | None, str]:
    """(name, credit code, bank name, bank account, how to record missing details) of a case's payee;
    ``agencies`` (case id -> contracted agency) and ``rounds`` (round id -> round), read in a batch by the
    caller, spare a query per case."""
    kind = payee_kind(session, policy, declared, app, rounds)
    agency = None
    if kind == "agency":
        from flows.services.vouchers import contracted_agency

        assert app.id is not None
        agency = agencies.get(app.id) if agencies is not None else contracted_agency(session, app.id)
    elif kind == "bank":
        from flows.services.loans import linked_bank

        agency = linked_bank(session, policy, app)
    name, code, bank, account = payee_of(kind, applicant, agency)
    how = {"agency": "ipfund agency bank", "bank": "ipfund bank account"}.get(kind, "ipfund applicant bank")
    return name, code, bank, account, how


def ensure_payment(session: Session, key: str, **fields: Any) -> tuple[Payment, bool]:
    """Create the payment for ``key`` or return the existing one; a different request is a conflict."""
    return ensure_payments(session, [(key, fields)])[0]


_PAYMENT_COLUMNS = tuple(c.name for c in Payment.__table__.columns if c.name != "id")  # type: ignore[attr-defined]
_PAYMENT_DEFAULTS = {name: f.default for name, f in Payment.model_fields.items()
                     if name in _PAYMENT_COLUMNS and not f.is_required()}


def ensure_payments(session: Session, requests: list[tuple[str, dict[str, Any]]]) -> list[tuple[Payment, bool]]:
    """:func:`ensure_payment` for many keys at once (the payment stage): the existing payments read in one
    pass, any key already used for another amount, payee or case refused (nothing written), the new ones
    inserted as plain rows in one prepared executemany in the order given, and read back as payments."""
    from models.bulk import insert_rows

    keys = [k for k, _ in requests]
    existing: dict[str, Payment] = {}
    for i in range(0, len(keys), 900):
        existing.update({p.idempotency_key: p for p in session.exec(select(Payment).where(
            col(Payment.idempotency_key).in_(keys[i:i + 900]))).all()})
    out: list[tuple[str, Payment | None]] = []
    new: list[tuple[Any, ...]] = []
    for key, fields in requests:
        old = existing.get(key)
        if old is not None:
            if (old.amount_fen, old.uscc, old.application_id) != (
                    fields["amount_fen"], fields["uscc"], fields["application_id"]):
                raise IdempotencyConflict(
                    f"idempotency key {key} was used for {old.amount_fen} fen to {old.uscc}; this request is "
                    f"{fields['amount_fen']} fen to {fields['uscc']} — refused, nothing written")
            out.append((key, old))
            continue
        row = {**_PAYMENT_DEFAULTS, **fields, "idempotency_key": key}
        new.append(tuple(row[c] for c in _PAYMENT_COLUMNS))
        out.append((key, None))
    made: dict[str, Payment] = {}
    if new:  # plain rows in one executemany; the rows read back as payments (their ids with them)
        insert_rows(session, Payment.__table__, _PAYMENT_COLUMNS, new)  # type: ignore[attr-defined]
        keys = [k for k, p in out if p is None]
        for i in range(0, len(keys), 900):
            made.update({p.idempotency_key: p for p in session.exec(select(Payment).where(
                col(Payment.idempotency_key).in_(keys[i:i + 900])))})
    return [(p, False) if p is not None else (made[k], True) for k, p in out]


def _attempts(session: Session, ids: list[int]) -> dict[tuple[int, str], int]:
    """Payments made so far per case and purpose (the next attempt is one more)."""
    out: dict[tuple[int, str], int] = {}
    for i in range(0, len(ids), 900):
        for app_id, purpose, n in session.exec(select(Payment.application_id, Payment.purpose, func.count()).where(
                col(Payment.application_id).in_(ids[i:i + 900]))
                .group_by(col(Payment.application_id), col(Payment.purpose))).all():
            out[(app_id, purpose)] = n
    return out


def _released(session: Session, ids: list[int]) -> dict[tuple[int, str, int], PaymentRelease]:
    out: dict[tuple[int, str, int], PaymentRelease] = {}
    for i in range(0, len(ids), 900):
        for r in session.exec(select(PaymentRelease).where(col(PaymentRelease.application_id).in_(ids[i:i + 900]))):
            out[(r.application_id, r.purpose, r.attempt)] = r
    return out


def release(session: Session, actor: str | None, scheme: str, refs: list[str] | None = None) -> ReleaseResult:
    """A finance officer releases payable cases for payment (all of the scheme's, or the named ones).

    The duties rule decides whether this officer may pay each case (never the round's approver, a
    reviewer of the case, or a member of the applicant); any breach refuses the whole release. A case
    whose payee has no bank account on file is held, not released, and reported."""
    user = acting(session, actor, "pay.batch")
    declared, payable = _scheme_payment(session, scheme)
    q = select(Application).where(Application.scheme == scheme, col(Application.status).in_(payable))
    if refs:
        wanted = sorted({r.strip().upper() for r in refs})
        q = q.where(col(Application.ref).in_(wanted))
    apps = list(session.exec(q.order_by(col(Application.id))).all())
    if refs:
        found = {a.ref for a in apps}
        missing = [r for r in wanted if r not in found]
        if missing:
            raise ValidationFailed("payment release", [f"{r}: not a payable {scheme} case" for r in missing])
    waiting: list[tuple[str, str]] = []
    if declared.settlement_dates:
        apps, waiting = _within_cutoff(session, scheme, declared, payable, apps, bool(refs))
    ids = [a.id for a in apps if a.id is not None]
    duty.require_on(session, "pay.batch", user, ids)
    attempts = _attempts(session, ids)
    already = _released(session, ids)
    payees = {p.id: p for p in session.exec(select(Applicant).where(
        col(Applicant.id).in_({a.applicant_id for a in apps})))}
    at = stamp()
    released: list[str] = []
    held: list[tuple[str, str]] = []
    events = []
    policy = current_policy(session)
    agencies = _contracted_agencies(session, ids)
    rounds = _rounds(session, apps)
    decided = decided_tranches(session, declared, ids)
    for app in apps:
        assert app.id is not None and app.award_fen is not None
        purpose, amount = due(declared, app, policy, decided)
        attempt = attempts.get((app.id, purpose), 0) + 1
        if (app.id, purpose, attempt) in already:
            continue  # released before and not yet paid: the payment stage pays it
        name, code, bank, account, how = resolve_payee(session, policy, declared, app, payees[app.applicant_id],
                                                      agencies, rounds)
        if not account or not bank:
            held.append((app.ref, f"{name} ({code}) has no bank account on file; record it with `{how}`"))
            continue
        session.add(PaymentRelease(application_id=app.id, purpose=purpose, attempt=attempt, released_by=user.name,
                                   amount_fen=amount, at=at))
        released.append(app.ref)
        events.append({"actor": user.name, "action": "pay.release", "subject": f"app:{app.ref}", "at": at,
                       "payload": {"attempt": attempt, "amount_fen": amount,
                                   "idempotency_key": payment_key(app, attempt, purpose)}})
    session.flush()
    audit.append_many(session, events)
    return ReleaseResult(released, held + waiting)


def payable_since(session: Session, payable: tuple[str, ...], refs: list[str]) -> dict[str, dt.date]:
    """The day each case first entered a payable state (its audit events: a transfer that failed and put
    it back keeps the day it first became payable)."""
    from models.tables import AuditEvent

    t = AuditEvent.__table__  # type: ignore[attr-defined]
    out: dict[str, dt.date] = {}
    subjects = [f"app:{r}" for r in refs]
    for i in range(0, len(subjects), 900):
        for subject, payload, at in session.execute(
                sa_select(t.c.subject, t.c.payload, t.c.at).where(t.c.subject.in_(subjects[i:i + 900]),
                                                               t.c.action.like("case.%")).order_by(t.c.seq)):
            ref = subject.split(":", 1)[1]
            if ref not in out and json.loads(payload).get("to") in payable:
                out[ref] = dt.date.fromisoformat(at[:10])
    return out


def _within_cutoff(session: Session, scheme: str, declared: Any, payable: tuple[str, ...], apps: list[Application],
                   named: bool) -> tuple[list[Application], list[tuple[str, str]]]:
    """定期兑付: of the payable cases, those that became payable on or before the latest settlement date of
    the year reached today (the cut-off), and (ref, why) for the ones that wait for the next date. Before
    the year's first settlement date nothing is released (NotASettlementDay); naming a case that waits is
    refused the same way, nothing written."""
    from models.clock import now
    from rules.calendar import next_settlement, settlement_cutoff
    from rules.errors import NotASettlementDay

    policy = current_policy(session)
    today = now().date()
    pname = declared.settlement_dates
    days = [str(d) for d in policy.value(pname, today)]
    clause = policy.parameter(pname).clause
    cutoff = settlement_cutoff(days, today)
    nxt = next_settlement(days, today)
    if cutoff is None:
        raise NotASettlementDay(
            f"{scheme} settles on fixed dates ({', '.join(days)}; {pname}, {clause} 定期兑付): today is "
            f"{today.isoformat()}, before the first settlement date of {today.year}; the next settlement date is "
            f"{nxt.isoformat()} — release then; nothing was written")
    since = payable_since(session, payable, [a.ref for a in apps])
    taken, waiting = [], []
    for a in apps:
        became = since.get(a.ref, today)
        if became <= cutoff:
            taken.append(a)
        else:
            waiting.append((a.ref, f"payable since {became.isoformat()}, after the settlement cut-off "
                                   f"{cutoff.isoformat()} ({pname}, {clause}); it is settled on {nxt.isoformat()}"))
    if named and waiting:
        raise NotASettlementDay("; ".join(f"{r}: {why}" for r, why in waiting) + " — nothing was written")
    return taken, waiting


def _contracted_agencies(session: Session, ids: list[int]) -> dict[int, Any]:
    """Case id -> the agency its live voucher contract names (vouchers only; others have none), batched."""
    from models.tables import Agency, VoucherContract

    out: dict[int, Any] = {}
    for i in range(0, len(ids), 900):
        out.update({app_id: agency for app_id, agency in session.exec(
            select(VoucherContract.application_id, Agency).join(Agency, col(Agency.id) == col(VoucherContract.agency_id))
            .where(col(VoucherContract.application_id).in_(ids[i:i + 900]), col(VoucherContract.ended_at).is_(None)))})
    return out


def _rounds(session: Session, apps: list[Application]) -> dict[int, AwardRound]:
    """Round id -> round of these cases, in one read (the payee of a scheme paid by settlement mode)."""
    ids = sorted({a.round_id for a in apps if a.round_id is not None})
    return {r.id: r for r in session.exec(select(AwardRound).where(col(AwardRound.id).in_(ids)))
            if r.id is not None}


def execute_releases(session: Session, scheme: str, released_by: str | None = None) -> list[BatchResult]:
    """The payment stage: pay every released, payable case of the scheme, one batch per releasing
    officer (the payer), asking the duties rule again for each. Returns the batches made (their bank
    files are written by the caller after the commit)."""
    policy = current_policy(session)
    declared, payable = _scheme_payment(session, scheme)
    q = (select(PaymentRelease, Application).join(Application, col(Application.id) == col(PaymentRelease.application_id))
         .where(Application.scheme == scheme, col(Application.status).in_(payable)))
    if released_by is not None:
        q = q.where(PaymentRelease.released_by == released_by)
    pairs = list(session.exec(q.order_by(col(Application.id))).all())
    if not pairs:
        return []
    ids = [a.id for _, a in pairs if a.id is not None]
    attempts = _attempts(session, ids)
    by_payer: dict[str, list[tuple[PaymentRelease, Application]]] = defaultdict(list)
    for rel, app in pairs:
        assert app.id is not None
        if rel.attempt == attempts.get((app.id, rel.purpose), 0) + 1:  # a release of an earlier (failed) attempt is spent
            by_payer[rel.released_by].append((rel, app))
    parties = duty.parties(session, ids)
    payees = {p.id: p for p in session.exec(select(Applicant).where(
        col(Applicant.id).in_({a.applicant_id for _, a in pairs})))}
    users = {u.name: u for u in session.exec(select(User).where(col(User.name).in_(list(by_payer))))}
    results = []
    for payer_name in sorted(by_payer):
        group = by_payer[payer_name]
        payer = users.get(payer_name)
        if payer is None:
            raise PermissionDenied(f"payments released by {payer_name!r}, who is not a user, are not paid")
        duty.require("pay.batch", payer, [parties[a.id] for _, a in group if a.id is not None])  # paired check
        results.append(_pay(session, policy, scheme, payer, group, payees, parties, declared.payee))
    return results


def _pay(session: Session, policy: Any, scheme: str, payer: User, group: list[tuple[PaymentRelease, Application]],
         payees: dict[int | None, Applicant], parties: dict[int, duties.CaseParties], payee: str) -> BatchResult:
    """One batch for one payer, set-based: every payment checked against its release first, then the
    payments inserted at once (idempotency keys), the ledger postings committed -> paid at once (one read
    of what each case still holds), the cases moved at once (one audit event each), and the batch's own
    event — the same rows and events, in the same order, as paying the cases one by one."""
    at = stamp()
    b = PaymentBatch(scheme=scheme, created_by=payer.name, at=at, file_name="", total_fen=0, count=0)
    session.add(b)
    session.flush()
    assert b.id is not None
    declared = policy.scheme(scheme).payment
    apps = [a for _, a in group]
    agencies = _contracted_agencies(session, [a.id for a in apps if a.id is not None])
    rounds = _rounds(session, apps)
    decided = decided_tranches(session, declared, [a.id for a in apps if a.id is not None])
    requests: list[tuple[str, dict[str, Any]]] = []
    for rel, app in group:
        assert app.id is not None and app.award_fen is not None and app.line_code is not None
        purpose, amount = due(declared, app, policy, decided)
        if (rel.purpose, rel.amount_fen) != (purpose, amount):
            raise IdempotencyConflict(f"{app.ref}: released for {rel.amount_fen} fen ({rel.purpose}), the case is now "
                                      f"due {amount} fen ({purpose}); release it again")
        name, code, bank, account, _how = resolve_payee(session, policy, declared, app, payees[app.applicant_id],
                                                        agencies, rounds)
        if not account:
            raise ValidationFailed("payment", [f"{app.ref}: {name} has no bank account on file"])
        requests.append((payment_key(app, rel.attempt, purpose), dict(
            purpose=purpose, batch_id=b.id, application_id=app.id, line_code=app.line_code, payee=name, uscc=code,
            bank_account=account, bank_name=bank or "", amount_fen=amount, status="pending",
            approver=parties[app.id].approver or "", payer=payer.name, release_id=rel.id, created_at=at)))
    payments = [p for p, _created in ensure_payments(session, requests)]
    faults.point("pay.after_idempotency_row")
    pay_from_commitments(session, list(zip(apps, payments, strict=True)), payer.name, at)
    faults.point("pay.after_ledger_posting")
    cases.move_many(session, apps, "batch_payment", payer.name, {"finance"}, at=at, policy=policy,
                    payloads={app.id: {"idempotency_key": p.idempotency_key, "amount_fen": p.amount_fen,
                                       "batch": b.id, "released_by": rel.released_by, "release_id": rel.id}
                              for (rel, app), p in zip(group, payments, strict=True) if app.id is not None})
    b.count = len(payments)
    b.total_fen = sum(p.amount_fen for p in payments)
    b.file_name = f"payment-batch-{b.id:05d}.csv"
    content = payment_file(payments, policy.scheme(scheme).name)
    b.file_sha256 = hashlib.sha256(content).hexdigest()
    session.add(b)
    session.flush()
    audit.append(session, actor=payer.name, action="pay.batch", subject=f"batch:{b.id}", at=at,
                 payload={"scheme": scheme, "count": b.count, "total_fen": b.total_fen, "file": b.file_name,
                          "file_sha256": b.file_sha256, "keys": [p.idempotency_key for p in payments]})
    faults.point("pay.after_audit_append")
    return BatchResult(b, payments, content)


def batch(session: Session, actor: str | None, scheme: str) -> BatchResult:
    """`pay batch`: the officer releases every payable case of the scheme and pays them at once."""
    rel = release(session, actor, scheme)
    user = acting(session, actor, "pay.batch")
    made = execute_releases(session, scheme, released_by=user.name)
    if not made:
        return BatchResult(None, [], b"", rel.held)
    assert len(made) == 1
    made[0].held = rel.held
    return made[0]


def _still_committed(session: Session, refs: list[str]) -> dict[str, dict[tuple[str, str], int]]:
    """Per case (ref): what of its latest commitment is still committed, by (line code, source) — its
    latest commitment posting and every payment, reversal and release since, read in one pass."""
    from models.tables import Account, PostingEntry

    kinds = ("commitment", "payment", "reversal", "release")
    rows: dict[str, list[tuple[int, str, str, int]]] = defaultdict(list)
    subjects = [f"app:{r}" for r in refs]
    for i in range(0, len(subjects), 900):
        for subject, posting_id, kind, account, amount in session.execute(
                sa_select(col(Posting.subject), col(Posting.id), col(Posting.kind), col(Account.name),
                          col(PostingEntry.amount_fen))
                .join(PostingEntry, col(PostingEntry.posting_id) == col(Posting.id))
                .join(Account, col(Account.id) == col(PostingEntry.account_id))
                .where(col(Posting.subject).in_(subjects[i:i + 900]), col(Posting.kind).in_(kinds))):
            rows[subject].append((posting_id, kind, account, amount))
    out: dict[str, dict[tuple[str, str], int]] = {}
    for ref, subject in zip(refs, subjects, strict=True):
        entries = rows.get(subject, [])
        commits = [pid for pid, kind, _, _ in entries if kind == "commitment"]
        assert commits, f"{ref}: no commitment to pay from"
        latest = max(commits)
        left: dict[tuple[str, str], int] = {}
        for pid, kind, account, amount in entries:
            if kind == "commitment" and pid != latest:
                continue
            _, code, source, bucket = account.split(":")
            if bucket == "committed":
                left[(code, source)] = left.get((code, source), 0) + amount
        out[ref] = left
    return out


def pay_from_commitments(session: Session, items: list[tuple[Application, Payment]], actor: str, at: str) -> None:
    """committed -> paid for each payment's amount, source by source in proportion to what of the award's
    commitment is still committed (largest remainder: a whole award moves exactly as it was committed, and
    the last tranche moves exactly what is left). What each case still holds is read once for the batch;
    the postings (one per payment, in the order given) are written by one ledger.post_many."""
    from rules.money import split_largest_remainder

    left = _still_committed(session, [app.ref for app, _ in items])
    postings = []
    for app, p in items:
        held = left[app.ref]
        keys = sorted(k for k, v in held.items() if v > 0)
        weights = [held[k] for k in keys]
        if sum(weights) < p.amount_fen:
            raise IdempotencyConflict(f"{app.ref}: {p.amount_fen} fen to pay, only {sum(weights)} fen still committed")
        entries = []
        for (code, source), part in zip(keys, split_largest_remainder(p.amount_fen, weights), strict=True):
            if part:
                entries += move_entries(code, source, "committed", "paid", part)
                held[(code, source)] -= part  # a second payment of the same case in the batch pays what is left
        postings.append(ledger.NewPosting(year=app.year, kind="payment", memo=f"payment {p.idempotency_key}",
                                          actor=actor, entries=entries, subject=f"app:{app.ref}", at=at))
    ledger.post_many(session, postings)


def payment_file(payments: list[Payment], scheme_name: str) -> bytes:
    """The bank file: one row per payment, every text cell neutralised so that no cell can run as a
    spreadsheet formula (a payee name or reference starting with = + - @ gets a leading apostrophe)."""
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(FILE_COLUMNS)
    for p in sorted(payments, key=lambda x: x.idempotency_key):
        w.writerow([neutralise_cell(str(v)) for v in (
            p.idempotency_key, p.payee, p.uscc, p.bank_name, p.bank_account, p.amount_fen,
            fen_to_yuan_str(p.amount_fen), to_daxie(p.amount_fen), f"{scheme_name} {p.idempotency_key.split(':')[0]}")])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def batch_file(session: Session, batch_id: int) -> tuple[PaymentBatch, bytes]:
    """Regenerate a batch's bank file from the database (same bytes as when it was created)."""
    b = session.get(PaymentBatch, batch_id)
    if b is None:
        raise NotFound(f"payment batch {batch_id} does not exist (see `ipfund audit log --subject batch:N`)")
    payments = list(session.exec(select(Payment).where(Payment.batch_id == batch_id)).all())
    content = payment_file(payments, current_policy(session).scheme(b.scheme).name)
    if hashlib.sha256(content).hexdigest() != b.file_sha256:
        raise IdempotencyConflict(f"batch {batch_id}: the file regenerated from the database differs from the one "
                                  "issued (sha256 recorded in the batch); the payments were changed — investigate")
    return b, content


def record_file(session: Session, actor: str, batch_id: int, path: str, copy: bool) -> PaymentBatch:
    """Record that a batch's bank file was written (the first time, and each copy again, in the audit
    chain), after the file is on disk."""
    b = session.get(PaymentBatch, batch_id)
    if b is None:
        raise NotFound(f"payment batch {batch_id} does not exist")
    first = b.file_written_at is None
    at = stamp()
    if first:
        b.file_written_at = at
        session.add(b)
        session.flush()
    audit.append(session, actor=actor, action="pay.file", subject=f"batch:{b.id}", at=at,
                 payload={"file": path, "file_sha256": b.file_sha256, "copy": copy and not first})
    return b


def unwritten_batches(session: Session, scheme: str | None = None) -> list[PaymentBatch]:
    """Batches committed whose bank file was never written (a crash between the commit and the file):
    their payments are pending with no file at the bank. `ipfund pay file N` writes it."""
    q = select(PaymentBatch).where(col(PaymentBatch.file_written_at).is_(None)).order_by(col(PaymentBatch.id))
    if scheme:
        q = q.where(PaymentBatch.scheme == scheme)
    return list(session.exec(q).all())


def _account(text: str) -> str:
    try:
        return normalise_account(text)
    except BankDetailsError:
        return text.strip()


def confirm(session: Session, actor: str | None, content: bytes, filename: str) -> dict[str, int]:
    """Import the bank's acknowledgements (paid / failed with reason). All rows or none; re-importing
    the same file changes nothing; a row contradicting the payment (amount, payee, account) or an
    earlier confirmation is refused by line; unknown columns are refused."""
    from flows.services.csv_input import read_rows

    user = acting(session, actor, "pay.confirm")
    policy = current_policy(session)
    text = decode_text(content, filename, allow_gbk=True)
    rows = read_rows(text, filename)
    first = next(rows, None)
    if first is None:
        raise ValidationFailed(filename, ["line 1: empty file; expected " + ",".join(CONFIRM_COLUMNS)])
    header = [h.strip().lower() for h in first[1]]
    problems: list[str] = []
    missing = [c for c in CONFIRM_COLUMNS if c not in header and c not in CONFIRM_OPTIONAL]
    unknown = [h for h in header if h not in CONFIRM_COLUMNS]
    if missing:
        problems.append(f"line 1: header lacks {', '.join(missing)}; expected " + ",".join(CONFIRM_COLUMNS))
    if unknown:
        problems.append(f"line 1: unknown column(s) {', '.join(repr(u) for u in unknown)}; the columns are "
                        + ",".join(CONFIRM_COLUMNS))
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        problems.append(f"line 1: column(s) {', '.join(dupes)} appear twice")
    if problems:
        raise ValidationFailed(filename, problems)
    idx = {c: header.index(c) for c in CONFIRM_COLUMNS if c in header}
    parsed: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    ref_max, reason_max = limit(Payment, "bank_ref"), limit(Payment, "failure_reason")
    for n, row in rows:
        if not any(c.strip() for c in row):
            continue
        if len(row) > len(header):
            problems.append(f"line {n}: {len(row)} cells, the header has {len(header)}")
            continue
        cell = {c: (row[i].strip() if i < len(row) else "") for c, i in idx.items()}
        status = cell["status"].lower()
        for name, value, max_len in (("bank_ref", cell["bank_ref"], ref_max),
                                     ("reason", cell.get("reason", ""), reason_max),
                                     ("payee", cell["payee"], limit(Payment, "payee")),
                                     ("idempotency_key", cell["idempotency_key"], limit(Payment, "idempotency_key"))):
            bad = text_problem(value, field=name, max_len=max_len)
            if bad:
                problems.append(f"line {n}: {bad}")
        if status not in ("paid", "failed"):
            problems.append(f"line {n}: status {cell['status']!r} must be paid or failed")
        if status == "failed" and not cell.get("reason"):
            problems.append(f"line {n}: a failed payment needs a reason")
        if not cell["bank_ref"] and status == "paid":
            problems.append(f"line {n}: bank_ref is empty")
        amount = cell["amount_fen"]
        if not (amount.isascii() and amount.isdigit()):
            problems.append(f"line {n}: amount_fen {amount!r} must be a whole number of fen")
        key = cell["idempotency_key"]
        if key in seen:
            problems.append(f"line {n}: {key} already on line {seen[key]}")
        seen.setdefault(key, n)
        parsed.append({"line": n, "key": key, "status": status, "ref": cell["bank_ref"],
                       "reason": cell.get("reason", ""), "amount": amount, "payee": cell["payee"],
                       "account": cell["bank_account"]})
    payments: dict[str, Payment] = {}
    keys = [r["key"] for r in parsed]
    for i in range(0, len(keys), 900):
        payments.update({p.idempotency_key: p for p in session.exec(select(Payment).where(
            col(Payment.idempotency_key).in_(keys[i:i + 900]))).all()})
    approvers = duty.parties(session, {p.application_id for p in payments.values()})
    actor_ = duty.actor_of(user)
    for r in parsed:
        n, key, status = r["line"], r["key"], r["status"]
        p = payments.get(key)
        if p is None:
            problems.append(f"line {n}: no payment has idempotency key {key!r}{_not_sent(session, policy, key)}")
            continue
        if r["amount"].isdigit() and int(r["amount"]) != p.amount_fen:
            problems.append(f"line {n}: {key} was sent for {p.amount_fen} fen; the bank reports {r['amount']} fen "
                            "— contact the bank, nothing was written")
        if r["payee"] != p.payee:
            problems.append(f"line {n}: {key} was sent to {p.payee!r}; the bank reports payee {r['payee']!r}")
        if _account(r["account"]) != p.bank_account:
            problems.append(f"line {n}: {key} was sent to account {p.bank_account}; the bank reports "
                            f"{r['account']!r}")
        b = duties.breach("pay.confirm", actor_, approvers[p.application_id])
        if b is not None:
            problems.append(f"line {n}: {b.message}")
        if p.status != "pending" and (p.status != status or (status == "paid" and p.bank_ref != r["ref"])):
            problems.append(f"line {n}: {key} was already confirmed {p.status} ({p.bank_ref or p.failure_reason}); "
                            f"the file says {status} — contact the bank, nothing was written")
    if problems:
        breaches = [x for x in problems if "不相容岗位相互分离" in x]
        if breaches and len(breaches) == len(problems):
            raise FourEyesViolation(f"{filename}: " + "; ".join(breaches))
        raise ValidationFailed(filename, problems)
    at = stamp()
    counts = {"paid": 0, "failed": 0, "unchanged": 0}
    todo = [r for r in parsed if payments[r["key"]].status == "pending"]
    counts["unchanged"] = len(parsed) - len(todo)
    app_ids = sorted({payments[r["key"]].application_id for r in todo})
    apps: dict[int, Application] = {}
    for i in range(0, len(app_ids), 900):
        apps.update({a.id: a for a in session.exec(select(Application).where(
            col(Application.id).in_(app_ids[i:i + 900]))) if a.id is not None})
    run: list[dict[str, Any]] = []  # consecutive paid rows of one scheme (one row per case), written at once
    in_run: set[int] = set()
    for r in todo:
        p = payments[r["key"]]
        app = apps[p.application_id]
        if run and (r["status"] != "paid" or app.id in in_run
                    or apps[payments[run[0]["key"]].application_id].scheme != app.scheme):
            _confirm_paid(session, policy, user.name, at, [(payments[x["key"]], x) for x in run], apps)
            run, in_run = [], set()
        counts[r["status"]] += 1
        if r["status"] == "paid":
            run.append(r)
            in_run.add(p.application_id)
            continue
        p.status, p.bank_ref, p.confirmed_at, p.confirmed_by = r["status"], r["ref"] or None, at, user.name
        p.failure_reason = r["reason"]
        reverse_payment(session, app, p, user.name, at)
        cases.move(session, app, "payment_failed", user.name, {"finance"}, reason=r["reason"], at=at,
                   policy=policy, payload={"idempotency_key": r["key"], "bank_ref": r["ref"]})
        session.add_all([p, app])
    if run:
        _confirm_paid(session, policy, user.name, at, [(payments[x["key"]], x) for x in run], apps)
    session.flush()
    if not counts["paid"] and not counts["failed"]:
        return counts  # re-importing a file already recorded is a no-op: nothing written at all
    audit.append(session, actor=user.name, action="pay.confirm", subject="payments", at=at,
                 payload={"file": filename, "file_sha256": hashlib.sha256(content).hexdigest(), **counts})
    return counts


def _confirm_paid(session: Session, policy: Any, actor: str, at: str, rows: list[tuple[Payment, dict[str, Any]]],
                  apps: dict[int, Application]) -> None:
    """Acknowledged paid, set-based (cases of one scheme, in the file's order): the payments updated in one
    executemany, guarded on their still being pending (a concurrent import of the same file is refused),
    and the cases moved to payment_confirmed by move_many — one audit event each, as one by one."""
    from sqlalchemy.orm.attributes import set_committed_value

    from models.bulk import update_rows

    values = [(r["status"], r["ref"] or None, at, actor, p.id, "pending") for p, r in rows]
    matched = update_rows(session, Payment.__table__,  # type: ignore[attr-defined]
                          ("status", "bank_ref", "confirmed_at", "confirmed_by"), values, ("id", "status"))
    if matched != len(values):
        raise IllegalTransition(f"{len(values) - matched} payment(s) were confirmed by someone else meanwhile; "
                                "import the file again (nothing was written)")
    for p, r in rows:
        for name, value in zip(("status", "bank_ref", "confirmed_at", "confirmed_by"),
                               (r["status"], r["ref"] or None, at, actor), strict=True):
            set_committed_value(p, name, value)
    cases.move_many(session, [apps[p.application_id] for p, _ in rows], "payment_confirmed", actor, {"finance"},
                    at=at, policy=policy, payloads={p.application_id: {"idempotency_key": r["key"], "bank_ref": r["ref"]}
                                                    for p, r in rows})


def _not_sent(session: Session, policy: Any, key: str) -> str:
    """Why an acknowledged key that no payment has is refused, with the scheme's rule and clause: the case
    it names (REF:<purpose>:<n>) is in no batch sent to the bank — or is no case at all."""
    from flows.services.applications import ref_prefix

    ref, _, purpose = key.partition(":")
    purpose = purpose.split(":", 1)[0]
    app = session.exec(select(Application).where(Application.ref == ref.upper())).first()
    sid = app.scheme if app is not None else next(
        (s for s in policy.schemes if ref.upper().startswith(ref_prefix(s) + "-")), None)
    if sid is None:
        return " (no case of any scheme has that reference)"
    sc = policy.scheme(sid)
    what = f"{ref} is a {sid} case that no batch paid" if app is not None else f"no {sid} case {ref} exists"
    return (f" — {what}: a bank acknowledgement confirms only payments sent in a batch ({sc.name} settles "
            f"{purpose or sc.payment.purpose} through `ipfund pay batch`, {sc.clause})")


def reverse_payment(session: Session, app: Application, p: Payment, actor: str, at: str) -> None:
    """A failed transfer: paid -> committed again (a new posting reversing the payment posting)."""
    pay = session.exec(select(Posting).where(Posting.subject == f"app:{app.ref}", Posting.kind == "payment",
                                             Posting.memo == f"payment {p.idempotency_key}")).first()
    assert pay is not None and pay.id is not None
    entries = []
    for account, amount in ledger.posting_entries(session, pay.id):
        _, code, source, bucket = account.split(":")
        if bucket == "paid" and amount > 0:
            entries += move_entries(code, source, "paid", "committed", amount)
    ledger.post(session, year=app.year, kind="reversal", memo=f"failed {p.idempotency_key}: {p.failure_reason}",
                actor=actor, entries=entries, subject=f"app:{app.ref}", reverses_id=pay.id, at=at)

