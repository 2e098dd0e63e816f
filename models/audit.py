"""Appending to and verifying the hash-chained audit log. Rows are only ever inserted."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from models.bulk import insert_rows
from models.checkpoints import note_head
from models.clock import stamp
from models.tables import AuditEvent
from rules.audit_chain import GENESIS_HASH, ChainBreak, canonical_json, event_body, event_hash

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
    note_head(session, seq, ev.hash)
    return ev


_COLUMNS = ("seq", "at", "actor", "action", "subject", "payload", "prev_hash", "hash")


def append_many(session: Session, events: list[dict[str, Any]]) -> None:
    """Bulk append (hot paths): same chain rule, rows written as one prepared executemany."""
    if not events:
        return
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
    t = AuditEvent.__table__  # type: ignore[attr-defined]
    last = session.execute(select(t.c.seq, t.c.hash).order_by(t.c.seq.desc()).limit(1)).first()
    seq = 0 if last is None else last[0]
    prev = GENESIS_HASH if last is None else last[1]
    rows = []
    default_at = stamp()
    sha = hashlib.sha256
    for e in events:
        seq += 1
        at = e.get("at") or default_at
        body = canonical_json(e["payload"])
        actor, action, subject = e["actor"], e["action"], e["subject"]
        h = sha((prev + event_body(prev, seq, at, actor, action, subject, body)).encode("utf-8")).hexdigest()
        rows.append((seq, at, actor, action, subject, body, prev, h))
        prev = h
    insert_rows(session, t, _COLUMNS, rows)
    note_head(session, seq, prev)


def verify(session: Session, batch: int = 20000, from_seq: int = 0) -> tuple[int, ChainBreak | None]:
    """Walk the chain in batches of plain rows (no ORM objects); return (events checked, first break).

    ``from_seq`` > 0 verifies only the tail after that entry, anchored on the stored hash of entry
    ``from_seq`` (used after each flow run for what it appended; `ipfund audit verify` walks it all).
    Rows are read with one prepared statement per batch (a million events per round)."""
    t = AuditEvent.__table__  # type: ignore[attr-defined]
    prev = GENESIS_HASH
    if from_seq > 0:
        anchor = session.execute(select(t.c.hash).where(t.c.seq == from_seq)).scalar_one_or_none()
        if anchor is None:
            return 0, ChainBreak(from_seq, "anchor entry is missing")
        prev = anchor
    conn = session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (f"SELECT {', '.join(_COLUMNS)} FROM audit_event WHERE seq > {mark} ORDER BY seq LIMIT {int(batch)}")
    sha = hashlib.sha256
    expected = from_seq + 1
    last = from_seq
    while True:
        rows = conn.exec_driver_sql(sql, (last,)).fetchall()
        if not rows:
            return expected - from_seq - 1, None
        for seq, at, actor, action, subject, payload, prev_hash, h in rows:
            if seq != expected:
                return expected - from_seq - 1, ChainBreak(seq, f"sequence gap: expected {expected}, found {seq}")
            if prev_hash != prev:
                return expected - from_seq - 1, ChainBreak(seq, "prev_hash does not match the hash of the entry before it")
            if sha((prev + event_body(prev, seq, at, actor, action, subject, payload)).encode("utf-8")).hexdigest() != h:
                return expected - from_seq - 1, ChainBreak(seq, "hash does not match the entry's content (the row was changed)")
            prev = h
            expected += 1
        last = rows[-1][0]


def head(session: Session) -> AuditEvent | None:
    return session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)).first()


def events_for(session: Session, subject: str | None = None, limit: int | None = None) -> list[AuditEvent]:
    q = select(AuditEvent).order_by(col(AuditEvent.seq))
    if subject is not None:
        q = q.where(AuditEvent.subject == subject)
    if limit is not None:
        q = q.limit(limit)
    return list(session.exec(q).all())
