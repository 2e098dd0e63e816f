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
from flows.services.context import SYSTEM_ACTOR, acting, current_policy
from flows.services.text_input import limit as column_limit
from flows.services.text_input import text_problem
from models import audit
from models.bulk import insert_rows
from models.clock import now, stamp
from models.tables import Application, Escalation, ReviewDecision, User
from rules.errors import IllegalTransition, ReasonRequired, RuleViolation, ValidationFailed
from rules.policy import Policy, TierDef

DECISION_ACTION = {"approve": "approve", "return": "return", "reject": "reject"}


def _db(session: Session) -> review_read._Db:
    """The unit of work's own connection, for the SQL the lean read path shares with this one."""
    return review_read._Db(session.connection().connection, session.get_bind().dialect.name == "postgresql")


def _user_row(user: User) -> tuple[str, str, str | None]:
    return user.name, user.roles, user.affiliation


def may_decide(session: Session, actor: str | None) -> User:
    """The acting user when they may decide reviews at all (a reviewer); PermissionDenied otherwise."""
    return acting(session, actor, "review.decide")


def queue(session: Session, actor: str | None, stage: str | None = None, scheme: str | None = None,
          limit: int = 50, district: str | None = None, overdue: bool = False) -> list[dict[str, Any]]:
    """What waits for this reviewer, oldest first, with who holds each case; never a case the duties
    rule bars them from (their own organisation's, or one they submitted or imported). ``district`` and
    ``overdue`` narrow it (the desk's filters)."""
    user = acting(session, actor, "review.decide")
    return review_read._queue(_db(session), _user_row(user), stage, scheme, limit, district, overdue)


def review_stages(session: Session, scheme: str | None = None) -> list[tuple[str, str, str]]:
    """(scheme, state, name) of every state a scheme declares ``review`` (the queue's stage filter)."""
    from models.tables import SchemeState

    rows = session.exec(select(SchemeState).order_by(col(SchemeState.scheme), col(SchemeState.state))).all()
    return [(r.scheme, r.state, r.name) for r in rows if "review" in r.tags.split(",")
            and (scheme is None or r.scheme == scheme)]


def next_case(session: Session, actor: str | None, stage: str | None = None,
              scheme: str | None = None) -> dict[str, Any] | None:
    """Lease the next case to this reviewer (the one they hold, else the oldest nobody holds) and show it;
    ``stage`` None: any state a scheme tags ``review``."""
    user = acting(session, actor, "review.decide")
    ref = review_read.claim_next(_db(session), _user_row(user), stage, scheme)
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


def _tier(policy: Policy, scheme: str, state: str) -> TierDef | None:
    return next((t for t in policy.scheme(scheme).review.tiers if t.state == state), None)


def _needed(session: Session, tier: TierDef | None, app_id: int) -> int:
    """How many distinct approvals the tier needs: its number, or every reviewer the duties rule lets
    decide the case ("all")."""
    if tier is None or tier.approvals != "all":
        return tier.approvals if tier is not None and isinstance(tier.approvals, int) else 1
    from rules import duties

    case = duty.parties(session, [app_id])[app_id]
    eligible = [u for u in session.exec(select(User)).all() if "reviewer" in u.role_set()
                and duties.breach("review.decide", duty.actor_of(u), case) is None]
    return max(1, len(eligible))


def _live_approvals(session: Session, app: Application) -> set[str]:
    return set(session.exec(select(ReviewDecision.reviewer).where(
        ReviewDecision.application_id == app.id, ReviewDecision.stage == app.status,
        col(ReviewDecision.at) >= app.status_at, col(ReviewDecision.superseded_at).is_(None),
        ReviewDecision.decision == "approve")).all())


def supersede(session: Session, app_id: int, at: str, keep: int | None = None) -> int:
    """Mark the case's live decisions superseded (a return, a resubmission): kept, never deleted."""
    rd = ReviewDecision.__table__  # type: ignore[attr-defined]
    q = rd.update().where(rd.c.application_id == app_id, rd.c.superseded_at.is_(None))
    if keep is not None:
        q = q.where(rd.c.id != keep)
    return int(session.execute(q.values(superseded_at=at)).rowcount)  # type: ignore[attr-defined]


def decide(session: Session, actor: str | None, key: str, decision: str, reason: str | None) -> ReviewDecision:
    """Record the decision and take it at once: a return or a rejection moves the case; an approval
    moves it when its tier has the approvals it needs (one, a number, or every eligible reviewer), and
    is recorded meanwhile. Refused with nothing written when a duty, the lease or the state forbids it."""
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
        col(ReviewDecision.at) >= app.status_at, col(ReviewDecision.superseded_at).is_(None),
        ReviewDecision.reviewer == user.name)).first()
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
    tier = _tier(policy, app.scheme, stage)
    payload = {"decision_id": d.id, "stage": stage, "decision": decision}
    if decision == "approve":
        have, need = len(_live_approvals(session, app)), _needed(session, tier, app.id)
        if have < need:  # the tier needs more approvals: recorded, the case stays
            audit.append(session, actor=user.name, action="review.decide", subject=f"app:{app.ref}", at=at,
                         payload={**payload, "reason": why, "approvals": have, "needed": need})
            review_read.release(db, app.id)
            return d
        if need > 1:
            payload |= {"approvals": have, "needed": need}
    if decision == "reject":
        app.outcome, app.outcome_reason = "rejected_in_review", why[:400]
        session.add(app)
    if decision == "return":
        supersede(session, app.id, at, keep=d.id)  # the approvals before stay, marked superseded
    cases.move(session, app, DECISION_ACTION[decision], user.name, {"reviewer"}, reason=why or None, at=at,
               policy=policy, payload=payload)
    if policy.scheme(app.scheme).voucher is not None:
        # A voucher's redemption is what was reviewed: the return or refusal ends it (and a refusal
        # releases the commitment and tells both parties), in this unit of work.
        from flows.services import vouchers

        vouchers.after_review(session, policy, app, decision, why, user.name, at)
    review_read.release(db, app.id)
    return d


def escalation_stage(session: Session, scheme: str, limit: int = 1000, after_id: int = 0,
                     policy: Policy | None = None) -> tuple[int, int]:
    """Review tasks past their deadline (working days of the policy's calendar): one escalation row and
    one audit event per case, tier and entry into the tier, to the role the tier escalates to (the next
    level sees them in `ipfund review escalated`; `review queue` marks them). Not a state change."""
    policy = policy or current_policy(session)
    tiers = {t.state: t for t in policy.scheme(scheme).review.tiers if t.deadline_days}
    if not tiers:
        return 0, after_id
    today = now().date().isoformat()
    a = Application.__table__  # type: ignore[attr-defined]
    e = Escalation.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        sa_select(a.c.id, a.c.ref, a.c.status, a.c.status_at, a.c.review_due)
        .where(a.c.scheme == scheme, a.c.status.in_(list(tiers)), a.c.review_due < today, a.c.id > after_id,
               ~sa_select(e.c.id).where(e.c.application_id == a.c.id, e.c.tier == a.c.status,
                                        e.c.since == a.c.status_at).exists())
        .order_by(a.c.id).limit(limit)).all()
    if not rows:
        return 0, after_id
    at = stamp()
    insert_rows(session, e, ("application_id", "tier", "since", "due", "to_role", "at"),
                [(r[0], r[2], r[3], r[4], tiers[r[2]].escalate_to or "approver", at) for r in rows])
    audit.append_many(session, [{"actor": SYSTEM_ACTOR, "action": "case.escalated", "subject": f"app:{r[1]}",
                                 "at": at, "payload": {"tier": r[2], "since": r[3], "due": r[4],
                                                       "to": tiers[r[2]].escalate_to or "approver"}}
                                for r in rows])
    return len(rows), rows[-1][0]


def escalated(session: Session, actor: str | None, scheme: str | None = None) -> list[dict[str, Any]]:
    """Overdue review work escalated to the next level (anyone who reads everything may look)."""
    acting(session, actor, "read.all")
    q = (select(Escalation, Application).join(Application, col(Application.id) == col(Escalation.application_id))
         .order_by(col(Escalation.due), col(Application.id)))
    if scheme:
        q = q.where(Application.scheme == scheme)
    return [{"ref": app.ref, "scheme": app.scheme, "tier": e.tier, "since": e.since, "due": e.due, "to": e.to_role,
             "escalated_at": e.at, "still_waiting": app.status == e.tier and app.status_at == e.since}
            for e, app in session.exec(q).all()]


def decide_batch(session: Session, actor: str | None, decisions: list[tuple[str, str, str]],
                 lines: list[int] | None = None, filename: str | None = None) -> int:
    """Record many decisions at once (a reviewer's decision sheet: ref, decision, reason), with the same
    checks as :func:`decide`, and move the cases at once; all or nothing, each bad row named. Vouchers too:
    an approval sends each to its evaluation; a return or a refusal then ends its redemption case by case
    (vouchers.after_review, as :func:`decide` does). From a file (:func:`decide_file`), ``lines`` are the rows'
    line numbers and ``filename`` its name: refusals name the line, and each case's event the file and line."""
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
    multi = sorted({x.ref for x in apps.values() if (tier := _tier(policy, x.scheme, x.status)) is not None
                    and tier.approvals != 1})
    if multi:
        raise RuleViolation(f"{len(multi)} of these cases wait in a tier that needs several approvals ({multi[0]} …); "
                            "decide them one by one with `ipfund review decide`")
    from rules import duties

    problems = []
    reasons: dict[int, str] = {}
    legal: dict[tuple[str, str, str, bool], str | None] = {}  # the same check gives the same answer
    first_row: dict[str, int] = {}
    word = "line" if lines is not None else "row"
    numbers = lines if lines is not None else list(range(1, len(decisions) + 1))
    for n, (ref, decision, reason) in zip(numbers, decisions, strict=True):
        app = apps.get(ref.upper())
        if app is None:
            problems.append(f"{word} {n}: application {ref!r} does not exist")
            continue
        if first_row.setdefault(app.ref, n) != n:
            problems.append(f"{word} {n}: {app.ref} is already decided on {word} {first_row[app.ref]}")
            continue
        if decision not in DECISION_ACTION:
            problems.append(f"{word} {n}: decision {decision!r} must be approve, return or reject")
            continue
        b = duties.breach("review.decide", actor_, parties[app.id])
        if b is not None:
            problems.append(f"{word} {n}: {b.message}")
        try:
            reasons[app.id] = _reason(decision, reason, f"{word} {n}: ")
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
            problems.append(f"{word} {n}: {legal[key]}")
    if problems:
        raise ValidationFailed(filename or "review decisions", problems)
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
    leases = review_read.holders(db, ids)
    held = [(apps[r].ref, h) for r in refs if (h := leases.get(apps[r].id)) and h[0] != user.name]
    if held:
        raise RuleViolation(f"{len(held)} of these cases are leased to other reviewers ({held[0][0]} to "
                            f"{held[0][1][0]}); nothing was written")
    for r, d, _ in decisions:
        if d == "return":  # the decisions before stay, marked superseded (as decide does)
            supersede(session, apps[r.upper()].id, at)
    rows = [(apps[r.upper()].id, apps[r.upper()].status, user.name, d, reasons[apps[r.upper()].id], at)
            for r, d, _ in decisions]
    insert_rows(session, ReviewDecision.__table__,  # type: ignore[attr-defined]
                ("application_id", "stage", "reviewer", "decision", "reason", "at"), rows)
    source = ({ref.upper(): {"file": filename, "line": n} for n, (ref, _, _) in zip(numbers, decisions, strict=True)}
              if filename is not None else {})
    by_decision: dict[str, list[Any]] = {}
    for r, d, _ in decisions:
        by_decision.setdefault(d, []).append(apps[r.upper()])
    for d, group in by_decision.items():
        cases.move_many(session, [cases.CaseRef(x.id, x.ref, x.scheme, x.status) for x in group],
                        DECISION_ACTION[d], user.name, {"reviewer"}, at=at, policy=policy,
                        reasons={x.id: reasons[x.id] or None for x in group},
                        fields={x.id: _rejected_fields(reasons[x.id]) for x in group} if d == "reject" else None,
                        payloads={x.id: {"stage": x.status, "decision": d, **source.get(x.ref, {})} for x in group})
        if d != "approve":
            for x in group:
                if policy.scheme(x.scheme).voucher is not None:
                    # the reviewed redemption ends with the return or refusal, in this unit of work
                    from flows.services import vouchers

                    app = session.get(Application, x.id)
                    assert app is not None
                    vouchers.after_review(session, policy, app, d, reasons[x.id], user.name, at)
    review_read.release_all(db, ids)
    return len(rows)


DECISION_COLUMNS = ("case", "decision", "reason")


def decide_file(session: Session, actor: str | None, content: bytes, filename: str) -> int:
    """A reviewer's decision file (case,decision,reason; UTF-8 or GBK CSV): one decision per line, each the
    reviewer's own act decided as :func:`decide` decides it (the duties rule per case, the state, the reason
    a return or a refusal needs), all taken at once by :func:`decide_batch` — one audit event per case naming
    the file and its line. One bad line refuses the whole file, naming every bad line: nothing is written."""
    from flows.services.applicants import decode_text
    from flows.services.csv_input import read_header, read_rows

    acting(session, actor, "review.decide")
    reader = read_rows(decode_text(content, filename, allow_gbk=True), filename)
    _header, idx = read_header(reader, filename, DECISION_COLUMNS, ("case", "decision"))
    decisions: list[tuple[str, str, str]] = []
    lines: list[int] = []
    for n, row in reader:
        if not any(c.strip() for c in row):
            continue
        cell = {c: (row[i].strip() if i < len(row) else "") for c, i in idx.items()}
        decisions.append((cell["case"], cell["decision"].lower(), cell.get("reason", "")))
        lines.append(n)
    if not decisions:
        raise ValidationFailed(filename, ["the file has no decisions (one line per case: "
                                          + ",".join(DECISION_COLUMNS) + ")"])
    return decide_batch(session, actor, decisions, lines=lines, filename=filename)
