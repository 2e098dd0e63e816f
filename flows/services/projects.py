"""Funded projects (二(一)1, 二(四)12, 三(三)): the acts after a project's public notice, the two scheduled stages,
the reads, and the checker's view.

A project is a case of a scheme whose policy section has a ``project:`` key. It is applied for, reviewed,
evaluated by experts, ranked within its budget line, finalized and put on public notice like any case; when the
notice ends it waits for its agreement. From there:

* ``agree`` — an approver signs the agreement (任务书): the KPI targets of the type's template, each with its
  baseline, target, weight and due date, the deliverables, and the tranche plan of ``project-grant.tranches``
  split to the fen; the tranches due on the agreement are released at once (the advance is then payable);
* ``report`` — the project files its mid-term and final progress reports with the KPI actuals and evidence
  (stored content-addressed by sha256, the hashes in the audit chain), flagged late after the due date in force;
  ``extend`` asks, before that date, for a later one, which a reviewer grants or refuses (``decide_extension``);
* ``evaluate`` — a third-party evaluator (never of the project, nor one who declared a conflict with it) scores
  the stage on the scheme's performance rubric; KPI attainment is computed from the report's actuals exactly,
  and the grade follows the bands; the bottom band opens a rectification period (限期整改);
* ``release`` — an approver signs off the stage's tranches: a banded tranche releases the grade's share, the rest
  is cancelled back to the line; what is released is paid through the payment path (`pay release`, `pay batch`);
* ``rectify`` — a reviewer accepts the rectification by its due date; the project is evaluated again;
* the ``rectification_expiry`` stage closes rectifications past their date: every tranche not yet released is
  cancelled, the policy's share of what was paid is clawed back (a receivable on the ledger, never an edited
  posting), and the organisation is barred from calls (a dated bar the next call's intake check reads);
* ``recover`` — finance records money recovered on the clawback, with the bank's receipt;
* the ``report_due`` stage flags each report not filed by its due date (an audit event and a notification).

Every act takes the caller's session (the unit of work commits), writes one audit event per state change, and
asks rules/duties.py before anything is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tomllib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from flows.services import cases
from flows.services import duties as duty_svc
from flows.services.context import SYSTEM_ACTOR, acting, current_policy
from flows.services.notifications import notify
from flows.services.text_input import text_problem
from flows.services.vouchers import release_commitment
from models import audit, ledger
from models.clock import now, stamp
from models.projects import (
    OrgBar,
    ProjectAgreement,
    ProjectClawback,
    ProjectDeadline,
    ProjectEvaluation,
    ProjectEvaluationScore,
    ProjectEvidence,
    ProjectExtension,
    ProjectRecovery,
    ProjectRectification,
    ProjectReport,
    ProjectTranche,
)
from models.tables import Applicant, Application, EvidenceBlob, Notification, Payment, User
from rules import duties
from rules.errors import NotFound, RuleViolation, ValidationFailed
from rules.funds import proportional_moves
from rules.money import MoneyFormatError, format_yuan, parse_yuan
from rules.policy import Policy, ProjectDef, SchemeDef
from rules.roles import allowed
from rules.schemes import project_grant as pg
from rules.trace import Step

STAGES = pg.STAGES


def _plain(text: str) -> str:
    """Text already checked by text_problem, trimmed."""
    return text.strip()


def today() -> dt.date:
    return now().date()


def project_schemes(policy: Policy) -> list[str]:
    return [sid for sid, sc in policy.schemes.items() if sc.project is not None]


def _scheme(policy: Policy, app: Application) -> tuple[SchemeDef, ProjectDef]:
    sc = policy.scheme(app.scheme)
    if sc.project is None:
        raise RuleViolation(f"{app.ref} is a case of {app.scheme}, which funds no projects (its policy section has "
                            "no project: key)")
    return sc, sc.project


def get_project(session: Session, key: str) -> Application:
    app = cases.get_app(session, key)
    _scheme(current_policy(session), app)
    return app


def _act(session: Session, actor: str | None, act: str, key: str
         ) -> tuple[User, Application, Policy, SchemeDef, ProjectDef]:
    """Who acts on which project: the permission, the case (of a project scheme), and the duties rule asked
    before anything is written."""
    user = acting(session, actor, act)
    app = cases.get_app(session, key)
    policy = current_policy(session)
    sc, pj = _scheme(policy, app)
    duty_svc.require(act, user, [_parties(session, app)])
    return user, app, policy, sc, pj


def _parties(session: Session, app: Application) -> duties.CaseParties:
    assert app.id is not None
    return duty_svc.parties(session, [app.id])[app.id]


def _stage_of(pj: ProjectDef, status: str, which: str) -> str | None:
    table = {"running": pj.running, "evaluated": pj.evaluated, "rectifying": pj.rectifying}[which]
    return next((stage for stage, st in table.items() if st == status), None)


def _stage_arg(stage: str) -> str:
    if stage not in STAGES:
        raise ValidationFailed("stage", [f"--stage: {stage!r} is not one of {', '.join(STAGES)}"])
    return stage


def agreement_of(session: Session, app_id: int) -> ProjectAgreement | None:
    return session.exec(select(ProjectAgreement).where(ProjectAgreement.application_id == app_id)).first()


def _agreement(session: Session, app: Application) -> ProjectAgreement:
    assert app.id is not None
    a = agreement_of(session, app.id)
    if a is None:
        raise RuleViolation(f"{app.ref} has no agreement yet (`ipfund project agree {app.ref} FILE`, 二(四)12)")
    return a


def kpis_of(a: ProjectAgreement) -> list[pg.Kpi]:
    return [pg.Kpi(k["code"], k["name"], k["unit"], Fraction(k["baseline"]), Fraction(k["target"]),
                   Fraction(k["weight"]), k["formula"], dt.date.fromisoformat(k["due"]) if k.get("due") else None)
            for k in json.loads(a.kpis)]


def plan_of(a: ProjectAgreement) -> list[pg.Tranche]:
    return [pg.Tranche(t["key"], Fraction(t["share"]), t["on"], t["banded"], t["amount_fen"])
            for t in json.loads(a.tranches)]


def due_on(session: Session, app_id: int, stage: str) -> dt.date | None:
    """The due date in force of a stage's report (the latest deadline row)."""
    row = session.exec(select(ProjectDeadline).where(ProjectDeadline.application_id == app_id,
                                                     ProjectDeadline.stage == stage)
                       .order_by(col(ProjectDeadline.id).desc())).first()
    return dt.date.fromisoformat(row.due_on) if row else None


def _latest_report(session: Session, app_id: int, stage: str) -> ProjectReport | None:
    return session.exec(select(ProjectReport).where(ProjectReport.application_id == app_id,
                                                    ProjectReport.stage == stage)
                        .order_by(col(ProjectReport.id).desc())).first()


def _latest_evaluation(session: Session, app_id: int, stage: str) -> ProjectEvaluation | None:
    return session.exec(select(ProjectEvaluation).where(ProjectEvaluation.application_id == app_id,
                                                        ProjectEvaluation.stage == stage)
                        .order_by(col(ProjectEvaluation.id).desc())).first()


def _open_rectification(session: Session, app_id: int) -> ProjectRectification | None:
    return session.exec(select(ProjectRectification).where(ProjectRectification.application_id == app_id,
                                                           col(ProjectRectification.result).is_(None))).first()


def _decided(session: Session, app_id: int) -> dict[str, ProjectTranche]:
    return {t.tranche: t for t in session.exec(select(ProjectTranche).where(ProjectTranche.application_id == app_id))}


def decided_amounts(session: Session, ids: Sequence[int]) -> dict[tuple[int, str], int]:
    """(case id, tranche) -> the amount released by the tranche's decision (what its payment carries)."""
    out: dict[tuple[int, str], int] = {}
    for i in range(0, len(ids), 900):
        for t in session.exec(select(ProjectTranche).where(col(ProjectTranche.application_id).in_(ids[i:i + 900]))):
            out[(t.application_id, t.tranche)] = t.released_fen
    return out


def _steps(steps: Sequence[Step]) -> list[dict[str, Any]]:
    return [{"what": s.what, "value": s.value, "parameter": s.parameter, "clause": s.clause,
             "in_force": s.in_force.isoformat() if s.in_force else None, "reference": s.reference} for s in steps]


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _frac(f: Fraction) -> str:
    d = Decimal(f.numerator) / Decimal(f.denominator)
    return f"{d.quantize(Decimal('0.0001')).normalize():f}"


# --- the agreement ------------------------------------------------------------------------------------------

def read_agreement(content: bytes, source: str) -> dict[str, Any]:
    """An agreement file (TOML): ``[[kpi]]`` rows (code, baseline, target, weight, due) and ``[[deliverable]]``
    rows (code, name, due). Numbers are written as strings or integers, never floats."""
    try:
        raw = tomllib.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValidationFailed(f"agreement {source}", [f"not a TOML file: {exc}"]) from None
    problems = [f"{source}: unknown key {k!r} (the file holds [[kpi]] and [[deliverable]])"
                for k in raw if k not in ("kpi", "deliverable")]
    for i, row in enumerate(raw.get("kpi", []), start=1):
        for k, v in row.items():
            if isinstance(v, float):
                problems.append(f"kpi {i}.{k}: {v!r} is a float; write it as a string (\"{v}\") so it stays exact")
    if problems:
        raise ValidationFailed(f"agreement {source}", problems)
    return raw


def _deliverables(rows: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, str]], list[str]]:
    out, problems, seen = [], [], set()
    for i, r in enumerate(rows, start=1):
        code, name, due = (str(r.get(k) or "").strip() for k in ("code", "name", "due"))
        where = f"deliverable {i} ({code or '?'})"
        for field, value in (("code", code), ("name", name)):
            bad = text_problem(value, field=f"{where}.{field}", max_len=200) if value else f"{where}.{field}: missing"
            if bad:
                problems.append(bad)
        if code in seen:
            problems.append(f"{where}: given twice")
        seen.add(code)
        try:
            dt.date.fromisoformat(due)
        except ValueError:
            problems.append(f"{where}.due: {due!r} is not a date (YYYY-MM-DD)")
        out.append({"code": code, "name": name, "due": due})
    return out, problems


def agree(session: Session, actor: str | None, key: str, content: bytes, source: str = "agreement") -> ProjectAgreement:
    """The approver signs the project's agreement: its KPI targets (the type's template, each with baseline,
    target, weight and due date), deliverables and the tranche plan; the tranches due on the agreement are
    released (the advance becomes payable) and what a tranche does not release is cancelled back to the line."""
    user, app, policy, sc, pj = _act(session, actor, "project.agree", key)
    if app.status != pj.agreement_state:
        raise RuleViolation(f"{app.ref} is {app.status!r}: an agreement is signed once the public notice has ended "
                            f"(state {pj.agreement_state!r}, 二(四)12)")
    assert app.id is not None and app.award_fen is not None
    raw = read_agreement(content, source)
    on = today()
    kind = str(cases.app_data(app).get(pj.type_field) or "")
    template = pg.kpi_template(policy, pj.kpi_template, kind, on)
    kpis, problems = pg.agreement_kpis(template, raw.get("kpi", []), kind)
    deliverables, more = _deliverables(raw.get("deliverable", []))
    problems += more
    if problems:
        raise ValidationFailed(f"agreement of {app.ref} ({source})", problems)
    plan = pg.tranche_plan(policy, app.award_fen, on)
    at = stamp()
    a = ProjectAgreement(
        application_id=app.id, grant_fen=app.award_fen, agreed_on=on.isoformat(), signed_by=user.name,
        file_sha256=hashlib.sha256(content).hexdigest(), at=at,
        kpis=_canonical([{"code": k.code, "name": k.name, "unit": k.unit, "baseline": _frac(k.baseline),
                          "target": _frac(k.target), "weight": _frac(k.weight), "formula": k.formula,
                          "due": k.due.isoformat() if k.due else None} for k in kpis]),
        deliverables=_canonical(deliverables),
        tranches=_canonical([{"key": t.key, "share": _frac(t.share), "on": t.on, "banded": t.banded,
                              "amount_fen": t.amount_fen} for t in plan]))
    session.add(a)
    session.flush()
    dues = {}
    for stage in STAGES:
        d = pg.report_due(policy, pj.report_months[stage], on)
        dues[stage] = d.isoformat()
        session.add(ProjectDeadline(application_id=app.id, stage=stage, due_on=d.isoformat(), at=at))
    released = _decide(session, policy, app, plan, "agreement", None, None, user.name, at, "agreement")
    cases.move(session, app, "agree", user.name, {"approver"}, at=at, policy=policy, payload={
        "agreement_id": a.id, "grant_fen": a.grant_fen, "file_sha256": a.file_sha256,
        "kpis": [k.code for k in kpis], "deliverables": [d["code"] for d in deliverables],
        "tranches": {t.key: t.amount_fen for t in plan}, "released_fen": released, "reports_due": dues})
    applicant = cases.applicant_of(session, app)
    notify(session, recipient=applicant.uscc, subject=f"项目任务书已签订 {app.ref} ({sc.clause})",
           body=f"{app.ref}: agreement signed for {format_yuan(a.grant_fen)}; the mid-term report is due on "
                f"{dues['mid_term']}, the final report on {dues['final']}.", cause=f"project_agreement:{a.id}", at=at)
    return a


def _decide(session: Session, policy: Policy, app: Application, plan: Sequence[pg.Tranche], stage: str,
            grade: str | None, evaluation_id: int | None, actor: str, at: str, why: str) -> int:
    """Decide every tranche due on ``stage``: released (the grade's share of a banded one) and cancelled; the
    cancelled part released back to the line. Returns the amount released."""
    assert app.id is not None
    total = 0
    for t in pg.tranches_due(plan, stage):
        r = pg.release(policy, t, grade, today())
        posting_id = None
        if r.cancelled_fen:
            post = release_commitment(session, app, r.cancelled_fen, actor, at, f"tranche {t.key} cancelled ({why})")
            posting_id = post.id if post else None
        session.add(ProjectTranche(application_id=app.id, tranche=t.key, stage=stage, planned_fen=t.amount_fen,
                                   released_fen=r.released_fen, cancelled_fen=r.cancelled_fen, grade=grade,
                                   evaluation_id=evaluation_id, posting_id=posting_id, decided_by=actor, why=why,
                                   trace=_canonical(_steps(r.trace)), at=at))
        total += r.released_fen
        _reduce_award(session, app, r.cancelled_fen)
    session.flush()
    return total


def _reduce_award(session: Session, app: Application, cancelled_fen: int) -> None:
    """The case's award is what is still granted: the grant less every tranche cancelled back to the line (the
    checker holds the line's committed + paid to the live awards)."""
    if cancelled_fen <= 0:
        return
    assert app.award_fen is not None and app.id is not None
    left = app.award_fen - cancelled_fen
    session.execute(update(Application).where(col(Application.id) == app.id).values(award_fen=left or None)
                    .execution_options(synchronize_session=False))
    set_committed_value(app, "award_fen", left or None)


# --- reports and extensions ---------------------------------------------------------------------------------

def _evidence_problems(policy: Policy, pj: ProjectDef, on: dt.date, files: Sequence[tuple[str, str, bytes]]
                       ) -> list[str]:
    allowed_types = [str(x).lower() for x in policy.value(pj.evidence_types, on)]
    out = []
    for kind, name, content in files:
        bad = text_problem(name, field="file name", max_len=260) or text_problem(kind, field="evidence kind", max_len=32)
        if bad:
            out.append(bad)
            continue
        suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if not content:
            out.append(f"evidence {name}: the file is empty")
        elif suffix not in allowed_types:
            out.append(f"evidence {name}: type {suffix or '(none)'!r} is not allowed ({pj.evidence_types}: "
                       f"{', '.join(allowed_types)})")
    return out


def _actuals(kpis: Sequence[pg.Kpi], given: Mapping[str, str]) -> tuple[dict[str, Fraction], list[str]]:
    known = {k.code for k in kpis}
    out, problems = {}, []
    for code, text in given.items():
        if code not in known:
            problems.append(f"actual {code}: not a KPI of the agreement (its KPIs: {', '.join(sorted(known))})")
            continue
        try:
            d = Decimal(str(text).strip().replace(",", ""))
            if not d.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            problems.append(f"actual {code}: {text!r} is not a number")
            continue
        if d < 0:
            problems.append(f"actual {code}: {text} is below 0")
            continue
        out[code] = Fraction(d)
    if not given:
        problems.append("actuals: a progress report gives the KPI actuals (code=value)")
    return out, problems


def report(session: Session, actor: str | None, key: str, stage: str, actuals: Mapping[str, str],
           files: Sequence[tuple[str, str, bytes]] = ()) -> ProjectReport:
    """The project files its mid-term or final progress report: the KPI actuals and the evidence files. Late when
    filed after the due date in force; refused (nothing written) for a closed project, a stage the project is not
    in, a KPI the agreement does not have, or evidence that is empty or of a type the policy does not allow."""
    user, app, policy, sc, pj = _act(session, actor, "project.report", key)
    stage = _stage_arg(stage)
    assert app.id is not None
    if sc.states[app.status].terminal or "clawback" in sc.states[app.status].tag_set():
        raise RuleViolation(f"{app.ref} is {app.status!r}: the project is closed, no report is filed any more (二(四)12)")
    if app.status not in (pj.running[stage], pj.rectifying[stage]):
        raise RuleViolation(f"{app.ref} is {app.status!r}: a {stage} report is filed while the project runs towards "
                            f"its {stage} evaluation ({pj.running[stage]!r}) or rectifies after it "
                            f"({pj.rectifying[stage]!r})")
    a = _agreement(session, app)
    values, problems = _actuals(kpis_of(a), actuals)
    on = today()
    problems += _evidence_problems(policy, pj, on, files)
    if problems:
        raise ValidationFailed(f"{stage} report of {app.ref}", problems)
    due = due_on(session, app.id, stage)
    assert due is not None
    at = stamp()
    late = on > due
    r = ProjectReport(application_id=app.id, stage=stage, due_on=due.isoformat(), filed_on=on.isoformat(), late=late,
                      actuals=_canonical({k: _frac(v) for k, v in sorted(values.items())}), filed_by=user.name, at=at)
    session.add(r)
    session.flush()
    evidence = []
    for kind, name, content in files:
        digest = hashlib.sha256(content).hexdigest()
        if session.get(EvidenceBlob, digest) is None:
            session.add(EvidenceBlob(sha256=digest, size_bytes=len(content), content=content))
            session.flush()
        session.add(ProjectEvidence(report_id=r.id or 0, kind=_plain(kind), filename=_plain(name),
                                    media_type=name.rsplit(".", 1)[-1].lower(), size_bytes=len(content), sha256=digest))
        evidence.append({"kind": kind, "file": name, "sha256": digest, "bytes": len(content)})
    session.flush()
    audit.append(session, actor=user.name, action="project.report", subject=f"app:{app.ref}", at=at, payload={
        "report_id": r.id, "stage": stage, "due_on": r.due_on, "filed_on": r.filed_on, "late": late,
        "actuals": json.loads(r.actuals), "evidence": evidence})
    return r


def extend(session: Session, actor: str | None, key: str, stage: str, new_due: str, reason: str) -> ProjectExtension:
    """The project asks, before its report is due, for a later due date; a reviewer decides."""
    user, app, _policy, _sc, pj = _act(session, actor, "project.extend", key)
    stage = _stage_arg(stage)
    assert app.id is not None
    if app.status != pj.running[stage]:
        raise RuleViolation(f"{app.ref} is {app.status!r}: an extension of the {stage} report is asked while the "
                            f"project runs towards it ({pj.running[stage]!r})")
    try:
        wanted = dt.date.fromisoformat(new_due)
    except ValueError:
        raise ValidationFailed(f"extension of {app.ref}", [f"--until: {new_due!r} is not a date (YYYY-MM-DD)"]) from None
    why = (reason or "").strip()
    bad = text_problem(why, field="--reason", max_len=1000) if why else "--reason: an extension gives its reason"
    due = due_on(session, app.id, stage)
    assert due is not None
    on = today()
    problem = pg.extension_problem(due, on, wanted)
    problems = [p for p in (bad, problem) if p]
    pending = session.exec(select(ProjectExtension).where(ProjectExtension.application_id == app.id,
                                                          ProjectExtension.stage == stage,
                                                          col(ProjectExtension.decision).is_(None))).first()
    if pending is not None:
        problems.append(f"extension {pending.id} of the {stage} report is still waiting for a reviewer")
    if problems:
        raise ValidationFailed(f"extension of {app.ref}", problems)
    at = stamp()
    e = ProjectExtension(application_id=app.id, stage=stage, due_on=due.isoformat(), new_due=wanted.isoformat(),
                         reason=_plain(why), asked_on=on.isoformat(), asked_by=user.name, at=at)
    session.add(e)
    session.flush()
    audit.append(session, actor=user.name, action="project.extension_asked", subject=f"app:{app.ref}", at=at,
                 payload={"extension_id": e.id, "stage": stage, "due_on": e.due_on, "new_due": e.new_due,
                          "reason": e.reason})
    return e


def decide_extension(session: Session, actor: str | None, extension_id: int, grant: bool, reason: str) -> ProjectExtension:
    """A reviewer grants (the new due date is in force) or refuses an extension."""
    user = acting(session, actor, "project.decide_extension")
    e = session.get(ProjectExtension, extension_id)
    if e is None:
        raise NotFound(f"no extension {extension_id}")
    app = session.get(Application, e.application_id)
    assert app is not None
    duty_svc.require("project.decide_extension", user, [_parties(session, app)])
    if e.decision is not None:
        raise RuleViolation(f"extension {e.id} was already {e.decision} by {e.decided_by}")
    why = (reason or "").strip()
    if not why:
        raise ValidationFailed(f"extension {e.id}", ["--reason: a decision gives its reason"])
    at = stamp()
    res = session.execute(update(ProjectExtension).where(col(ProjectExtension.id) == e.id,
                                                         col(ProjectExtension.decision).is_(None))
                          .values(decision="granted" if grant else "refused", decided_by=user.name,
                                  decision_reason=_plain(why)[:1000], decided_at=at)
                          .execution_options(synchronize_session=False))
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise RuleViolation(f"extension {e.id} was decided by someone else; reload")
    session.refresh(e)
    if grant:
        session.add(ProjectDeadline(application_id=app.id or 0, stage=e.stage, due_on=e.new_due, extension_id=e.id,
                                    at=at))
    audit.append(session, actor=user.name, action=f"project.extension_{e.decision}", subject=f"app:{app.ref}", at=at,
                 payload={"extension_id": e.id, "stage": e.stage, "due_on": e.new_due if grant else e.due_on,
                          "reason": e.decision_reason})
    applicant = cases.applicant_of(session, app)
    notify(session, recipient=applicant.uscc, subject=f"报告延期申请 {e.decision} {app.ref}",
           body=f"{app.ref}: the {e.stage} report is due on {e.new_due if grant else e.due_on} "
                f"({'extension granted' if grant else 'extension refused'}: {e.decision_reason}).",
           cause=f"project_extension:{e.id}", at=at)
    session.flush()
    return e


# --- evaluations, releases, rectification ---------------------------------------------------------------------

def _tenths(text: str, where: str) -> int | None:
    try:
        d = Decimal(str(text).strip())
    except InvalidOperation:
        return None
    if not d.is_finite() or d < 0 or d > 100 or (d * 10) != (d * 10).to_integral_value():
        return None
    return int(d * 10)


def evaluate(session: Session, actor: str | None, key: str, stage: str, scores: Mapping[str, str],
             comment: str = "") -> ProjectEvaluation:
    """A third-party evaluator evaluates the project's stage: a score 0–100 (tenths) per criterion of the scheme's
    performance rubric; with the KPI actuals of the stage's latest report, the evaluation score and grade
    (rules/schemes/project_grant.evaluate). The bottom band opens a rectification period."""
    user, app, policy, _sc, pj = _act(session, actor, "project.evaluate", key)
    stage = _stage_arg(stage)
    assert app.id is not None
    if app.status != pj.running[stage]:
        raise RuleViolation(f"{app.ref} is {app.status!r}: the {stage} evaluation is made while the project runs "
                            f"towards it ({pj.running[stage]!r})")
    rep = _latest_report(session, app.id, stage)
    if rep is None:
        raise RuleViolation(f"{app.ref}: no {stage} report has been filed; the evaluation reads its KPI actuals")
    a = _agreement(session, app)
    on = today()
    rubric: Mapping[str, Any] = policy.value(pj.performance_rubric, on)
    problems = [f"score {c}: not a criterion of {pj.performance_rubric} ({', '.join(rubric)})"
                for c in scores if c not in rubric]
    problems += [f"score {c}: missing (every criterion of {pj.performance_rubric} is scored)"
                 for c in rubric if c not in scores]
    tenths: dict[str, int] = {}
    for c, text in scores.items():
        if c in rubric:
            t = _tenths(text, c)
            if t is None:
                problems.append(f"score {c}: {text!r} is not a score from 0 to 100 in tenths")
            else:
                tenths[c] = t
    if problems:
        raise ValidationFailed(f"{stage} evaluation of {app.ref}", problems)
    rubric_score = sum((Fraction(Decimal(str(rubric[c]["weight"]))) * Fraction(t, 10) for c, t in tenths.items()),
                       Fraction(0)) / 100
    actuals = {k: Fraction(Decimal(v)) for k, v in json.loads(rep.actuals).items()}
    ev = pg.evaluate(policy, kpis_of(a), actuals, rubric_score, on)
    at = stamp()
    row = ProjectEvaluation(application_id=app.id, stage=stage, report_id=rep.id or 0, evaluator=user.name,
                            evaluator_org=user.affiliation or "", rubric_score=_frac(rubric_score),
                            kpi_score=_frac(ev.kpi_score), score=_frac(ev.score), grade=ev.grade,
                            grade_name=ev.grade_name, trace=_canonical(_steps(ev.trace)), evaluated_on=on.isoformat(),
                            at=at)
    session.add(row)
    session.flush()
    for c, t in sorted(tenths.items()):
        session.add(ProjectEvaluationScore(evaluation_id=row.id or 0, criterion=c, score_tenths=t))
    session.flush()
    payload = {"evaluation_id": row.id, "stage": stage, "report_id": rep.id, "scores_tenths": tenths,
               "rubric_score": row.rubric_score, "kpi_score": row.kpi_score, "score": row.score, "grade": ev.grade,
               "grade_name": ev.grade_name, "comment": comment[:400]}
    if pg.needs_rectification(policy, ev.grade, on):
        due = pg.rectification_due(policy, on)
        session.add(ProjectRectification(application_id=app.id, stage=stage, evaluation_id=row.id or 0,
                                         opened_on=on.isoformat(), due_on=due.isoformat(), at=at))
        session.flush()
        cases.move(session, app, "evaluated_poor", user.name, {"evaluator"}, at=at, policy=policy,
                   payload={**payload, "rectify_by": due.isoformat()})
        applicant = cases.applicant_of(session, app)
        notify(session, recipient=applicant.uscc, subject=f"项目限期整改 {app.ref} ({pg.CLAUSE})",
               body=f"{app.ref}: the {stage} evaluation graded the project {ev.grade_name} ({row.score}); rectify by "
                    f"{due.isoformat()} or the remaining tranches are cancelled and what was paid is clawed back.",
               cause=f"project_rectification:{row.id}", at=at)
    else:
        cases.move(session, app, "evaluated", user.name, {"evaluator"}, at=at, policy=policy, payload=payload)
    return row


def release(session: Session, actor: str | None, key: str) -> list[ProjectTranche]:
    """An approver signs off the tranches of the stage the project was evaluated at: each banded one releases the
    grade's share, the rest is cancelled back to the line. Refused unless the project waits, evaluated, for it."""
    user, app, policy, _sc, pj = _act(session, actor, "project.release", key)
    assert app.id is not None
    stage = _stage_of(pj, app.status, "evaluated")
    if stage is None:
        raise RuleViolation(f"{app.ref} is {app.status!r}: a tranche is released only when its condition holds — the "
                            f"project evaluated at mid-term ({pj.evaluated['mid_term']!r}) or at acceptance "
                            f"({pj.evaluated['final']!r}), 二(四)12")
    ev = _latest_evaluation(session, app.id, stage)
    assert ev is not None
    a = _agreement(session, app)
    decided = _decided(session, app.id)
    plan = [t for t in plan_of(a) if t.key not in decided]
    at = stamp()
    released = _decide(session, policy, app, plan, stage, ev.grade, ev.id, user.name, at, "release")
    rows = [t for t in session.exec(select(ProjectTranche).where(ProjectTranche.application_id == app.id,
                                                                 ProjectTranche.stage == stage))]
    payload = {"stage": stage, "grade": ev.grade, "evaluation_id": ev.id,
               "tranches": {t.tranche: {"released_fen": t.released_fen, "cancelled_fen": t.cancelled_fen} for t in rows}}
    cases.move(session, app, "release" if released > 0 else "release_none", user.name, {"approver"}, at=at,
               policy=policy, payload=payload)
    return rows


def rectify(session: Session, actor: str | None, key: str, reason: str) -> ProjectRectification:
    """A reviewer accepts the project's rectification, by its due date; the project is evaluated again."""
    user, app, policy, _sc, pj = _act(session, actor, "project.rectify", key)
    assert app.id is not None
    r = _open_rectification(session, app.id)
    if _stage_of(pj, app.status, "rectifying") is None or r is None:
        raise RuleViolation(f"{app.ref} is {app.status!r}: only a project in rectification (限期整改) is rectified")
    on = today()
    if on > dt.date.fromisoformat(r.due_on):
        raise RuleViolation(f"{app.ref}: the rectification was due on {r.due_on}; past it the project is closed "
                            "unrectified by the rectification stage (三(三))")
    why = (reason or "").strip()
    if not why:
        raise ValidationFailed(f"rectification of {app.ref}", ["--reason: accepting a rectification gives its reason"])
    at = stamp()
    _close(session, r, "rectified", on, user.name, why, at)
    cases.move(session, app, "rectified", user.name, {"reviewer"}, reason=why, at=at, policy=policy,
               payload={"rectification_id": r.id, "due_on": r.due_on})
    return r


def _close(session: Session, r: ProjectRectification, result: str, on: dt.date, actor: str, why: str, at: str) -> None:
    res = session.execute(update(ProjectRectification).where(col(ProjectRectification.id) == r.id,
                                                             col(ProjectRectification.result).is_(None))
                          .values(result=result, closed_on=on.isoformat(), closed_by=actor,
                                  close_reason=_plain(why)[:1000], closed_at=at)
                          .execution_options(synchronize_session=False))
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise RuleViolation(f"rectification {r.id} was closed by someone else; reload")


def _paid(session: Session, app_id: int) -> int:
    return int(session.exec(select(func.coalesce(func.sum(Payment.amount_fen), 0)).where(
        Payment.application_id == app_id, Payment.status == "paid")).one())


def _bucket(session: Session, ref: str, bucket: str) -> dict[tuple[str, str], int]:
    """Per (line, source): what the case's postings hold in ``bucket`` (paid, receivable …)."""
    return dict(ledger.holdings(session, [f"app:{ref}"]).get(f"app:{ref}", {}).get(bucket, {}))


def rectification_stage(session: Session, scheme: str, limit: int = 1000, after_id: int = 0) -> tuple[int, int]:
    """The rectification stage: every project whose rectification is past its due date is closed unrectified —
    the tranches not yet released are cancelled back to the line, the policy's share of what was paid becomes a
    receivable (clawback), and the organisation is barred from calls until the bar ends (三(三))."""
    policy = current_policy(session)
    sc = policy.scheme(scheme)
    if sc.project is None:
        return 0, after_id
    pj = sc.project
    on = today()
    states = list(pj.rectifying.values())
    rows = session.exec(select(Application, ProjectRectification)
                        .join(ProjectRectification, col(ProjectRectification.application_id) == col(Application.id))
                        .where(Application.scheme == scheme, col(Application.status).in_(states),
                               col(ProjectRectification.result).is_(None), col(Application.id) > after_id)
                        .order_by(col(Application.id)).limit(limit)).all()
    done, last = 0, after_id
    for app, r in rows:
        assert app.id is not None
        last = app.id
        if dt.date.fromisoformat(r.due_on) >= on:
            continue
        a = _agreement(session, app)
        decided = _decided(session, app.id)
        released = sum(t.released_fen for t in decided.values())
        paid = _paid(session, app.id)
        u = pg.unrectified(policy, a.grant_fen, released, paid, on)
        at = stamp()
        open_plan = [t for t in plan_of(a) if t.key not in decided]
        for t in open_plan:
            release_commitment(session, app, t.amount_fen, SYSTEM_ACTOR, at, f"tranche {t.key} cancelled (unrectified)")
            _reduce_award(session, app, t.amount_fen)
            session.add(ProjectTranche(application_id=app.id, tranche=t.key, stage=t.on, planned_fen=t.amount_fen,
                                       released_fen=0, cancelled_fen=t.amount_fen, decided_by=SYSTEM_ACTOR,
                                       why="unrectified", trace=_canonical(_steps(u.trace)), at=at))
        _close(session, r, "unrectified", on, SYSTEM_ACTOR, f"not rectified by {r.due_on}", at)
        applicant = cases.applicant_of(session, app)
        session.add(OrgBar(applicant_id=app.applicant_id, application_id=app.id,
                           since=(on + dt.timedelta(days=1)).isoformat(), until=u.barred_until.isoformat(),
                           reason=f"project {app.ref} not rectified by {r.due_on} (三(三))", at=at))
        payload = {"rectification_id": r.id, "due_on": r.due_on, "cancelled_fen": u.cancelled_fen,
                   "clawback_fen": u.clawback_fen, "barred_until": u.barred_until.isoformat(),
                   "trace": _steps(u.trace)}
        if u.clawback_fen > 0:
            paid_held = _bucket(session, app.ref, "paid")
            post = ledger.post(session, year=app.year, kind="clawback", memo=f"clawback {app.ref}: unrectified project",
                               actor=SYSTEM_ACTOR, entries=proportional_moves(u.clawback_fen, paid_held, "paid", "receivable"),
                               subject=f"app:{app.ref}", at=at)
            session.add(ProjectClawback(application_id=app.id, rectification_id=r.id or 0, year=app.year,
                                        line_code=app.line_code or "", debtor_uscc=applicant.uscc,
                                        amount_fen=u.clawback_fen, posting_id=post.id or 0,
                                        trace=_canonical(_steps(u.trace)), opened_by=SYSTEM_ACTOR, at=at))
            session.flush()
            cases.move(session, app, "unrectified", SYSTEM_ACTOR, {"system"}, reason=f"not rectified by {r.due_on}",
                       at=at, policy=policy, payload=payload)
        else:
            session.flush()
            cases.move(session, app, "unrectified_closed", SYSTEM_ACTOR, {"system"},
                       reason=f"not rectified by {r.due_on}", at=at, policy=policy, payload=payload)
        notify(session, recipient=applicant.uscc, subject=f"项目未按期整改 {app.ref} (三(三))",
               body=f"{app.ref}: not rectified by {r.due_on}. {format_yuan(u.cancelled_fen)} not yet released is "
                    f"cancelled; {format_yuan(u.clawback_fen)} of what was paid is to be returned; the organisation "
                    f"is barred from new calls until {u.barred_until.isoformat()}.",
               cause=f"project_unrectified:{r.id}", at=at)
        done += 1
    return _chunk_result(len(rows), limit, done, last)


def report_due_stage(session: Session, scheme: str, limit: int = 1000, after_id: int = 0) -> tuple[int, int]:
    """The report-due stage: each report not filed by its due date in force is flagged once (an audit event
    ``project.report_overdue`` and a notification to the project), on the first run after the date."""
    policy = current_policy(session)
    sc = policy.scheme(scheme)
    if sc.project is None:
        return 0, after_id
    pj = sc.project
    on = today()
    by_state = {st: stage for stage, st in pj.running.items()}
    rows = session.exec(select(Application).where(Application.scheme == scheme,
                                                  col(Application.status).in_(list(by_state)),
                                                  col(Application.id) > after_id)
                        .order_by(col(Application.id)).limit(limit)).all()
    ids = [app.id for app in rows if app.id is not None]
    dues: dict[tuple[int, str], str] = {}  # the deadline in force: the latest row of each case and stage
    filed: set[tuple[int, str]] = set()
    for i in range(0, len(ids), 900):
        chunk = ids[i:i + 900]
        for d in session.exec(select(ProjectDeadline).where(col(ProjectDeadline.application_id).in_(chunk))
                              .order_by(col(ProjectDeadline.id))):
            dues[(d.application_id, d.stage)] = d.due_on
        filed |= set(session.exec(select(ProjectReport.application_id, ProjectReport.stage)
                                  .where(col(ProjectReport.application_id).in_(chunk))).all())
    waiting = {(app.id, by_state[app.status]) for app in rows
               if app.id is not None and (app.id, by_state[app.status]) in dues
               and dt.date.fromisoformat(dues[(app.id, by_state[app.status])]) < on
               and (app.id, by_state[app.status]) not in filed}
    causes = {f"project_overdue:{i_}:{st}:{dues[(i_, st)]}": (i_, st) for i_, st in waiting}
    sent = set(session.exec(select(Notification.cause).where(col(Notification.cause).in_(list(causes)))).all()
               ) if causes else set()
    todo = [app for app in rows if app.id is not None and (app.id, by_state[app.status]) in waiting
            and f"project_overdue:{app.id}:{by_state[app.status]}:{dues[(app.id, by_state[app.status])]}" not in sent]
    applicants = {a.id: a for a in session.exec(select(Applicant).where(
        col(Applicant.id).in_({app.applicant_id for app in todo})))} if todo else {}
    for app in todo:
        stage, due = by_state[app.status], dues[(app.id or 0, by_state[app.status])]
        at = stamp()
        audit.append(session, actor=SYSTEM_ACTOR, action="project.report_overdue", subject=f"app:{app.ref}", at=at,
                     payload={"stage": stage, "due_on": due, "flagged_on": on.isoformat()})
        notify(session, recipient=applicants[app.applicant_id].uscc, subject=f"项目报告逾期 {app.ref} ({pg.CLAUSE})",
               body=f"{app.ref}: the {stage} report was due on {due} and has not been filed; file it "
                    "(`ipfund project report`) — it will be marked late.", cause=f"project_overdue:{app.id}:{stage}:{due}",
               at=at)
    return _chunk_result(len(rows), limit, len(todo), rows[-1].id or after_id if rows else after_id)


def _chunk_result(examined: int, limit: int, done: int, last_id: int) -> tuple[int, int]:
    """What a stage returns to the advance loop: a full chunk examined asks for the next one (the loop goes on
    while a call returns ``limit``), otherwise the cases it acted on; and the last case id it examined."""
    return (limit if examined == limit else done), last_id


# --- clawback recoveries -------------------------------------------------------------------------------------

def clawback_of(session: Session, app_id: int) -> ProjectClawback | None:
    return session.exec(select(ProjectClawback).where(ProjectClawback.application_id == app_id)).first()


def recover(session: Session, actor: str | None, key: str, amount_yuan: str, receipt: str, received_on: str) -> ProjectRecovery:
    """Finance records money recovered on an unrectified project's clawback (receivable → available, with the
    bank's receipt, once); in full, the project is clawed back. Never above what is still owed."""
    user, app, policy, _sc, _pj = _act(session, actor, "project.recover", key)
    assert app.id is not None
    cb = clawback_of(session, app.id)
    if cb is None or (app.status != "clawback_due" and "clawback" not in policy.scheme(app.scheme).states[app.status].tag_set()):
        raise RuleViolation(f"{app.ref} is {app.status!r}: it owes nothing back (no clawback is open)")
    what = f"recovery on {app.ref}"
    try:
        amount = parse_yuan(amount_yuan, field="--amount")
    except MoneyFormatError as exc:
        raise ValidationFailed(what, [str(exc)]) from None
    problem = pg.clawback_problem(amount, cb.amount_fen, cb.recovered_fen)
    ref = (receipt or "").strip()
    problems = [p for p in (problem.replace("clawback:", "--amount:").replace("paid and not yet clawed back",
                                                                              "owed and not yet recovered")
                            if problem else None,
                            None if ref else "--receipt: the bank's receipt reference is required",
                            text_problem(ref, field="--receipt", max_len=64) if ref else None) if p]
    try:
        on = dt.date.fromisoformat(received_on)
    except ValueError:
        problems.append(f"--received-on: {received_on!r} is not a date (YYYY-MM-DD)")
        on = today()
    if ref and session.exec(select(ProjectRecovery.id).where(ProjectRecovery.receipt_ref == ref)).first() is not None:
        problems.append(f"--receipt: {ref} was recorded already")
    if problems:
        raise ValidationFailed(what, problems)
    at = stamp()
    held = _bucket(session, app.ref, "receivable")
    post = ledger.post(session, year=cb.year, kind="recovery", memo=f"recovery {app.ref}: receipt {ref}",
                       actor=user.name, entries=proportional_moves(amount, held, "receivable", "available"),
                       subject=f"app:{app.ref}", at=at)
    rec = ProjectRecovery(clawback_id=cb.id or 0, amount_fen=amount, receipt_ref=ref, received_on=on.isoformat(),
                          recorded_by=user.name, posting_id=post.id or 0, at=at)
    session.add(rec)
    session.execute(update(ProjectClawback).where(col(ProjectClawback.id) == cb.id)
                    .values(recovered_fen=ProjectClawback.recovered_fen + amount)
                    .execution_options(synchronize_session=False))
    session.flush()
    session.refresh(cb)
    audit.append(session, actor=user.name, action="project.recovery", subject=f"app:{app.ref}", at=at,
                 payload={"recovery_id": rec.id, "amount_fen": amount, "receipt": ref, "received_on": rec.received_on,
                          "recovered_fen": cb.recovered_fen, "owed_fen": cb.amount_fen})
    if cb.recovered_fen == cb.amount_fen:
        cases.move(session, app, "recovered", user.name, {"finance"}, at=at, policy=policy,
                   payload={"clawback_id": cb.id, "recovered_fen": cb.recovered_fen})
    return rec


# --- reads ---------------------------------------------------------------------------------------------------

def bars_of(session: Session, applicant_ids: Sequence[int]) -> dict[int, list[pg.Bar]]:
    out: dict[int, list[pg.Bar]] = defaultdict(list)
    for i in range(0, len(applicant_ids), 900):
        for b, ref in session.exec(select(OrgBar, Application.ref).join(Application, col(Application.id) ==
                                                                        col(OrgBar.application_id))
                                   .where(col(OrgBar.applicant_id).in_(applicant_ids[i:i + 900]))):
            out[b.applicant_id].append(pg.Bar(dt.date.fromisoformat(b.since), dt.date.fromisoformat(b.until), ref))
    return out


def _visible(session: Session, actor: str | None) -> tuple[bool, str | None]:
    """(sees every project, the organisation an applicant sees its own projects of)."""
    from flows.services.context import get_user

    user = get_user(session, actor)
    roles = user.role_set()
    staff = bool(roles - {"applicant", "agency", "bank"}) or allowed(roles, "pay.batch")
    return staff, None if staff else (user.affiliation or "")


def _row(session: Session, app: Application, applicant: Applicant) -> dict[str, Any]:
    assert app.id is not None
    a = agreement_of(session, app.id)
    decided = _decided(session, app.id)
    cb = clawback_of(session, app.id)
    return {"ref": app.ref, "scheme": app.scheme, "year": app.year, "status": app.status,
            "applicant": applicant.name, "uscc": applicant.uscc,
            "project_type": cases.app_data(app).get("project_type"), "project_name": cases.app_data(app).get("project_name"),
            "grant_fen": a.grant_fen if a else app.award_fen,
            "released_fen": sum(t.released_fen for t in decided.values()),
            "cancelled_fen": sum(t.cancelled_fen for t in decided.values()),
            "paid_fen": _paid(session, app.id),
            "clawback_fen": cb.amount_fen if cb else 0, "recovered_fen": cb.recovered_fen if cb else 0}


def list_projects(session: Session, actor: str | None, scheme: str | None = None, status: str | None = None
                  ) -> list[dict[str, Any]]:
    """Every funded project (from the agreement on; applicants see their own), with the money released, paid,
    cancelled and clawed back."""
    policy = current_policy(session)
    staff, org = _visible(session, actor)
    schemes = [scheme] if scheme else project_schemes(policy)
    for s in schemes:
        _scheme_check(policy, s)
    q = (select(Application, Applicant).join(Applicant, col(Applicant.id) == col(Application.applicant_id))
         .join(ProjectAgreement, col(ProjectAgreement.application_id) == col(Application.id))
         .where(col(Application.scheme).in_(schemes)).order_by(col(Application.id)))
    if status:
        q = q.where(Application.status == status)
    out = []
    for app, applicant in session.exec(q).all():
        if not staff and duties.org_key(org) not in {duties.org_key(applicant.uscc), duties.org_key(applicant.name)}:
            continue
        out.append(_row(session, app, applicant))
    return out


def _scheme_check(policy: Policy, scheme: str) -> None:
    if scheme not in policy.schemes or policy.scheme(scheme).project is None:
        raise NotFound(f"{scheme!r} is not a project scheme of the policy ({', '.join(project_schemes(policy))})")


def show(session: Session, actor: str | None, key: str) -> dict[str, Any]:
    """One project: the agreement, every report with its evidence hashes, extensions, evaluations with their
    per-criterion scores and trace, tranches with their trace, rectifications, the clawback and recoveries."""
    app = get_project(session, key)
    staff, org = _visible(session, actor)
    applicant = cases.applicant_of(session, app)
    if not staff and duties.org_key(org) not in {duties.org_key(applicant.uscc), duties.org_key(applicant.name)}:
        raise NotFound(f"no project {key}")
    assert app.id is not None
    out = _row(session, app, applicant)
    a = agreement_of(session, app.id)
    out["agreement"] = None if a is None else {
        "agreed_on": a.agreed_on, "signed_by": a.signed_by, "file_sha256": a.file_sha256, "grant_fen": a.grant_fen,
        "kpis": json.loads(a.kpis), "deliverables": json.loads(a.deliverables), "tranches": json.loads(a.tranches)}
    out["due"] = {s: (d.isoformat() if (d := due_on(session, app.id, s)) else None) for s in STAGES}
    reports = []
    for r in session.exec(select(ProjectReport).where(ProjectReport.application_id == app.id).order_by(col(ProjectReport.id))):
        ev = session.exec(select(ProjectEvidence).where(ProjectEvidence.report_id == r.id)
                          .order_by(col(ProjectEvidence.id))).all()
        reports.append({"id": r.id, "stage": r.stage, "due_on": r.due_on, "filed_on": r.filed_on, "late": r.late,
                        "filed_by": r.filed_by, "actuals": json.loads(r.actuals),
                        "evidence": [{"kind": e.kind, "file": e.filename, "sha256": e.sha256, "bytes": e.size_bytes}
                                     for e in ev]})
    out["reports"] = reports
    out["extensions"] = [{"id": e.id, "stage": e.stage, "due_on": e.due_on, "new_due": e.new_due, "reason": e.reason,
                          "asked_on": e.asked_on, "decision": e.decision, "decided_by": e.decided_by,
                          "decision_reason": e.decision_reason}
                         for e in session.exec(select(ProjectExtension).where(ProjectExtension.application_id == app.id)
                                               .order_by(col(ProjectExtension.id)))]
    evs = []
    for e in session.exec(select(ProjectEvaluation).where(ProjectEvaluation.application_id == app.id)
                          .order_by(col(ProjectEvaluation.id))):
        scores = {s.criterion: s.score_tenths for s in session.exec(
            select(ProjectEvaluationScore).where(ProjectEvaluationScore.evaluation_id == e.id))}
        evs.append({"id": e.id, "stage": e.stage, "evaluator": e.evaluator, "evaluated_on": e.evaluated_on,
                    "scores_tenths": scores, "rubric_score": e.rubric_score, "kpi_score": e.kpi_score,
                    "score": e.score, "grade": e.grade, "grade_name": e.grade_name, "trace": json.loads(e.trace)})
    out["evaluations"] = evs
    out["tranches"] = [{"tranche": t.tranche, "stage": t.stage, "planned_fen": t.planned_fen,
                        "released_fen": t.released_fen, "cancelled_fen": t.cancelled_fen, "grade": t.grade,
                        "why": t.why, "decided_by": t.decided_by, "trace": json.loads(t.trace)}
                       for t in session.exec(select(ProjectTranche).where(ProjectTranche.application_id == app.id)
                                             .order_by(col(ProjectTranche.id)))]
    out["rectifications"] = [{"id": r.id, "stage": r.stage, "opened_on": r.opened_on, "due_on": r.due_on,
                              "result": r.result, "closed_on": r.closed_on, "closed_by": r.closed_by}
                             for r in session.exec(select(ProjectRectification)
                                                   .where(ProjectRectification.application_id == app.id)
                                                   .order_by(col(ProjectRectification.id)))]
    cb = clawback_of(session, app.id)
    out["clawback"] = None if cb is None else {
        "amount_fen": cb.amount_fen, "recovered_fen": cb.recovered_fen, "trace": json.loads(cb.trace),
        "recoveries": [{"amount_fen": r.amount_fen, "receipt": r.receipt_ref, "received_on": r.received_on}
                       for r in session.exec(select(ProjectRecovery).where(ProjectRecovery.clawback_id == cb.id)
                                             .order_by(col(ProjectRecovery.id)))]}
    out["bars"] = [{"since": b.since, "until": b.until, "reason": b.reason}
                   for b in session.exec(select(OrgBar).where(OrgBar.application_id == app.id))]
    return out


# --- the checker -----------------------------------------------------------------------------------------------

def invariants(session: Session) -> list[tuple[str, bool, str]]:
    """Over every project with an agreement: its tranches plan the grant exactly, and Σ released + Σ cancelled +
    open = the grant; Σ live payments ≤ Σ released and each payment is its tranche's released amount; the ledger
    holds for it committed = released − paid + open, receivable = clawback − recovered; a clawback ≤ what was
    paid, recoveries sum to its recovered figure; an unrectified project's organisation is barred."""
    bad: dict[str, list[str]] = defaultdict(list)
    agreements = session.exec(select(ProjectAgreement, Application)
                              .join(Application, col(Application.id) == col(ProjectAgreement.application_id))).all()
    ids = [app.id for _, app in agreements if app.id is not None]
    # Every record read once for all projects (the checker runs after every flow): no query per project.
    tranches: dict[int, dict[str, ProjectTranche]] = defaultdict(dict)
    for t in session.exec(select(ProjectTranche)):
        tranches[t.application_id][t.tranche] = t
    live: dict[int, list[Payment]] = defaultdict(list)
    for i in range(0, len(ids), 900):
        for p in session.exec(select(Payment).where(col(Payment.application_id).in_(ids[i:i + 900]),
                                                    Payment.status != "failed")):
            live[p.application_id].append(p)
    clawbacks = {cb.application_id: cb for cb in session.exec(select(ProjectClawback))}
    recovered_sum = dict(session.exec(select(ProjectRecovery.clawback_id, func.sum(ProjectRecovery.amount_fen))
                                      .group_by(col(ProjectRecovery.clawback_id))).all())
    barred = set(session.exec(select(OrgBar.application_id)).all())
    held = ledger.holdings(session, [f"app:{app.ref}" for _, app in agreements])
    for a, app in agreements:
        assert app.id is not None
        plan = plan_of(a)
        decided = tranches.get(app.id, {})
        released = sum(t.released_fen for t in decided.values())
        cancelled = sum(t.cancelled_fen for t in decided.values())
        open_ = sum(t.amount_fen for t in plan if t.key not in decided)
        if sum(t.amount_fen for t in plan) != a.grant_fen or a.grant_fen - cancelled != (app.award_fen or 0):
            bad["tranches plan the grant"].append(app.ref)
        if released + cancelled + open_ != a.grant_fen or set(decided) - {t.key for t in plan}:
            bad["released + cancelled + open = grant"].append(app.ref)
        payments = live.get(app.id, [])
        if any(p.purpose not in decided or p.amount_fen != decided[p.purpose].released_fen for p in payments):
            bad["each payment is its tranche's release"].append(app.ref)
        paid = sum(p.amount_fen for p in payments if p.status == "paid")
        pending = sum(p.amount_fen for p in payments if p.status == "pending")
        cb = clawbacks.get(app.id)
        claw, recovered = (cb.amount_fen, cb.recovered_fen) if cb else (0, 0)
        buckets = held.get(f"app:{app.ref}", {})
        committed = sum(buckets.get("committed", {}).values())
        receivable = sum(buckets.get("receivable", {}).values())
        expected_committed = released - paid - pending + open_
        if committed != expected_committed:
            bad["ledger: committed = released − paid + open"].append(f"{app.ref} ({committed} ≠ {expected_committed})")
        if receivable != claw - recovered:
            bad["ledger: receivable = clawback − recovered"].append(app.ref)
        if cb is not None and (claw > paid or recovered_sum.get(cb.id or 0, 0) != recovered):
            bad["clawback ≤ paid, recoveries = recovered"].append(app.ref)
        if any(t.why == "unrectified" for t in decided.values()) and app.id not in barred:
            bad["an unrectified project's organisation is barred"].append(app.ref)
    names = ["tranches plan the grant", "released + cancelled + open = grant", "each payment is its tranche's release",
             "ledger: committed = released − paid + open", "ledger: receivable = clawback − recovered",
             "clawback ≤ paid, recoveries = recovered", "an unrectified project's organisation is barred"]
    n = len(agreements)
    return [(f"projects: {name}", not bad[name], f"{n} project(s)" if not bad[name] else ", ".join(bad[name][:10]))
            for name in names]
