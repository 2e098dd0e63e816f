"""Moving an application through its scheme's state machine, always with an audit event."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from flows.services.context import current_policy
from models import audit, guards
from models.clock import stamp
from models.tables import Applicant, Application
from rules.errors import IllegalTransition, NotFound
from rules.policy import Policy
from rules.workflow import Workflow

_CACHE: dict[tuple[str, str], Workflow] = {}


def workflow(policy: Policy, scheme: str) -> Workflow:
    key = (policy.id, scheme)
    if key not in _CACHE:
        _CACHE[key] = Workflow(scheme, policy.scheme(scheme))
    return _CACHE[key]


def move(session: Session, app: Application, action: str, actor: str, roles: set[str], *,
         reason: str | None = None, payload: dict[str, Any] | None = None, at: str | None = None,
         policy: Policy | None = None) -> str:
    """Apply one guarded transition. The UPDATE is conditional on the state read, so two writers racing
    on one case cannot both move it (the loser gets IllegalTransition)."""
    policy = policy or current_policy(session)
    m = workflow(policy, app.scheme).check(app.status, action, roles, reason)
    at = at or stamp()
    where = [col(Application.id) == app.id]
    if guards.ENABLED:
        where.append(col(Application.status) == m.from_state)
    res = session.execute(
        update(Application)
        .where(*where)
        .values(status=m.to_state, status_at=at)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise IllegalTransition(f"{app.ref}: was changed by someone else (no longer {m.from_state!r}); "
                                "reload and try again")
    app.status = m.to_state
    app.status_at = at
    audit.append(session, actor=actor, action=f"case.{action}", subject=f"app:{app.ref}", at=at,
                 payload={"from": m.from_state, "to": m.to_state, "reason": reason, **(payload or {})})
    return m.to_state


def get_app(session: Session, key: str) -> Application:
    key = key.strip()
    app = session.exec(select(Application).where(Application.ref == key.upper())).first()
    if app is None and key.isdigit():
        app = session.get(Application, int(key))
    if app is None:
        raise NotFound(f"application {key!r} not found (use the reference shown by `ipfund application list`, "
                       "e.g. CA-2021-00001)")
    return app


def applicant_of(session: Session, app: Application) -> Applicant:
    a = session.get(Applicant, app.applicant_id)
    assert a is not None
    return a


def app_data(app: Application) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(app.data)
    return data


def move_many(session: Session, apps: Sequence[Application | Any], action: str, actor: str, roles: set[str], *,
              reason: str | None = None, payloads: dict[int, dict[str, Any]] | None = None,
              fields: dict[int, dict[str, Any]] | None = None, at: str | None = None,
              policy: Policy | None = None, actors: dict[int, str] | None = None,
              reasons: dict[int, str | None] | None = None) -> None:
    """The same guarded transition for many cases at once (hot paths): one conditional UPDATE per state
    and chunk, field updates by primary key, and one bulk append to the audit chain.

    ``fields`` carries per-case column values written with the move (outcome, score, ...). If any case
    was moved by someone else meanwhile, the whole unit of work is refused."""
    if not apps:
        return
    policy = policy or current_policy(session)
    wf = workflow(policy, apps[0].scheme)
    at = at or stamp()
    by_state: dict[str, list[Application]] = {}
    moves = {}
    for app in apps:
        why = (reasons or {}).get(app.id or 0, reason)
        moves[app.id] = wf.check(app.status, action, roles, why)
        by_state.setdefault(app.status, []).append(app)
    for state, group in by_state.items():
        to = moves[group[0].id].to_state
        for i in range(0, len(group), 900):
            ids = [a.id for a in group[i:i + 900]]
            where: list[Any] = [col(Application.id).in_(ids)]
            if guards.ENABLED:
                where.append(col(Application.status) == state)
            res = session.execute(update(Application).where(*where).values(status=to, status_at=at)
                                  .execution_options(synchronize_session=False))
            if res.rowcount != len(ids):  # type: ignore[attr-defined]
                raise IllegalTransition(f"{len(ids) - res.rowcount} case(s) were changed by someone else "  # type: ignore[attr-defined]
                                        f"(no longer {state!r}); run again")
    if fields:
        rows = [{"id": app_id, **vals} for app_id, vals in fields.items()]
        for i in range(0, len(rows), 1000):
            session.execute(update(Application), rows[i:i + 1000])
    events = []
    for app in apps:
        m = moves[app.id]
        # Keep the loaded objects in step without marking them dirty (no per-row UPDATE at flush);
        # plain row objects (not ORM-mapped) are simply updated.
        setter = set_committed_value if hasattr(app, "_sa_instance_state") else setattr
        setter(app, "status", m.to_state)
        setter(app, "status_at", at)
        for k, v in (fields or {}).get(app.id or 0, {}).items():
            setter(app, k, v)
        events.append({"actor": (actors or {}).get(app.id or 0, actor), "action": f"case.{action}",
                       "subject": f"app:{app.ref}", "at": at,
                       "payload": {"from": m.from_state, "to": m.to_state,
                                   "reason": (reasons or {}).get(app.id or 0, reason),
                                   **((payloads or {}).get(app.id or 0, {}))}})
    audit.append_many(session, events)
