"""Formal review (形式审查): reviewers step through their queue and approve, return or reject.

A decision is an append-only row with reviewer, time and reason, and it takes effect at once: the
case moves along its transition in the same unit of work. `review next` leases the case it hands out
to that reviewer (review_claim), so two reviewers stepping through one queue never get the same case;
who may decide which case is the one duties rule (rules.duties, via flows.services.duties).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from flows.services import cases, review_read
from flows.services import duties as duty
from flows.services.applications import show
from flows.services.context import acting, current_policy
from flows.services.text_input import limit as column_limit
from flows.services.text_input import text_problem
from models.bulk import insert_rows
from models.clock import stamp
from models.tables import Application, ReviewDecision, User
from rules.errors import IllegalTransition, ReasonRequired, RuleViolation, ValidationFailed
from rules.policy import Policy

DECISION_ACTION = {"approve": "approve", "return": "return", "reject": "reject"}


def _db(session: Session) -> review_read._Db:
    """The unit of work's own connection, for the SQL the lean read path shares with this one."""
    return review_read._Db(session.connection().connection, session.get_bind().dialect.name == "postgresql")


def _user_row(user: User) -> tuple[str, str, str | None]:
    return user.name, user.roles, user.affiliation


def queue(session: Session, actor: str | None, stage: str = "formal_review", scheme: str | None = None,
          limit: int = 50) -> list[dict[str, Any]]:
    """What waits for this reviewer, oldest first, with who holds each case; never a case the duties
    rule bars them from (their own organisation's, or one they submitted or imported)."""
    user = acting(session, actor, "review.decide")
    return review_read._queue(_db(session), _user_row(user), stage, scheme, limit)


def next_case(session: Session, actor: str | None, stage: str = "formal_review") -> dict[str, Any] | None:
    """Lease the next case to this reviewer (the one they hold, else the oldest nobody holds) and show it."""
    user = acting(session, actor, "review.decide")
    ref = review_read.claim_next(_db(session), _user_row(user), stage)
    if ref is None:
        return None
    return show(session, actor, ref)


def _reason(decision: str, reason: str | None, where: str = "") -> str:
    text = (reason or "").replace("\r\n", "\n").strip()
    if decision in ("return", "reject") and not text:
        raise ReasonRequired(f"{where}--{decision} needs --reason TEXT: the applicant is told why")
    problem = text_problem(text, field=f"{where}--reason", max_len=column_limit(ReviewDecision, "reason"),
                           multiline=True)
    if problem:
        raise ValidationFailed("review decision", [problem])
    return text


def _rejected_fields(reason: str) -> dict[str, Any]:
    return {"outcome": "rejected_in_review", "outcome_reason": reason[:400]}


def decide(session: Session, actor: str | None, key: str, decision: str, reason: str | None) -> ReviewDecision:
    """Record the decision and move the case at once (approve -> evaluation, return -> returned,
    reject -> rejected), refused with nothing written when a duty, the lease or the state forbids it."""
    user = acting(session, actor, "review.decide")
    if decision not in DECISION_ACTION:
        raise RuleViolation(f"decision {decision!r}: use --approve, --return or --reject")
    app = cases.get_app(session, key)
    assert app.id is not None
    duty.require_on(session, "review.decide", user, [app.id])
    why = _reason(decision, reason)
    stage = app.status
    policy = current_policy(session)
    cases.workflow(policy, app.scheme).check(stage, DECISION_ACTION[decision], {"reviewer"}, why)
    already = session.exec(select(ReviewDecision).where(
        ReviewDecision.application_id == app.id, ReviewDecision.stage == stage,
        col(ReviewDecision.at) >= app.status_at)).first()
    if already is not None:
        raise IllegalTransition(f"{app.ref} was already decided ({already.decision}) by {already.reviewer} at "
                                f"{already.at}")
    db = _db(session)
    held = review_read.holder(db, app.id)
    if held is not None and held[0] != user.name:
        raise RuleViolation(f"{app.ref} is being reviewed by {held[0]} (leased until {held[1]}); take the next case "
                            "with `ipfund review next`, or wait until the lease ends")
    at = stamp()
    d = ReviewDecision(application_id=app.id, stage=stage, reviewer=user.name, decision=decision, reason=why, at=at)
    session.add(d)
    session.flush()
    if decision == "reject":
        app.outcome, app.outcome_reason = "rejected_in_review", why[:400]
        session.add(app)
    cases.move(session, app, DECISION_ACTION[decision], user.name, {"reviewer"}, reason=why or None, at=at,
               policy=policy, payload={"decision_id": d.id, "stage": stage, "decision": decision})
    review_read.release(db, app.id)
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
    checks as :func:`decide`, and move the cases at once; all or nothing."""
    user = acting(session, actor, "review.decide")
    policy = current_policy(session)
    refs = [r.upper() for r, _, _ in decisions]
    a = Application.__table__  # type: ignore[attr-defined]
    apps: dict[str, Any] = {}
    for i in range(0, len(refs), 900):
        apps.update({r.ref: r for r in session.execute(
            sa_select(a.c.id, a.c.ref, a.c.scheme, a.c.status, a.c.status_at)
            .where(a.c.ref.in_(refs[i:i + 900]))).all()})
    parties = duty.parties(session, [x.id for x in apps.values()])
    actor_ = duty.actor_of(user)
    from rules import duties

    problems = []
    reasons: dict[int, str] = {}
    legal: dict[tuple[str, str, str, bool], str | None] = {}  # the same check gives the same answer
    for n, (ref, decision, reason) in enumerate(decisions, 1):
        app = apps.get(ref.upper())
        if app is None:
            problems.append(f"row {n}: application {ref!r} does not exist")
            continue
        if decision not in DECISION_ACTION:
            problems.append(f"row {n}: decision {decision!r} must be approve, return or reject")
            continue
        b = duties.breach("review.decide", actor_, parties[app.id])
        if b is not None:
            problems.append(f"row {n}: {b.message}")
        try:
            reasons[app.id] = _reason(decision, reason, f"row {n}: ")
        except RuleViolation as exc:
            problems.append(exc.problems[0] if isinstance(exc, ValidationFailed) else str(exc))
            continue
        key = (app.scheme, app.status, decision, bool(reasons[app.id]))
        if key not in legal:
            try:
                cases.workflow(policy, app.scheme).check(app.status, DECISION_ACTION[decision], {"reviewer"},
                                                         reasons[app.id])
                legal[key] = None
            except RuleViolation as exc:
                legal[key] = str(exc)
        if legal[key] is not None:
            problems.append(f"row {n}: {legal[key]}")
    if problems:
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
    db = _db(session)
    held = [(apps[r].ref, h) for r in refs if (h := review_read.holder(db, apps[r].id)) and h[0] != user.name]
    if held:
        raise RuleViolation(f"{len(held)} of these cases are leased to other reviewers ({held[0][0]} to "
                            f"{held[0][1][0]}); nothing was written")
    rows = [(apps[r.upper()].id, apps[r.upper()].status, user.name, d, reasons[apps[r.upper()].id], at)
            for r, d, _ in decisions]
    insert_rows(session, ReviewDecision.__table__,  # type: ignore[attr-defined]
                ("application_id", "stage", "reviewer", "decision", "reason", "at"), rows)
    by_decision: dict[str, list[Any]] = {}
    for r, d, _ in decisions:
        by_decision.setdefault(d, []).append(apps[r.upper()])
    for d, group in by_decision.items():
        cases.move_many(session, [cases.CaseRef(x.id, x.ref, x.scheme, x.status) for x in group],
                        DECISION_ACTION[d], user.name, {"reviewer"}, at=at, policy=policy,
                        reasons={x.id: reasons[x.id] or None for x in group},
                        fields={x.id: _rejected_fields(reasons[x.id]) for x in group} if d == "reject" else None,
                        payloads={x.id: {"stage": x.status, "decision": d} for x in group})
    return len(rows)
