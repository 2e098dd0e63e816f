"""The case dossier's project section (:func:`project_data`): a funded project's agreement (任务书: the grant,
KPI targets, deliverables, tranche plan), its report deadlines and extensions, every progress report with the
KPI actuals and each evidence file's sha256, every third-party evaluation with its per-criterion scores and
trace, every tranche decision with its trace (and the tranches still open), rectifications, the clawback with
its recoveries and trace, and the organisation's bars (二(一)1, 二(四)12, 三(三)).

Read-only and a function of the rows: each table in primary-key order, the traces as the acts stored them
(``flows.services.projects``), the performance rubric's criterion names as of the evaluation's date."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlmodel import Session, col, select

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
from models.tables import Application, Payment
from rules.policy import ParameterNotInForce, Policy


def _tenths_text(t: int) -> str:
    return f"{t // 10}.{t % 10}"


def _criterion_names(policy: Policy, rubric: str, on: str) -> dict[str, dict[str, str]]:
    try:
        raw = policy.value(rubric, dt.date.fromisoformat(on))
    except (ParameterNotInForce, LookupError, ValueError):
        return {}
    return {k: {"name": str(v.get("name", k)), "weight": str(v.get("weight", ""))} for k, v in raw.items()}


def project_data(session: Session, policy: Policy, app: Application) -> dict[str, Any] | None:
    """The project section's data, or None for a case of a scheme that funds no projects."""
    sc = policy.schemes.get(app.scheme)
    if sc is None or sc.project is None:
        return None
    pj = sc.project
    assert app.id is not None
    aid = app.id
    a = session.exec(select(ProjectAgreement).where(ProjectAgreement.application_id == aid)).first()
    kpis: list[dict[str, Any]] = json.loads(a.kpis) if a else []
    kpi_by_code = {k["code"]: k for k in kpis}
    order = {k["code"]: i for i, k in enumerate(kpis)}  # actuals in the agreement's KPI order
    plan: list[dict[str, Any]] = json.loads(a.tranches) if a else []

    deadlines = session.exec(select(ProjectDeadline).where(ProjectDeadline.application_id == aid)
                             .order_by(col(ProjectDeadline.id))).all()
    due_in_force: dict[str, str] = {}
    for dl in deadlines:
        due_in_force[dl.stage] = dl.due_on

    reports = []
    for r in session.exec(select(ProjectReport).where(ProjectReport.application_id == aid)
                          .order_by(col(ProjectReport.id))).all():
        actuals: dict[str, str] = json.loads(r.actuals)
        evidence = session.exec(select(ProjectEvidence).where(ProjectEvidence.report_id == r.id)
                                .order_by(col(ProjectEvidence.id))).all()
        reports.append({
            "id": r.id, "stage": r.stage, "due_on": r.due_on, "filed_on": r.filed_on, "late": r.late,
            "filed_by": r.filed_by, "at": r.at,
            "actuals": [{"code": code, "name": kpi_by_code.get(code, {}).get("name"),
                         "unit": kpi_by_code.get(code, {}).get("unit"),
                         "target": kpi_by_code.get(code, {}).get("target"), "actual": value}
                        for code, value in sorted(actuals.items(), key=lambda kv: (order.get(kv[0], len(kpis)), kv[0]))],
            "evidence": [{"kind": e.kind, "file": e.filename, "type": e.media_type, "bytes": e.size_bytes,
                          "sha256": e.sha256} for e in evidence],
        })

    extensions = [{"id": e.id, "stage": e.stage, "due_on": e.due_on, "new_due": e.new_due, "reason": e.reason,
                   "asked_on": e.asked_on, "asked_by": e.asked_by, "at": e.at, "decision": e.decision,
                   "decided_by": e.decided_by, "decision_reason": e.decision_reason, "decided_at": e.decided_at}
                  for e in session.exec(select(ProjectExtension).where(ProjectExtension.application_id == aid)
                                        .order_by(col(ProjectExtension.id))).all()]

    evaluations = []
    for e in session.exec(select(ProjectEvaluation).where(ProjectEvaluation.application_id == aid)
                          .order_by(col(ProjectEvaluation.id))).all():
        names = _criterion_names(policy, pj.performance_rubric, e.evaluated_on)
        scores = session.exec(select(ProjectEvaluationScore).where(ProjectEvaluationScore.evaluation_id == e.id)
                              .order_by(col(ProjectEvaluationScore.id))).all()
        evaluations.append({
            "id": e.id, "stage": e.stage, "report_id": e.report_id, "evaluator": e.evaluator,
            "evaluator_org": e.evaluator_org, "evaluated_on": e.evaluated_on, "at": e.at,
            "rubric": pj.performance_rubric,
            "scores": [{"criterion": s.criterion, "name": names.get(s.criterion, {}).get("name"),
                        "weight": names.get(s.criterion, {}).get("weight"), "score": _tenths_text(s.score_tenths),
                        "score_tenths": s.score_tenths} for s in scores],
            "rubric_score": e.rubric_score, "kpi_score": e.kpi_score, "score": e.score, "grade": e.grade,
            "grade_name": e.grade_name, "trace": json.loads(e.trace),
        })

    decided = {t.tranche: t for t in session.exec(select(ProjectTranche).where(ProjectTranche.application_id == aid)
                                                  .order_by(col(ProjectTranche.id))).all()}
    tranches = []
    for t in plan:
        d = decided.get(t["key"])
        tranches.append({
            "key": t["key"], "share": t["share"], "on": t["on"], "banded": t["banded"], "planned_fen": t["amount_fen"],
            "decided": d is not None,
            "released_fen": d.released_fen if d else None, "cancelled_fen": d.cancelled_fen if d else None,
            "grade": d.grade if d else None, "evaluation_id": d.evaluation_id if d else None,
            "posting_id": d.posting_id if d else None, "why": d.why if d else None,
            "decided_by": d.decided_by if d else None, "at": d.at if d else None,
            "trace": json.loads(d.trace) if d else [],
        })
    # A decision for a tranche the plan lacks (the checker flags it): still printed, never hidden.
    for key, d in decided.items():
        if key not in {t["key"] for t in plan}:
            tranches.append({"key": key, "share": None, "on": d.stage, "banded": None, "planned_fen": d.planned_fen,
                             "decided": True, "released_fen": d.released_fen, "cancelled_fen": d.cancelled_fen,
                             "grade": d.grade, "evaluation_id": d.evaluation_id, "posting_id": d.posting_id,
                             "why": d.why, "decided_by": d.decided_by, "at": d.at, "trace": json.loads(d.trace)})

    rectifications = [{"id": r.id, "stage": r.stage, "evaluation_id": r.evaluation_id, "opened_on": r.opened_on,
                       "due_on": r.due_on, "at": r.at, "result": r.result, "closed_on": r.closed_on,
                       "closed_by": r.closed_by, "close_reason": r.close_reason, "closed_at": r.closed_at}
                      for r in session.exec(select(ProjectRectification)
                                            .where(ProjectRectification.application_id == aid)
                                            .order_by(col(ProjectRectification.id))).all()]

    cb = session.exec(select(ProjectClawback).where(ProjectClawback.application_id == aid)).first()
    clawback = None
    if cb is not None:
        recoveries = session.exec(select(ProjectRecovery).where(ProjectRecovery.clawback_id == cb.id)
                                  .order_by(col(ProjectRecovery.id))).all()
        clawback = {"id": cb.id, "rectification_id": cb.rectification_id, "year": cb.year, "line": cb.line_code,
                    "debtor_uscc": cb.debtor_uscc, "amount_fen": cb.amount_fen, "recovered_fen": cb.recovered_fen,
                    "outstanding_fen": cb.amount_fen - cb.recovered_fen, "posting_id": cb.posting_id,
                    "opened_by": cb.opened_by, "at": cb.at, "trace": json.loads(cb.trace),
                    "recoveries": [{"amount_fen": r.amount_fen, "receipt": r.receipt_ref, "received_on": r.received_on,
                                    "by": r.recorded_by, "posting_id": r.posting_id, "at": r.at} for r in recoveries]}

    bars = [{"since": b.since, "until": b.until, "reason": b.reason, "at": b.at}
            for b in session.exec(select(OrgBar).where(OrgBar.application_id == aid).order_by(col(OrgBar.id))).all()]

    paid = sum(p.amount_fen for p in session.exec(select(Payment).where(Payment.application_id == aid,
                                                                         Payment.status == "paid")).all())
    released = sum(d.released_fen for d in decided.values())
    cancelled = sum(d.cancelled_fen for d in decided.values())
    grant = a.grant_fen if a else None
    return {
        "type": str(json.loads(app.data).get(pj.type_field) or "") or None,
        "agreement": None if a is None else {
            "agreed_on": a.agreed_on, "signed_by": a.signed_by, "file_sha256": a.file_sha256, "at": a.at,
            "grant_fen": a.grant_fen, "kpis": kpis, "deliverables": json.loads(a.deliverables)},
        "deadlines": [{"stage": dl.stage, "due_on": dl.due_on, "extension_id": dl.extension_id, "at": dl.at}
                      for dl in deadlines],
        "due": due_in_force,
        "reports": reports,
        "extensions": extensions,
        "evaluations": evaluations,
        "tranches": tranches,
        "rectifications": rectifications,
        "clawback": clawback,
        "bars": bars,
        # Σ released + Σ cancelled + open = the grant (the checker's identity), and what the bank paid.
        "totals": None if grant is None else {
            "grant_fen": grant, "released_fen": released, "cancelled_fen": cancelled,
            "open_fen": sum(t["amount_fen"] for t in plan if t["key"] not in decided), "paid_fen": paid,
            "clawback_fen": cb.amount_fen if cb else 0, "recovered_fen": cb.recovered_fen if cb else 0},
    }
