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


def scheme_of(session: Session, scheme: str | None, policy: Policy | None = None) -> str:
    """The scheme a command names, checked against the policy (nothing defaults to one scheme)."""
    policy = policy or current_policy(session)
    if not scheme:
        known = ", ".join(sorted(policy.schemes)) or "none"
        raise NotFound(f"name the scheme (--scheme SCHEME); the policy runs: {known}")
    policy.scheme(scheme)
    return scheme


def sync_scheme_states(session: Session, policy: Policy | None = None) -> int:
    """Make the declared-state table match the policy (rows added, never removed: old cases keep the
    states they were in). Returns the rows added; costs one read when nothing changed."""
    from sqlalchemy import select as sa_select

    from models.tables import SchemeState

    policy = policy or current_policy(session)
    t = SchemeState.__table__  # type: ignore[attr-defined]
    have = {(r[0], r[1]): (r[2], r[3]) for r in session.execute(sa_select(t.c.scheme, t.c.state, t.c.name, t.c.tags))}
    added = 0
    for sid, sc in policy.schemes.items():
        for state, sd in sc.states.items():
            want = (sd.name, ",".join(sorted(sd.tag_set())))
            got = have.get((sid, state))
            if got is None:
                session.execute(t.insert().values(scheme=sid, state=state, name=want[0], tags=want[1]))
                added += 1
            elif got != want:
                session.execute(t.update().where(t.c.scheme == sid, t.c.state == state)
                                .values(name=want[0], tags=want[1]))
    return added
