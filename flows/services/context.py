"""Who is acting, and under which policy. Permission checks live here, in the service layer."""

from __future__ import annotations

from sqlmodel import Session, select

from models.tables import Setting, User
from rules.errors import NotFound, PermissionDenied
from rules.policy import DEFAULT_POLICY_ID, Policy, load_policy
from rules.roles import allowed, roles_for

SYSTEM_ACTOR = "system"


def get_user(session: Session, name: str | None) -> User:
    if not name:
        raise PermissionDenied("no acting user: pass --as USER or set IPFUND_USER")
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None:
        raise NotFound(f"user {name!r} does not exist; an admin adds users with `ipfund user add`")
    return user


def require(user: User, action: str) -> None:
    if not allowed(user.role_set(), action):
        raise PermissionDenied(
            f"{user.name} (roles: {user.roles or 'none'}) may not {action}; this needs one of the roles "
            f"{', '.join(roles_for(action))}"
        )


def acting(session: Session, name: str | None, action: str) -> User:
    user = get_user(session, name)
    require(user, action)
    return user


def setting(session: Session, key: str, default: str | None = None) -> str | None:
    row = session.get(Setting, key)
    return row.value if row is not None else default


def current_policy(session: Session) -> Policy:
    return load_policy(setting(session, "policy_id", DEFAULT_POLICY_ID) or DEFAULT_POLICY_ID)
