"""Formal review (形式审查): reviewers step through their queue and approve, return or reject.

A decision is an append-only row with reviewer, time and reason. The case itself is moved on by the
`advance` flow ("moving decided cases on"), so a decision never waits inside a flow run and the queue
simply stops showing a case once it is decided.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from flows.services import cases
from flows.services.applications import show
from flows.services.context import acting, current_policy
from models import audit
from models.bulk import insert_rows
from models.clock import stamp
from models.tables import Applicant, Application, ReviewDecision
from rules.errors import FourEyesViolation, IllegalTransition, ReasonRequired, RuleViolation
from rules.policy import Policy

DECISION_ACTION = {"approve": "approve", "return": "return", "reject": "reject"}


def _undecided(stage: str) -> Any:
    return ~exists().where(and_(col(ReviewDecision.application_id) == col(Application.id),
                                col(ReviewDecision.stage) == stage,
                                col(ReviewDecision.at) >= col(Application.status_at)))


def queue(session: Session, actor: str | None, stage: str = "formal_review", scheme: str | None = None,
          limit: int = 50) -> list[dict[str, Any]]:
    """What waits for this reviewer, oldest first; never a case of the reviewer's own organisation."""
    user = acting(session, actor, "review.decide")
    q = (select(col(Application.ref), col(Application.scheme), col(Application.submitted_at),  # type: ignore[call-overload]
                col(Application.status_at), col(Applicant.name), col(Applicant.uscc))
         .join(Applicant, col(Applicant.id) == col(Application.applicant_id))
         .where(Application.status == stage, _undecided(stage)))
    if scheme:
        q = q.where(Application.scheme == scheme)
    if user.affiliation:
        q = q.where(Applicant.uscc != user.affiliation)
    rows = session.exec(q.order_by(col(Application.status_at), col(Application.id)).limit(limit)).all()
    return [{"ref": r[0], "scheme": r[1], "submitted_at": r[2], "waiting_since": r[3], "applicant": r[4],
             "uscc": r[5]} for r in rows]


def next_case(session: Session, actor: str | None, stage: str = "formal_review") -> dict[str, Any] | None:
    q = queue(session, actor, stage, limit=1)
    if not q:
        return None
    return show(session, actor, q[0]["ref"])


def decide(session: Session, actor: str | None, key: str, decision: str, reason: str | None) -> ReviewDecision:
    user = acting(session, actor, "review.decide")
    if decision not in DECISION_ACTION:
        raise RuleViolation(f"decision {decision!r}: use --approve, --return or --reject")
    app = cases.get_app(session, key)
    applicant = cases.applicant_of(session, app)
    if user.affiliation and user.affiliation == applicant.uscc:
        raise FourEyesViolation(f"{user.name} belongs to {applicant.name} and may not review its application "
                                f"{app.ref}; another reviewer must decide it")
    if decision in ("return", "reject") and not (reason and reason.strip()):
        raise ReasonRequired(f"--{decision} needs --reason TEXT: the applicant is told why")
    stage = app.status
    # The transition must be legal now, even though the advance flow applies it.
    cases.workflow(current_policy(session), app.scheme).check(stage, DECISION_ACTION[decision], {"reviewer"}, reason)
    already = session.exec(select(ReviewDecision).where(
        ReviewDecision.application_id == app.id, ReviewDecision.stage == stage,
        col(ReviewDecision.at) >= app.status_at)).first()
    if already is not None:
        raise IllegalTransition(f"{app.ref} was already decided ({already.decision}) by {already.reviewer} at "
                                f"{already.at}; it moves on at the next advance run")
    assert app.id is not None
    d = ReviewDecision(application_id=app.id, stage=stage, reviewer=user.name, decision=decision,
                       reason=(reason or "").strip(), at=stamp())
    session.add(d)
    session.flush()
    audit.append(session, actor=user.name, action="review.decide", subject=f"app:{app.ref}", at=d.at,
                 payload={"stage": stage, "decision": decision, "reason": d.reason})
    return d


def apply_decisions_stage(session: Session, scheme: str, limit: int = 1000, after_id: int = 0,
                          policy: Policy | None = None) -> tuple[int, int]:
    """Move decided cases on: each recorded decision becomes its transition (actor = the reviewer).

    Reads from the cases' side in id order (index scan on scheme, state, id) and checks each for a
    decision taken in its current state, so the cost per call is the cases in review, not every
    decision ever recorded."""
    policy = policy or current_policy(session)
    wf = cases.workflow(policy, scheme)
    review_states = [st for st in policy.scheme(scheme).states if "approve" in wf.actions_from(st)]
    a = Application.__table__  # type: ignore[attr-defined]
    d = ReviewDecision.__table__  # type: ignore[attr-defined]
    last_id = after_id
    done = 0
    while done < limit:
        rows = session.execute(
            sa_select(a.c.id, a.c.ref, a.c.scheme, a.c.status, d.c.id, d.c.decision, d.c.reason, d.c.reviewer)
            .join(d, d.c.application_id == a.c.id)
            .where(a.c.scheme == scheme, a.c.status.in_(review_states), a.c.id > last_id,
                   d.c.stage == a.c.status, d.c.at >= a.c.status_at)
            .order_by(a.c.id).limit(limit - done)).all()
        if not rows:
            break
        last_id = rows[-1][0] or last_id
        by_decision: dict[str, list[Any]] = {}
        seen: set[int] = set()
        for r in rows:
            if r[0] in seen:  # one decision per case per stage (decide() refuses a second)
                continue
            seen.add(r[0])
            by_decision.setdefault(r[5], []).append(r)
        for decision, group in by_decision.items():
            apps = [cases.CaseRef(r[0], r[1], r[2], r[3]) for r in group]
            fields = ({r[0]: {"outcome": "rejected_in_review", "outcome_reason": (r[6] or "")[:400]} for r in group}
                      if decision == "reject" else None)
            cases.move_many(session, apps, DECISION_ACTION[decision], "", {"reviewer"}, policy=policy,
                            fields=fields, actors={r[0]: r[7] for r in group},
                            reasons={r[0]: r[6] or None for r in group},
                            payloads={r[0]: {"decision_id": r[4]} for r in group})
        done += len(seen)
    return done, last_id


def decide_batch(session: Session, actor: str | None, decisions: list[tuple[str, str, str]]) -> int:
    """Record many decisions at once (a reviewer's decision sheet: ref, decision, reason), with the same
    checks as :func:`decide`; all or nothing."""
    user = acting(session, actor, "review.decide")
    policy = current_policy(session)
    refs = [r.upper() for r, _, _ in decisions]
    a = Application.__table__  # type: ignore[attr-defined]
    apps: dict[str, Any] = {}
    for i in range(0, len(refs), 900):
        apps.update({r.ref: r for r in session.execute(
            sa_select(a.c.id, a.c.ref, a.c.scheme, a.c.status, a.c.applicant_id)
            .where(a.c.ref.in_(refs[i:i + 900]))).all()})
    usccs = dict(session.exec(select(Applicant.id, Applicant.uscc).where(
        col(Applicant.id).in_({a.applicant_id for a in apps.values()}))).all()) if user.affiliation else {}
    problems = []
    legal: dict[tuple[str, str, str, bool], str | None] = {}  # the same check gives the same answer
    for n, (ref, decision, reason) in enumerate(decisions, 1):
        app = apps.get(ref.upper())
        if app is None:
            problems.append(f"row {n}: application {ref!r} does not exist")
            continue
        if decision not in DECISION_ACTION:
            problems.append(f"row {n}: decision {decision!r} must be approve, return or reject")
            continue
        if user.affiliation and usccs.get(app.applicant_id) == user.affiliation:
            problems.append(f"row {n}: {user.name} belongs to the applicant of {app.ref} and may not review it")
        key = (app.scheme, app.status, decision, bool(reason and reason.strip()))
        if key not in legal:
            try:
                cases.workflow(policy, app.scheme).check(app.status, DECISION_ACTION[decision], {"reviewer"}, reason)
                legal[key] = None
            except RuleViolation as exc:
                legal[key] = str(exc)
        if legal[key] is not None:
            problems.append(f"row {n}: {legal[key]}")
    if problems:
        from rules.errors import ValidationFailed

        raise ValidationFailed("review decisions", problems)
    at = stamp()
    ids = [apps[r].id for r in refs]
    decided = set()
    for i in range(0, len(ids), 900):
        decided |= set(session.exec(select(ReviewDecision.application_id).join(
            Application, col(Application.id) == col(ReviewDecision.application_id)).where(
            col(ReviewDecision.application_id).in_(ids[i:i + 900]), col(ReviewDecision.stage) == col(Application.status),
            col(ReviewDecision.at) >= col(Application.status_at))).all())
    if decided:
        raise IllegalTransition(f"{len(decided)} of these cases are already decided; nothing was written")
    rows = [(apps[r.upper()].id, apps[r.upper()].status, user.name, d, (why or "").strip(), at)
            for r, d, why in decisions]
    insert_rows(session, ReviewDecision.__table__,  # type: ignore[attr-defined]
                ("application_id", "stage", "reviewer", "decision", "reason", "at"), rows)
    audit.append_many(session, [{"actor": user.name, "action": "review.decide", "subject": f"app:{r.upper()}",
                                 "at": at, "payload": {"stage": apps[r.upper()].status, "decision": d,
                                                       "reason": (why or "").strip()}}
                                for r, d, why in decisions])
    return len(rows)
