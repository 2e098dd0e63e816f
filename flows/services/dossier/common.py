"""Helpers shared by the case and year dossiers: dates, policy parameters and event payloads for
display, the audit-chain anchor (:class:`ChainStatus`, :func:`chain_status`), people and postings."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlmodel import Session, col, select

from flows.services.context import SYSTEM_ACTOR
from flows.services.score_files import tenths_text
from models import checkpoints, ledger
from models.tables import (
    AuditEvent,
    Posting,
    User,
)
from rules.audit_chain import GENESIS_HASH, verify_events
from rules.money import format_yuan
from rules.policy import ParameterNotInForce, Policy
from rules.reconciliation import bucket_moves

FORMAT = "ipfund-dossier/1"


def _date(at: str | None) -> dt.date | None:
    return dt.date.fromisoformat(at[:10]) if at else None


def _param(policy: Policy, name: str, as_of: dt.date, key: str | None = None) -> dict[str, Any]:
    """One policy parameter as of a date, with its clause, for display (value as text)."""
    p = policy.parameter(name)
    try:
        value: Any = p.at(as_of)
    except ParameterNotInForce:
        value = None
    if key is not None and isinstance(value, dict):
        value = value.get(key)
        name = f"{name}[{key}]"
    if value is None:
        text = "—"
    elif p.unit == "fen" and isinstance(value, int):
        text = format_yuan(value)
    else:
        text = str(value)
    return {"name": name, "value": text, "unit": p.unit, "clause": p.clause, "illustrative": p.illustrative,
            "as_of": as_of.isoformat()}


def _short(value: Any) -> str:
    text = str(value)
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        return text[:12] + "…"
    return text


def _summary(payload: dict[str, Any]) -> str:
    """A one-line reading of an event payload: transition, reason, then the other fields (hashes
    shortened; the full payload is covered by the event hash)."""
    parts = []
    if "to" in payload:
        parts.append(f"{payload.get('from') or '—'} → {payload['to']}")
    if payload.get("reason"):
        parts.append(f"reason: {payload['reason']}")
    for k in sorted(payload):
        v = payload[k]
        if k in ("from", "to", "reason", "data", "scores", "receipts", "lines", "counts", "manifest"):
            continue
        if isinstance(v, str | int | bool) and v != "":
            parts.append(f"{k}: {_short(v)}")
        elif isinstance(v, list) and v and all(isinstance(x, str | int) for x in v):
            shown = ", ".join(_short(x) for x in v[:4])
            parts.append(f"{k}: {shown}" + (f" … ({len(v)})" if len(v) > 4 else ""))
    if isinstance(payload.get("scores"), dict):
        parts.append("scores: " + ", ".join(f"{c} {tenths_text(int(t))}" for c, t in sorted(payload["scores"].items())))
    text = "; ".join(parts)
    return text if len(text) <= 300 else text[:299] + "…"


def _event_row(e: AuditEvent) -> dict[str, Any]:
    payload = json.loads(e.payload)
    return {"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "subject": e.subject,
            "summary": _summary(payload if isinstance(payload, dict) else {}), "payload_sha256":
            hashlib.sha256(e.payload.encode("utf-8")).hexdigest(), "prev_hash": e.prev_hash, "hash": e.hash}


@dataclass(frozen=True)
class ChainStatus:
    """Result of walking the audit chain once: it verifies through ``checked_through`` unless
    ``break_seq`` is set (then every event from ``break_seq`` on is unverified)."""

    checked_through: int
    break_seq: int | None = None
    problem: str | None = None


def chain_status(session: Session, through: int | None = None, batch: int = 5000) -> ChainStatus:
    """Verify the chain from genesis through event ``through`` (default: the whole chain)."""
    last = 0
    checked = 0

    def stream() -> Iterator[dict[str, Any]]:
        nonlocal last, checked
        while True:
            q = select(AuditEvent).where(AuditEvent.seq > last)
            if through is not None:
                q = q.where(AuditEvent.seq <= through)
            rows = session.exec(q.order_by(col(AuditEvent.seq)).limit(batch)).all()
            if not rows:
                return
            for r in rows:
                last = checked = r.seq
                yield {"seq": r.seq, "at": r.at, "actor": r.actor, "action": r.action, "subject": r.subject,
                       "payload": r.payload, "prev_hash": r.prev_hash, "hash": r.hash}

    brk = verify_events(stream())
    if brk is not None:
        return ChainStatus(checked, brk.seq, brk.problem)
    return ChainStatus(checked)


def _anchor(session: Session, seqs: Iterable[int], chain: ChainStatus | None) -> dict[str, Any]:
    """The chain position a dossier is anchored to, and whether the chain verifies up to it."""
    anchor_seq = max(seqs, default=0)
    if anchor_seq == 0:
        return {"seq": 0, "at": None, "hash": GENESIS_HASH, "head_hash": GENESIS_HASH, "verified": True,
                "verified_from": 1, "verified_through": 0, "break_seq": None, "problem": None, "checkpoint": None}
    ev = session.get(AuditEvent, anchor_seq)
    assert ev is not None
    reusable = chain is not None and (chain.checked_through >= anchor_seq or (
        chain.break_seq is not None and chain.break_seq <= anchor_seq))
    status = chain if reusable and chain is not None else chain_status(session, anchor_seq)
    broken = status.break_seq is not None and status.break_seq <= anchor_seq
    return {"seq": ev.seq, "at": ev.at, "hash": ev.hash, "head_hash": ev.hash, "verified": not broken,
            "verified_from": 1, "verified_through": ev.seq, "break_seq": status.break_seq if broken else None,
            "problem": status.problem if broken else None,
            # The earliest signed checkpoint covering the anchor (models/checkpoints.py): fixed once written.
            "checkpoint": checkpoints.covering(session, ev.seq)}


def _people(session: Session, names: Iterable[str]) -> list[dict[str, Any]]:
    wanted = sorted({n for n in names if n and n != SYSTEM_ACTOR})
    if not wanted:
        return []
    users = {u.name: u for u in session.exec(select(User).where(col(User.name).in_(wanted))).all()}
    out = []
    for n in wanted:
        u = users.get(n)
        out.append({"name": n, "display_name": u.display_name if u else None,
                    "roles": sorted(u.role_set()) if u else [], "affiliation": u.affiliation if u else None})
    return out


def _postings(session: Session, subject: str) -> list[dict[str, Any]]:
    rows = session.exec(select(Posting).where(Posting.subject == subject).order_by(col(Posting.id))).all()
    out = []
    for p in rows:
        assert p.id is not None
        entries = ledger.posting_entries(session, p.id)
        out.append({"id": p.id, "kind": p.kind, "memo": p.memo, "actor": p.actor, "at": p.at,
                    "reverses_id": p.reverses_id, "moves": _moves(entries),
                    "entries": [{"account": a, "amount_fen": amt} for a, amt in entries]})
    return out


def _moves(entries: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """Read a posting's line entries as moves between buckets of one line and source
    (``line:L:S:available`` -ΔX and ``line:L:S:committed`` +X is "S: available → committed X")."""
    return [{"line": line, "source": source, "from": src, "to": dst, "amount_fen": amount}
            for line, source, src, dst, amount in bucket_moves(entries)]


def _rules(results: list[Any]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in results]


def _policy_head(policy: Policy) -> dict[str, Any]:
    return {"id": policy.id, "title": policy.title, "document": policy.document, "issued": policy.issued.isoformat()}


def _scheme_head(policy: Policy, scheme: str) -> dict[str, Any]:
    cat = policy.scheme_catalog.get(scheme)
    sd = policy.schemes.get(scheme)
    return {"id": scheme, "name": cat.name if cat else (sd.name if sd else scheme),
            "name_en": sd.name_en if sd else None, "clause": cat.clause if cat else (sd.clause if sd else None),
            # the form's own labels, so any scheme's fields print by name (rules.policy.FieldDef.label)
            "fields": {k: f.label for k, f in sd.form.fields.items() if f.label} if sd else {}}


@lru_cache(maxsize=1)
def _round_report(report: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A round's stored report parsed once per process, not once per case dossier (16 MB of JSON at
    100,000 cases, ~0.2 s to parse): its summary (with ``case_lines``, the number of case lines) and
    each case's line by ref (the first line of a ref, as a scan would find it). Shared: callers copy
    what they keep."""
    data = json.loads(report)
    lines = data.pop("cases", [])
    by_ref: dict[str, dict[str, Any]] = {}
    for line in lines:
        by_ref.setdefault(line.get("ref"), line)
    data["case_lines"] = len(lines)
    return data, by_ref
