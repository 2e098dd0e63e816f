"""Moving an application through its scheme's state machine, always with an audit event."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import update
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


def tier_due(policy: Policy, scheme: str, state: str, at: str) -> str | None:
    """The deadline (a date, ISO) of the review tier a case enters at ``at``: its tier's working days
    in the policy's calendar; None when the state is no tier or the tier has no deadline."""
    import datetime as dt

    for tier in policy.scheme(scheme).review.tiers:
        if tier.state == state and tier.deadline_days:
            days = policy.integer(tier.deadline_days, dt.date.fromisoformat(at[:10]))
            return str(policy.calendar.work_calendar().add_working_days(dt.date.fromisoformat(at[:10]), days).isoformat())
    return None


def _deadline_tiers(policy: Policy, scheme: str) -> frozenset[str]:
    return frozenset(t.state for t in policy.scheme(scheme).review.tiers if t.deadline_days)


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
    values: dict[str, Any] = {"status": m.to_state, "status_at": at}
    timed = _deadline_tiers(policy, app.scheme)
    if m.to_state in timed or m.from_state in timed:
        values["review_due"] = tier_due(policy, app.scheme, m.to_state, at)
    res = session.execute(
        update(Application)
        .where(*where)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise IllegalTransition(f"{app.ref}: was changed by someone else (no longer {m.from_state!r}); "
                                "reload and try again")
    app.status = m.to_state
    app.status_at = at
    if "review_due" in values:
        set_committed_value(app, "review_due", values["review_due"])
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
    """The same guarded transition for many cases at once (hot paths): one prepared conditional UPDATE
    per case (state, time and field values together; one executemany per source state), and one bulk
    append to the audit chain.

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
    fields = dict(fields or {})
    reasons = reasons or {}
    actors = actors or {}
    timed = _deadline_tiers(policy, apps[0].scheme)
    checked: dict[tuple[str, bool], Any] = {}
    to_state: dict[str, str] = {}
    moves = []
    for app in rows:
        why = reasons.get(app.id, reason)
        key = (app.status, bool(why and why.strip()))
        m = checked.get(key)
        if m is None:
            m = checked[key] = wf.check(app.status, action, roles, why)
        moves.append(m)
        to_state[app.status] = m.to_state
        if m.to_state in timed or m.from_state in timed:  # entering or leaving a tier with a deadline
            fields[app.id] = {**fields.get(app.id, {}),
                              "review_due": tier_due(policy, app.scheme, m.to_state, at)}
    # One guarded UPDATE per case, all of a state and column set in one prepared executemany: the new
    # state, its time and the case's field values, WHERE id = ? AND status = <the state it was checked
    # in>. The drivers sum the row counts, so a case someone else moved meanwhile is a count short.
    fields_none: dict[str, Any] = {}
    groups: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = {}
    for app in rows:
        vals = fields.get(app.id, fields_none)
        group_key = (app.status, tuple(vals))
        group = groups.get(group_key)
        if group is None:
            group = groups[group_key] = []
        group.append((to_state[app.status], at, *vals.values(), app.id, app.status))
    for (state, columns), values in groups.items():
        keys: tuple[str, ...] = ("id", "status")
        if not guards.ENABLED:  # control runs of the race tests: no state guard
            keys = ("id",)
            values = [v[:-1] for v in values]
        matched = update_rows(session, table, ("status", "status_at", *columns), values, keys)
        if matched != len(values):
            raise IllegalTransition(f"{len(values) - matched} case(s) were changed by someone else "
                                    f"(no longer {state!r}); run again")
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
