"""The parties to cases, read from the database for the one duties rule (:mod:`rules.duties`).

Services call :func:`require` before they write an act; the checker calls :func:`audit_acts` over
every act already committed. Both read the same parties the same way, so the rule cannot disagree
with itself.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from models.tables import (
    Agency,
    Applicant,
    Application,
    Assignment,
    AwardRound,
    EvaluatorConflict,
    Objection,
    Payment,
    ReviewDecision,
    Score,
    User,
    VoucherContract,
)
from rules import duties
from rules.errors import FourEyesViolation, PermissionDenied

_IN = 900  # ids per IN list (SQLite's parameter limit is far above; PostgreSQL plans stay small)


def actor_of(user: User) -> duties.Actor:
    return duties.Actor(user.name, frozenset(user.role_set()), user.affiliation)


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), _IN):
        yield ids[i:i + _IN]


def parties(session: Session, app_ids: Iterable[int]) -> dict[int, duties.CaseParties]:
    """Every party of each case: applicant, submitter, reviewers (any decision), the round's approver,
    the evaluators with a declared conflict, the raiser of its open objection, and its other party
    organisations (every agency a voucher was ever contracted with, by credit code and name)."""
    ids = sorted(set(app_ids))
    a = Application.__table__  # type: ignore[attr-defined]
    p = Applicant.__table__  # type: ignore[attr-defined]
    r = AwardRound.__table__  # type: ignore[attr-defined]
    d = ReviewDecision.__table__  # type: ignore[attr-defined]
    c = EvaluatorConflict.__table__  # type: ignore[attr-defined]
    o = Objection.__table__  # type: ignore[attr-defined]
    base: dict[int, Any] = {}
    reviewers: dict[int, set[str]] = defaultdict(set)
    live: dict[int, list[tuple[str, str]]] = defaultdict(list)  # (tier, reviewer) not superseded
    objector: dict[int, str] = {}
    others: dict[int, set[str]] = defaultdict(set)
    vc = VoucherContract.__table__  # type: ignore[attr-defined]
    ag = Agency.__table__  # type: ignore[attr-defined]
    for part in _chunks(ids):
        for app_id, code, name in session.execute(
                sa_select(vc.c.application_id, ag.c.uscc, ag.c.name).join(ag, ag.c.id == vc.c.agency_id)
                .where(vc.c.application_id.in_(part))).all():
            others[app_id] |= {code, name}
        for row in session.execute(
                sa_select(a.c.id, a.c.ref, a.c.applicant_id, a.c.submitted_by, p.c.uscc, p.c.name, r.c.approver,
                          a.c.status)
                .join(p, p.c.id == a.c.applicant_id).outerjoin(r, r.c.id == a.c.round_id)
                .where(a.c.id.in_(part))).all():
            base[row[0]] = row
        for app_id, reviewer, tier, superseded in session.execute(
                sa_select(d.c.application_id, d.c.reviewer, d.c.stage, d.c.superseded_at)
                .where(d.c.application_id.in_(part))).all():
            reviewers[app_id].add(reviewer)
            if superseded is None:
                live[app_id].append((tier, reviewer))
        for app_id, raised_by in session.execute(
                sa_select(o.c.application_id, o.c.raised_by).where(o.c.application_id.in_(part),
                                                                   o.c.resolution.is_(None))
                .order_by(o.c.id)).all():
            objector.setdefault(app_id, raised_by)
    applicant_ids = sorted({row[2] for row in base.values()})
    conflicted: dict[int, set[str]] = defaultdict(set)
    for part in _chunks(applicant_ids):
        for applicant_id, evaluator in session.execute(
                sa_select(c.c.applicant_id, c.c.evaluator).where(c.c.applicant_id.in_(part))).all():
            conflicted[applicant_id].add(evaluator)
    return {i: duties.CaseParties(ref=row[1], applicant_code=row[4], applicant_name=row[5], submitted_by=row[3],
                                  reviewers=frozenset(reviewers.get(i, ())), approver=row[6],
                                  conflicted=frozenset(conflicted.get(row[2], ())), objector=objector.get(i),
                                  tier_deciders=frozenset(who for tier, who in live.get(i, ()) if tier != row[7]),
                                  others=frozenset(others.get(i, ())))
            for i, row in base.items()}


def require(act: str, user: User, cases: Sequence[duties.CaseParties]) -> None:
    """Refuse the act (nothing written) when it breaks a duty on any of ``cases``."""
    actor = actor_of(user)
    found = duties.breaches(act, actor, list(cases))
    if not found:
        return
    message = duties.refusal(act, actor, found)
    if any(b.kind == "role" for _, b in found):
        raise PermissionDenied(message)
    raise FourEyesViolation(message)


def require_on(session: Session, act: str, user: User, app_ids: Iterable[int]) -> dict[int, duties.CaseParties]:
    """:func:`require` for cases given by id; returns their parties for the caller's further use."""
    found = parties(session, app_ids)
    require(act, user, [found[i] for i in sorted(found)])
    return found


# --- the checker's view: every committed act -------------------------------------------------

def committed_acts(session: Session) -> Iterable[tuple[str, str, int]]:
    """(act, actor name, case id) for every act already committed, from the rows the acts wrote."""
    a = Application.__table__  # type: ignore[attr-defined]
    d = ReviewDecision.__table__  # type: ignore[attr-defined]
    asg = Assignment.__table__  # type: ignore[attr-defined]
    sc = Score.__table__  # type: ignore[attr-defined]
    o = Objection.__table__  # type: ignore[attr-defined]
    pay = Payment.__table__  # type: ignore[attr-defined]
    r = AwardRound.__table__  # type: ignore[attr-defined]
    for reviewer, app_id in session.execute(sa_select(d.c.reviewer, d.c.application_id).order_by(d.c.application_id, d.c.id)).all():
        yield "review.decide", reviewer, app_id  # each tier's deciders are checked in tier_breaches
    # The approver finalized every case of the scheme and year the round ranked (any decision on any
    # of them bars the approver, whatever the case's outcome).
    for approver, app_id in session.execute(
            sa_select(r.c.approver, a.c.id).join(a, (a.c.scheme == r.c.scheme) & (a.c.year == r.c.year))
            .order_by(a.c.id, r.c.id)).all():
        yield "round.finalize", approver, app_id
    for evaluator, app_id in session.execute(sa_select(asg.c.evaluator, asg.c.application_id)
                                                       .order_by(asg.c.application_id, asg.c.id)).all():
        yield "evaluation.assign", evaluator, app_id
    for evaluator, app_id in session.execute(
            sa_select(sc.c.evaluator, sc.c.application_id).where(sc.c.active.is_(True)).distinct()
            .order_by(sc.c.application_id, sc.c.evaluator)).all():
        yield "scores.upload", evaluator, app_id
    for raised_by, app_id in session.execute(sa_select(o.c.raised_by, o.c.application_id)
                                                      .order_by(o.c.application_id, o.c.id)).all():
        yield "notice.object", raised_by, app_id
    for payer, app_id in session.execute(sa_select(pay.c.payer, pay.c.application_id)
                                                  .order_by(pay.c.application_id, pay.c.id)).all():
        yield "pay.batch", payer, app_id
    for confirmer, app_id in session.execute(
            sa_select(pay.c.confirmed_by, pay.c.application_id).where(pay.c.confirmed_by.is_not(None))
            .order_by(pay.c.application_id, pay.c.id)).all():
        yield "pay.confirm", confirmer, app_id


def judge_again(session: Session, acts: Iterable[tuple[str, str, duties.CaseParties]]) -> tuple[int, list[str]]:
    """Decide each committed act (act, who took it, the case's parties) again with the duties rule, as the
    checker does for every scheme's own acts: (acts judged, one message per breach or unknown user)."""
    users = {u.name: actor_of(u) for u in session.exec(select(User)).all()}
    n, problems = 0, []
    for act, name, case in acts:
        n += 1
        who = users.get(name)
        if who is None:
            problems.append(f"{act} on {case.ref} by {name!r}, who is not a user")
            continue
        b = duties.breach(act, who, case)
        if b is not None:
            problems.append(f"{act}: {b.message}")
    return n, problems


def audit_acts(session: Session, limit: int = 20) -> tuple[int, list[str]]:
    """Re-decide every committed act with the duties rule: (acts checked, the first breaches found)."""
    users = {u.name: actor_of(u) for u in session.exec(select(User)).all()}
    acts = list(committed_acts(session))
    cases = parties(session, {app_id for _, _, app_id in acts})
    o = Objection.__table__  # type: ignore[attr-defined]
    resolutions = session.execute(sa_select(o.c.resolved_by, o.c.raised_by, o.c.application_id)
                                  .where(o.c.resolved_by.is_not(None))).all()
    problems: list[str] = []
    checked = 0

    def judge(act: str, name: str, case: duties.CaseParties) -> None:
        nonlocal checked
        checked += 1
        who = users.get(name)
        if who is None:
            problems.append(f"{act} on {case.ref} by {name!r}, who is not a user")
            return
        b = duties.breach(act, who, case)
        if b is not None:
            problems.append(f"{act} on {case.ref}: {b.message}")

    for act, name, app_id in acts:
        case = cases.get(app_id)
        if case is None:
            continue
        if act == "round.finalize":
            # The approver may not have reviewed the case; their own award round is no bar.
            case = dataclasses.replace(case, approver=None, objector=None, tier_deciders=frozenset())
        elif act in ("review.decide", "evaluation.assign", "scores.upload", "notice.object"):
            # A reviewer's own decision does not bar them from it; the round came after; tiers are
            # judged decision by decision (_tier_breaches).
            case = dataclasses.replace(
                case, reviewers=case.reviewers - {name} if act == "review.decide" else case.reviewers,
                approver=None, objector=None, tier_deciders=frozenset())
        else:
            case = dataclasses.replace(case, objector=None, tier_deciders=frozenset())
        judge(act, name, case)
    for resolver, raiser, app_id in resolutions:
        case = cases.get(app_id)
        if case is not None:
            judge("notice.resolve", resolver, dataclasses.replace(case, objector=raiser, tier_deciders=frozenset()))
    problems += _tier_breaches(session, cases)
    for u in users.values():
        if "auditor" in u.roles and len(u.roles) > 1:
            problems.append(f"user {u.name} holds the auditor role with {', '.join(sorted(u.roles - {'auditor'}))}: "
                            "auditors change nothing, so they hold no other role")
    return checked, problems[:limit] + ([f"... and {len(problems) - limit} more"] if len(problems) > limit else [])


def _tier_breaches(session: Session, cases: dict[int, duties.CaseParties]) -> list[str]:
    """A review decided in several tiers: nobody who decided one tier of a cycle decided another (the
    decisions not superseded by a return are the current cycle's)."""
    d = ReviewDecision.__table__  # type: ignore[attr-defined]
    by_case: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for app_id, reviewer, tier in session.execute(sa_select(d.c.application_id, d.c.reviewer, d.c.stage)
                                                  .where(d.c.superseded_at.is_(None))).all():
        by_case[app_id][tier].add(reviewer)
    out = []
    for app_id, tiers in by_case.items():
        if len(tiers) < 2 or app_id not in cases:
            continue
        for tier, who in tiers.items():
            others = set().union(*(w for t, w in tiers.items() if t != tier))
            for name in sorted(who & others):
                out.append(f"review.decide on {cases[app_id].ref}: {name} decided two review tiers of one review "
                           "(不相容岗位相互分离)")
    return sorted(set(out))
