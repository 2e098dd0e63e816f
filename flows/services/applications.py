"""Applying (申报), the automatic intake checks, and reading cases."""

from __future__ import annotations

import datetime as dt
import json
from itertools import islice
from typing import Any, NamedTuple

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from flows.services import cases
from flows.services.applicants import decode_text, get_applicant
from flows.services.context import SYSTEM_ACTOR, acting, current_policy, get_user
from flows.services.csv_input import read_rows
from flows.services.text_input import limit, shown, text_problem
from models import audit
from models.bulk import insert_rows
from models.clock import now, parse, stamp
from models.tables import (
    Applicant,
    Application,
    Assignment,
    IntakeCheck,
    Objection,
    Payment,
    ReviewDecision,
    Score,
    User,
)
from rules import certification
from rules.audit_chain import canonical_json
from rules.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from rules.policy import Policy

CERT_COLUMNS = ("applicant_uscc", "certificate_no", "certification_date", "certification_body")
LIVE_OR_AWARDED = ("submitted", "formal_review", "returned", "evaluation", "scored", "awarded", "in_notice",
                   "on_hold", "payable", "payment_pending", "paid")
AWARDED = ("awarded", "in_notice", "on_hold", "payable", "payment_pending", "paid")


def ref_prefix(scheme: str) -> str:
    return "".join(w[0] for w in scheme.split("-")).upper()


def _next_refs(session: Session, scheme: str, year: int, n: int) -> list[str]:
    prefix = f"{ref_prefix(scheme)}-{year}-"
    # A range, not LIKE: the max is then one step into the ref index instead of a scan of it.
    last = session.exec(select(func.max(Application.ref)).where(
        col(Application.ref) >= prefix, col(Application.ref) < prefix[:-1] + chr(ord("-") + 1))).one()
    start = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return [f"{prefix}{i:05d}" for i in range(start, start + n)]


# The certification body is kept in the case's data (JSON), not a column of its own: this is its limit,
# the same as an applicant's name (both are organisation names).
CERTIFICATION_BODY_MAX = 200


def _field_limits() -> dict[str, int]:
    return {"certificate_no": limit(Application, "certificate_no"), "certification_date": 32,
            "certification_body": CERTIFICATION_BODY_MAX}


def _validate_cert_fields(where: str, fields: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    problems = []
    limits = _field_limits()
    bad_text = set()
    for k in ("certificate_no", "certification_date", "certification_body"):
        value = fields.get(k, "").strip()
        if not value:
            problems.append(f"{where}{k} is empty")
            continue
        problem = text_problem(value, field=k, max_len=limits[k])
        if problem is not None:
            problems.append(f"{where}{problem}")
            bad_text.add(k)
    date_text = fields.get("certification_date", "").strip()
    if date_text and "certification_date" not in bad_text:
        try:
            dt.date.fromisoformat(date_text)
        except ValueError:
            problems.append(f"{where}certification_date {shown(date_text)} is not a date (YYYY-MM-DD)")
    data = {"certificate_no": fields.get("certificate_no", "").strip().upper(),
            "certification_date": date_text, "certification_body": fields.get("certification_body", "").strip()}
    return data, problems


class NewApp(NamedTuple):
    id: int
    ref: str


def _insert(session: Session, scheme: str, rows: list[tuple[Applicant, dict[str, Any]]], submitted_by: str,
            at: str) -> list[NewApp]:
    """Bulk insert in chunks of 5,000 (no ORM objects, events built per chunk: memory stays flat
    however large the file)."""
    year = parse(at).year
    refs = _next_refs(session, scheme, year, len(rows))
    table = Application.__table__  # type: ignore[attr-defined]
    apps: list[NewApp] = []
    for start in range(0, len(rows), 5000):
        chunk = list(zip(refs[start:start + 5000], rows[start:start + 5000], strict=True))
        insert_rows(session, table, ("ref", "scheme", "year", "applicant_id", "status", "data", "certificate_no",
                                     "submitted_by", "submitted_at", "status_at"),
                    [(ref, scheme, year, applicant.id, "submitted", canonical_json(data), data.get("certificate_no"),
                      submitted_by, at, at) for ref, (applicant, data) in chunk])
        ids: dict[str, int] = {}
        chunk_refs = [ref for ref, _ in chunk]
        for i in range(0, len(chunk_refs), 900):
            ids.update({r: int(i_ or 0) for i_, r in session.exec(
                select(Application.id, Application.ref).where(col(Application.ref).in_(chunk_refs[i:i + 900]))).all()})
        audit.append_many(session, [
            {"actor": submitted_by, "action": "case.submit", "subject": f"app:{ref}", "at": at,
             "payload": {"scheme": scheme, "applicant": applicant.uscc, "data": data, "to": "submitted"}}
            for ref, (applicant, data) in chunk])
        apps += [NewApp(ids[ref], ref) for ref in chunk_refs]
    return apps


def apply(session: Session, actor: str | None, scheme: str, fields: dict[str, str],
          applicant_key: str | None = None) -> Application:
    """One application. An applicant user applies for their own organisation (its credit code is the
    user's affiliation); an admin may name the applicant."""
    user = acting(session, actor, "application.submit")
    policy = current_policy(session)
    policy.scheme(scheme)
    if "admin" in user.role_set() and applicant_key:
        applicant = get_applicant(session, applicant_key)
    else:
        if not user.affiliation:
            raise PermissionDenied(f"{user.name} has no affiliation; an applicant user must belong to an applicant "
                                   "(user add --affiliation CREDIT_CODE)")
        applicant = get_applicant(session, user.affiliation)
        if applicant_key and applicant_key.upper() != applicant.uscc:
            raise PermissionDenied(f"{user.name} may only apply for {applicant.name} ({applicant.uscc})")
    data, problems = _validate_cert_fields("", fields)
    if problems:
        raise ValidationFailed("application", problems)
    new = _insert(session, scheme, [(applicant, data)], user.name, stamp())[0]
    app = session.get(Application, new.id)
    assert app is not None
    return app


def import_applications(session: Session, actor: str | None, scheme: str, content: bytes,
                        filename: str = "applications.csv") -> list[NewApp]:
    """Bulk import: all rows or none, every bad row reported with its line number.

    Streamed in chunks of 5,000 rows: applicants are looked up per chunk and each chunk is written
    while the file has no problem so far; any problem refuses the whole file (the unit of work rolls
    back). Memory stays flat however long the file (only certificate numbers are remembered, to find
    duplicates across the file)."""
    user = acting(session, actor, "application.import")
    current_policy(session).scheme(scheme)
    text = decode_text(content, filename, allow_gbk=True)
    reader = read_rows(text, filename)
    first = next(reader, None)
    if first is None:
        raise ValidationFailed(filename, ["line 1: empty file; expected header " + ",".join(CERT_COLUMNS)])
    header = [h.strip().lower() for h in first[1]]
    missing = [c for c in CERT_COLUMNS if c not in header]
    if missing:
        raise ValidationFailed(filename, [f"line 1: header lacks {', '.join(missing)}; expected "
                                          + ",".join(CERT_COLUMNS)])
    idx = {c: header.index(c) for c in CERT_COLUMNS}
    p = Applicant.__table__  # type: ignore[attr-defined]
    problems: list[str] = []
    seen: dict[str, int] = {}
    at = stamp()
    out: list[NewApp] = []
    uscc_max, cert_max = limit(Applicant, "uscc"), limit(Application, "certificate_no")

    def uscc_problem(row: list[str]) -> str | None:
        return text_problem(row[idx["applicant_uscc"]].strip(), field="applicant_uscc", max_len=uscc_max)

    while chunk := list(islice(reader, 5000)):
        # Only codes that can be stored are looked up (PostgreSQL refuses a NUL even in a query).
        usccs = {row[idx["applicant_uscc"]].strip().upper() for _, row in chunk
                 if len(row) >= len(header) and uscc_problem(row) is None}
        applicants = {r.uscc: r for r in session.execute(
            sa_select(p.c.id, p.c.uscc).where(p.c.uscc.in_(usccs))).all()}
        good: list[tuple[Any, dict[str, Any]]] = []
        for n, row in chunk:
            if not any(c.strip() for c in row):
                continue
            if len(row) < len(header):
                problems.append(f"line {n}: {len(row)} cells, expected {len(header)}")
                continue
            fields = {c: row[i].strip() for c, i in idx.items()}
            data, errs = _validate_cert_fields(f"line {n}: ", fields)
            a = applicants.get(fields["applicant_uscc"].upper())
            bad_uscc = uscc_problem(row)
            if bad_uscc is not None:
                errs.insert(0, f"line {n}: {bad_uscc}")
            elif a is None:
                errs.append(f"line {n}: applicant {shown(fields['applicant_uscc'])} is not registered "
                            "(import it with `ipfund applicant import`)")
            cert = data["certificate_no"]
            if cert and text_problem(cert, field="certificate_no", max_len=cert_max) is None:
                if cert in seen:
                    errs.append(f"line {n}: certificate {cert} already on line {seen[cert]}")
                seen.setdefault(cert, n)
            if errs:
                problems.extend(errs)
            elif a is not None:
                good.append((a, data))
        if good and not problems:
            out += _insert(session, scheme, good, user.name, at)
    if problems:
        raise ValidationFailed(filename, problems)
    return out


# --- intake (the automatic checks) ------------------------------------------------------------

class _IntakeRow(NamedTuple):
    id: int
    ref: str
    scheme: str
    status: str
    applicant_id: int
    year: int
    certificate_no: str | None
    data: str
    submitted_at: str


_CHECK_COLUMNS = ("application_id", "run", "check", "passed", "rule", "clause", "parameter", "detail", "at")


def intake_stage(session: Session, scheme: str, limit: int = 1000, after_id: int = 0,
                 policy: Policy | None = None) -> tuple[int, int]:
    """Run the automatic checks on submitted cases: passed -> formal review, failed -> rejected.
    Bulk: a handful of queries per chunk, whatever its size; plain rows, no ORM objects. Returns
    (cases done, last id examined) like every stage (see flows.services.advance)."""
    policy = policy or current_policy(session)
    t = Application.__table__  # type: ignore[attr-defined]
    apps = [_IntakeRow(*r) for r in session.execute(
        sa_select(t.c.id, t.c.ref, t.c.scheme, t.c.status, t.c.applicant_id, t.c.year, t.c.certificate_no, t.c.data,
               t.c.submitted_at)
        .where(t.c.scheme == scheme, t.c.status == "submitted", t.c.id > after_id)
        .order_by(t.c.id).limit(limit)).all()]
    if not apps:
        return 0, after_id
    at = stamp()
    ids = [a.id for a in apps]
    p = Applicant.__table__  # type: ignore[attr-defined]
    applicants = {r[0]: r for r in session.execute(select(p.c.id, p.c.uscc, p.c.kind, p.c.district).where(
        p.c.id.in_({x.applicant_id for x in apps}))).all()}
    certs = sorted({a.certificate_no for a in apps if a.certificate_no})
    claims: dict[str, list[tuple[int, str]]] = {}
    for i in range(0, len(certs), 900):
        # Filter the state in Python: with it in SQL the planner may scan every live case by state
        # instead of looking the certificates up in their index (quadratic over a large round).
        for app_id, ref, cert, status in session.execute(select(t.c.id, t.c.ref, t.c.certificate_no, t.c.status)
                                                         .where(t.c.certificate_no.in_(certs[i:i + 900]))).all():
            if status in LIVE_OR_AWARDED:
                claims.setdefault(cert or "", []).append((app_id or 0, ref))
    awarded = {(a, y): int(v or 0) for a, y, v in session.execute(
        select(t.c.applicant_id, t.c.year, func.coalesce(func.sum(t.c.award_fen), 0))
        .where(t.c.applicant_id.in_({a.applicant_id for a in apps}), t.c.scheme == scheme,
               t.c.status.in_(AWARDED))
        .group_by(t.c.applicant_id, t.c.year)).all()}
    c = IntakeCheck.__table__  # type: ignore[attr-defined]
    runs = dict(session.execute(select(c.c.application_id, func.max(c.c.run)).where(c.c.application_id.in_(ids))
                                .group_by(c.c.application_id)).all())
    check_rows: list[tuple[Any, ...]] = []
    passed: list[_IntakeRow] = []
    failed: list[_IntakeRow] = []
    fields: dict[int, dict[str, Any]] = {}
    payloads: dict[int, dict[str, Any]] = {}
    reasons: dict[int, str | None] = {}
    for app in apps:
        applicant = applicants.get(app.applicant_id)
        data = json.loads(app.data)
        try:
            cert_date: dt.date | None = dt.date.fromisoformat(data.get("certification_date", ""))
        except ValueError:
            cert_date = None
        earlier = tuple(ref for other_id, ref in claims.get(app.certificate_no or "", []) if other_id < app.id)
        facts = certification.IntakeFacts(
            applicant_found=applicant is not None, applicant_uscc=applicant.uscc if applicant else "",
            applicant_kind=applicant.kind if applicant else "", applicant_district=applicant.district if applicant else "",
            certificate_no=data.get("certificate_no", ""), certification_date=cert_date,
            submitted_on=dt.date.fromisoformat(app.submitted_at[:10]),  # stamps are UTC: YYYY-MM-DDT...Z
            earlier_same_certificate=earlier, awarded_this_year_fen=awarded.get((app.applicant_id, app.year), 0))
        results = certification.intake_checks(policy, facts)
        run = 1 + (runs.get(app.id) or 0)
        check_rows += [(app.id, run, r.check, r.passed, r.rule, r.clause, r.parameter, r.detail[:400], at)
                       for r in results]
        bad = [r for r in results if not r.passed]
        if bad:
            reason = "; ".join(f"{r.check}: {r.detail}" for r in bad)[:400]
            fields[app.id] = {"outcome": "ineligible", "outcome_reason": reason}
            payloads[app.id] = {"checks": [r.check for r in bad]}
            reasons[app.id] = reason
            failed.append(app)
        else:
            passed.append(app)
    insert_rows(session, c, _CHECK_COLUMNS, check_rows)
    cases.move_many(session, passed, "intake_passed", SYSTEM_ACTOR, {"system"}, at=at, policy=policy)
    cases.move_many(session, failed, "intake_failed", SYSTEM_ACTOR, {"system"}, at=at, policy=policy,
                    fields=fields, payloads=payloads, reasons=reasons)
    return len(apps), apps[-1].id


# --- reading ----------------------------------------------------------------------------------

def _visible(session: Session, user: User) -> tuple[bool, str | None]:
    """Staff roles read everything; an applicant user reads only their organisation's cases."""
    from rules.roles import allowed

    if allowed(user.role_set(), "read.all"):
        return True, None
    return False, user.affiliation


def list_apps(session: Session, actor: str | None, scheme: str | None = None, status: str | None = None,
              limit: int = 1000) -> list[dict[str, Any]]:
    user = get_user(session, actor)
    everything, own = _visible(session, user)
    q = select(Application, Applicant).join(Applicant, col(Applicant.id) == col(Application.applicant_id))
    if scheme:
        q = q.where(Application.scheme == scheme)
    if status:
        q = q.where(Application.status == status)
    if not everything:
        q = q.where(Applicant.uscc == (own or "-"))
    rows = session.exec(q.order_by(col(Application.id)).limit(limit)).all()
    return [{"ref": a.ref, "scheme": a.scheme, "year": a.year, "status": a.status, "applicant": p.name,
             "uscc": p.uscc, "submitted_at": a.submitted_at, "final_score": a.final_score, "rank": a.rank,
             "outcome": a.outcome, "award_fen": a.award_fen} for a, p in rows]


def show(session: Session, actor: str | None, key: str) -> dict[str, Any]:
    """Everything about one case: applicant, data, checks, decisions, assignments, scores, notice,
    payments and its audit history."""
    user = get_user(session, actor)
    app = cases.get_app(session, key)
    applicant = cases.applicant_of(session, app)
    everything, own = _visible(session, user)
    if not everything and own != applicant.uscc:
        raise NotFound(f"application {key!r} not found among {user.name}'s applications")
    assert app.id is not None
    checks = session.exec(select(IntakeCheck).where(IntakeCheck.application_id == app.id)
                          .order_by(col(IntakeCheck.id))).all()
    last_run = max((c.run for c in checks), default=0)
    evaluators_visible = everything
    return {
        "ref": app.ref, "scheme": app.scheme, "year": app.year, "status": app.status, "status_at": app.status_at,
        "state_name": cases.workflow(current_policy(session), app.scheme).state_name(app.status),
        "submitted_at": app.submitted_at, "submitted_by": app.submitted_by, "data": cases.app_data(app),
        "applicant": {"name": applicant.name, "uscc": applicant.uscc, "kind": applicant.kind,
                      "district": applicant.district, "sme": applicant.sme, "whitelist": applicant.whitelist},
        "checks": [{"check": c.check, "passed": c.passed, "rule": c.rule, "clause": c.clause,
                    "parameter": c.parameter, "detail": c.detail, "run": c.run, "at": c.at}
                   for c in checks if c.run == last_run],
        "decisions": [{"stage": d.stage, "reviewer": d.reviewer, "decision": d.decision, "reason": d.reason,
                       "at": d.at} for d in session.exec(select(ReviewDecision).where(
                           ReviewDecision.application_id == app.id).order_by(col(ReviewDecision.id))).all()],
        "assignments": [{"evaluator": x.evaluator if evaluators_visible else "(third party)",
                         "org": x.evaluator_org, "at": x.at}
                        for x in session.exec(select(Assignment).where(Assignment.application_id == app.id)
                                              .order_by(col(Assignment.id))).all()],
        "scores": [{"evaluator": s.evaluator if evaluators_visible else "(third party)", "criterion": s.criterion,
                    "score": f"{s.score_tenths // 10}.{s.score_tenths % 10}", "comment": s.comment,
                    "active": s.active, "upload_id": s.upload_id}
                   for s in session.exec(select(Score).where(Score.application_id == app.id)
                                         .order_by(col(Score.id))).all()],
        "final_score": app.final_score, "rank": app.rank, "outcome": app.outcome,
        "outcome_reason": app.outcome_reason, "award_fen": app.award_fen, "line_code": app.line_code,
        "round_id": app.round_id, "notice_ends": app.notice_ends,
        "objections": [{"raised_by": o.raised_by, "reason": o.reason, "at": o.at, "resolution": o.resolution,
                        "resolved_by": o.resolved_by, "resolution_reason": o.resolution_reason,
                        "resolved_at": o.resolved_at}
                       for o in session.exec(select(Objection).where(Objection.application_id == app.id)
                                             .order_by(col(Objection.id))).all()],
        "payments": [{"idempotency_key": p.idempotency_key, "amount_fen": p.amount_fen, "status": p.status,
                      "batch_id": p.batch_id, "bank_ref": p.bank_ref, "failure_reason": p.failure_reason,
                      "payer": p.payer, "approver": p.approver, "created_at": p.created_at,
                      "confirmed_at": p.confirmed_at}
                     for p in session.exec(select(Payment).where(Payment.application_id == app.id)
                                           .order_by(col(Payment.id))).all()],
        "history": [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action,
                     "payload": json.loads(e.payload), "hash": e.hash}
                    for e in audit.events_for(session, f"app:{app.ref}")],
    }


def withdraw(session: Session, actor: str | None, key: str, reason: str | None) -> Application:
    user = acting(session, actor, "application.withdraw")
    app = cases.get_app(session, key)
    applicant = cases.applicant_of(session, app)
    if "admin" not in user.role_set() and user.affiliation != applicant.uscc:
        raise PermissionDenied(f"{user.name} may only withdraw their own organisation's applications")
    cases.move(session, app, "withdraw", user.name, {"applicant"}, reason=reason)
    return app


def resubmit(session: Session, actor: str | None, key: str, fields: dict[str, str], reason: str | None) -> Application:
    """A returned application comes back corrected; intake runs again."""
    user = acting(session, actor, "application.submit")
    app = cases.get_app(session, key)
    applicant = cases.applicant_of(session, app)
    if "admin" not in user.role_set() and user.affiliation != applicant.uscc:
        raise PermissionDenied(f"{user.name} may only resubmit their own organisation's applications")
    merged = {**cases.app_data(app), **{k: v for k, v in fields.items() if v}}
    data, problems = _validate_cert_fields("", merged)
    if problems:
        raise ValidationFailed("resubmission", problems)
    if app.status != "returned":
        raise RuleViolation(f"{app.ref} is {app.status!r}; only returned applications are resubmitted")
    app.data = canonical_json(data)
    app.certificate_no = data["certificate_no"]
    cases.move(session, app, "resubmit", user.name, {"applicant"}, reason=reason, payload={"data": data})
    session.add(app)
    return app


def today() -> dt.date:
    return now().date()
