"""Disbursement (拨付): payment batches with idempotency keys, the bank file, and confirmations.

Idempotency follows the Formance rule: the same key with the same request returns the original
payment; the same key with a different amount or payee is a conflict and nothing is written.
Running a batch twice never pays anything twice: a case leaves `payable` when its payment is created.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from flows.services import cases
from flows.services.applicants import decode_text
from flows.services.context import acting, current_policy
from models import audit, faults, ledger
from models.clock import stamp
from models.tables import Applicant, Application, AwardRound, Payment, PaymentBatch, Posting, ReviewDecision
from rules.errors import FourEyesViolation, IdempotencyConflict, NotFound, ValidationFailed
from rules.funds import move_entries
from rules.money import fen_to_yuan_str, to_daxie

FILE_COLUMNS = ("idempotency_key", "payee", "credit_code", "bank_account", "amount_fen", "amount_yuan",
                "amount_daxie", "reference")
CONFIRM_COLUMNS = ("idempotency_key", "status", "bank_ref", "reason")


@dataclass
class BatchResult:
    batch: PaymentBatch | None
    payments: list[Payment]
    file_content: bytes


def payment_key(app: Application, attempt: int) -> str:
    return f"{app.ref}:award:{attempt}"


def ensure_payment(session: Session, key: str, **fields: Any) -> tuple[Payment, bool]:
    """Create the payment for ``key`` or return the existing one; a different request is a conflict."""
    existing = session.exec(select(Payment).where(Payment.idempotency_key == key)).first()
    if existing is not None:
        if (existing.amount_fen, existing.uscc, existing.application_id) != (
                fields["amount_fen"], fields["uscc"], fields["application_id"]):
            raise IdempotencyConflict(
                f"idempotency key {key} was used for {existing.amount_fen} fen to {existing.uscc}; this request is "
                f"{fields['amount_fen']} fen to {fields['uscc']} — refused, nothing written")
        return existing, False
    p = Payment(idempotency_key=key, **fields)
    session.add(p)
    session.flush()
    return p, True


def batch(session: Session, actor: str | None, scheme: str) -> BatchResult:
    user = acting(session, actor, "pay.batch")
    policy = current_policy(session)
    apps = list(session.exec(select(Application).where(Application.scheme == scheme, Application.status == "payable")
                             .order_by(col(Application.id))).all())
    if not apps:
        return BatchResult(None, [], b"")
    rounds = {r.id: r for r in session.exec(select(AwardRound).where(
        col(AwardRound.id).in_({a.round_id for a in apps}))).all()}
    ids = [a.id for a in apps]
    reviewed = set(session.exec(select(ReviewDecision.application_id).where(
        ReviewDecision.reviewer == user.name, col(ReviewDecision.application_id).in_(ids))).all())
    bad = [a.ref for a in apps if (a.round_id in rounds and rounds[a.round_id].approver == user.name)
           or a.id in reviewed]
    if bad:
        raise FourEyesViolation(f"{user.name} approved or reviewed {len(bad)} of these cases ({', '.join(bad[:5])}); "
                                "the payer must be a different person (不相容岗位相互分离)")
    applicants = {a.id: a for a in session.exec(select(Applicant).where(
        col(Applicant.id).in_({x.applicant_id for x in apps}))).all()}
    own = [a.ref for a in apps if user.affiliation and applicants[a.applicant_id].uscc == user.affiliation]
    if own:
        raise FourEyesViolation(f"{user.name} belongs to the applicant of {', '.join(own[:5])}; another finance "
                                "officer must pay it (不相容岗位相互分离)")
    at = stamp()
    b = PaymentBatch(scheme=scheme, created_by=user.name, at=at, file_name="", total_fen=0, count=0)
    session.add(b)
    session.flush()
    assert b.id is not None
    payments = []
    for app in apps:
        assert app.id is not None and app.award_fen is not None and app.line_code is not None
        attempt = 1 + len(session.exec(select(Payment.id).where(Payment.application_id == app.id)).all())
        payee = applicants[app.applicant_id]
        p, _created = ensure_payment(
            session, payment_key(app, attempt), batch_id=b.id, application_id=app.id, line_code=app.line_code,
            payee=payee.name, uscc=payee.uscc, bank_account="", amount_fen=app.award_fen, status="pending",
            approver=rounds[app.round_id].approver if app.round_id in rounds else "", payer=user.name, created_at=at)
        faults.point("pay.after_idempotency_row")
        pay_from_commitment(session, app, p, user.name, at)
        faults.point("pay.after_ledger_posting")
        cases.move(session, app, "batch_payment", user.name, {"finance"}, at=at, policy=policy,
                   payload={"idempotency_key": p.idempotency_key, "amount_fen": p.amount_fen, "batch": b.id})
        payments.append(p)
    b.count = len(payments)
    b.total_fen = sum(p.amount_fen for p in payments)
    b.file_name = f"payment-batch-{b.id:05d}.csv"
    content = payment_file(payments, policy.scheme(scheme).name)
    b.file_sha256 = hashlib.sha256(content).hexdigest()
    session.add(b)
    session.flush()
    audit.append(session, actor=user.name, action="pay.batch", subject=f"batch:{b.id}", at=at,
                 payload={"scheme": scheme, "count": b.count, "total_fen": b.total_fen, "file": b.file_name,
                          "file_sha256": b.file_sha256, "keys": [p.idempotency_key for p in payments]})
    faults.point("pay.after_audit_append")
    return BatchResult(b, payments, content)


def pay_from_commitment(session: Session, app: Application, p: Payment, actor: str, at: str) -> None:
    """committed -> paid, source by source as the award was committed."""
    commit = session.exec(select(Posting).where(Posting.subject == f"app:{app.ref}", Posting.kind == "commitment")
                          .order_by(col(Posting.id).desc())).first()
    assert commit is not None and commit.id is not None
    entries = []
    for account, amount in ledger.posting_entries(session, commit.id):
        _, code, source, bucket = account.split(":")
        if bucket == "committed" and amount > 0:
            entries += move_entries(code, source, "committed", "paid", amount)
    ledger.post(session, year=app.year, kind="payment", memo=f"payment {p.idempotency_key}", actor=actor,
                entries=entries, subject=f"app:{app.ref}", at=at)


def payment_file(payments: list[Payment], scheme_name: str) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(FILE_COLUMNS)
    for p in sorted(payments, key=lambda x: x.idempotency_key):
        w.writerow([p.idempotency_key, p.payee, p.uscc, p.bank_account, p.amount_fen, fen_to_yuan_str(p.amount_fen),
                    to_daxie(p.amount_fen), f"{scheme_name} {p.idempotency_key.split(':')[0]}"])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def missing_batch_files(session: Session, scheme: str, out_dir: Path) -> list[tuple[Path, bytes]]:
    """Bank files of this scheme's batches that are absent from ``out_dir`` (e.g. after a crash between
    the commit and the file write), regenerated byte for byte from the database."""
    out = []
    for b in session.exec(select(PaymentBatch).where(PaymentBatch.scheme == scheme).order_by(col(PaymentBatch.id))).all():
        path = out_dir / b.file_name
        if not path.exists():
            assert b.id is not None
            _, content = batch_file(session, b.id)
            if hashlib.sha256(content).hexdigest() != b.file_sha256:
                raise IdempotencyConflict(f"batch {b.id}: regenerated file differs from the one recorded")
            out.append((path, content))
    return out


def batch_file(session: Session, batch_id: int) -> tuple[PaymentBatch, bytes]:
    """Regenerate a batch's bank file from the database (same bytes as when it was created)."""
    b = session.get(PaymentBatch, batch_id)
    if b is None:
        raise NotFound(f"payment batch {batch_id} does not exist")
    payments = list(session.exec(select(Payment).where(Payment.batch_id == batch_id)).all())
    content = payment_file(payments, current_policy(session).scheme(b.scheme).name)
    return b, content


def confirm(session: Session, actor: str | None, content: bytes, filename: str) -> dict[str, int]:
    """Import the bank's acknowledgements (paid / failed with reason). All rows or none; re-importing
    the same file changes nothing; a row contradicting an earlier confirmation is refused."""
    user = acting(session, actor, "pay.confirm")
    policy = current_policy(session)
    rows = list(csv.reader(io.StringIO(decode_text(content, filename, allow_gbk=True))))
    if not rows:
        raise ValidationFailed(filename, ["line 1: empty file; expected " + ",".join(CONFIRM_COLUMNS)])
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in CONFIRM_COLUMNS[:3] if c not in header]
    if missing:
        raise ValidationFailed(filename, [f"line 1: header lacks {', '.join(missing)}; expected "
                                          + ",".join(CONFIRM_COLUMNS)])
    idx = {c: header.index(c) for c in CONFIRM_COLUMNS if c in header}
    problems: list[str] = []
    parsed: list[tuple[int, str, str, str, str]] = []
    seen: dict[str, int] = {}
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        cell = {c: (row[i].strip() if i < len(row) else "") for c, i in idx.items()}
        key, status, ref, reason = cell["idempotency_key"], cell["status"].lower(), cell["bank_ref"], cell.get("reason", "")
        if status not in ("paid", "failed"):
            problems.append(f"line {n}: status {cell['status']!r} must be paid or failed")
        if status == "failed" and not reason:
            problems.append(f"line {n}: a failed payment needs a reason")
        if not ref and status == "paid":
            problems.append(f"line {n}: bank_ref is empty")
        if key in seen:
            problems.append(f"line {n}: {key} already on line {seen[key]}")
        seen.setdefault(key, n)
        parsed.append((n, key, status, ref, reason))
    payments = {p.idempotency_key: p for p in session.exec(select(Payment).where(
        col(Payment.idempotency_key).in_([r[1] for r in parsed]))).all()}
    for n, key, status, ref, _reason in parsed:
        p = payments.get(key)
        if p is None:
            problems.append(f"line {n}: no payment has idempotency key {key!r}")
        elif p.status != "pending" and (p.status != status or (status == "paid" and p.bank_ref != ref)):
            problems.append(f"line {n}: {key} was already confirmed {p.status} ({p.bank_ref or p.failure_reason}); "
                            f"the file says {status} — contact the bank, nothing was written")
    if problems:
        raise ValidationFailed(filename, problems)
    at = stamp()
    counts = {"paid": 0, "failed": 0, "unchanged": 0}
    for _n, key, status, ref, reason in parsed:
        p = payments[key]
        if p.status != "pending":
            counts["unchanged"] += 1
            continue
        app = session.get(Application, p.application_id)
        assert app is not None
        p.status, p.bank_ref, p.confirmed_at = status, ref or None, at
        if status == "paid":
            cases.move(session, app, "payment_confirmed", user.name, {"finance"}, at=at, policy=policy,
                       payload={"idempotency_key": key, "bank_ref": ref})
        else:
            p.failure_reason = reason[:400]
            reverse_payment(session, app, p, user.name, at)
            cases.move(session, app, "payment_failed", user.name, {"finance"}, reason=reason, at=at, policy=policy,
                       payload={"idempotency_key": key, "bank_ref": ref})
        session.add_all([p, app])
        counts[status] += 1
    session.flush()
    if not counts["paid"] and not counts["failed"]:
        return counts  # re-importing a file already recorded is a no-op: nothing written at all
    audit.append(session, actor=user.name, action="pay.confirm", subject="payments", at=at,
                 payload={"file": filename, "file_sha256": hashlib.sha256(content).hexdigest(), **counts})
    return counts


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
