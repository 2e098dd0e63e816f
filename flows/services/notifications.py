"""The notification outbox: messages to people and organisations, written in the unit of work of the
event that causes them (so a message exists exactly when its event does). Sending e-mail or SMS is an
adapter's job: it lists what is unsent and marks it sent; nothing here sends anything."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from flows.services.context import acting
from flows.services.text_input import limit
from models import audit
from models.clock import stamp
from models.tables import Notification
from rules.errors import ValidationFailed
from rules.roles import allowed


def notify(session: Session, *, recipient: str, subject: str, body: str, cause: str,
           at: str | None = None) -> Notification:
    """Queue one message (no commit: the caller's unit of work writes it with its cause)."""
    m = _message(recipient, subject, body, cause, at or stamp())
    n = Notification(recipient=m["recipient"], subject=m["subject"], body=m["body"], cause=m["cause"],
                     created_at=m["created_at"])
    session.add(n)
    session.flush()
    return n


def notify_many(session: Session, messages: list[tuple[str, str, str, str]], at: str | None = None) -> int:
    """Queue many messages, each (recipient, subject, body, cause), as one prepared insert (bulk acts):
    the same rows :func:`notify` writes. Returns how many."""
    from models.bulk import insert_rows

    when = at or stamp()
    columns = ("recipient", "subject", "body", "cause", "created_at")
    rows = [tuple(_message(*m, when).values()) for m in messages]
    return insert_rows(session, Notification.__table__, columns, rows)  # type: ignore[attr-defined]


def _message(recipient: str, subject: str, body: str, cause: str, at: str) -> dict[str, str]:
    return {"recipient": recipient[:limit(Notification, "recipient")],
            "subject": subject[:limit(Notification, "subject")], "body": body[:limit(Notification, "body")],
            "cause": cause, "created_at": at}


def row(n: Notification) -> dict[str, Any]:
    return {"id": n.id, "recipient": n.recipient, "subject": n.subject, "body": n.body, "cause": n.cause,
            "created_at": n.created_at, "sent_at": n.sent_at, "sent_by": n.sent_by}


def list_notifications(session: Session, actor: str | None, unsent: bool = False,
                       recipient: str | None = None) -> list[dict[str, Any]]:
    """The outbox, oldest first. The bureau's staff (and auditors) read every message; anyone else reads
    the messages to themselves or to their organisation."""
    user = acting(session, actor, "notify.list")
    q = select(Notification).order_by(col(Notification.id))
    if unsent:
        q = q.where(col(Notification.sent_at).is_(None))
    if recipient:
        q = q.where(Notification.recipient == recipient.strip())
    if not allowed(user.role_set(), "read.all"):
        mine = [user.name] + ([user.affiliation] if user.affiliation else [])
        q = q.where(col(Notification.recipient).in_(mine))
    return [row(n) for n in session.exec(q).all()]


def mark_sent(session: Session, actor: str | None, ids: list[int]) -> int:
    """Mark messages sent (the sending adapter's act, admins only): every id must exist and be unsent,
    or nothing is marked."""
    user = acting(session, actor, "notify.mark_sent")
    if not ids:
        raise ValidationFailed("notify mark-sent", ["give the id of at least one notification"])
    found = {n.id: n for n in session.exec(select(Notification).where(col(Notification.id).in_(ids))).all()}
    problems = []
    for i in dict.fromkeys(ids):
        n = found.get(i)
        if n is None:
            problems.append(f"notification {i} does not exist")
        elif n.sent_at is not None:
            problems.append(f"notification {i} was already sent at {n.sent_at} by {n.sent_by}")
    if problems:
        raise ValidationFailed("notify mark-sent", problems)
    at = stamp()
    for i in dict.fromkeys(ids):
        n = found[i]
        n.sent_at, n.sent_by = at, user.name
        session.add(n)
    session.flush()
    audit.append(session, actor=user.name, action="notify.sent", subject="notification",
                 payload={"ids": sorted(set(ids)), "at": at})
    return len(set(ids))
