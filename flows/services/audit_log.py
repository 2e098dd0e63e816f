"""Reading and verifying the audit chain."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session

from models import audit


def verify(session: Session) -> dict[str, Any]:
    checked, brk = audit.verify(session)
    h = audit.head(session)
    return {"events": checked, "ok": brk is None, "head_seq": h.seq if h else 0, "head_hash": h.hash if h else None,
            "first_bad_seq": brk.seq if brk else None, "problem": brk.problem if brk else None}


def log(session: Session, subject: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    return [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "subject": e.subject,
             "payload": json.loads(e.payload), "hash": e.hash} for e in audit.events_for(session, subject, limit)]
