"""Third-party evaluation (贯标有效性评价, 二(二)4): conflicts, assignment, score uploads, aggregation."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from flows.services import cases
from flows.services import duties as duty
from flows.services.applicants import get_applicant
from flows.services.context import SYSTEM_ACTOR, acting, current_policy
from flows.services.score_files import (
    ScoreRow,
    TemplateRow,
    file_sha256,
    parse_score_file,
    tenths_text,
    write_template_csv,
    write_template_xlsx,
)
from flows.services.text_input import clean, limit
from models import audit, guards
from models.bulk import insert_rows
from models.clock import now, stamp
from models.tables import Applicant, Application, Assignment, EvaluatorConflict, Score, ScoreUpload, User
from rules import assignment as assign_rules
from rules import duties, scoring
from rules.errors import RuleViolation, ValidationFailed
from rules.policy import EvaluationDef, Policy


def _evaluation(policy: Policy, scheme: str) -> EvaluationDef:
    ev = policy.scheme(scheme).evaluation
    if ev is None:
        raise RuleViolation(f"{scheme} has no third-party evaluation (its policy section declares none)")
    return ev


def _rubric(policy: Policy, scheme: str, as_of: dt.date) -> dict[str, Any]:
    rubric: dict[str, Any] = policy.value(_evaluation(policy, scheme).rubric, as_of)
    return rubric


def _per_case(policy: Policy, scheme: str, as_of: dt.date) -> int:
    return policy.integer(_evaluation(policy, scheme).evaluators_per_case, as_of)


def _trim(policy: Policy, scheme: str, as_of: dt.date) -> int:
    name = _evaluation(policy, scheme).trim_from
    return policy.integer(name, as_of) if name else 10**9  # no trim parameter: never trimmed


def scorable(policy: Policy) -> dict[str, tuple[str, ...]]:
    """Per scheme, the states in which scores are accepted (tagged ``evaluation``)."""
    return {sid: sc.states_tagged("evaluation") for sid, sc in policy.schemes.items() if sc.evaluation}


def _scorable_states(policy: Policy) -> tuple[str, ...]:
    return tuple(dict.fromkeys(st for states in scorable(policy).values() for st in states))


def _awaiting(policy: Policy, scheme: str, action: str) -> list[str]:
    """The scheme's states from which ``action`` is legal (e.g. where scores complete a case)."""
    wf = cases.workflow(policy, scheme)
    return [st for st in policy.scheme(scheme).states if action in wf.actions_from(st)]


def declare_conflict(session: Session, actor: str | None, applicant_key: str, reason: str) -> EvaluatorConflict:
    """An evaluator declares a conflict of interest with an applicant. Its assignments to that
    applicant's cases still being evaluated or scored (not yet ranked) are withdrawn, any scores it gave
    them are set inactive (kept in history), a scored case goes back to evaluation, and the next
    advance run staffs the case with another evaluator."""
    user = acting(session, actor, "evaluator.conflict")
    if not reason or not reason.strip():
        raise ValidationFailed("declare-conflict", ["--reason: describe the conflict of interest"])
    reason = clean(reason, field="--reason", max_len=limit(EvaluatorConflict, "reason"), what="declare-conflict",
                   multiline=True)
    applicant = get_applicant(session, applicant_key)
    assert applicant.id is not None
    if session.exec(select(EvaluatorConflict).where(EvaluatorConflict.evaluator == user.name,
                                                     EvaluatorConflict.applicant_id == applicant.id)).first():
        raise RuleViolation(f"{user.name} has already declared a conflict with {applicant.name}")
    c = EvaluatorConflict(evaluator=user.name, applicant_id=applicant.id, reason=reason.strip(), at=stamp())
    session.add(c)
    session.flush()
    withdrawn: list[str] = []
    rescored: list[Application] = []
    for a, app in session.exec(select(Assignment, Application).join(
            Application, col(Application.id) == col(Assignment.application_id)).where(
            Assignment.evaluator == user.name, Application.applicant_id == applicant.id,
            col(Application.status).in_(_scorable_states(current_policy(session))))).all():
        if app.status not in scorable(current_policy(session)).get(app.scheme, ()):
            continue
        withdrawn.append(app.ref)
        session.delete(a)
        session.execute(update(Score).where(col(Score.application_id) == app.id, col(Score.evaluator) == user.name,
                                            col(Score.active).is_(True))
                        .values(active=False).execution_options(synchronize_session=False))
        if app.status in _awaiting(current_policy(session), app.scheme, "scores_revised"):
            rescored.append(app)
    session.flush()
    cases.move_many(session, rescored, "scores_revised", user.name, {"evaluator"},
                    payloads={x.id or 0: {"conflict_declared": True} for x in rescored})
    audit.append(session, actor=user.name, action="evaluator.conflict", subject=f"applicant:{applicant.uscc}",
                 payload={"reason": c.reason, "assignments_withdrawn": withdrawn})
    return c


def assignment_stage(session: Session, scheme: str, limit: int = 1000, after_id: int = 0,
                     policy: Policy | None = None) -> tuple[int, int]:
    """Staff every case in evaluation with the policy's number of evaluators (balanced, conflict-free).
    Returns how many cases got evaluators (cases nobody conflict-free is left for are reported in the
    audit event and retried on the next run)."""
    policy = policy or current_policy(session)
    if policy.scheme(scheme).evaluation is None:
        return 0, after_id
    per_case = _per_case(policy, scheme, now().date())
    waiting = _awaiting(policy, scheme, "scores_complete")
    evaluators = [assign_rules.Evaluator(u.name, u.affiliation or u.name, duty.actor_of(u)) for u in session.exec(
        select(User).order_by(col(User.name))).all() if "evaluator" in u.role_set()]
    load = dict(session.exec(select(Assignment.evaluator, func.count()).group_by(col(Assignment.evaluator))).all())
    org = {e.name: e.org for e in evaluators}
    staffed_count = (select(func.count()).where(col(Assignment.application_id) == col(Application.id))
                     .correlate(Application).scalar_subquery())
    staffed = 0
    last_id = after_id
    while staffed < limit:
        rows = session.exec(
            select(Application.id, Application.ref)
            .where(Application.scheme == scheme, col(Application.status).in_(waiting), col(Application.id) > last_id,
                   staffed_count < per_case)
            .order_by(col(Application.id)).limit(min(1000, limit - staffed))).all()
        if not rows:
            break
        last_id = rows[-1][0] or last_id
        ids = [r[0] for r in rows if r[0] is not None]
        already: dict[int, list[str]] = defaultdict(list)
        for a_id, ev in session.exec(select(Assignment.application_id, Assignment.evaluator)
                                     .where(col(Assignment.application_id).in_(ids))).all():
            already[a_id].append(ev)
        parties = duty.parties(session, ids)
        case_list = [assign_rules.Case(i, parties[i], tuple(already.get(i, ()))) for i in ids]
        new, short = assign_rules.assign(case_list, evaluators, per_case, load)
        for names in new.values():
            for n in names:
                load[n] = load.get(n, 0) + 1
        at = stamp()
        refs = {r[0]: r[1] for r in rows}
        if new:
            insert_rows(session, Assignment.__table__,  # type: ignore[attr-defined]
                        ("application_id", "evaluator", "evaluator_org", "at"),
                        [(app_id, n, org[n], at) for app_id, names in new.items() for n in names])
        audit.append_many(session, [
            {"actor": SYSTEM_ACTOR, "action": "evaluation.assign", "subject": f"app:{refs[app_id]}", "at": at,
             "payload": {"evaluators": names, "orgs": [org[n] for n in names], "unstaffed": short.get(app_id)}}
            for app_id, names in new.items()])
        staffed += len(new)
    session.flush()
    return staffed, last_id


def assigned(session: Session, actor: str | None, limit: int = 500) -> list[dict[str, Any]]:
    """The evaluator's assigned cases, newest first: reference, scheme, applicant, state, whether scores
    are accepted now (the case is in its scheme's evaluation states), and how many criteria this evaluator
    has scored of the rubric's."""
    user = acting(session, actor, "scores.upload")
    policy = current_policy(session)
    q = (sa_select(col(Application.id), col(Application.ref), col(Application.scheme), col(Application.status),
                   col(Applicant.name), col(Applicant.uscc), col(Assignment.at))
         .join(Assignment, col(Assignment.application_id) == col(Application.id))
         .join(Applicant, col(Applicant.id) == col(Application.applicant_id))
         .where(col(Assignment.evaluator) == user.name).order_by(col(Application.id).desc()).limit(limit))
    found = session.execute(q).all()
    sc = Score.__table__  # type: ignore[attr-defined]
    scored: dict[int, int] = {}
    ids = [r[0] for r in found]
    for i in range(0, len(ids), 900):
        scored.update({a: int(n) for a, n in session.execute(
            sa_select(sc.c.application_id, func.count()).where(
                sc.c.application_id.in_(ids[i:i + 900]), sc.c.evaluator == user.name, sc.c.active.is_(True))
            .group_by(sc.c.application_id)).all()})
    open_states = scorable(policy)
    out = []
    for app_id, ref, scheme, status, name, uscc, at in found:
        criteria = len(_rubric(policy, scheme, now().date()))
        out.append({"ref": ref, "scheme": scheme, "applicant": name, "uscc": uscc, "status": status,
                    "assigned_at": at, "open": status in open_states.get(scheme, ()),
                    "scored": scored.get(app_id, 0), "criteria": criteria})
    return out


def template(session: Session, actor: str | None, fmt: str = "csv") -> bytes:
    """The evaluator's assigned rows still to be scored (or re-scored): one row per criterion. The XLSX
    sheet also shows the applicant, each criterion's name and weight, and the evaluator's current score
    and comment where the case was scored before (score_files.write_template_xlsx)."""
    user = acting(session, actor, "scores.upload")
    policy = current_policy(session)
    rows: list[TemplateRow] = []
    q = (sa_select(col(Application.id), col(Application.ref), col(Application.scheme), col(Application.status),
                   col(Applicant.name))
         .join(Assignment, col(Assignment.application_id) == col(Application.id))
         .join(Applicant, col(Applicant.id) == col(Application.applicant_id))
         .where(col(Assignment.evaluator) == user.name, col(Application.status).in_(_scorable_states(policy)))
         .order_by(col(Application.id)))
    sheets: dict[str, list[tuple[str, str, str]]] = {}  # scheme -> (criterion, name, weight) of its rubric
    open_states = scorable(policy)
    cases = [c for c in session.execute(q).all() if c[3] in open_states.get(c[2], ())]
    earlier: dict[int, dict[str, tuple[int, str]]] = defaultdict(dict)
    if fmt == "xlsx":
        sc = Score.__table__  # type: ignore[attr-defined]
        ids = [c[0] for c in cases]
        for i in range(0, len(ids), 900):
            for app_id, criterion, tenths, comment in session.execute(
                    sa_select(sc.c.application_id, sc.c.criterion, sc.c.score_tenths, sc.c.comment).where(
                        sc.c.application_id.in_(ids[i:i + 900]), sc.c.evaluator == user.name,
                        sc.c.active.is_(True))).all():
                earlier[app_id][criterion] = (tenths, comment or "")
    for app_id, ref, scheme, _status, applicant in cases:
        sheet = sheets.get(scheme)
        if sheet is None:
            sheet = sheets[scheme] = [(crit, str(spec.get("name", crit)), str(spec.get("weight", "")))
                                      for crit, spec in _rubric(policy, scheme, now().date()).items()]
        for crit, name, weight in sheet:
            tenths, comment = earlier[app_id].get(crit, (None, ""))
            rows.append(TemplateRow(ref, crit, name, applicant or "", weight,
                                    "" if tenths is None else tenths_text(tenths), comment))
    if fmt == "xlsx":
        return write_template_xlsx(rows)
    if fmt != "csv":
        raise ValidationFailed("scores template", [f"--format {fmt!r}: use csv or xlsx"])
    return write_template_csv(rows)


@dataclass
class UploadResult:
    rows: int
    changed_cases: list[str] = field(default_factory=list)
    unchanged: bool = False
    dry_run: bool = False
    upload_id: int | None = None


def upload(session: Session, actor: str | None, content: bytes, filename: str, dry_run: bool = False) -> UploadResult:
    """Validate a whole score file against assignments, conflicts and the rubric; all rows or none.

    An identical re-upload changes nothing. A corrected file replaces this evaluator's active scores
    for the cases it covers (old rows stay, inactive, in history)."""
    user = acting(session, actor, "scores.upload")
    if guards.ENABLED and session.get_bind().dialect.name == "postgresql":
        # One upload per evaluator at a time: a second one waits, then compares with the first's result.
        session.exec(select(User).where(User.id == user.id).with_for_update()).one()
    policy = current_policy(session)
    rows, problems = parse_score_file(content, filename)
    refs = sorted({r.application_id.strip().upper() for r in rows})
    t = Application.__table__  # type: ignore[attr-defined]
    apps: dict[str, Any] = {}
    for i in range(0, len(refs), 900):
        apps.update({a.ref: a for a in session.execute(
            sa_select(t.c.id, t.c.ref, t.c.scheme, t.c.status, t.c.applicant_id).where(
                t.c.ref.in_(refs[i:i + 900]))).all()})
    rubrics: dict[str, Any] = {}
    assigned = set(session.exec(select(Assignment.application_id).where(
        Assignment.evaluator == user.name, col(Assignment.application_id).in_([a.id for a in apps.values()]))).all())
    parties = duty.parties(session, [a.id for a in apps.values()])
    actor_ = duty.actor_of(user)
    by_case: dict[str, list[ScoreRow]] = defaultdict(list)
    # Whether this evaluator may score a case is decided once per case, not once per criterion row.
    verdicts: dict[str, tuple[str | None, Any]] = {}  # ref -> (problem or None, rubric)
    for r in rows:
        ref = r.application_id.strip().upper()
        verdict = verdicts.get(ref)
        if verdict is None:
            app = apps.get(ref)
            if app is None:
                problems.append(f"line {r.line}: application {r.application_id!r} does not exist")
                continue
            rubric = rubrics.get(app.scheme)
            if rubric is None:
                rubric = rubrics[app.scheme] = _rubric(policy, app.scheme, now().date())
            problem = None
            if app.id not in assigned:
                problem = f"application {ref} is not assigned to {user.name}"
            elif (b := duties.breach("scores.upload", actor_, parties[app.id])) is not None:
                problem = b.message
            elif app.status not in scorable(policy).get(app.scheme, ()):
                problem = (f"application {ref} is {app.status!r}; scores are accepted only during evaluation "
                           "(before the round is finalized)")
            verdict = verdicts[ref] = (problem, rubric)
        problem, rubric = verdict
        if problem is not None:
            problems.append(f"line {r.line}: {problem}")
        if r.criterion not in rubric:
            problems.append(f"line {r.line}: criterion {r.criterion!r} is not in the rubric ({', '.join(rubric)})")
        by_case[ref].append(r)
    for ref, rs in by_case.items():
        rubric = rubrics[apps[ref].scheme]
        missing = sorted(set(rubric) - {r.criterion for r in rs})
        if missing:
            problems.append(f"line {min(r.line for r in rs)}: application {ref} lacks criterion "
                            f"{', '.join(missing)} (every criterion of the rubric must be scored)")
    if problems:
        def line_no(p: str) -> int:
            head = p.split(":", 1)[0]
            return int(head[5:]) if head.startswith("line ") and head[5:].isdigit() else 0
        raise ValidationFailed(f"score file {filename}", sorted(problems, key=line_no))

    # Which cases actually change?
    current: dict[int, dict[str, tuple[int, str]]] = defaultdict(dict)
    app_ids = [apps[r].id for r in by_case]
    sc = Score.__table__  # type: ignore[attr-defined]
    for i in range(0, len(app_ids), 900):
        for scored_id, criterion, tenths, comment in session.execute(
                sa_select(sc.c.application_id, sc.c.criterion, sc.c.score_tenths, sc.c.comment).where(
                    sc.c.application_id.in_(app_ids[i:i + 900]), sc.c.evaluator == user.name,
                    sc.c.active.is_(True))).all():
            current[scored_id][criterion] = (tenths, comment)
    changed = []
    for ref, rs in by_case.items():
        case_id = apps[ref].id
        assert case_id is not None
        if {r.criterion: (r.score_tenths, r.comment) for r in rs} != current.get(case_id, {}):
            changed.append(ref)
    guards.checkpoint("scores.upload.compared")
    result = UploadResult(rows=len(rows), changed_cases=sorted(changed), unchanged=not changed, dry_run=dry_run)
    if dry_run or not changed:
        return result
    at = stamp()
    up = ScoreUpload(evaluator=user.name, filename=filename[:260], file_sha256=file_sha256(content), rows=len(rows),
                     changed=len(changed), at=at)
    session.add(up)
    session.flush()
    assert up.id is not None
    up_id, up_sha, name = up.id, up.file_sha256, user.name  # plain values: read once, not per row
    changed_ids = [apps[r].id for r in changed]
    # Only cases this evaluator has already scored hold active rows to retire (read above, under the
    # evaluator's lock); a first upload has none, and ux_score_active_once refuses a second active row.
    revised_ids = [i for i in changed_ids if i in current]
    for i in range(0, len(revised_ids), 900):
        session.execute(sc.update().where(sc.c.application_id.in_(revised_ids[i:i + 900]), sc.c.evaluator == name,
                                          sc.c.active.is_(True)).values(active=False))
    insert_rows(session, sc, ("application_id", "evaluator", "criterion", "score_tenths", "comment", "upload_id",
                              "active"),
                [(case_id, name, r.criterion, r.score_tenths, r.comment, up_id, True)
                 for ref, case_id in zip(changed, changed_ids, strict=True) for r in by_case[ref]])
    rescored = [apps[ref] for ref in changed if apps[ref].status in _awaiting(policy, apps[ref].scheme,
                                                                                "scores_revised")]
    cases.move_many(session, rescored, "scores_revised", name, {"evaluator"}, at=at, policy=policy,
                    payloads={a.id: {"upload_id": up_id} for a in rescored})
    audit.append_many(session, [{"actor": name, "action": "scores.upload", "subject": f"app:{ref}", "at": at,
                                 "payload": {"upload_id": up_id, "file_sha256": up_sha,
                                             "scores": {r.criterion: r.score_tenths for r in by_case[ref]}}}
                                for ref in changed])
    result.upload_id = up.id
    return result


def aggregation_stage(session: Session, scheme: str, limit: int = 1000, after_id: int = 0,
                      policy: Policy | None = None) -> tuple[int, int]:
    """Cases in evaluation whose assigned evaluators have all scored every criterion get their final
    score and move to scored (a corrected upload sends a scored case back to evaluation first)."""
    policy = policy or current_policy(session)
    if policy.scheme(scheme).evaluation is None:
        return 0, after_id
    as_of = now().date()
    weights = scoring.rubric_weights(_rubric(policy, scheme, as_of))
    weighting = scoring.Weighting.of(weights)
    per_case = _per_case(policy, scheme, as_of)
    trim = _trim(policy, scheme, as_of)
    waiting = _awaiting(policy, scheme, "scores_complete")
    n_crit = len(weights)
    done = 0
    last_id = after_id
    t = Application.__table__  # type: ignore[attr-defined]
    sc = Score.__table__  # type: ignore[attr-defined]
    asg = Assignment.__table__  # type: ignore[attr-defined]
    # A case cannot be complete with fewer active score rows than evaluators x criteria: the database
    # skips those (most of the round while evaluators are still scoring) without Python seeing them.
    active_rows = (sa_select(func.count()).where(sc.c.application_id == t.c.id, sc.c.active.is_(True))
                   .correlate(t).scalar_subquery())
    while done < limit:
        # Cases in evaluation (a corrected upload sends a scored case back there: scores_revised).
        apps = [cases.CaseRef(*r) for r in session.execute(
            sa_select(t.c.id, t.c.ref, t.c.scheme, t.c.status).where(
                t.c.scheme == scheme, t.c.status.in_(waiting), t.c.id > last_id,
                active_rows >= per_case * n_crit)
            .order_by(t.c.id).limit(1000)).all()]
        if not apps:
            break
        last_id = apps[-1].id or last_id
        ids = [a.id for a in apps]
        assigned: dict[int, set[str]] = defaultdict(set)
        for a_id, ev in session.execute(sa_select(asg.c.application_id, asg.c.evaluator)
                                        .where(asg.c.application_id.in_(ids))).all():
            assigned[a_id].add(ev)
        scores: dict[int, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
        for app_id, ev, crit, tenths in _active_scores(session, ids):
            scores[app_id][ev][crit] = tenths
        complete: list[cases.CaseRef] = []
        fields: dict[int, dict[str, Any]] = {}
        payloads: dict[int, dict[str, Any]] = {}
        for app in apps:
            assert app.id is not None
            evs = assigned.get(app.id, set())
            if len(evs) < per_case:
                continue
            got = scores.get(app.id, {})
            if any(len(got.get(e, {})) < n_crit for e in evs):
                continue
            names = sorted(evs)
            totals = [weighting.scaled_total(got[e]) for e in names]
            final = scoring.combine_scaled(totals, weighting.scale, trim)
            text = scoring.display(final)
            complete.append(app)
            fields[app.id] = {"final_score": text,
                              "final_score_exact": scoring.exact_record(final, {e: got[e] for e in evs}, weights)}
            payloads[app.id] = {"final_score": text, "trimmed": len(evs) >= trim,
                                "evaluator_totals": {e: scoring.display(Fraction(t, weighting.scale))
                                                     for e, t in zip(names, totals, strict=True)}}
            done += 1
        cases.move_many(session, complete, "scores_complete", SYSTEM_ACTOR, {"system"}, policy=policy,
                        fields=fields, payloads=payloads)
        if len(apps) < 1000:
            break
    return done, last_id


def _active_scores(session: Session, app_ids: list[int]) -> Sequence[Any]:
    """(case id, evaluator, criterion, tenths) of the cases' active scores, as the driver's plain tuples
    (a chunk of 1,000 cases reads 12,000 rows; SQLAlchemy's row objects cost more than the query)."""
    conn = session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = ("SELECT application_id, evaluator, criterion, score_tenths FROM score "
           f"WHERE active AND application_id IN ({', '.join([mark] * len(app_ids))})")
    return conn.exec_driver_sql(sql, tuple(app_ids)).fetchall() if app_ids else []


def exact_scores(session: Session, policy: Policy, scheme: str, app_ids: list[int],
                 as_of: dt.date) -> dict[int, tuple[Fraction, dict[str, Fraction]]]:
    """Exact final score and per-criterion mean for ranking (never the rounded display), recomputed from
    the active score rows: for cases scored before aggregation wrote `final_score_exact` on the case."""
    weights = scoring.rubric_weights(_rubric(policy, scheme, as_of))
    weighting = scoring.Weighting.of(weights)  # the same arithmetic as aggregation_stage
    trim = _trim(policy, scheme, as_of)
    out = {}
    for i in range(0, len(app_ids), 900):  # chunk by chunk: only the results stay in memory
        raw: dict[int, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
        for app_id, ev, criterion, tenths in _active_scores(session, app_ids[i:i + 900]):
            raw[app_id][ev][criterion] = tenths
        for app_id, per_ev in raw.items():
            evs = sorted(per_ev)
            if any(len(per_ev[e]) < len(weights) for e in evs):
                continue
            final = scoring.combine_scaled([weighting.scaled_total(per_ev[e]) for e in evs], weighting.scale, trim)
            out[app_id] = (final, scoring.criterion_means(per_ev, weights))
    return out
