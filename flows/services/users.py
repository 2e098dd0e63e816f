"""Users and roles."""

from __future__ import annotations

from sqlmodel import Session, col, select

from flows.services.context import acting
from models import audit
from models.clock import stamp
from models.tables import User
from rules.errors import RuleViolation, ValidationFailed
from rules.roles import ROLES


def _validate(name: str, roles: list[str]) -> list[str]:
    problems = []
    if not name or len(name) > 64 or any(c.isspace() for c in name):
        problems.append(f"name {name!r}: 1–64 characters, no spaces")
    if not roles:
        problems.append(f"roles: give at least one of {', '.join(ROLES)}")
    for r in roles:
        if r not in ROLES:
            problems.append(f"roles: {r!r} is not a role ({', '.join(ROLES)})")
    return problems


def create_user(session: Session, actor_name: str, name: str, roles: list[str], display_name: str | None = None,
                affiliation: str | None = None) -> User:
    """Insert a user; ``actor_name`` is recorded in the audit chain (permission checked by callers)."""
    problems = _validate(name, roles)
    if problems:
        raise ValidationFailed(f"user {name!r}", problems)
    if session.exec(select(User).where(User.name == name)).first() is not None:
        raise RuleViolation(f"user {name!r} already exists; pick another name")
    u = User(name=name, display_name=display_name or name, roles=",".join(sorted(set(roles))),
             affiliation=affiliation or None, created_at=stamp())
    session.add(u)
    session.flush()
    audit.append(session, actor=actor_name, action="user.add", subject=f"user:{name}",
                 payload={"name": name, "roles": u.roles, "affiliation": u.affiliation, "display_name": u.display_name})
    return u


def add_user(session: Session, actor: str | None, name: str, roles: list[str], display_name: str | None = None,
             affiliation: str | None = None) -> User:
    admin = acting(session, actor, "user.add")
    return create_user(session, admin.name, name, roles, display_name, affiliation)


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.name))).all())
