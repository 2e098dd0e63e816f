"""Appending to and verifying the hash-chained audit log. Rows are only ever inserted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from models.clock import stamp
from models.tables import AuditEvent
from rules.audit_chain import GENESIS_HASH, ChainBreak, canonical_json, event_hash, verify_events

_CHAIN_LOCK = 815_001  # pg_advisory_xact_lock key: one appender at a time on PostgreSQL


def append(session: Session, *, actor: str, action: str, subject: str, payload: dict[str, Any],
           at: str | None = None) -> AuditEvent:
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)).first()
    seq = 1 if last is None else last.seq + 1
    prev = GENESIS_HASH if last is None else last.hash
    at = at or stamp()
    body = canonical_json(payload)
    ev = AuditEvent(seq=seq, at=at, actor=actor, action=action, subject=subject, payload=body, prev_hash=prev,
                    hash=event_hash(prev, seq, at, actor, action, subject, body))
    session.add(ev)
    session.flush()
    return ev


def append_many(session: Session, events: list[dict[str, Any]]) -> None:
    """Bulk append (hot paths): same chain rule, one INSERT statement."""
    if not events:
        return
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)).first()
    seq = 0 if last is None else last.seq
    prev = GENESIS_HASH if last is None else last.hash
    rows = []
    default_at = stamp()
    for e in events:
        seq += 1
        at = e.get("at") or default_at
        body = canonical_json(e["payload"])
        h = event_hash(prev, seq, at, e["actor"], e["action"], e["subject"], body)
        rows.append({"seq": seq, "at": at, "actor": e["actor"], "action": e["action"], "subject": e["subject"],
                     "payload": body, "prev_hash": prev, "hash": h})
        prev = h
    session.execute(AuditEvent.__table__.insert(), rows)  # type: ignore[attr-defined]


def verify(session: Session, batch: int = 5000) -> tuple[int, ChainBreak | None]:
    """Walk the whole chain in batches; return (events checked, first break or None)."""
    checked = 0
    last_seq = 0

    def stream() -> Any:
        nonlocal checked, last_seq
        while True:
            rows = session.exec(
                select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(col(AuditEvent.seq)).limit(batch)
            ).all()
            if not rows:
                return
            for r in rows:
                checked += 1
                last_seq = r.seq
                yield {"seq": r.seq, "at": r.at, "actor": r.actor, "action": r.action, "subject": r.subject,
                       "payload": r.payload, "prev_hash": r.prev_hash, "hash": r.hash}

    brk = verify_events(stream())
    return checked, brk


def head(session: Session) -> AuditEvent | None:
    return session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)).first()


def events_for(session: Session, subject: str | None = None, limit: int | None = None) -> list[AuditEvent]:
    q = select(AuditEvent).order_by(col(AuditEvent.seq))
    if subject is not None:
        q = q.where(AuditEvent.subject == subject)
    if limit is not None:
        q = q.limit(limit)
    return list(session.exec(q).all())
