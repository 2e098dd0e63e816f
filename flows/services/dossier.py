"""Auditor dossiers (审计档案): a byte-reproducible, bilingual PDF per case and per fund year.

A dossier is built from the database and the audit log only, in three steps that are each exactly
reproducible:

1. **Data.** ``case_data`` / ``year_data`` read the rows in a fixed order (primary keys, sequence
   numbers) into plain dicts, lists, strings and integers (no floats, no sets, no clock). The
   canonical JSON of that dict (``rules.audit_chain.canonical_json``: sorted keys, no whitespace) is
   the dossier's *data*; its sha256 is the *data hash*. The data JSON is embedded in the PDF as
   ``dossier.json``.
2. **HTML.** Jinja2 templates (``templates/case.html``, ``templates/year.html`` on
   ``templates/_dossier_base.html`` and ``templates/dossier.css``) turn the data into HTML. Every
   label and translation lives in the templates, so the *template hash* (sha256 over the template
   files, recorded in the render manifest) covers all presentation.
3. **PDF.** ``flows.pdf_render.render_pdf`` renders PDF/A-3b with the bundled fonts, HarfBuzz
   subsetting, ``/ID`` from the data hash and the document date from the data.

Choices that make the document a function of the data (documented here, relied on by ``verify``):

* **Chain anchor, not the live head.** A case dossier is anchored to the latest audit event of the
  case: its own events (subject ``app:REF``) and the events that act on it under another subject
  (the ``round.finalize`` of its award round, the ``pay.batch`` of its payment batches and the
  ``pay.confirm`` of its bank confirmations). The "chain head at rendering" printed in the dossier is
  the head of the chain *as of that anchor event* — the anchor's own hash — and the chain is verified
  from genesis through the anchor. Events appended later (other cases, other years, dossier issues)
  therefore never change the dossier. A year dossier is anchored the same way to the latest event of
  the year: ``year:Y``, ``line:Y:*``, ``round:*:Y:*``, the events of the year's cases, their payment
  batches and bank confirmations.
* **Signed checkpoint.** ``chain.checkpoint`` is the earliest signed checkpoint of the audit log
  (``models/checkpoints.py``) whose sequence number covers the anchor and whose signature verifies
  with the trusted key, or None; later checkpoints cover later entries, so the choice does not change.
  ``verify`` checks the file's embedded checkpoint with the trusted public key and against the chain.
* **Issuing never changes what was issued.** ``dossier.issue`` events have subject
  ``dossier:<ref>`` or ``dossier:year:<Y>``, which no anchor query matches.
* **Document date** (``created``, PDF ``/CreationDate``) = the UTC date of the anchor event.
* **Dossier number** = ``DOS-<REF>-<first 8 hex of the data hash>`` (``DOS-Y<year>-...`` for a year).
* **Fund rules at finalize** are recomputed from ledger postings dated up to the round's
  ``finalized_at`` (postings are append-only), so later budget adjustments do not alter a case
  dossier; the year dossier shows the rules as of its anchor (planned = allocations, actual = paid).
* **Policy parameters** are read as of dated moments of the case (submission, aggregation, finalize):
  parameters are dated values, so a later policy change does not rewrite an old dossier.
* **Characters** the bundled fonts lack (e.g. an emoji typed into a reason) are printed as
  ``[U+XXXX]`` instead of a .notdef box; the embedded JSON keeps the original text.

``verify`` re-renders from the database and compares bytes. When they differ it says why: the
embedded JSON diffed field by field against the database (and whether the file is an authentic
render of the data it embeds), else differences in the render environment (manifest), else the text
page by page and the first differing byte — so an auditor can tell a tampered PDF from a changed
database or a changed environment.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

import templates as templates_pkg
from flows.services import cases
from flows.services.budget import actual_figures, planned_figures, thresholds
from flows.services.context import SYSTEM_ACTOR, acting, current_policy
from models import audit, checkpoints, ledger
from models.tables import (
    Account,
    Applicant,
    Application,
    Assignment,
    AuditEvent,
    AwardRound,
    BudgetAdjustment,
    BudgetLine,
    IntakeCheck,
    Objection,
    Payment,
    PaymentBatch,
    Posting,
    PostingEntry,
    Receipt,
    ReviewDecision,
    Score,
    ScoreUpload,
    User,
)
from rules import scoring
from rules.audit_chain import GENESIS_HASH, canonical_json, verify_events
from rules.budget_plan import LOCAL_SOURCES
from rules.errors import NotFound, RuleViolation
from rules.funds import FundFigures, evaluate_fund_rules
from rules.money import format_yuan
from rules.policy import ParameterNotInForce, Policy

if TYPE_CHECKING:
    from flows.pdf_render import RenderResult

FORMAT = "ipfund-dossier/1"
TEMPLATES_DIR = Path(templates_pkg.__file__).resolve().parent
TEMPLATE_FILES = {
    "case": ("_dossier_base.html", "case.html", "dossier.css"),
    "year": ("_dossier_base.html", "year.html", "dossier.css"),
}
ISSUE_ACTION = "dossier.issue"
# Manifest keys that describe the document rather than the render environment.
DOCUMENT_KEYS = ("created", "data_sha256", "document_id")


class DossierMismatch(RuleViolation):
    """A file given to verify cannot be matched to a dossier: it has no readable embedded data or
    manifest naming the case or year (name it with --case or --year)."""


# --- small helpers -----------------------------------------------------------------------------

def _date(at: str | None) -> dt.date | None:
    return dt.date.fromisoformat(at[:10]) if at else None


def _score_text(tenths: int) -> str:
    return f"{tenths // 10}.{tenths % 10}"


def _param(policy: Policy, name: str, as_of: dt.date, key: str | None = None) -> dict[str, Any]:
    """One policy parameter as of a date, with its clause, for display (value as text)."""
    p = policy.parameter(name)
    try:
        value: Any = p.at(as_of)
    except ParameterNotInForce:
        value = None
    if key is not None and isinstance(value, dict):
        value = value.get(key)
        name = f"{name}[{key}]"
    if value is None:
        text = "—"
    elif p.unit == "fen" and isinstance(value, int):
        text = format_yuan(value)
    else:
        text = str(value)
    return {"name": name, "value": text, "unit": p.unit, "clause": p.clause, "illustrative": p.illustrative,
            "as_of": as_of.isoformat()}


def _short(value: Any) -> str:
    text = str(value)
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        return text[:12] + "…"
    return text


def _summary(payload: dict[str, Any]) -> str:
    """A one-line reading of an event payload: transition, reason, then the other fields (hashes
    shortened; the full payload is covered by the event hash)."""
    parts = []
    if "to" in payload:
        parts.append(f"{payload.get('from') or '—'} → {payload['to']}")
    if payload.get("reason"):
        parts.append(f"reason: {payload['reason']}")
    for k in sorted(payload):
        v = payload[k]
        if k in ("from", "to", "reason", "data", "scores", "receipts", "lines", "counts", "manifest"):
            continue
        if isinstance(v, str | int | bool) and v != "":
            parts.append(f"{k}: {_short(v)}")
        elif isinstance(v, list) and v and all(isinstance(x, str | int) for x in v):
            shown = ", ".join(_short(x) for x in v[:4])
            parts.append(f"{k}: {shown}" + (f" … ({len(v)})" if len(v) > 4 else ""))
    if isinstance(payload.get("scores"), dict):
        parts.append("scores: " + ", ".join(f"{c} {_score_text(int(t))}" for c, t in sorted(payload["scores"].items())))
    text = "; ".join(parts)
    return text if len(text) <= 300 else text[:299] + "…"


def _event_row(e: AuditEvent) -> dict[str, Any]:
    payload = json.loads(e.payload)
    return {"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "subject": e.subject,
            "summary": _summary(payload if isinstance(payload, dict) else {}), "payload_sha256":
            hashlib.sha256(e.payload.encode("utf-8")).hexdigest(), "prev_hash": e.prev_hash, "hash": e.hash}


@dataclass(frozen=True)
class ChainStatus:
    """Result of walking the audit chain once: it verifies through ``checked_through`` unless
    ``break_seq`` is set (then every event from ``break_seq`` on is unverified)."""

    checked_through: int
    break_seq: int | None = None
    problem: str | None = None


def chain_status(session: Session, through: int | None = None, batch: int = 5000) -> ChainStatus:
    """Verify the chain from genesis through event ``through`` (default: the whole chain)."""
    last = 0
    checked = 0

    def stream() -> Iterator[dict[str, Any]]:
        nonlocal last, checked
        while True:
            q = select(AuditEvent).where(AuditEvent.seq > last)
            if through is not None:
                q = q.where(AuditEvent.seq <= through)
            rows = session.exec(q.order_by(col(AuditEvent.seq)).limit(batch)).all()
            if not rows:
                return
            for r in rows:
                last = checked = r.seq
                yield {"seq": r.seq, "at": r.at, "actor": r.actor, "action": r.action, "subject": r.subject,
                       "payload": r.payload, "prev_hash": r.prev_hash, "hash": r.hash}

    brk = verify_events(stream())
    if brk is not None:
        return ChainStatus(checked, brk.seq, brk.problem)
    return ChainStatus(checked)


def _anchor(session: Session, seqs: Iterable[int], chain: ChainStatus | None) -> dict[str, Any]:
    """The chain position a dossier is anchored to, and whether the chain verifies up to it."""
    anchor_seq = max(seqs, default=0)
    if anchor_seq == 0:
        return {"seq": 0, "at": None, "hash": GENESIS_HASH, "head_hash": GENESIS_HASH, "verified": True,
                "verified_from": 1, "verified_through": 0, "break_seq": None, "problem": None, "checkpoint": None}
    ev = session.get(AuditEvent, anchor_seq)
    assert ev is not None
    reusable = chain is not None and (chain.checked_through >= anchor_seq or (
        chain.break_seq is not None and chain.break_seq <= anchor_seq))
    status = chain if reusable and chain is not None else chain_status(session, anchor_seq)
    broken = status.break_seq is not None and status.break_seq <= anchor_seq
    return {"seq": ev.seq, "at": ev.at, "hash": ev.hash, "head_hash": ev.hash, "verified": not broken,
            "verified_from": 1, "verified_through": ev.seq, "break_seq": status.break_seq if broken else None,
            "problem": status.problem if broken else None,
            # The earliest signed checkpoint covering the anchor (models/checkpoints.py): fixed once written.
            "checkpoint": checkpoints.covering(session, ev.seq)}


def _people(session: Session, names: Iterable[str]) -> list[dict[str, Any]]:
    wanted = sorted({n for n in names if n and n != SYSTEM_ACTOR})
    if not wanted:
        return []
    users = {u.name: u for u in session.exec(select(User).where(col(User.name).in_(wanted))).all()}
    out = []
    for n in wanted:
        u = users.get(n)
        out.append({"name": n, "display_name": u.display_name if u else None,
                    "roles": sorted(u.role_set()) if u else [], "affiliation": u.affiliation if u else None})
    return out


def _postings(session: Session, subject: str) -> list[dict[str, Any]]:
    rows = session.exec(select(Posting).where(Posting.subject == subject).order_by(col(Posting.id))).all()
    out = []
    for p in rows:
        assert p.id is not None
        entries = ledger.posting_entries(session, p.id)
        out.append({"id": p.id, "kind": p.kind, "memo": p.memo, "actor": p.actor, "at": p.at,
                    "reverses_id": p.reverses_id, "moves": _moves(entries),
                    "entries": [{"account": a, "amount_fen": amt} for a, amt in entries]})
    return out


def _moves(entries: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """Read a posting's line entries as moves between buckets of one line and source
    (``line:L:S:available`` -ΔX and ``line:L:S:committed`` +X is "S: available → committed X")."""
    by_pair: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
    other = []
    for account, amount in entries:
        parts = account.split(":")
        if len(parts) == 4 and parts[0] == "line":
            by_pair[(parts[1], parts[2])].append((parts[3], amount))
        else:
            other.append((account, amount))
    out = []
    for (line, source), items in by_pair.items():
        neg = [b for b, a in items if a < 0]
        pos = [(b, a) for b, a in items if a > 0]
        if len(items) == 2 and len(neg) == 1 and len(pos) == 1 and sum(a for _b, a in items) == 0:
            out.append({"line": line, "source": source, "from": neg[0], "to": pos[0][0], "amount_fen": pos[0][1]})
        else:
            out += [{"line": line, "source": source, "from": None, "to": b, "amount_fen": a} for b, a in items]
    out += [{"line": None, "source": None, "from": None, "to": acc, "amount_fen": a} for acc, a in other]
    return out


def planned_figures_as_of(session: Session, year: int, at: str) -> FundFigures:
    """The planned 三(二) figures from postings dated up to ``at``: central receipts then received, and
    what lines had been allocated by then (allocated = available + committed + paid, so commitments and
    payments do not change it; adjustments do)."""
    lines = {ln.code: ln for ln in session.exec(select(BudgetLine).where(BudgetLine.year == year)).all()}
    central = session.exec(select(func.coalesce(func.sum(Receipt.amount_fen), 0))
                           .join(Posting, col(Posting.id) == col(Receipt.posting_id))
                           .where(Receipt.year == year, Receipt.source == "central", col(Posting.at) <= at)).one()
    rows = session.exec(
        select(Account.name, func.sum(PostingEntry.amount_fen))
        .join(PostingEntry, col(PostingEntry.account_id) == col(Account.id))
        .join(Posting, col(Posting.id) == col(PostingEntry.posting_id))
        .where(Account.year == year, col(Account.name).startswith("line:"), col(Posting.at) <= at)
        .group_by(col(Account.name))).all()
    alloc: dict[tuple[str, str], int] = defaultdict(int)
    for name, amount in rows:
        _, code, source, _bucket = name.split(":")
        alloc[(code, source)] += int(amount or 0)

    def central_tagged(tag: str) -> int:
        return sum(v for (c, s), v in alloc.items() if s == "central" and c in lines and tag in lines[c].tag_set())

    local = sum(v for (_c, s), v in alloc.items() if s in LOCAL_SOURCES)
    return FundFigures(int(central or 0), local, central_tagged("cluster_zone"), central_tagged("market_oriented"))


def _rules(results: list[Any]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in results]


def _policy_head(policy: Policy) -> dict[str, Any]:
    return {"id": policy.id, "title": policy.title, "document": policy.document, "issued": policy.issued.isoformat()}


def _scheme_head(policy: Policy, scheme: str) -> dict[str, Any]:
    cat = policy.scheme_catalog.get(scheme)
    sd = policy.schemes.get(scheme)
    return {"id": scheme, "name": cat.name if cat else (sd.name if sd else scheme),
            "name_en": sd.name_en if sd else None, "clause": cat.clause if cat else (sd.clause if sd else None)}


# --- the case dossier's data ------------------------------------------------------------------

def case_data(session: Session, key: str, chain: ChainStatus | None = None) -> dict[str, Any]:
    """Everything about one case an auditor needs, as plain canonical data (see the module docstring)."""
    policy = current_policy(session)
    app = cases.get_app(session, key)
    applicant = cases.applicant_of(session, app)
    assert app.id is not None
    subject = f"app:{app.ref}"
    events = audit.events_for(session, subject)
    wf = cases.workflow(policy, app.scheme)

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

    people = [app.submitted_by, *(d.reviewer for d in decisions), *(e.actor for e in events),
              *(e.actor for e in related), *(o.raised_by for o in objections), *(o.resolved_by or "" for o in objections),
              *(p.payer for p in payments), *(p.approver for p in payments),
              *(ev["name"] for ev in evaluation["evaluators"])]
    if round_info:
        people.append(round_info["approver"])
    decision_users = {u["name"]: u for u in _people(session, (d.reviewer for d in decisions))}

    return {
        "dossier": {"format": FORMAT, "kind": "case", "ref": app.ref},
        "policy": _policy_head(policy),
        "scheme": _scheme_head(policy, app.scheme),
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
                    "parameter": c.parameter, "detail": c.detail, "at": c.at} for c in checks],
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
        per = {n: _score_text(active[n][r["key"]]) for n in ev_names if r["key"] in active.get(n, {})}
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
        "scores": [{"evaluator": s.evaluator, "criterion": s.criterion, "score": _score_text(s.score_tenths),
                    "score_tenths": s.score_tenths, "comment": s.comment, "active": s.active,
                    "upload_id": s.upload_id} for s in scores],
        "uploads": [{"id": u.id, "evaluator": u.evaluator, "file": u.filename, "file_sha256": u.file_sha256,
                     "at": u.at, "rows_for_case": sum(1 for s in scores if s.upload_id == u.id),
                     "active_rows": sum(1 for s in scores if s.upload_id == u.id and s.active)}
                    for _id, u in sorted(uploads.items(), key=lambda kv: kv[0] or 0)],
    }


@lru_cache(maxsize=1)
def _round_report(report: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A round's stored report parsed once per process, not once per case dossier (16 MB of JSON at
    100,000 cases, ~0.2 s to parse): its summary (with ``case_lines``, the number of case lines) and
    each case's line by ref (the first line of a ref, as a scan would find it). Shared: callers copy
    what they keep."""
    data = json.loads(report)
    lines = data.pop("cases", [])
    by_ref: dict[str, dict[str, Any]] = {}
    for line in lines:
        by_ref.setdefault(line.get("ref"), line)
    data["case_lines"] = len(lines)
    return data, by_ref


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


# --- the fund-year dossier's data -------------------------------------------------------------

def _year_anchor_seqs(session: Session, year: int, refs: list[str], batch_ids: list[int],
                      confirmed_ats: list[str]) -> list[int]:
    conds: list[Any] = [AuditEvent.subject == f"year:{year}", col(AuditEvent.subject).startswith(f"line:{year}:"),
                        col(AuditEvent.subject).like(f"round:%:{year}:%")]
    seqs = [session.exec(select(func.max(AuditEvent.seq)).where(or_(*conds))).one() or 0]
    subjects = [f"app:{r}" for r in refs] + [f"batch:{b}" for b in batch_ids]
    for i in range(0, len(subjects), 500):
        seqs.append(session.exec(select(func.max(AuditEvent.seq)).where(
            col(AuditEvent.subject).in_(subjects[i:i + 500]))).one() or 0)
    for i in range(0, len(confirmed_ats), 500):
        seqs.append(session.exec(select(func.max(AuditEvent.seq)).where(
            AuditEvent.action == "pay.confirm", col(AuditEvent.at).in_(confirmed_ats[i:i + 500]))).one() or 0)
    return [int(s) for s in seqs]


def year_data(session: Session, year: int, chain: ChainStatus | None = None) -> dict[str, Any]:
    """Receipts, lines, balances, the 三(二) rules planned and actual, schemes, outcomes, rounds and
    adjustments of one fiscal year."""
    policy = current_policy(session)
    lines = list(session.exec(select(BudgetLine).where(BudgetLine.year == year).order_by(col(BudgetLine.id))).all())
    if not lines:
        raise NotFound(f"no budget plan for {year}; an auditor can render the dossier of a year that has one")
    receipts = session.exec(select(Receipt, Posting).join(Posting, col(Posting.id) == col(Receipt.posting_id))
                            .where(Receipt.year == year).order_by(col(Receipt.id))).all()
    bal = ledger.line_balances(session, year)
    sources = ledger.source_balances(session, year)
    t = thresholds(policy, year)
    planned = evaluate_fund_rules(planned_figures(session, year), t)
    actual = evaluate_fund_rules(actual_figures(session, year), t)

    line_rows: list[dict[str, Any]] = []
    for ln in lines:
        b = bal.get(ln.code, ledger.LineBalance(ln.code))
        line_rows.append({
            "code": ln.code, "name": ln.name, "tags": sorted(ln.tag_set()), "scheme": ln.scheme,
            "allocated_fen": b.allocated(), "committed_fen": b.total("committed"), "paid_fen": b.total("paid"),
            "available_fen": b.total("available"),
            "by_source": [{"source": s, "allocated_fen": sum(b.get(s, k) for k in ("available", "committed", "paid")),
                           "committed_fen": b.get(s, "committed"), "paid_fen": b.get(s, "paid"),
                           "available_fen": b.get(s, "available")} for s in sorted(b.by_source)],
        })
    totals = {k: sum(r[k] for r in line_rows) for k in ("allocated_fen", "committed_fen", "paid_fen", "available_fen")}

    apps = list(session.exec(select(Application).where(Application.year == year).order_by(col(Application.id))).all())
    app_ids = [a.id for a in apps if a.id is not None]
    paid_by_app: dict[int, int] = defaultdict(int)
    batch_ids: set[int] = set()
    confirmed: set[str] = set()
    for i in range(0, len(app_ids), 900):
        for p in session.exec(select(Payment).where(col(Payment.application_id).in_(app_ids[i:i + 900]))).all():
            batch_ids.add(p.batch_id)
            if p.confirmed_at:
                confirmed.add(p.confirmed_at)
            if p.status == "paid":
                paid_by_app[p.application_id] += p.amount_fen
    schemes_seen = sorted({ln.scheme for ln in lines if ln.scheme} | {a.scheme for a in apps})
    per_scheme = []
    for sid in [*schemes_seen, None]:
        sl = [r for r in line_rows if r["scheme"] == sid]
        sa = [a for a in apps if a.scheme == sid]
        if not sl and not sa:
            continue
        per_scheme.append({
            "scheme": sid, "name": _scheme_head(policy, sid)["name"] if sid else None,
            "lines": [r["code"] for r in sl],
            **{k: sum(r[k] for r in sl) for k in ("allocated_fen", "committed_fen", "paid_fen", "available_fen")},
            "applications": len(sa),
            "awards": sum(1 for a in sa if a.award_fen),
            "awarded_fen": sum(a.award_fen or 0 for a in sa),
            "paid_to_applicants_fen": sum(paid_by_app.get(a.id or 0, 0) for a in sa),
        })
    outcome_counts: Counter[tuple[str, str]] = Counter()
    outcome_fen: Counter[tuple[str, str]] = Counter()
    status_counts: Counter[tuple[str, str]] = Counter()
    for a in apps:
        outcome_counts[(a.scheme, a.outcome or "")] += 1
        outcome_fen[(a.scheme, a.outcome or "")] += a.award_fen or 0
        status_counts[(a.scheme, a.status)] += 1
    state_names: dict[tuple[str, str], str | None] = {}
    for sch, st in status_counts:
        try:
            state_names[(sch, st)] = cases.workflow(policy, sch).state_name(st)
        except LookupError:
            state_names[(sch, st)] = None

    rounds = session.exec(select(AwardRound).where(AwardRound.year == year).order_by(col(AwardRound.id))).all()
    adjustments = session.exec(select(BudgetAdjustment).where(BudgetAdjustment.year == year)
                               .order_by(col(BudgetAdjustment.id))).all()
    approvers = {u["name"]: u for u in _people(session, [a.approved_by for a in adjustments])}
    seqs = _year_anchor_seqs(session, year, [a.ref for a in apps], sorted(batch_ids), sorted(confirmed))
    plan_event = session.exec(select(AuditEvent).where(AuditEvent.subject == f"year:{year}",
                                                       AuditEvent.action == "budget.plan")
                              .order_by(col(AuditEvent.seq))).first()
    received = {s: sum(r.amount_fen for r, _p in receipts if r.source == s) for s in policy.fund_sources}
    return {
        "dossier": {"format": FORMAT, "kind": "year", "year": year},
        "policy": _policy_head(policy),
        "thresholds": [_param(policy, n, dt.date(year, 12, 31)) for n in
                       ("funds.match_ratio", "funds.cluster_floor", "funds.market_floor")],
        "receipts": [{"source": r.source, "source_name": policy.fund_sources[r.source].name if r.source in
                      policy.fund_sources else r.source, "amount_fen": r.amount_fen, "reference": r.reference,
                      "at": p.at, "posting_id": r.posting_id} for r, p in receipts],
        "received_by_source": [{"source": s, "source_name": policy.fund_sources[s].name,
                                "local": policy.fund_sources[s].local, "amount_fen": received[s]}
                               for s in policy.fund_sources],
        "received_total_fen": sum(received.values()),
        "sources": [{"source": s, "source_name": policy.fund_sources[s].name if s in policy.fund_sources else s,
                     **{f"{k}_fen": v for k, v in sorted(row.items())}} for s, row in sources.items()],
        "lines": line_rows,
        "line_totals": totals,
        "fund_rules": {"planned": _rules(planned), "actual": _rules(actual),
                       "all_planned_pass": all(r.passed for r in planned),
                       "all_actual_pass": all(r.passed for r in actual)},
        "schemes": per_scheme,
        "outcomes": [{"scheme": sch, "outcome": oc or None, "count": n, "award_fen": outcome_fen[(sch, oc)]}
                     for (sch, oc), n in sorted(outcome_counts.items())],
        "statuses": [{"scheme": sch, "status": st, "state_name": state_names[(sch, st)], "count": n}
                     for (sch, st), n in sorted(status_counts.items())],
        "applications_total": len(apps),
        "rounds": [{"scheme": r.scheme, "seq": r.seq, "line_code": r.line_code, "approver": r.approver,
                    "finalized_at": r.finalized_at, "total_fen": r.total_fen,
                    "funded": summary.get("funded"), "cases": summary["case_lines"]}
                   for r in rounds for summary in (_round_report(r.report)[0],)],
        "adjustments": [{"line": a.line_code, "source": a.source, "delta_fen": a.delta_fen, "reason": a.reason,
                         "approved_by": a.approved_by,
                         "approver_name": approvers.get(a.approved_by, {}).get("display_name"),
                         "approver_roles": approvers.get(a.approved_by, {}).get("roles", []),
                         "at": a.at, "posting_id": a.posting_id} for a in adjustments],
        "plan_event": _event_row(plan_event) if plan_event else None,
        "people": _people(session, [*(r.approver for r in rounds), *(a.approved_by for a in adjustments),
                                    *([plan_event.actor] if plan_event else [])]),
        "chain": _anchor(session, seqs, chain),
    }


# --- from data to a dossier -------------------------------------------------------------------

@dataclass(frozen=True)
class Dossier:
    kind: str  # "case" | "year"
    key: str  # the case reference or the year
    number: str
    data: dict[str, Any]
    data_json: bytes
    data_sha256: str
    created: str  # YYYY-MM-DD (UTC) of the anchor event

    @property
    def subject(self) -> str:
        return f"dossier:{self.key}" if self.kind == "case" else f"dossier:year:{self.key}"

    @property
    def file_name(self) -> str:
        return f"{self.number}.pdf"


def make_dossier(data: dict[str, Any]) -> Dossier:
    """The dossier of some data: number, hash and date all follow from the data alone."""
    head = data.get("dossier") or {}
    kind = head.get("kind")
    if kind not in ("case", "year") or head.get("format") != FORMAT:
        raise RuleViolation(f"not {FORMAT} data (dossier.kind={kind!r}, format={head.get('format')!r})")
    data_json = canonical_json(data).encode("utf-8")
    digest = hashlib.sha256(data_json).hexdigest()
    key = str(head["ref"]) if kind == "case" else str(head["year"])
    number = f"DOS-{key}-{digest[:8]}" if kind == "case" else f"DOS-Y{key}-{digest[:8]}"
    anchor_at = (data.get("chain") or {}).get("at")
    created = anchor_at[:10] if anchor_at else (f"{key}-01-01" if kind == "year" else "1970-01-01")
    return Dossier(kind, key, number, data, data_json, digest, created)


def build_case(session: Session, key: str, chain: ChainStatus | None = None) -> Dossier:
    return make_dossier(case_data(session, key, chain))


def build_year(session: Session, year: int, chain: ChainStatus | None = None) -> Dossier:
    return make_dossier(year_data(session, year, chain))


def template_sha256(kind: str) -> str:
    """sha256 over the template files a dossier kind uses (name and content of each)."""
    h = hashlib.sha256()
    for name in sorted(TEMPLATE_FILES[kind]):
        content = (TEMPLATES_DIR / name).read_bytes()
        h.update(f"{name}\0{len(content)}\0".encode())
        h.update(content)
    return h.hexdigest()


def _version(name: str) -> str:
    try:
        return importlib_metadata.version(name)
    except importlib_metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


_ENVS: dict[frozenset[str], Any] = {}


def _jinja_env(escape: frozenset[str]) -> Any:
    """The Jinja2 environment; characters in ``escape`` (missing from the fonts) print as [U+XXXX]."""
    if escape not in _ENVS:
        import jinja2
        from markupsafe import Markup

        table = {ord(c): f"[U+{ord(c):04X}]" for c in escape}

        def finalize(value: Any) -> Any:
            if value is None:
                return ""
            if table and isinstance(value, str):
                text = str(value).translate(table)
                return Markup(text) if isinstance(value, Markup) else text
            return value

        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)), autoescape=True, undefined=jinja2.StrictUndefined,
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, finalize=finalize)
        from rules.money import to_daxie

        env.filters["yuan"] = lambda fen: "—" if fen is None else format_yuan(int(fen))
        env.filters["daxie"] = lambda fen: "—" if fen is None else to_daxie(int(fen))
        env.filters["hexwrap"] = lambda h, n=32: Markup("<br>").join(
            [str(h)[i:i + n] for i in range(0, len(str(h)), n)]) if h else ""
        _ENVS[escape] = env
    return _ENVS[escape]


def render_html(d: Dossier, escape: frozenset[str] = frozenset()) -> str:
    env = _jinja_env(escape)
    ctx = {"d": d.data, "number": d.number, "data_sha256": d.data_sha256, "created": d.created, "kind": d.kind,
           "template_sha256": template_sha256(d.kind),
           "versions": {"ipfund": _version("ipfund"), "weasyprint": _version("weasyprint"),
                        "pydyf": _version("pydyf")}}
    html: str = env.get_template(f"{d.kind}.html").render(**ctx)
    return html


def render(d: Dossier, *, escape_missing: bool = True) -> RenderResult:
    """Render a dossier to PDF bytes (deterministic: see flows.pdf_render).

    Characters of the *data* that the bundled fonts lack are printed as [U+XXXX] (a second render);
    with ``escape_missing=False`` they raise MissingGlyphError instead. Characters in the templates'
    own text are never escaped: they always raise."""
    from flows.pdf_render import MissingGlyphError, render_pdf

    escape: frozenset[str] = frozenset()
    for _attempt in range(4):
        html = render_html(d, escape)
        try:
            return render_pdf(html, base_url=TEMPLATES_DIR.as_uri() + "/", data_json=d.data_json,
                              document_id=d.number, created=d.created,
                              manifest_extra={"template_sha256": template_sha256(d.kind),
                                              "dossier_kind": d.kind, "dossier_format": FORMAT})
        except MissingGlyphError as exc:
            chars = {c for c in exc.characters if len(c) == 1}
            if not escape_missing or not chars or chars <= escape:
                raise
            escape = escape | frozenset(chars)
    raise RuleViolation(f"dossier {d.number}: text keeps using characters the bundled fonts lack")


def page_count(pdf: bytes) -> int:
    from io import BytesIO

    from pypdf import PdfReader

    return len(PdfReader(BytesIO(pdf)).pages)


# --- issue --------------------------------------------------------------------------------------

def check_may_issue(session: Session, actor: str | None) -> User:
    return acting(session, actor, "dossier.issue")


def check_may_read(session: Session, actor: str | None) -> None:
    """Rendering reads everything: with an acting user, that user must have the read.all permission."""
    if actor:
        acting(session, actor, "read.all")


def issue(session: Session, actor: str | None, d: Dossier, result: RenderResult) -> AuditEvent:
    """Append the issued dossier's sha256 and render manifest to the audit chain."""
    chain = d.data.get("chain") or {}
    return issue_record(session, actor, kind=d.kind, key=d.key, number=d.number, pdf_sha256=result.sha256,
                        data_sha256=d.data_sha256, created=d.created, anchor_seq=chain.get("seq"),
                        anchor_hash=chain.get("hash"), manifest=result.manifest)


def issue_record(session: Session, actor: str | None, *, kind: str, key: str, number: str, pdf_sha256: str,
                 data_sha256: str, created: str, anchor_seq: int | None, anchor_hash: str | None,
                 manifest: dict[str, str]) -> AuditEvent:
    user = acting(session, actor, "dossier.issue")
    subject = f"dossier:{key}" if kind == "case" else f"dossier:year:{key}"
    return audit.append(session, actor=user.name, action=ISSUE_ACTION, subject=subject, payload={
        "document_id": number, "kind": kind, "key": key, "pdf_sha256": pdf_sha256, "data_sha256": data_sha256,
        "created": created, "anchor_seq": anchor_seq, "anchor_hash": anchor_hash, "manifest": manifest})


def issued_records(session: Session, pdf_sha256: str, subject: str | None = None) -> list[dict[str, Any]]:
    q = select(AuditEvent).where(AuditEvent.action == ISSUE_ACTION)
    if subject:
        q = q.where(AuditEvent.subject == subject)
    out = []
    for e in session.exec(q.order_by(col(AuditEvent.seq))).all():
        p = json.loads(e.payload)
        if p.get("pdf_sha256") == pdf_sha256:
            out.append({"seq": e.seq, "at": e.at, "actor": e.actor, "document_id": p.get("document_id"),
                        "hash": e.hash})
    return out


# --- verify -------------------------------------------------------------------------------------

def flatten(obj: Any, path: str = "") -> dict[str, Any]:
    """``{"a": {"b": [1]}}`` -> ``{"a.b[0]": 1}`` (empty containers kept as leaves)."""
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        if not obj and path:
            out[path] = {}
        for k in sorted(obj):
            out.update(flatten(obj[k], f"{path}.{k}" if path else str(k)))
    elif isinstance(obj, list):
        if not obj and path:
            out[path] = []
        for i, v in enumerate(obj):
            out.update(flatten(v, f"{path}[{i}]"))
    else:
        out[path] = obj
    return out


_MISSING = "(absent)"


def diff_data(in_file: dict[str, Any], in_db: dict[str, Any]) -> list[dict[str, Any]]:
    """Field-by-field differences between two dossier data dicts, in document order."""
    a, b = flatten(in_file), flatten(in_db)
    keys = list(a) + [k for k in b if k not in a]
    return [{"field": k, "in_file": a.get(k, _MISSING), "in_database": b.get(k, _MISSING)}
            for k in keys if a.get(k, _MISSING) != b.get(k, _MISSING)]


def diff_pages(pages_file: list[str], pages_now: list[str], limit: int = 12) -> list[dict[str, Any]]:
    out = []
    for i in range(max(len(pages_file), len(pages_now))):
        a = pages_file[i] if i < len(pages_file) else ""
        b = pages_now[i] if i < len(pages_now) else ""
        if a == b:
            continue
        lines = [ln for ln in difflib.unified_diff(a.splitlines(), b.splitlines(), "file", "database", n=0,
                                                   lineterm="") if not ln.startswith(("---", "+++", "@@"))]
        out.append({"page": i + 1, "missing_in_file": i >= len(pages_file), "missing_now": i >= len(pages_now),
                    "lines": lines[:limit], "more": max(0, len(lines) - limit)})
    return out


@dataclass
class VerifyReport:
    identical: bool
    verdict: str  # identical | database_changed | environment_changed | pdf_altered | unreadable
    document_id: str | None
    kind: str | None
    key: str | None
    file_sha256: str
    expected_sha256: str | None = None
    expected_document_id: str | None = None
    messages: list[str] = field(default_factory=list)
    data_differences: list[dict[str, Any]] = field(default_factory=list)
    environment_differences: list[dict[str, Any]] = field(default_factory=list)
    page_differences: list[dict[str, Any]] = field(default_factory=list)
    first_byte_difference: int | None = None
    issued: list[dict[str, Any]] = field(default_factory=list)
    checkpoint: dict[str, Any] = field(default_factory=dict)  # the embedded checkpoint, checked (ok, message)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def check_embedded_checkpoint(session: Session, data: dict[str, Any] | None) -> dict[str, Any]:
    """The signed checkpoint a dossier file embeds (``chain.checkpoint``), checked with the trusted
    public key of this installation (never a key the file names) and against the chain."""
    from rules import checkpoints as signed

    cp = ((data or {}).get("chain") or {}).get("checkpoint")
    if not cp:
        return {"present": False, "ok": True, "message": "the dossier embeds no signed checkpoint: no checkpoint "
                "covered its anchor when it was rendered"}
    try:
        parsed = signed.parse({k: v for k, v in cp.items() if k != "matches_chain"})
        trusted = checkpoints.trusted_public_key()
    except (ValueError, TypeError) as exc:
        return {"present": True, "ok": False, "message": f"the embedded checkpoint cannot be checked ({exc})"}
    if trusted is None:
        return {"present": True, "ok": False, "seq": parsed.seq, "message": (
            f"the embedded checkpoint #{parsed.seq} cannot be verified: no trusted public key at "
            f"{checkpoints.public_key_path()} (set {checkpoints.ENV_PUBLIC_KEY})")}
    t = AuditEvent.__table__  # type: ignore[attr-defined]
    length = int(session.execute(select(func.coalesce(func.max(t.c.seq), 0))).scalar_one())
    problem = signed.signature_problem(parsed, trusted) or signed.chain_problem(
        parsed, checkpoints.stored_hashes(session, [parsed.seq]).get(parsed.seq), length)
    if problem:
        return {"present": True, "ok": False, "seq": parsed.seq,
                "message": f"the embedded checkpoint #{parsed.seq}: {problem}"}
    return {"present": True, "ok": True, "seq": parsed.seq, "message": (
        f"the embedded checkpoint #{parsed.seq} (signed {parsed.at}, key {parsed.key[:16]}…) verifies with the "
        f"trusted key and the chain still holds entry #{parsed.seq} with the hash it signed")}


def _identify(pdf: bytes) -> tuple[dict[str, Any] | None, bytes | None, dict[str, str] | None, list[str]]:
    """Embedded data (parsed and raw) and manifest of a file, with what could not be read."""
    from flows.pdf_render import extract_attachment, read_manifest

    problems = []
    raw: bytes | None = None
    data: dict[str, Any] | None = None
    manifest: dict[str, str] | None = None
    try:
        raw = extract_attachment(pdf)
        if raw is None:
            problems.append("the file has no embedded dossier.json")
        else:
            parsed = json.loads(raw.decode("utf-8"))
            data = parsed if isinstance(parsed, dict) else None
    except Exception as exc:  # a damaged file can fail anywhere inside pypdf or zlib
        problems.append(f"the embedded dossier.json cannot be read ({type(exc).__name__}: {exc})")
        raw = None
    try:
        manifest = read_manifest(pdf)
        if manifest is None:
            problems.append("the file has no render manifest")
    except Exception as exc:
        problems.append(f"the render manifest cannot be read ({type(exc).__name__}: {exc})")
    return data, raw, manifest, problems


def _key_from(data: dict[str, Any] | None, manifest: dict[str, str] | None) -> tuple[str, str] | None:
    head = (data or {}).get("dossier") or {}
    if head.get("kind") == "case" and head.get("ref"):
        return "case", str(head["ref"])
    if head.get("kind") == "year" and head.get("year"):
        return "year", str(head["year"])
    doc = (manifest or {}).get("document_id", "")
    if doc.startswith("DOS-Y") and doc.count("-") == 2:
        return "year", doc.split("-")[1][1:]
    if doc.startswith("DOS-") and doc.count("-") >= 2:
        return "case", doc[4:].rsplit("-", 1)[0]
    return None


class NotAPdf(RuleViolation):
    """The file given to verify is not a PDF at all."""


def not_a_pdf(pdf: bytes, name: str = "the file") -> str | None:
    """Why ``pdf`` is not a PDF (it must start with ``%PDF-``), or None."""
    if pdf.startswith(b"%PDF-"):
        return None
    return f"{name} is not a PDF (it starts with {pdf[:16]!r}); give a dossier PDF written by `ipfund dossier`"


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf reports a damaged file on its logger and with warnings; verify says what is wrong itself."""
    import logging
    import warnings

    logger = logging.getLogger("pypdf")
    level, logger.level = logger.level, logging.CRITICAL
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def verify(session: Session, pdf: bytes, kind: str | None = None, key: str | None = None,
           name: str = "the file") -> VerifyReport:
    """Re-render the dossier a file claims to be from today's database and compare (see module doc).
    A file that is not a PDF is refused (NotAPdf) before anything reads it; pypdf stays quiet."""
    problem = not_a_pdf(pdf, name)
    if problem is not None:
        raise NotAPdf(problem)
    with _quiet_pypdf():
        return _verify(session, pdf, kind, key)


def _verify(session: Session, pdf: bytes, kind: str | None, key: str | None) -> VerifyReport:
    from flows.pdf_render import pdf_text_pages

    file_sha = hashlib.sha256(pdf).hexdigest()
    data, raw, manifest, problems = _identify(pdf)
    found = (kind, key) if kind and key else _key_from(data, manifest)
    if found is None:
        raise DossierMismatch("cannot tell which dossier this file is: it has no readable embedded data or "
                              "manifest (" + "; ".join(problems) + "); name it with --case REF or --year YEAR")
    kind, key = found
    d = build_case(session, key) if kind == "case" else build_year(session, int(key))
    fresh = render(d)
    report = VerifyReport(identical=fresh.pdf == pdf, verdict="identical", document_id=(manifest or {}).get(
        "document_id"), kind=kind, key=key, file_sha256=file_sha, expected_sha256=fresh.sha256,
        expected_document_id=d.number)
    report.issued = issued_records(session, file_sha, d.subject)
    report.checkpoint = check_embedded_checkpoint(session, data)
    if report.identical:
        report.messages.append(f"identical: the database renders exactly this file ({d.number}, sha256 {file_sha})")
        return report
    report.first_byte_difference = next(
        (i for i, (x, y) in enumerate(zip(pdf, fresh.pdf, strict=False)) if x != y), min(len(pdf), len(fresh.pdf)))
    report.messages.extend(problems)
    if manifest is not None:
        for k in sorted(set(manifest) | set(fresh.manifest)):
            if k in DOCUMENT_KEYS:
                continue
            if manifest.get(k) != fresh.manifest.get(k):
                report.environment_differences.append(
                    {"key": k, "in_file": manifest.get(k, _MISSING), "now": fresh.manifest.get(k, _MISSING)})
    if raw is not None and manifest is not None and hashlib.sha256(raw).hexdigest() != manifest.get("data_sha256"):
        report.messages.append("the embedded dossier.json does not match the data hash in the file's own "
                               "manifest: the attachment was altered after rendering")
    if data is not None:
        report.data_differences = diff_data(data, d.data)
    if report.data_differences:
        try:
            own = render(make_dossier(data or {}))
            authentic = own.pdf == pdf
        except Exception:
            authentic = False
        if authentic:
            report.verdict = "database_changed"
            report.messages.append(
                f"the file is an authentic render of the data it embeds, but the database now differs in "
                f"{len(report.data_differences)} field(s): the database changed after the dossier was rendered")
        elif report.environment_differences:
            report.verdict = "database_changed"
            report.messages.append(
                f"the database differs from the data embedded in the file in {len(report.data_differences)} "
                "field(s), and the file was rendered in another environment (so its bytes cannot be re-derived)")
        else:
            report.verdict = "pdf_altered"
            report.messages.append(
                f"the data embedded in the file differs from the database in {len(report.data_differences)} "
                "field(s), and the file is not a render of its own embedded data either: the PDF was altered")
        return report
    if report.environment_differences:
        report.verdict = "environment_changed"
        report.messages.append("same data, rendered in a different environment: "
                               + ", ".join(f"{e['key']} {e['in_file']} → {e['now']}"
                                           for e in report.environment_differences[:6]))
    else:
        report.verdict = "unreadable" if data is None and manifest is None else "pdf_altered"
        report.messages.append(
            "same data and render environment, yet the bytes differ: the PDF was altered after rendering"
            if data is not None else "the file's embedded data cannot be read: the PDF is damaged or altered")
    try:
        report.page_differences = diff_pages(pdf_text_pages(pdf), pdf_text_pages(fresh.pdf))
    except Exception as exc:
        report.messages.append(f"the file's text cannot be extracted ({type(exc).__name__}: {exc})")
    if not report.page_differences:
        report.messages.append(f"the text of every page is the same; the bytes first differ at offset "
                               f"{report.first_byte_difference}")
    return report


# --- many cases, in parallel --------------------------------------------------------------------

def case_refs(session: Session, year: int, scheme: str | None = None) -> list[str]:
    q = select(Application.ref).where(Application.year == year)
    if scheme:
        q = q.where(Application.scheme == scheme)
    return list(session.exec(q.order_by(col(Application.id))).all())


@dataclass(frozen=True)
class RenderedFile:
    ref: str
    path: str
    number: str
    sha256: str
    data_sha256: str
    created: str
    pages: int
    seconds: float
    manifest: dict[str, str]
    anchor_seq: int | None
    anchor_hash: str | None


_WORKER: dict[str, Any] = {}


def _worker_init(url: str, chain: ChainStatus | None) -> None:
    from models.db import get_engine

    os.environ["IPFUND_DATABASE_URL"] = url
    get_engine.cache_clear()
    _WORKER["engine"] = get_engine(url)
    _WORKER["chain"] = chain


def render_case_file(ref: str, out_dir: str, chain: ChainStatus | None = None, engine: Any = None) -> RenderedFile:
    """Build, render and write one case dossier as ``out_dir/<REF>.pdf`` (written atomically)."""
    from models.uow import read_only

    started = time.perf_counter()
    with read_only(engine or _WORKER.get("engine")) as s:
        d = build_case(s, ref, chain if chain is not None else _WORKER.get("chain"))
    result = render(d)
    path = Path(out_dir) / f"{d.key}.pdf"
    tmp = path.with_suffix(".pdf.tmp")
    tmp.write_bytes(result.pdf)
    tmp.replace(path)
    chain_data = d.data.get("chain") or {}
    return RenderedFile(d.key, str(path), d.number, result.sha256, d.data_sha256, d.created, page_count(result.pdf),
                        time.perf_counter() - started, result.manifest, chain_data.get("seq"), chain_data.get("hash"))


def _render_in_worker(ref: str, out_dir: str) -> RenderedFile:
    return render_case_file(ref, out_dir)


def render_many(url: str, refs: list[str], out_dir: str, jobs: int | None = None, chain: ChainStatus | None = None,
                on_done: Callable[[RenderedFile], None] | None = None) -> list[RenderedFile]:
    """Render case dossiers in parallel, one process per core (ProcessPoolExecutor)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(refs) or 1))
    results: dict[str, RenderedFile] = {}
    ctx = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                             initargs=(url, chain)) as pool:
        futures = [pool.submit(_render_in_worker, ref, out_dir) for ref in refs]
        for fut in as_completed(futures):
            r = fut.result()
            results[r.ref] = r
            if on_done is not None:
                on_done(r)
    return [results[r] for r in refs]


def benchmark(url: str, refs: list[str], out_dir: str, jobs: int | None = None, sequential: int = 4,
              ) -> dict[str, Any]:
    """Render ``sequential`` dossiers on one core, then all ``refs`` on ``jobs`` cores; return rates."""
    from models.db import get_engine
    from models.uow import read_only

    engine = get_engine(url)
    with read_only(engine) as s:
        chain = chain_status(s)
    jobs = max(1, jobs or os.cpu_count() or 1)
    t0 = time.perf_counter()
    one = [render_case_file(ref, out_dir, chain, engine) for ref in refs[:sequential]]
    t_one = time.perf_counter() - t0
    t0 = time.perf_counter()
    many = render_many(url, refs, out_dir, jobs, chain)
    t_many = time.perf_counter() - t0
    pages_one = sum(r.pages for r in one)
    pages_many = sum(r.pages for r in many)
    return {
        "cores": jobs,
        "sequential": {"dossiers": len(one), "pages": pages_one, "seconds": round(t_one, 3),
                       "pages_per_second": round(pages_one / t_one, 2) if t_one else None,
                       "dossiers_per_minute": round(len(one) / t_one * 60, 1) if t_one else None},
        "parallel": {"dossiers": len(many), "pages": pages_many, "seconds": round(t_many, 3),
                     "pages_per_second_per_core": round(pages_many / t_many / jobs, 2) if t_many else None,
                     "dossiers_per_minute": round(len(many) / t_many * 60, 1) if t_many else None},
    }
