"""Issuing a dossier: who may issue or read, and the ``dossier.issue`` audit events."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from flows.services.context import acting
from flows.services.dossier.rendering import Dossier
from models import audit
from models.tables import (
    AuditEvent,
    User,
)

if TYPE_CHECKING:
    from flows.pdf_render import RenderResult

ISSUE_ACTION = "dossier.issue"


def check_may_issue(session: Session, actor: str | None) -> User:
    return acting(session, actor, "dossier.issue")


def check_may_read(session: Session, actor: str | None) -> None:
    """Rendering reads everything: with an acting user, that user must have the read.all permission."""
    if actor:
        acting(session, actor, "read.all")


def issue(session: Session, actor: str | None, d: Dossier, result: RenderResult) -> AuditEvent:
    """Append the issued dossier's sha256 and render manifest to the audit chain."""
    chain = d.data.get("chain") or {}
    return issue_record(session, actor, kind=d.kind, key=d.key, number=d.number, pdf_sha256=result.sha256,
                        data_sha256=d.data_sha256, created=d.created, anchor_seq=chain.get("seq"),
                        anchor_hash=chain.get("hash"), manifest=result.manifest)


def issue_record(session: Session, actor: str | None, *, kind: str, key: str, number: str, pdf_sha256: str,
                 data_sha256: str, created: str, anchor_seq: int | None, anchor_hash: str | None,
                 manifest: dict[str, str]) -> AuditEvent:
    user = acting(session, actor, "dossier.issue")
    subject = {"year": f"dossier:year:{key}", "pool_claim": f"dossier:pool-claim:{key}"}.get(kind, f"dossier:{key}")
    return audit.append(session, actor=user.name, action=ISSUE_ACTION, subject=subject, payload={
        "document_id": number, "kind": kind, "key": key, "pdf_sha256": pdf_sha256, "data_sha256": data_sha256,
        "created": created, "anchor_seq": anchor_seq, "anchor_hash": anchor_hash, "manifest": manifest})


def issued_records(session: Session, pdf_sha256: str, subject: str | None = None) -> list[dict[str, Any]]:
    q = select(AuditEvent).where(AuditEvent.action == ISSUE_ACTION)
    if subject:
        q = q.where(AuditEvent.subject == subject)
    out = []
    for e in session.exec(q.order_by(col(AuditEvent.seq))).all():
        p = json.loads(e.payload)
        if p.get("pdf_sha256") == pdf_sha256:
            out.append({"seq": e.seq, "at": e.at, "actor": e.actor, "document_id": p.get("document_id"),
                        "hash": e.hash})
    return out
