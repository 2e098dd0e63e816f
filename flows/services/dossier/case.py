"""The case dossier's data (:func:`case_data`): application, checks, decisions, evaluation, round,
award, notice, payments, a voucher's contract, redemption and evidence, people and events of one case."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from fractions import Fraction
from typing import Any

from sqlmodel import Session, col, select

from flows.services import cases
from flows.services.budget import thresholds
from flows.services.context import current_policy
from flows.services.dossier.common import (
    FORMAT,
    ChainStatus,
    _anchor,
    _date,
    _event_row,
    _param,
    _people,
    _policy_head,
    _postings,
    _round_report,
    _rules,
    _scheme_head,
)
from flows.services.dossier.project import project_data
from flows.services.dossier.year import planned_figures_as_of
from flows.services.fraud import clawback_view
from flows.services.score_files import tenths_text
from models import audit
from models.tables import (
    Agency,
    AgencyEvent,
    Applicant,
    Application,
    Assignment,
    AuditEvent,
    AwardRound,
    BudgetLine,
    IntakeCheck,
    Objection,
    Payment,
    PaymentBatch,
    ReviewDecision,
    Score,
    ScoreUpload,
    VoucherContract,
    VoucherEvidence,
    VoucherRedemption,
)
from rules import scoring
from rules.funds import evaluate_fund_rules
from rules.policy import ParameterNotInForce, Policy
from rules.schemes import custody_voucher as voucher_rules
from rules.stages import DOSSIER_SECTIONS


def case_data(session: Session, key: str, chain: ChainStatus | None = None) -> dict[str, Any]:
    """Everything about one case an auditor needs, as plain canonical data (see the module docstring)."""
    policy = current_policy(session)
    app = cases.get_app(session, key)
    applicant = cases.applicant_of(session, app)
    assert app.id is not None
    subject = f"app:{app.ref}"
    events = audit.events_for(session, subject)
    wf = cases.workflow(policy, app.scheme)
    declared = policy.schemes.get(app.scheme)

    # The application as submitted (and as resubmitted after a return).
    submissions = []
    for e in events:
        if e.action in ("case.submit", "case.resubmit"):
            p = json.loads(e.payload)
            submissions.append({"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action,
                                "data": p.get("data") or {}, "reason": p.get("reason")})

    checks = session.exec(select(IntakeCheck).where(IntakeCheck.application_id == app.id)
                          .order_by(col(IntakeCheck.run), col(IntakeCheck.id))).all()
    decisions = session.exec(select(ReviewDecision).where(ReviewDecision.application_id == app.id)
                             .order_by(col(ReviewDecision.id))).all()

    evaluation = _evaluation(session, policy, app, events)
    round_info, fund_rules = _round_and_rules(session, policy, app, applicant)

    award_event = next((json.loads(e.payload) for e in events if e.action == "case.award"), None)
    notice_event = next((json.loads(e.payload) for e in reversed(events) if e.action == "case.open_notice"), None)
    objections = session.exec(select(Objection).where(Objection.application_id == app.id)
                              .order_by(col(Objection.id))).all()

    payments = session.exec(select(Payment).where(Payment.application_id == app.id).order_by(col(Payment.id))).all()
    batch_ids = sorted({p.batch_id for p in payments})
    batches = {b.id: b for b in session.exec(select(PaymentBatch).where(col(PaymentBatch.id).in_(batch_ids))).all()}
    confirm_events: dict[str, AuditEvent] = {}
    for at in sorted({p.confirmed_at for p in payments if p.confirmed_at}):
        ev = session.exec(select(AuditEvent).where(AuditEvent.action == "pay.confirm", AuditEvent.at == at)
                          .order_by(col(AuditEvent.seq))).first()
        if ev is not None:
            confirm_events[at] = ev
    related: list[AuditEvent] = []
    if app.round_id is not None:
        rnd = session.get(AwardRound, app.round_id)
        if rnd is not None:
            related += audit.events_for(session, f"round:{rnd.scheme}:{rnd.year}:{rnd.seq}")
    for b in batch_ids:
        related += audit.events_for(session, f"batch:{b}")
    related += list(confirm_events.values())
    related.sort(key=lambda e: e.seq)

    line = None
    line_code = app.line_code or (award_event or {}).get("line")
    if line_code:
        bl = session.exec(select(BudgetLine).where(BudgetLine.year == app.year, BudgetLine.code == line_code)).first()
        if bl is not None:
            line = {"code": bl.code, "name": bl.name, "tags": sorted(bl.tag_set()), "scheme": bl.scheme}

    voucher = _voucher(session, policy, app, applicant, events) if declared and declared.voucher else None
    project = project_data(session, policy, app)

    people = [app.submitted_by, *(d.reviewer for d in decisions), *(e.actor for e in events),
              *(e.actor for e in related), *(o.raised_by for o in objections), *(o.resolved_by or "" for o in objections),
              *(p.payer for p in payments), *(p.approver for p in payments),
              *(ev["name"] for ev in evaluation["evaluators"])]
    if round_info:
        people.append(round_info["approver"])
    if voucher:
        people += [*(c["contracted_by"] for c in voucher["contracts"]),
                   *([voucher["redemption"]["redeemed_by"]] if voucher["redemption"] else [])]
        if voucher.get("clawback"):
            cb = voucher["clawback"]
            people += [cb["opened_by"], *(r["by"] for r in cb["recoveries"])]
    if project:
        agreement = project["agreement"]
        people += [*([agreement["signed_by"]] if agreement else []), *(r["filed_by"] for r in project["reports"]),
                   *(e["evaluator"] for e in project["evaluations"]),
                   *(e["decided_by"] or "" for e in project["extensions"]),
                   *(t["decided_by"] or "" for t in project["tranches"]),
                   *(r["closed_by"] or "" for r in project["rectifications"]),
                   *((r["by"] for r in project["clawback"]["recoveries"]) if project["clawback"] else ())]
    decision_users = {u["name"]: u for u in _people(session, (d.reviewer for d in decisions))}

    # The sections the dossier prints, in order: the scheme's dossier_sections (none declared: all, the
    # voucher section only for a scheme that issues vouchers).
    if declared and declared.dossier_sections:
        sections = list(declared.dossier_sections)
    else:
        sections = [s for s in DOSSIER_SECTIONS if (s != "voucher" or voucher is not None)
                    and (s != "project" or project is not None)]
    out: dict[str, Any] = {
        "dossier": {"format": FORMAT, "kind": "case", "ref": app.ref},
        "policy": _policy_head(policy),
        "scheme": _scheme_head(policy, app.scheme),
        "sections": sections,
        "application": {
            "ref": app.ref, "year": app.year, "status": app.status, "state_name": wf.state_name(app.status),
            "status_at": app.status_at, "submitted_at": app.submitted_at, "submitted_by": app.submitted_by,
            "claim_key": app.claim_key, "data": json.loads(app.data),
        },
        "submissions": submissions,
        "applicant": {
            "name": applicant.name, "uscc": applicant.uscc, "kind": applicant.kind, "district": applicant.district,
            "district_name": policy.jurisdiction.districts.get(applicant.district),
            "jurisdiction": policy.jurisdiction.name, "sme": applicant.sme, "whitelist": applicant.whitelist,
        },
        "checks": [{"run": c.run, "check": c.check, "passed": c.passed, "rule": c.rule, "clause": c.clause,
                    "parameter": c.parameter, "detail": c.detail, "at": c.at,
                    "trace": json.loads(c.trace) if c.trace else []} for c in checks],
        "decisions": [{"stage": d.stage, "stage_name": wf.state_name(d.stage), "reviewer": d.reviewer,
                       "reviewer_name": decision_users.get(d.reviewer, {}).get("display_name"),
                       "roles": decision_users.get(d.reviewer, {}).get("roles", []),
                       "affiliation": decision_users.get(d.reviewer, {}).get("affiliation"),
                       "decision": d.decision, "reason": d.reason, "at": d.at} for d in decisions],
        "evaluation": evaluation,
        "outcome": {
            "rank": app.rank, "outcome": app.outcome, "reason": app.outcome_reason, "final_score": app.final_score,
            "round": round_info,
        },
        "award": {
            "award_fen": app.award_fen, "line": line,
            "at_finalize_fen": (award_event or {}).get("award_fen"),
            "withdrawn_fen": next((json.loads(e.payload).get("award_withdrawn_fen") for e in events
                                   if e.action == "case.objection_upheld"), None),
            "fund_rules": fund_rules,
            "postings": _postings(session, subject),
        },
        "notice": {
            "notice_ends": app.notice_ends, "notice_days": (notice_event or {}).get("notice_days"),
            "objections": [{"raised_by": o.raised_by, "reason": o.reason, "at": o.at, "resolution": o.resolution,
                            "resolved_by": o.resolved_by, "resolution_reason": o.resolution_reason,
                            "resolved_at": o.resolved_at} for o in objections],
        },
        "payments": [{
            "idempotency_key": p.idempotency_key, "amount_fen": p.amount_fen, "status": p.status,
            "line_code": p.line_code, "payee": p.payee, "uscc": p.uscc, "bank_account": p.bank_account,
            "payer": p.payer, "approver": p.approver, "created_at": p.created_at, "batch_id": p.batch_id,
            "batch_file": batches[p.batch_id].file_name if p.batch_id in batches else None,
            "batch_file_sha256": batches[p.batch_id].file_sha256 if p.batch_id in batches else None,
            "bank_ref": p.bank_ref, "failure_reason": p.failure_reason, "confirmed_at": p.confirmed_at,
            "confirmation": _confirmation(confirm_events.get(p.confirmed_at or "")),
        } for p in payments],
        "people": _people(session, people),
        "events": [_event_row(e) for e in events],
        "related_events": [_event_row(e) for e in related],
        "chain": _anchor(session, [*(e.seq for e in events), *(e.seq for e in related)], chain),
    }
    if voucher is not None:  # only a voucher's data carries the key: other cases' data (and hashes) are as before
        out["voucher"] = voucher
    if project is not None:  # likewise only a project's data carries the project key
        out["project"] = project
    return out


def _voucher(session: Session, policy: Policy, app: Application, applicant: Applicant, events: list[AuditEvent],
             ) -> dict[str, Any]:
    """A custody voucher (托管服务券, 二(二)5): its service, face value and terms, every contract (with the
    agency's state when it was signed and as of the case's last event), the redemption with each evidence
    file's sha256, the SME's confirmations and disputes, and the settlement payee the mode names. A few
    queries per case, ordered by primary key, as the other sections (`dossier case --all` builds each
    case in its worker the same way)."""
    assert app.id is not None
    sc = policy.scheme(app.scheme)
    v = sc.voucher
    assert v is not None
    data = json.loads(app.data)
    award = next((json.loads(e.payload) for e in events if e.action == "case.award"), None)
    face = (award or {}).get("award_fen")
    terms = None
    if app.round_id is not None:
        rnd = session.get(AwardRound, app.round_id)
        issued = _date(rnd.finalized_at) if rnd is not None else None
        if issued is not None:
            t = voucher_rules.terms(policy, issued, app.scheme, rnd.settlement_mode if rnd is not None else None)
            terms = {"issued_on": t.issued_on.isoformat(), "use_by": t.use_by.isoformat(),
                     "redeem_by": t.redeem_by.isoformat(), "settlement_mode": t.settlement_mode}
    contracts = list(session.exec(select(VoucherContract).where(VoucherContract.application_id == app.id)
                                  .order_by(col(VoucherContract.id))).all())
    agency_ids = sorted({c.agency_id for c in contracts})
    agencies = {a.id: a for a in session.exec(select(Agency).where(col(Agency.id).in_(agency_ids))).all()}
    agency_events: dict[int, list[AgencyEvent]] = defaultdict(list)
    for ae in session.exec(select(AgencyEvent).where(col(AgencyEvent.agency_id).in_(agency_ids))
                           .order_by(col(AgencyEvent.id))).all():
        agency_events[ae.agency_id].append(ae)
    last_at = events[-1].at if events else ""

    def state_at(agency_id: int, at: str) -> dict[str, Any] | None:
        """The agency's state as of ``at`` (its last agency event then): a later change of the agency does
        not change the dossier of a case whose events are all earlier."""
        ev = None
        for ae in agency_events.get(agency_id, []):
            if ae.at <= at:
                ev = ae
        if ev is None:
            return None
        return {"state": ev.to_state, "since": ev.at, "action": ev.action, "clause": ev.clause,
                "reason": ev.reason or None}

    redemptions = list(session.exec(select(VoucherRedemption).where(VoucherRedemption.application_id == app.id)
                                    .order_by(col(VoucherRedemption.id))).all())
    # The live redemption, else the last one (a refused redemption stays what the voucher ended on).
    redemption = next((r for r in redemptions if r.ended_at is None), redemptions[-1] if redemptions else None)
    evidence = list(session.exec(select(VoucherEvidence).where(VoucherEvidence.redemption_id == redemption.id)
                                 .order_by(col(VoucherEvidence.id))).all()) if redemption is not None else []
    holder_acts = []
    for e in events:
        if e.action in ("case.confirm", "case.dispute"):
            p = json.loads(e.payload)
            holder_acts.append({"act": e.action.split(".", 1)[1], "seq": e.seq, "at": e.at, "actor": e.actor,
                                "reason": p.get("reason"), "amount_fen": p.get("amount_fen"),
                                "released_fen": p.get("released_fen")})
    # The reviewer's check of the redemption and the resolution of a dispute (二(二)5), and what the
    # evaluation grade decided (the grading event's payload: grade, pass grade, paid and released).
    reviewer_acts = []
    grading = None
    for e in events:
        act = e.action.split(".", 1)[1]
        if e.action in ("case.approve", "case.return", "case.reject", "case.dispute_dismissed", "case.dispute_upheld",
                        "case.dispute_upheld_lapsed"):
            p = json.loads(e.payload)
            reviewer_acts.append({"act": act, "seq": e.seq, "at": e.at, "actor": e.actor, "to": p.get("to"),
                                  "reason": p.get("reason"), "released_fen": p.get("released_fen")})
        elif e.action in ("case.grade_passed", "case.grade_reduced", "case.grade_failed"):
            p = json.loads(e.payload)
            grading = {"outcome": p.get("outcome"), "grade": p.get("grade"), "final_score": app.final_score,
                       "pass_grade": p.get("pass_grade"), "pay_fen": p.get("pay_fen"),
                       "released_fen": p.get("released_fen"), "to": p.get("to"), "at": e.at,
                       "parameters": p.get("parameters")}
    ended = [{"id": r.id, "amount_fen": r.amount_fen, "redeemed_on": r.redeemed_on, "redeemed_by": r.redeemed_by,
              "ended_at": r.ended_at, "ended_by": r.ended_by, "ended_as": r.ended_as, "ended_reason": r.ended_reason}
             for r in redemptions if r.ended_at is not None]
    live = next((c for c in contracts if c.ended_at is None), None)
    paid_to = live or (next((c for c in contracts if redemption and c.id == redemption.contract_id), None))
    mode = (terms or {}).get("settlement_mode")
    payee: dict[str, Any] | None = None
    if mode is not None:
        kind = voucher_rules.payee_kind(mode)
        if kind == "agency":
            ag = agencies.get(paid_to.agency_id) if paid_to is not None else None
            payee = {"mode": mode, "kind": "agency", "name": ag.name if ag else None, "uscc": ag.uscc if ag else None}
        else:
            payee = {"mode": mode, "kind": "enterprise", "name": applicant.name, "uscc": applicant.uscc}

    def agency_row(c: VoucherContract) -> dict[str, Any]:
        ag = agencies[c.agency_id]
        return {"name": ag.name, "uscc": ag.uscc, "at_contract": state_at(c.agency_id, c.at),
                "as_of_last_event": state_at(c.agency_id, max(last_at, c.at))}

    return {
        "service": data.get(v.service_field), "face_fen": face if isinstance(face, int) else None,
        "held_fen": app.award_fen, "terms": terms,
        "parameters": [] if terms is None else [
            _param(policy, name, dt.date.fromisoformat(terms["issued_on"]), key)
            for name, key in ((v.face_value, str(data.get(v.service_field) or "")), (v.cover_share, None),
                              (v.use_by_months, None), (v.redeem_by_months, None)) if name in policy.parameters],
        "contracts": [{"id": c.id, "agency": agency_row(c), "service": c.service, "contract_fen": c.contract_fen,
                       "cover_fen": c.cover_fen, "contracted_on": c.contracted_on, "contracted_by": c.contracted_by,
                       "at": c.at, "ended_at": c.ended_at, "ended_by": c.ended_by, "ended_reason": c.ended_reason,
                       "live": c.ended_at is None} for c in contracts],
        "redemption": None if redemption is None else {
            "id": redemption.id, "contract_id": redemption.contract_id, "amount_fen": redemption.amount_fen,
            "redeemed_on": redemption.redeemed_on, "redeemed_by": redemption.redeemed_by, "at": redemption.at,
            "agency": agencies[redemption.agency_id].uscc if redemption.agency_id in agencies else None,
            "evidence": [{"kind": e.kind, "file": e.filename, "type": e.media_type, "bytes": e.size_bytes,
                          "sha256": e.sha256} for e in evidence]},
        "holder_acts": holder_acts,
        "reviewer_acts": reviewer_acts,
        "ended_redemptions": ended,
        "grading": grading,
        "payee": payee,
        # Fraud found after settlement (追回, 二(四)13): only a voucher clawed back carries the key, so the data
        # (and hash) of every other voucher's dossier is as before.
        **({"clawback": claw} if (claw := clawback_view(session, app.id)) is not None else {}),
    }


def _confirmation(ev: AuditEvent | None) -> dict[str, Any] | None:
    if ev is None:
        return None
    p = json.loads(ev.payload)
    return {"seq": ev.seq, "actor": ev.actor, "at": ev.at, "file": p.get("file"), "file_sha256": p.get("file_sha256")}


def _evaluation(session: Session, policy: Policy, app: Application, events: list[AuditEvent]) -> dict[str, Any]:
    """Assignments, every score (superseded ones too), rubric weights and the recomputed totals."""
    assert app.id is not None
    agg = [e for e in events if e.action in ("case.scores_complete", "score.reaggregate")]
    as_of = _date(agg[-1].at) if agg else (_date(app.submitted_at) or dt.date(app.year, 1, 1))
    assert as_of is not None
    try:
        declared = policy.scheme(app.scheme).evaluation
        if declared is None:
            raise LookupError(f"{app.scheme} has no evaluation")
        rubric_raw: dict[str, Any] = policy.value(declared.rubric, as_of)
        rubric = [{"key": k, "name": str(v.get("name", k)), "weight": str(v["weight"])} for k, v in rubric_raw.items()]
        weights = scoring.rubric_weights(rubric_raw)
        trim = policy.integer(declared.trim_from, as_of) if declared.trim_from else 10**9
        params = [_param(policy, declared.rubric, as_of), _param(policy, declared.evaluators_per_case, as_of)]
        if declared.trim_from:
            params.append(_param(policy, declared.trim_from, as_of))
        params[0]["value"] = ", ".join(f"{r['key']} {r['weight']} %" for r in rubric)
    except (ParameterNotInForce, LookupError):
        rubric, weights, trim, params = [], {}, 0, []
    assignments = session.exec(select(Assignment).where(Assignment.application_id == app.id)
                               .order_by(col(Assignment.id))).all()
    scores = session.exec(select(Score).where(Score.application_id == app.id).order_by(col(Score.id))).all()
    uploads = {u.id: u for u in session.exec(select(ScoreUpload).where(
        col(ScoreUpload.id).in_(sorted({s.upload_id for s in scores})))).all()}
    active: dict[str, dict[str, int]] = defaultdict(dict)
    for s in scores:
        if s.active:
            active[s.evaluator][s.criterion] = s.score_tenths
    ev_names = [a.evaluator for a in assignments]
    ev_names += sorted(set(active) - set(ev_names))
    org = {a.evaluator: a.evaluator_org for a in assignments}
    users = {u["name"]: u for u in _people(session, ev_names)}
    totals: dict[str, Fraction] = {}
    evaluators = []
    for name in ev_names:
        got = active.get(name, {})
        total = None
        if weights and set(weights) <= set(got):
            totals[name] = scoring.evaluator_total(got, weights)
            total = scoring.display(totals[name])
        evaluators.append({"name": name, "display_name": users.get(name, {}).get("display_name"),
                           "org": org.get(name) or users.get(name, {}).get("affiliation"), "total": total,
                           "complete": total is not None})
    criteria = []
    for r in rubric:
        per = {n: tenths_text(active[n][r["key"]]) for n in ev_names if r["key"] in active.get(n, {})}
        vals = [Fraction(active[n][r["key"]], 10) for n in ev_names if r["key"] in active.get(n, {})]
        criteria.append({**r, "scores": per,
                         "mean": scoring.display(sum(vals, Fraction(0)) / len(vals)) if vals else None})
    combined = None
    if totals and len(totals) == len(ev_names):
        exact = scoring.combine([totals[n] for n in ev_names], trim)
        ordered = sorted(totals.values())
        trimmed = bool(trim) and len(ordered) >= trim
        combined = {"score": scoring.display(exact), "score_4": scoring.display(exact, 4),
                    "method": "trimmed_mean" if trimmed else "mean", "trim_from": trim, "evaluators": len(ordered),
                    "stored_final_score": app.final_score, "matches_stored": scoring.display(exact) == app.final_score}
    return {
        "as_of": as_of.isoformat(),
        "rubric": rubric,
        "parameters": params,
        "assignments": [{"evaluator": a.evaluator, "org": a.evaluator_org, "at": a.at} for a in assignments],
        "evaluators": evaluators,
        "criteria": criteria,
        "combined": combined,
        "scores": [{"evaluator": s.evaluator, "criterion": s.criterion, "score": tenths_text(s.score_tenths),
                    "score_tenths": s.score_tenths, "comment": s.comment, "active": s.active,
                    "upload_id": s.upload_id} for s in scores],
        "uploads": [{"id": u.id, "evaluator": u.evaluator, "file": u.filename, "file_sha256": u.file_sha256,
                     "at": u.at, "rows_for_case": sum(1 for s in scores if s.upload_id == u.id),
                     "active_rows": sum(1 for s in scores if s.upload_id == u.id and s.active)}
                    for _id, u in sorted(uploads.items(), key=lambda kv: kv[0] or 0)],
    }


def _round_and_rules(session: Session, policy: Policy, app: Application, applicant: Applicant,
                     ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    if app.round_id is None:
        return None, None
    rnd = session.get(AwardRound, app.round_id)
    if rnd is None:
        return None, None
    report, by_ref = _round_report(rnd.report)
    own = by_ref.get(app.ref)
    own = dict(own) if own is not None else None  # a copy: the parsed report is shared by later cases
    fin_event = session.exec(select(AuditEvent).where(
        AuditEvent.subject == f"round:{rnd.scheme}:{rnd.year}:{rnd.seq}", AuditEvent.action == "round.finalize")
        .order_by(col(AuditEvent.seq))).first()
    round_info = {
        "id": rnd.id, "scheme": rnd.scheme, "year": rnd.year, "seq": rnd.seq, "line_code": rnd.line_code,
        "approver": rnd.approver, "finalized_at": rnd.finalized_at, "total_fen": rnd.total_fen,
        "budget_fen": report.get("budget_fen"), "funded": report.get("funded"),
        "remaining_fen": report.get("remaining_fen"), "counts": dict(report.get("counts", {})),
        "eligible_unfunded": report.get("eligible_unfunded"), "cases": report["case_lines"],
        "case_in_report": own, "event_seq": fin_event.seq if fin_event else None,
        "event_hash": fin_event.hash if fin_event else None,
    }
    on = _date(rnd.finalized_at)
    assert on is not None
    t = thresholds(policy, rnd.year)
    planned = evaluate_fund_rules(planned_figures_as_of(session, rnd.year, rnd.finalized_at), t)
    scheme = rnd.scheme
    declared = policy.scheme(scheme)
    params = []
    for name, key in ((f"{scheme}.award_fen", applicant.kind), (declared.allocation.cap, None),
                      (declared.allocation.min_score, None), (declared.notice_days, None), ("funds.match_ratio", None),
                      ("funds.cluster_floor", None), ("funds.market_floor", None)):
        if name is None:
            continue
        if name in policy.parameters:
            params.append(_param(policy, name, on, key))
    rules = {"as_of": rnd.finalized_at, "planned": _rules(planned), "all_pass": all(r.passed for r in planned),
             "parameters": params}
    return round_info, rules
