"""Users and roles."""

from __future__ import annotations

from sqlmodel import Session, col, select

from flows.services.context import acting
from flows.services.text_input import limit, text_problem
from models import audit
from models.clock import stamp
from models.tables import User
from rules.duties import validate_affiliation
from rules.errors import RuleViolation, ValidationFailed
from rules.roles import ROLES


def _validate(name: str, roles: list[str], display_name: str | None, affiliation: str | None) -> tuple[
        list[str], str | None]:
    """Every problem with a new user, and the normalised affiliation."""
    problems = []
    if not name or len(name) > limit(User, "name") or any(c.isspace() or not c.isprintable() for c in name):
        problems.append(f"name {name[:40]!r}: 1–{limit(User, 'name')} printable characters, no spaces")
    if not roles:
        problems.append(f"roles: give at least one of {', '.join(ROLES)}")
    for r in roles:
        if r not in ROLES:
            problems.append(f"roles: {r!r} is not a role ({', '.join(ROLES)})")
    if "auditor" in roles and set(roles) - {"auditor"}:
        problems.append(f"roles: an auditor holds no other role (auditors change nothing; 不相容岗位相互分离), "
                        f"not {', '.join(sorted(set(roles) - {'auditor'}))}")
    if display_name is not None:
        p = text_problem(display_name, field="display name", max_len=limit(User, "display_name"))
        if p:
            problems.append(p)
    org = None
    if affiliation is not None and affiliation.strip():
        try:
            org = validate_affiliation(affiliation)
        except ValueError as exc:
            problems.append(f"--affiliation: {exc}")
    return problems, org


def create_user(session: Session, actor_name: str, name: str, roles: list[str], display_name: str | None = None,
                affiliation: str | None = None) -> User:
    """Insert a user; ``actor_name`` is recorded in the audit chain (permission checked by callers)."""
    problems, org = _validate(name, roles, display_name, affiliation)
    if problems:
        raise ValidationFailed(f"user {name[:64]!r}", problems)
    if session.exec(select(User).where(User.name == name)).first() is not None:
        raise RuleViolation(f"user {name!r} already exists; pick another name")
    u = User(name=name, display_name=(display_name or "").strip() or name, roles=",".join(sorted(set(roles))),
             affiliation=org, created_at=stamp())
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
