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
from flows.services.context import (
    SYSTEM_ACTOR,
    acting,
    current_policy,
    get_user,
    scheme_of,
    sync_scheme_states,
)
from flows.services.csv_input import read_header, read_rows
from flows.services.text_input import clean, limit, shown, text_problem
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
from rules import forms
from rules.audit_chain import canonical_json
from rules.errors import NotFound, NotYours, PermissionDenied, RuleViolation, ValidationFailed
from rules.policy import FormDef, Policy
from rules.schemes import IntakeFacts, run_checks


def ref_prefix(scheme: str) -> str:
    return "".join(w[0] for w in scheme.split("-")).upper()


def _next_refs(session: Session, scheme: str, year: int, n: int) -> list[str]:
    prefix = f"{ref_prefix(scheme)}-{year}-"
    # A range, not LIKE: the max is then one step into the ref index instead of a scan of it.
    last = session.exec(select(func.max(Application.ref)).where(
        col(Application.ref) >= prefix, col(Application.ref) < prefix[:-1] + chr(ord("-") + 1))).one()
    start = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return [f"{prefix}{i:05d}" for i in range(start, start + n)]


def claim_states(policy: Policy, scheme: str) -> tuple[str, ...]:
    """States in which a case holds its claim (every state but those that ended without an award)."""
    sc = policy.scheme(scheme)
    void = set(sc.states_tagged("void"))
    return tuple(st for st in sc.states if st not in void)


def awarded_states(policy: Policy, scheme: str) -> tuple[str, ...]:
    """States whose award counts against the applicant's yearly cap (committed or paid)."""
    sc = policy.scheme(scheme)
    return tuple(dict.fromkeys(sc.states_tagged("committed") + sc.states_tagged("paid")))


def _claim_word(form: FormDef) -> str:
    return "certificate" if form.claim_key == ["certificate_no"] else " + ".join(form.claim_key)


def validate_form(policy: Policy, scheme: str, raw: dict[str, str], where: str = "",
                  partial: bool = False) -> tuple[dict[str, Any], list[str]]:
    """The scheme's form (rules.forms) checked: typed values and every problem naming its field."""
    return forms.parse_form(policy.scheme(scheme).form, raw, where, partial=partial)


class NewApp(NamedTuple):
    id: int
    ref: str


def _insert(session: Session, policy: Policy, scheme: str, rows: list[tuple[Applicant, dict[str, Any]]],
            submitted_by: str, at: str) -> list[NewApp]:
    """Bulk insert in chunks of 5,000 (no ORM objects, events built per chunk: memory stays flat
    however large the file). ``rows`` carry the typed form values."""
    sync_scheme_states(session, policy)
    sc = policy.scheme(scheme)
    year = parse(at).year
    refs = _next_refs(session, scheme, year, len(rows))
    table = Application.__table__  # type: ignore[attr-defined]
    apps: list[NewApp] = []
    for start in range(0, len(rows), 5000):
        chunk = list(zip(refs[start:start + 5000], rows[start:start + 5000], strict=True))
        stored = [(ref, applicant, forms.stored(values), forms.claim_key(sc.form, values, applicant.uscc, year))
                  for ref, (applicant, values) in chunk]
        insert_rows(session, table, ("ref", "scheme", "year", "applicant_id", "status", "data", "claim_key",
                                     "submitted_by", "submitted_at", "status_at"),
                    [(ref, scheme, year, applicant.id, sc.initial, canonical_json(data), key, submitted_by, at, at)
                     for ref, applicant, data, key in stored])
        ids: dict[str, int] = {}
        chunk_refs = [ref for ref, _ in chunk]
        for i in range(0, len(chunk_refs), 900):
            ids.update({r: int(i_ or 0) for i_, r in session.exec(
                select(Application.id, Application.ref).where(col(Application.ref).in_(chunk_refs[i:i + 900]))).all()})
        audit.append_many(session, [
            {"actor": submitted_by, "action": "case.submit", "subject": f"app:{ref}", "at": at,
             "payload": {"scheme": scheme, "applicant": applicant.uscc, "data": data, "to": sc.initial}}
            for ref, applicant, data, _key in stored])
        apps += [NewApp(ids[ref], ref) for ref in chunk_refs]
    return apps


def submit_for(session: Session, policy: Policy, scheme: str, applicant: Applicant, fields: dict[str, str],
               submitted_by: str) -> Application:
    """One case of ``applicant`` submitted by someone else who may (the caller decided it: an admin, or a bank
    filing for its borrower), its form validated against the scheme's declared fields."""
    values, problems = validate_form(policy, scheme, fields)
    if problems:
        raise ValidationFailed("application", problems)
    new = _insert(session, policy, scheme, [(applicant, values)], submitted_by, stamp())[0]
    app = session.get(Application, new.id)
    assert app is not None
    return app


def apply(session: Session, actor: str | None, scheme: str, fields: dict[str, str],
          applicant_key: str | None = None) -> Application:
    """One application, its form validated against the scheme's declared fields. An applicant user
    applies for their own organisation (its credit code is the user's affiliation); an admin may name
    the applicant."""
    user = acting(session, actor, "application.submit")
    policy = current_policy(session)
    scheme_of(session, scheme, policy)
    if "admin" in user.role_set() and applicant_key:
        applicant = get_applicant(session, applicant_key)
    else:
        if not user.affiliation:
            raise PermissionDenied(f"{user.name} has no affiliation; an applicant user must belong to an applicant "
                                   "(user add --affiliation CREDIT_CODE)")
        applicant = get_applicant(session, user.affiliation)
        if applicant_key and applicant_key.upper() != applicant.uscc:
            raise PermissionDenied(f"{user.name} may only apply for {applicant.name} ({applicant.uscc})")
    return submit_for(session, policy, scheme, applicant, fields, user.name)


def import_columns(policy: Policy, scheme: str) -> tuple[str, ...]:
    """The columns of a scheme's application file: the applicant's credit code, then the form's fields."""
    return ("applicant_uscc", *policy.scheme(scheme).form.fields)


def import_applications(session: Session, actor: str | None, scheme: str, content: bytes,
                        filename: str = "applications.csv") -> list[NewApp]:
    """Bulk import against the scheme's form: all rows or none, every bad row reported with its line.

    Streamed in chunks of 5,000 rows: applicants are looked up per chunk and each chunk is written
    while the file has no problem so far; any problem refuses the whole file (the unit of work rolls
    back). Memory stays flat however long the file (only claim keys are remembered, to find double
    claims across the file)."""
    user = acting(session, actor, "application.import")
    policy = current_policy(session)
    scheme_of(session, scheme, policy)
    form = policy.scheme(scheme).form
    columns = import_columns(policy, scheme)
    required = ("applicant_uscc", *(k for k, f in form.fields.items() if f.required))
    text = decode_text(content, filename, allow_gbk=True)
    reader = read_rows(text, filename)
    header, idx = read_header(reader, filename, columns, required, known=f"the {scheme} form has: ")
    p = Applicant.__table__  # type: ignore[attr-defined]
    problems: list[str] = []
    seen: dict[str, list[int]] = {}
    per_key = policy.integer(form.claim_limit, now().date()) if form.claim_limit else 1
    at = stamp()
    out: list[NewApp] = []
    uscc_max = limit(Applicant, "uscc")
    word = _claim_word(form)

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
            cells = {c: row[i].strip() for c, i in idx.items()}
            uscc = cells.pop("applicant_uscc")
            values, errs = validate_form(policy, scheme, cells, f"line {n}: ")
            a = applicants.get(uscc.upper())
            bad_uscc = uscc_problem(row)
            if bad_uscc is not None:
                errs.insert(0, f"line {n}: {bad_uscc}")
            elif a is None:
                errs.append(f"line {n}: applicant {shown(uscc)} is not registered "
                            "(import it with `ipfund applicant import`)")
            key = forms.claim_key(form, values, uscc.upper(), parse(at).year)
            if key is not None:
                if len(seen.get(key, ())) >= per_key:
                    errs.append(f"line {n}: {word} {key} already on line {', '.join(map(str, seen[key]))}")
                else:
                    seen.setdefault(key, []).append(n)
            if errs:
                problems.extend(errs)
            elif a is not None:
                good.append((a, values))
        if good and not problems:
            out += _insert(session, policy, scheme, good, user.name, at)
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
    claim_key: str | None
    data: str
    submitted_at: str


_CHECK_COLUMNS = ("application_id", "run", "check", "passed", "rule", "clause", "parameter", "detail", "trace", "at")


def trace_json(trace: tuple[Any, ...]) -> str | None:
    """A check's computation trace (rules.trace.Step lines) as stored with the check, None without one."""
    if not trace:
        return None
    return canonical_json([{"what": st.what, "value": st.value, "parameter": st.parameter, "clause": st.clause,
                            "in_force": st.in_force.isoformat() if st.in_force else None,
                            "reference": st.reference} for st in trace])


def intake_stage(session: Session, scheme: str, limit: int = 1000, after_id: int = 0,
                 policy: Policy | None = None) -> tuple[int, int]:
    """Run the scheme's automatic checks (rules/schemes) on submitted cases: passed -> the next stage,
    failed -> rejected. Bulk: a handful of queries per chunk, whatever its size; plain rows, no ORM
    objects. Returns (cases done, last id examined) like every stage (see flows.services.advance)."""
    policy = policy or current_policy(session)
    sc = policy.scheme(scheme)
    wf = cases.workflow(policy, scheme)
    waiting = [st for st in sc.states if "intake_passed" in wf.actions_from(st)]
    t = Application.__table__  # type: ignore[attr-defined]
    apps = [_IntakeRow(*r) for r in session.execute(
        sa_select(t.c.id, t.c.ref, t.c.scheme, t.c.status, t.c.applicant_id, t.c.year, t.c.claim_key, t.c.data,
                  t.c.submitted_at)
        .where(t.c.scheme == scheme, t.c.status.in_(waiting), t.c.id > after_id)
        .order_by(t.c.id).limit(limit)).all()]
    if not apps:
        return 0, after_id
    at = stamp()
    ids = [a.id for a in apps]
    p = Applicant.__table__  # type: ignore[attr-defined]
    applicants = {r[0]: r for r in session.execute(sa_select(p.c.id, p.c.uscc, p.c.kind, p.c.district, p.c.sme,
                                                          p.c.whitelist).where(
        p.c.id.in_({x.applicant_id for x in apps}))).all()}
    keys = sorted({a.claim_key for a in apps if a.claim_key})
    holding = set(claim_states(policy, scheme))
    claims: dict[str, list[tuple[int, str]]] = {}
    for i in range(0, len(keys), 900):
        # Filter the state in Python: with it in SQL the planner may scan every live case by state
        # instead of looking the claim keys up in their index (quadratic over a large round).
        for app_id, ref, key, status in session.execute(select(t.c.id, t.c.ref, t.c.claim_key, t.c.status)
                                                        .where(t.c.scheme == scheme,
                                                               t.c.claim_key.in_(keys[i:i + 900]))).all():
            if status in holding:
                claims.setdefault(key or "", []).append((app_id or 0, ref))
    awarded = {(a, y): int(v or 0) for a, y, v in session.execute(
        select(t.c.applicant_id, t.c.year, func.coalesce(func.sum(t.c.award_fen), 0))
        .where(t.c.applicant_id.in_({a.applicant_id for a in apps}), t.c.scheme == scheme,
               t.c.status.in_(awarded_states(policy, scheme)))
        .group_by(t.c.applicant_id, t.c.year)).all()}
    c = IntakeCheck.__table__  # type: ignore[attr-defined]
    runs = dict(session.execute(select(c.c.application_id, func.max(c.c.run)).where(c.c.application_id.in_(ids))
                                .group_by(c.c.application_id)).all())
    check_rows: list[tuple[Any, ...]] = []
    from flows.services.benefits import Claim, same_benefit_awards

    typed = {a.id: forms.typed(sc.form, json.loads(a.data)) for a in apps}
    from flows.services.links import linked_records

    batch = [Claim(a.id, a.applicant_id, a.year, typed[a.id]) for a in apps]
    same = same_benefit_awards(session, policy, scheme, batch)
    linked = linked_records(session, policy, scheme, batch)
    passed: list[_IntakeRow] = []
    failed: list[_IntakeRow] = []
    fields: dict[int, dict[str, Any]] = {}
    payloads: dict[int, dict[str, Any]] = {}
    reasons: dict[int, str | None] = {}
    for app in apps:
        applicant = applicants.get(app.applicant_id)
        earlier = tuple(ref for other_id, ref in claims.get(app.claim_key or "", []) if other_id < app.id)
        facts = IntakeFacts(
            scheme=scheme, applicant_found=applicant is not None, applicant_uscc=applicant.uscc if applicant else "",
            applicant_kind=applicant.kind if applicant else "", applicant_district=applicant.district if applicant else "",
            form=typed[app.id],
            submitted_on=dt.date.fromisoformat(app.submitted_at[:10]),  # stamps are UTC: YYYY-MM-DDT...Z
            earlier_claims=earlier, awarded_this_year_fen=awarded.get((app.applicant_id, app.year), 0),
            applicant_sme=bool(applicant.sme) if applicant else False,
            applicant_whitelist=bool(applicant.whitelist) if applicant else False,
            same_benefit_awards=same.get(app.id, ()), linked=linked.get(app.id, {}))
        results = run_checks(policy, scheme, sc.intake_checks, facts, sc.module)
        run = 1 + (runs.get(app.id) or 0)
        check_rows += [(app.id, run, r.check, r.passed, r.rule, r.clause, r.parameter, r.detail[:400],
                        trace_json(r.trace), at) for r in results]
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
    everything, own = _visible(session, user)
    try:
        app = cases.get_app(session, key)
    except NotFound:
        if everything:
            raise
        app = None
    applicant = cases.applicant_of(session, app) if app is not None else None
    if app is None or applicant is None or (not everything and own != applicant.uscc):
        raise NotYours(f"application {key!r} not found among {user.name}'s applications")
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


def _own(user: User, applicant: Applicant) -> bool:
    """The user belongs to the applicant (the duties rule's normal form: case and spaces never matter)."""
    from rules import duties

    return duties.is_member(duties.Actor(user.name, frozenset(user.role_set()), user.affiliation),
                            duties.CaseParties("", applicant.uscc, applicant.name))


def withdraw(session: Session, actor: str | None, key: str, reason: str | None) -> Application:
    user = acting(session, actor, "application.withdraw")
    app = cases.get_app(session, key)
    applicant = cases.applicant_of(session, app)
    if "admin" not in user.role_set() and not _own(user, applicant):
        raise PermissionDenied(f"{user.name} may only withdraw their own organisation's applications")
    why = clean(reason, field="--reason", max_len=400, what="withdrawal", multiline=True)
    cases.move(session, app, "withdraw", user.name, {"applicant"}, reason=why or None)
    return app


def _as_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def resubmit(session: Session, actor: str | None, key: str, fields: dict[str, str], reason: str | None) -> Application:
    """A returned application comes back corrected (the fields given replace those before, checked
    against the scheme's form again); intake runs again."""
    user = acting(session, actor, "application.submit")
    app = cases.get_app(session, key)
    applicant = cases.applicant_of(session, app)
    if "admin" not in user.role_set() and not _own(user, applicant):
        raise PermissionDenied(f"{user.name} may only resubmit their own organisation's applications")
    policy = current_policy(session)
    merged = {**{k: _as_text(v) for k, v in cases.app_data(app).items()}, **{k: v for k, v in fields.items() if v}}
    values, problems = validate_form(policy, app.scheme, merged)
    why = clean(reason, field="--reason", max_len=400, what="resubmission", multiline=True)
    if problems:
        raise ValidationFailed("resubmission", problems)
    if "resubmit" not in cases.workflow(policy, app.scheme).actions_from(app.status):
        raise RuleViolation(f"{app.ref} is {app.status!r}; only returned applications are resubmitted")
    data = forms.stored(values)
    app.data = canonical_json(data)
    app.claim_key = forms.claim_key(policy.scheme(app.scheme).form, values, applicant.uscc, app.year)
    at = stamp()
    from flows.services.review import supersede

    assert app.id is not None
    supersede(session, app.id, at)  # a new review cycle: the return and what came before it are superseded
    cases.move(session, app, "resubmit", user.name, {"applicant"}, reason=why or None, payload={"data": data},
               at=at)
    session.add(app)
    return app


def today() -> dt.date:
    return now().date()
