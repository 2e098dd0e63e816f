"""What a finance officer reads before paying: the cases of a scheme waiting to be paid (payable, or
released and not yet in a batch) with the amount due and the payee, and the payment batches with their
bank-file state and what the bank has acknowledged. Reads only; the acts are flows.services.payments."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from flows.services import payments
from flows.services.context import acting, current_policy
from models.tables import Applicant, Application, Payment, PaymentBatch


def paying_schemes(session: Session) -> list[tuple[str, str]]:
    """(id, name) of every scheme of the policy that pays someone."""
    policy = current_policy(session)
    return [(sid, sc.name) for sid, sc in sorted(policy.schemes.items()) if sc.pays]


def payable(session: Session, actor: str | None, scheme: str, limit: int = 1000) -> list[dict[str, Any]]:
    """The scheme's cases in a payable state, oldest first: reference, applicant, state, the purpose and
    amount due now (a tranche's share where the scheme pays in tranches), the payee and whether its bank
    account is on file (a case without one is held at release)."""
    acting(session, actor, "pay.batch")
    declared, states = payments._scheme_payment(session, scheme)
    policy = current_policy(session)
    apps = list(session.exec(select(Application).where(Application.scheme == scheme,
                                                       col(Application.status).in_(states))
                             .order_by(col(Application.id)).limit(limit)).all())
    applicants = {a.id: a for a in session.exec(select(Applicant).where(
        col(Applicant.id).in_({a.applicant_id for a in apps})))}
    agencies = payments._contracted_agencies(session, [a.id for a in apps if a.id is not None])
    decided = payments.decided_tranches(session, declared, [a.id for a in apps if a.id is not None])
    out = []
    for app in apps:
        purpose, amount = payments.due(declared, app, policy, decided)
        name, code, bank, account, _how = payments.resolve_payee(session, policy, declared, app,
                                                                 applicants[app.applicant_id], agencies)
        out.append({"ref": app.ref, "applicant": applicants[app.applicant_id].name, "status": app.status,
                    "purpose": purpose, "amount_fen": amount, "payee": name, "payee_uscc": code,
                    "bank_account_on_file": bool(bank and account)})
    return out


def batches(session: Session, actor: str | None, scheme: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The latest payment batches: who issued them and when, count and total, whether the bank file was
    written, and how many payments the bank has acknowledged paid or failed (the rest are pending)."""
    acting(session, actor, "pay.batch")
    q = select(PaymentBatch).order_by(col(PaymentBatch.id).desc()).limit(limit)
    if scheme:
        q = q.where(PaymentBatch.scheme == scheme)
    found = list(session.exec(q).all())
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    ids = [b.id for b in found if b.id is not None]
    if ids:
        for batch_id, status, n in session.exec(
                select(Payment.batch_id, Payment.status, func.count()).where(col(Payment.batch_id).in_(ids))
                .group_by(col(Payment.batch_id), col(Payment.status))).all():
            counts[batch_id][status] = int(n)
    return [{"id": b.id, "scheme": b.scheme, "created_by": b.created_by, "at": b.at, "file_name": b.file_name,
             "file_sha256": b.file_sha256, "count": b.count, "total_fen": b.total_fen,
             "file_written": b.file_written_at is not None, "paid": counts[b.id or 0].get("paid", 0),
             "failed": counts[b.id or 0].get("failed", 0), "pending": counts[b.id or 0].get("pending", 0)}
            for b in found]
