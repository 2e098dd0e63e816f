"""The fund-year dossier's data (:func:`year_data`) and the planned 三(二) figures as of a moment."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from flows.services import cases
from flows.services import kpis as programme_kpis
from flows.services.budget import actual_figures, planned_figures, thresholds
from flows.services.context import current_policy
from flows.services.dossier.common import (
    FORMAT,
    ChainStatus,
    _anchor,
    _event_row,
    _param,
    _people,
    _policy_head,
    _round_report,
    _rules,
    _scheme_head,
)
from flows.services.dossier.roster import roster_and_reconciliation
from models import checkpoints, ledger
from models.tables import (
    Account,
    Application,
    AuditEvent,
    AwardRound,
    BudgetAdjustment,
    BudgetLine,
    Payment,
    Posting,
    PostingEntry,
    Receipt,
)
from rules.budget_plan import LOCAL_SOURCES
from rules.errors import NotFound
from rules.funds import BUCKETS, FundFigures, evaluate_fund_rules


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
            "by_source": [{"source": s, "allocated_fen": sum(b.get(s, k) for k in BUCKETS),
                           "committed_fen": b.get(s, "committed"), "paid_fen": b.get(s, "paid"),
                           "available_fen": b.get(s, "available")} for s in sorted(b.by_source)],
        })
    totals = {k: sum(r[k] for r in line_rows) for k in ("allocated_fen", "committed_fen", "paid_fen", "available_fen")}

    apps = list(session.exec(select(Application).where(Application.year == year).order_by(col(Application.id))).all())
    app_ids = [a.id for a in apps if a.id is not None]
    paid_by_app: dict[int, int] = defaultdict(int)
    scheme_of = {a.id: a.scheme for a in apps}
    rows_by_scheme: dict[str, dict[str, int]] = defaultdict(lambda: {"paid": 0, "failed": 0, "pending": 0})
    batch_ids: set[int] = set()
    confirmed: set[str] = set()
    for i in range(0, len(app_ids), 900):
        for p in session.exec(select(Payment).where(col(Payment.application_id).in_(app_ids[i:i + 900]))).all():
            batch_ids.add(p.batch_id)
            if p.confirmed_at:
                confirmed.add(p.confirmed_at)
            rows_by_scheme[scheme_of[p.application_id]][p.status] += p.amount_fen
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
    anchor = _anchor(session, seqs, chain)
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
        **roster_and_reconciliation(session, year, apps, bal, rows_by_scheme,
                                    {s["scheme"]: s["name"] for s in per_scheme if s["scheme"]}, state_names,
                                    frozenset(sid for sid, sc in policy.schemes.items() if sc.project is not None)),
        # The programme's KPIs against their targets (一(二)) as of the year's last day: by year up to it and
        # cumulatively (a fixed date, so the page is the same whenever it is rendered from the same records).
        "kpis": {"as_of": dt.date(year, 12, 31).isoformat(),
                 "rows": [k.as_dict() for k in programme_kpis.report(session, as_of=dt.date(year, 12, 31))]},
        "plan_event": _event_row(plan_event) if plan_event else None,
        "people": _people(session, [*(r.approver for r in rounds), *(a.approved_by for a in adjustments),
                                    *([plan_event.actor] if plan_event else [])]),
        "chain": anchor,
        # The signed checkpoints covering the year: from its budget plan event through the anchor.
        "checkpoints": checkpoints.between(session, plan_event.seq if plan_event else 1, anchor["seq"]),
    }
