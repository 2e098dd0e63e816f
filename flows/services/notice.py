"""Public notice (公示): objections put a case on hold until an approver resolves them; when the
period ends, awarded cases become payable."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from flows.services import cases
from flows.services import duties as duty
from flows.services.context import SYSTEM_ACTOR, acting, current_policy
from flows.services.text_input import clean, limit
from models import ledger
from models.clock import stamp
from models.tables import Applicant, Application, Objection, Posting
from rules.errors import RuleViolation
from rules.funds import move_entries
from rules.policy import Policy


def _reason(reason: str | None, what: str) -> str:
    return clean(reason, field="--reason", max_len=limit(Objection, "reason"), what=what, multiline=True,
                 required=True)


def object_to(session: Session, actor: str | None, key: str, reason: str) -> Objection:
    """An objection during 公示 puts the case on hold until an approver resolves it (anyone may object
    but auditors, who change nothing)."""
    user = acting(session, actor, "notice.object")
    app = cases.get_app(session, key)
    assert app.id is not None
    duty.require_on(session, "notice.object", user, [app.id])
    why = _reason(reason, "objection")
    if "object" not in cases.workflow(current_policy(session), app.scheme).actions_from(app.status):
        raise RuleViolation(f"{app.ref} is {app.status!r}; objections are taken only while a case is in public "
                            "notice (公示)")
    cases.move(session, app, "object", user.name, {"any"}, reason=why)
    o = Objection(application_id=app.id, raised_by=user.name, reason=why, at=app.status_at)
    session.add(o)
    session.flush()
    return o


def open_objections(session: Session, actor: str | None, scheme: str | None = None) -> list[dict[str, Any]]:
    """Objections an approver has still to resolve, oldest first: the case, its applicant and award, who
    objected, when and why."""
    acting(session, actor, "notice.resolve")
    q = (select(Objection, Application, Applicant)
         .join(Application, col(Application.id) == col(Objection.application_id))
         .join(Applicant, col(Applicant.id) == col(Application.applicant_id))
         .where(col(Objection.resolution).is_(None)).order_by(col(Objection.id)))
    if scheme:
        q = q.where(Application.scheme == scheme)
    return [{"ref": a.ref, "scheme": a.scheme, "applicant": p.name, "status": a.status, "award_fen": a.award_fen,
             "raised_by": o.raised_by, "at": o.at, "reason": o.reason} for o, a, p in session.exec(q).all()]


def resolve(session: Session, actor: str | None, key: str, uphold: bool, reason: str) -> Application:
    """Upheld: the award is withdrawn and its commitment released. Dismissed: back in notice."""
    user = acting(session, actor, "notice.resolve")
    app = cases.get_app(session, key)
    assert app.id is not None
    o = session.exec(select(Objection).where(Objection.application_id == app.id, col(Objection.resolution).is_(None))
                     .order_by(col(Objection.id))).first()
    held = {"objection_upheld", "objection_dismissed"} & set(
        cases.workflow(current_policy(session), app.scheme).actions_from(app.status))
    if o is None or not held:
        raise RuleViolation(f"{app.ref} has no open objection (status {app.status!r})")
    duty.require_on(session, "notice.resolve", user, [app.id])  # never the objector, never the applicant's own
    reason = _reason(reason, "resolution")
    action = "objection_upheld" if uphold else "objection_dismissed"
    at = stamp()
    if uphold:
        if current_policy(session).scheme(app.scheme).pays:
            release_commitment(session, app, user.name, at, f"objection upheld: {reason}")
        app.outcome, app.outcome_reason = "objection_upheld", reason[:400]
        withdrawn = app.award_fen
        app.award_fen = None
        cases.move(session, app, action, user.name, {"approver"}, reason=reason, at=at,
                   payload={"objection_id": o.id, "award_withdrawn_fen": withdrawn})
    else:
        cases.move(session, app, action, user.name, {"approver"}, reason=reason, at=at,
                   payload={"objection_id": o.id})
    o.resolution, o.resolved_by, o.resolution_reason, o.resolved_at = (
        "upheld" if uphold else "dismissed", user.name, reason, at)
    session.add_all([o, app])
    session.flush()
    return app


def release_commitment(session: Session, app: Application, actor: str, at: str, memo: str) -> None:
    """Reverse the award's commitment posting source by source (a new posting, never an edit)."""
    commit = session.exec(select(Posting).where(Posting.subject == f"app:{app.ref}", Posting.kind == "commitment")
                          .order_by(col(Posting.id).desc())).first()
    if commit is None or commit.id is None:
        raise RuleViolation(f"{app.ref}: no commitment to release")
    entries = []
    for account, amount in ledger.posting_entries(session, commit.id):
        _, code, source, bucket = account.split(":")
        if bucket == "committed" and amount > 0:
            entries += move_entries(code, source, "committed", "available", amount)
    ledger.post(session, year=app.year, kind="release", memo=memo, actor=actor, entries=entries,
                subject=f"app:{app.ref}", reverses_id=commit.id, at=at)


def expiry_stage(session: Session, scheme: str, limit: int = 1000, after_id: int = 0,
                 policy: Policy | None = None) -> tuple[int, int]:
    """Cases whose notice period has ended without an open objection become payable."""
    policy = policy or current_policy(session)
    at = stamp()
    wf = cases.workflow(policy, scheme)
    in_notice = [st for st in policy.scheme(scheme).states if "notice_expired" in wf.actions_from(st)]
    apps = session.exec(select(Application).where(Application.scheme == scheme, col(Application.status).in_(in_notice),
                                                  col(Application.notice_ends) <= at, col(Application.id) > after_id)
                        .order_by(col(Application.id)).limit(limit)).all()
    cases.move_many(session, list(apps), "notice_expired", SYSTEM_ACTOR, {"system"}, at=at, policy=policy,
                    payloads={a.id or 0: {"notice_ends": a.notice_ends} for a in apps})
    return len(apps), (apps[-1].id or after_id) if apps else after_id
