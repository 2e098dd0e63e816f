"""Reading and verifying the audit chain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlmodel import Session

from models import audit, checkpoints


def verify(session: Session, checkpoints_at: Path | None = None) -> dict[str, Any]:
    """Walk the chain, then compare it with every signed checkpoint at ``checkpoints_at`` (default: the
    configured location). ``ok`` needs both; ``chain_ok`` is the walk alone."""
    checked, brk = audit.verify(session)
    h = audit.head(session)
    cps = checkpoints.verify(session, checkpoints_at)
    return {"events": checked, "ok": brk is None and cps.ok, "chain_ok": brk is None,
            "head_seq": h.seq if h else 0, "head_hash": h.hash if h else None,
            "first_bad_seq": brk.seq if brk else None, "problem": brk.problem if brk else None,
            "checkpoints": cps.as_dict()}


def log(session: Session, subject: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    return [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "subject": e.subject,
             "payload": json.loads(e.payload), "hash": e.hash} for e in audit.events_for(session, subject, limit)]
