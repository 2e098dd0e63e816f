"""The year dossier's roster of every case and its reconciliation with the ledger (三(三), 二(四)12).

Read from the rows, never from counts: the applications (outcome, rank, reason code), the ledger postings
of the year's cases (every line entry, in posting order) and the ledger's committed balances, reconciled by
the pure rule :func:`rules.reconciliation.reconcile`; each difference is named with the audit event that
explains it (the case's event written with its posting: same subject, same moment). Also the payment rows,
checked against the ledger: what the payment rows say was paid or failed is what the postings moved.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session

from models import ledger
from models.tables import Account, Applicant, Application, AuditEvent, Posting, PostingEntry
from rules.reconciliation import Figures, Move, Reconciliation, moves_of, reconcile

_CHUNK = 500


def ledger_moves(session: Session, year: int) -> tuple[list[Move], dict[int, str]]:
    """Every line move of the postings of the year's cases (subject ``app:REF``), in posting order, and
    when each posting was made; a release that reverses the award's commitment posting is the award
    withdrawn. One query."""
    p, e, a = (Posting.__table__, PostingEntry.__table__, Account.__table__)  # type: ignore[attr-defined]
    rows = session.execute(
        sa_select(p.c.id, p.c.kind, p.c.subject, p.c.reverses_id, p.c.at, a.c.name, e.c.amount_fen)
        .join(e, e.c.posting_id == p.c.id).join(a, a.c.id == e.c.account_id)
        .where(p.c.year == year, p.c.subject.like("app:%"))
        .order_by(p.c.id, e.c.id)).all()
    moves: list[Move] = []
    moments: dict[int, str] = {}
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i][0] != rows[start][0]:
            pid, kind, subject, reverses, at = rows[start][:5]
            moments[int(pid)] = at
            moves += moves_of(subject.removeprefix("app:"), int(pid), [(r[5], int(r[6])) for r in rows[start:i]],
                              withdrawal=kind == "release" and reverses is not None)
            start = i
    return moves, moments


def _explaining_events(session: Session, wanted: dict[str, set[str]], last_of: set[str]) -> tuple[
        dict[tuple[str, str], dict[str, Any]], dict[str, dict[str, Any]]]:
    """For (case, moment) pairs: the case's audit event at that moment (a case event before any other);
    for the cases in ``last_of``: their latest event. One query per chunk of cases."""
    at_moment: dict[tuple[str, str], dict[str, Any]] = {}
    latest: dict[str, dict[str, Any]] = {}
    refs = sorted(set(wanted) | last_of)
    for i in range(0, len(refs), _CHUNK):
        subjects = [f"app:{r}" for r in refs[i:i + _CHUNK]]
        q = (sa_select(AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.action,  # type: ignore[call-overload]
                       AuditEvent.subject, AuditEvent.payload)
             .where(AuditEvent.subject.in_(subjects)).order_by(AuditEvent.seq))  # type: ignore[attr-defined]
        for seq, at, actor, action, subject, payload in session.execute(q):
            ref = subject.removeprefix("app:")
            body = json.loads(payload)
            ev = {"seq": int(seq), "at": at, "actor": actor, "action": action,
                  "reason": (body.get("reason") if isinstance(body, dict) else None) or None}
            if ref in last_of:
                latest[ref] = ev
            if at in wanted.get(ref, ()):
                held = at_moment.get((ref, at))
                if held is None or (not held["action"].startswith("case.") and action.startswith("case.")):
                    at_moment[(ref, at)] = ev
    return at_moment, latest


def _fig(f: Figures | None) -> dict[str, Any]:
    return (f or Figures()).as_dict()


_ROSTER_FIGURES = ("awarded_fen", "paid_fen", "withdrawn_fen", "released_fen", "clawed_back_fen", "outstanding_fen",
                   "failed_fen", "holds")


def roster_and_reconciliation(session: Session, year: int, apps: list[Application],
                              bal: dict[str, ledger.LineBalance],
                              payment_rows: dict[str, dict[str, int]], names: dict[str, str],
                              state_names: dict[tuple[str, str], str | None],
                              reduced_on_release: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The ``roster`` (per scheme, every case) and the ``reconciliation`` (per scheme: per line and source,
    per line, per source, total, differences with their events, and the payment rows — their amounts by
    status, per scheme, as ``payment_rows`` gives them — against the ledger). A scheme in ``reduced_on_release``
    (a project scheme: a tranche cancelled back to the line lowers the case's award) reconciles its awards now
    with what was released too: awards now + withdrawn + released = awarded."""
    moves, posting_at = ledger_moves(session, year)
    held = {(code, s): {b: lb.get(s, b) for b in ("committed", "paid", "receivable")}
            for code, lb in bal.items() for s in lb.by_source}
    scheme_of = {a.ref: a.scheme for a in apps}
    # What the schemes' cases moved, per scheme, against the balances of the lines and sources they moved.
    per_scheme: dict[str, Reconciliation] = {}
    by_scheme_moves: dict[str, list[Move]] = defaultdict(list)
    for m in moves:
        by_scheme_moves[scheme_of.get(m.case, "")].append(m)
    for sid, ms in sorted(by_scheme_moves.items()):
        keys = {(m.line, m.source) for m in ms}
        per_scheme[sid] = reconcile(ms, {k: v for k, v in held.items() if k in keys})

    wanted: dict[str, set[str]] = defaultdict(set)
    last_of: set[str] = set()
    for r in per_scheme.values():
        for d in r.differences:
            if d.posting_id is None:
                last_of.add(d.case)
            else:
                wanted[d.case].add(posting_at[d.posting_id])
    at_moment, latest = _explaining_events(session, wanted, last_of)

    applicants = _applicant_names(session, apps)
    roster: list[dict[str, Any]] = []
    recon: list[dict[str, Any]] = []
    for sid in sorted({a.scheme for a in apps} | set(per_scheme) - {""}):
        r = per_scheme.get(sid, Reconciliation())
        cases = []
        for a in sorted((x for x in apps if x.scheme == sid), key=_roster_order):
            f = r.by_case.get(a.ref)
            cases.append({"ref": a.ref, "applicant": applicants.get(a.applicant_id), "status": a.status,
                          "outcome": a.outcome, "reason_code": a.outcome or a.status, "rank": a.rank,
                          "line": a.line_code, "award_fen": a.award_fen,
                          **{k: v for k, v in _fig(f).items() if k in _ROSTER_FIGURES}})
        roster.append({"scheme": sid, "name": names.get(sid), "cases": cases,
                       "state_names": {st: n for (sch, st), n in sorted(state_names.items()) if sch == sid}})
        diffs = []
        for d in r.differences:
            ev = latest.get(d.case) if d.posting_id is None else at_moment.get((d.case, posting_at[d.posting_id]))
            diffs.append({"case": d.case, "kind": d.kind, "line": d.line, "amount_fen": d.amount_fen,
                          "posting_id": d.posting_id, "event": ev})
        total = r.total()
        current = sum(a.award_fen or 0 for a in apps if a.scheme == sid)
        payments = payment_rows.get(sid, {"paid": 0, "failed": 0, "pending": 0})
        recon.append({
            "scheme": sid, "name": names.get(sid),
            "by_line_source": [{"line": k[0], "source": k[1], **_fig(f)} for k, f in r.by_key.items()],
            "by_line": [{"line": k, **_fig(f)} for k, f in r.by_line().items()],
            "by_source": [{"source": k, **_fig(f)} for k, f in r.by_source().items()],
            "total": _fig(total),
            "holds": all(f.holds for f in r.by_key.values()) and all(f.holds for f in r.by_case.values()),
            "differences": diffs,
            # The payment rows against the ledger: paid rows = still paid + clawed back; failed rows = reversed.
            "payments": {"paid_rows_fen": payments["paid"], "failed_rows_fen": payments["failed"],
                         "pending_rows_fen": payments["pending"],
                         "paid_matches": payments["paid"] == total.paid + total.clawed_back,
                         "failed_matches": payments["failed"] == total.failed},
            "awards_current_fen": current,
            "awards_released_fen": total.released if sid in reduced_on_release else None,
            "awards_match": current + total.withdrawn + (total.released if sid in reduced_on_release else 0)
            == total.awarded,
        })
    return {"roster": roster, "reconciliation": recon}


def _roster_order(a: Application) -> tuple[Any, ...]:
    """Ranked cases by rank, then the others by reference."""
    return (a.rank is None, a.rank or 0, a.ref)


def _applicant_names(session: Session, apps: list[Application]) -> dict[int, str]:
    ids = sorted({a.applicant_id for a in apps})
    t = Applicant.__table__  # type: ignore[attr-defined]
    out: dict[int, str] = {}
    for i in range(0, len(ids), _CHUNK):
        out.update({int(k): n for k, n in session.execute(sa_select(t.c.id, t.c.name).where(t.c.id.in_(ids[i:i + _CHUNK])))})
    return out
