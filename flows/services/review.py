"""Formal review (形式审查): reviewers step through their queue and approve, return or reject.

A decision is an append-only row with reviewer, time and reason. The case itself is moved on by the
`advance` flow ("moving decided cases on"), so a decision never waits inside a flow run and the queue
simply stops showing a case once it is decided.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists
from sqlmodel import Session, col, select

from flows.services import cases
from flows.services.applications import show
from flows.services.context import acting, current_policy
from models import audit
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


def apply_decisions_stage(session: Session, scheme: str, limit: int = 1000, policy: Policy | None = None) -> int:
    """Move decided cases on: each recorded decision becomes its transition (actor = the reviewer)."""
    policy = policy or current_policy(session)
    rows = session.exec(
        select(Application, ReviewDecision)
        .join(ReviewDecision, col(ReviewDecision.application_id) == col(Application.id))
        .where(Application.scheme == scheme, col(Application.status) == col(ReviewDecision.stage),
               col(ReviewDecision.at) >= col(Application.status_at))
        .order_by(col(ReviewDecision.id)).limit(limit)).all()
    done = 0
    for app, d in rows:
        if app.status != d.stage:
            continue
        if d.decision == "reject":
            app.outcome = "rejected_in_review"
            app.outcome_reason = d.reason[:400]
        cases.move(session, app, DECISION_ACTION[d.decision], d.reviewer, {"reviewer"}, reason=d.reason or None,
                   policy=policy, payload={"decision_id": d.id})
        session.add(app)
        done += 1
    session.flush()
    return done
