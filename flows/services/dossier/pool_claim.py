"""The data of a pool-claim dossier (风险补偿资金池, 二(三)7): the claim's facts, the loan and its bank and
borrower, each party's part of the loss with the shares of the filing date, what each bore, the
computation's trace (each parameter with its clause and date), the pool's postings for the claim, and every
event of the claim and of the loan's filing — anchored, like a case dossier, to the claim's latest event."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, and_, col, or_, select

from flows.services.context import current_policy
from flows.services.dossier.common import (
    FORMAT,
    ChainStatus,
    _anchor,
    _event_row,
    _people,
    _policy_head,
    _postings,
)
from models.tables import Applicant, AuditEvent
from rules.schemes.risk_compensation import SCHEME as POOL_SCHEME  # the pool's entry in the scheme catalog


def pool_claim_data(session: Session, ref: str, chain: ChainStatus | None = None) -> dict[str, Any]:
    from flows.services import pool

    c, bank, loan = pool._claim(session, ref)
    borrower = session.get(Applicant, loan.borrower_id)
    assert borrower is not None
    policy = current_policy(session)
    subject = f"pool-claim:{c.ref}"
    loan_subject = f"loan:{bank.uscc}:{loan.ref}"
    events = list(session.exec(select(AuditEvent).where(or_(
        col(AuditEvent.subject) == subject,
        and_(col(AuditEvent.subject) == loan_subject, col(AuditEvent.action).startswith("pool."))))
        .order_by(col(AuditEvent.seq))).all())
    view = pool.claim_view(c, bank, loan.ref)
    entry = policy.scheme_catalog.get(POOL_SCHEME)
    return {
        "dossier": {"kind": "pool_claim", "format": FORMAT, "ref": c.ref},
        "policy": _policy_head(policy),
        "scheme": {"id": POOL_SCHEME, "name": entry.name if entry else POOL_SCHEME,
                   "clause": entry.clause if entry else pool.CLAUSE},
        "claim": view,
        "bank": {"uscc": bank.uscc, "name": bank.name},
        "borrower": {"uscc": borrower.uscc, "name": borrower.name, "district": borrower.district,
                     "sme": bool(borrower.sme)},
        "loan": {"ref": loan.ref, "principal_fen": loan.principal_fen, "rate": loan.rate, "drawdown": loan.drawdown,
                 "maturity": loan.maturity, "extended_to": loan.extended_to, "pledged_ip": loan.pledged_ip,
                 "pledge_reg_no": loan.pledge_reg_no, "pledge_reg_date": loan.pledge_reg_date,
                 "ip_share_ppm": loan.ip_share_ppm, "cover_kind": loan.cover_kind},
        "postings": _postings(session, subject),
        "people": _people(session, [e.actor for e in events]),
        "history": [_event_row(e) for e in events],
        "chain": _anchor(session, [e.seq for e in events], chain),
    }
