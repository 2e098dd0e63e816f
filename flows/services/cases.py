"""Moving an application through its scheme's state machine, always with an audit event."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import literal_column, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from flows.services.context import current_policy
from models import audit, guards
from models.bulk import update_rows
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


class CaseRef(NamedTuple):
    """The columns move_many reads, as a plain row (hot paths load these instead of ORM objects)."""

    id: int
    ref: str
    scheme: str
    status: str


def move_many(session: Session, apps: Sequence[Application | Any], action: str, actor: str, roles: set[str], *,
              reason: str | None = None, payloads: dict[int, dict[str, Any]] | None = None,
              fields: dict[int, dict[str, Any]] | None = None, at: str | None = None,
              policy: Policy | None = None, actors: dict[int, str] | None = None,
              reasons: dict[int, str | None] | None = None) -> None:
    """The same guarded transition for many cases at once (hot paths): one conditional UPDATE per state
    and chunk, field updates by primary key, and one bulk append to the audit chain.

    ``apps`` are ORM objects or plain rows with ``id``, ``ref``, ``scheme`` and ``status``. ``fields``
    carries per-case column values written with the move (outcome, score, ...). If any case was moved
    by someone else meanwhile, the whole unit of work is refused."""
    if not apps:
        return
    policy = policy or current_policy(session)
    wf = workflow(policy, apps[0].scheme)
    at = at or stamp()
    table = Application.__table__  # type: ignore[attr-defined]
    rows: Sequence[Any] = apps  # ORM objects or plain rows: only id, ref, scheme and status are read
    payloads = payloads or {}
    fields = fields or {}
    reasons = reasons or {}
    actors = actors or {}
    checked: dict[tuple[str, bool], Any] = {}
    by_state: dict[str, list[int]] = {}
    to_state: dict[str, str] = {}
    moves = []
    for app in rows:
        why = reasons.get(app.id, reason)
        key = (app.status, bool(why and why.strip()))
        m = checked.get(key)
        if m is None:
            m = checked[key] = wf.check(app.status, action, roles, why)
        moves.append(m)
        by_state.setdefault(app.status, []).append(app.id)
        to_state[app.status] = m.to_state
    # SQLite's planner (no statistics) prefers the status index to the id list for "id IN (...) AND
    # status = ?", which scans every case in that state per chunk: quadratic over a round. A unary
    # plus keeps the guard but not the index, so the ids are looked up by rowid.
    status_col = literal_column("+status") if session.get_bind().dialect.name == "sqlite" else table.c.status
    for state, ids_all in by_state.items():
        to = to_state[state]
        for i in range(0, len(ids_all), 900):
            ids = ids_all[i:i + 900]
            where: list[Any] = [table.c.id.in_(ids)]
            if guards.ENABLED:
                where.append(status_col == state)
            res = session.execute(table.update().where(*where).values(status=to, status_at=at))
            if res.rowcount != len(ids):  # type: ignore[attr-defined]
                raise IllegalTransition(f"{len(ids) - res.rowcount} case(s) were changed by someone else "  # type: ignore[attr-defined]
                                        f"(no longer {state!r}); run again")
    by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for app_id, vals in fields.items():
        by_columns.setdefault(tuple(vals), []).append((*vals.values(), app_id))
    for columns, values in by_columns.items():
        update_rows(session, Application.__table__, columns, values)  # type: ignore[attr-defined]
    events = []
    orm = hasattr(apps[0], "_sa_instance_state")
    name = f"case.{action}"
    for app, m in zip(rows, moves, strict=True):
        # Keep the loaded objects in step without marking them dirty (no per-row UPDATE at flush);
        # plain row objects (not ORM-mapped) are simply updated.
        if orm:
            set_committed_value(app, "status", m.to_state)
            set_committed_value(app, "status_at", at)
            for k, v in fields.get(app.id, {}).items():
                set_committed_value(app, k, v)
        elif not isinstance(app, tuple):  # a NamedTuple (CaseRef) is a read-only snapshot
            app.status = m.to_state
            app.status_at = at
            if hasattr(app, "__dict__"):  # slotted rows (rounds.CaseRow) carry only their columns
                for k, v in fields.get(app.id, {}).items():
                    setattr(app, k, v)
        payload = {"from": m.from_state, "to": m.to_state, "reason": reasons.get(app.id, reason)}
        extra = payloads.get(app.id)
        if extra:
            payload.update(extra)
        events.append({"actor": actors.get(app.id, actor), "action": name, "subject": f"app:{app.ref}", "at": at,
                       "payload": payload})
        if len(events) >= 5000:  # appended chunk by chunk: memory stays flat for a whole round
            audit.append_many(session, events)
            events = []
    audit.append_many(session, events)
