"""`ipfund check`: the invariants, checked against the data after every flow (the third place an
invariant holds, after the pure rule and the database constraint)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from flows.services import duties
from flows.services.budget import planned_figures, thresholds, years
from flows.services.context import current_policy
from flows.services.dossier.roster import ledger_moves
from models import audit, checkpoints, ledger
from models.tables import Account, Application, Payment, Posting, PostingEntry
from rules.funds import evaluate_fund_rules
from rules.reconciliation import reconcile


def run(session: Session, audit_from_seq: int = 0) -> dict[str, Any]:
    """All invariants. ``audit_from_seq`` > 0 verifies only the audit entries after it (the tail a
    flow run appended); `ipfund check` and `ipfund audit verify` walk the whole chain."""
    policy = current_policy(session)
    results: list[dict[str, Any]] = []

    def add(name: str, ok: bool, detail: str) -> None:
        results.append({"check": name, "ok": ok, "detail": detail})

    unbalanced = session.exec(select(PostingEntry.posting_id, func.sum(PostingEntry.amount_fen))
                              .group_by(col(PostingEntry.posting_id))
                              .having(func.sum(PostingEntry.amount_fen) != 0)).all()
    add("postings balance", not unbalanced,
        "every posting sums to 0 fen" if not unbalanced else f"unbalanced postings: {[p for p, _ in unbalanced][:10]}")

    sums = dict(session.exec(select(PostingEntry.account_id, func.sum(PostingEntry.amount_fen))
                             .group_by(col(PostingEntry.account_id))).all())
    drift = [a.name for a in session.exec(select(Account)).all() if (sums.get(a.id or 0, 0) or 0) != a.balance_fen]
    add("balances match postings", not drift, "account balances equal the sum of their entries" if not drift
        else f"balance differs from entries on {drift[:10]}")

    negative = [a.name for a in session.exec(select(Account).where(col(Account.balance_fen) < 0)).all()
                if not a.name.startswith("external:")]
    add("no negative balance", not negative, "no line or source below zero" if not negative else str(negative[:10]))

    bad_lines = []
    for y in years(session):
        for code, b in ledger.line_balances(session, y).items():
            paid, committed = b.total("paid"), b.total("committed") + b.total("paid")
            if not (paid <= committed <= b.allocated()):
                bad_lines.append(f"{y}:{code}")
    add("paid <= committed <= allocated", not bad_lines, "per line" if not bad_lines else str(bad_lines))

    four_eyes = session.exec(select(Payment.idempotency_key).where(
        (col(Payment.approver) == col(Payment.payer)) | (col(Payment.approver) == ""))).all()
    add("payments approved by another person", not four_eyes,
        "every payment's approver differs from its payer" if not four_eyes else str(list(four_eyes)[:10]))

    acts, breaches = duties.audit_acts(session)
    add("duties (不相容岗位相互分离)", not breaches,
        f"{acts} committed acts decided again by the duties rule" if not breaches else "; ".join(breaches))

    twice = session.exec(select(Payment.application_id, Payment.purpose, func.count())
                         .where(col(Payment.status) != "failed")
                         .group_by(col(Payment.application_id), col(Payment.purpose)).having(func.count() > 1)).all()
    add("no case paid twice", not twice,
        "at most one live payment per award and purpose" if not twice else str(twice[:10]))

    # Σ live payments of a case never exceed its award; a scheme paid in one payment pays exactly it.
    single = {sid for sid, sc in policy.schemes.items() if not sc.payment.tranches}
    mismatch = []
    for ref, scheme_, award_, paid_ in session.exec(
            select(Application.ref, Application.scheme, Application.award_fen, func.sum(Payment.amount_fen))
            .join(Payment, col(Payment.application_id) == col(Application.id))
            .where(col(Payment.status) != "failed")
            .group_by(col(Application.id), col(Application.ref), col(Application.scheme),
                      col(Application.award_fen))).all():
        if award_ is None or paid_ > award_ or (scheme_ in single and paid_ != award_):
            mismatch.append(ref)
    add("payments equal awards", not mismatch, "each payment is its award" if not mismatch else str(mismatch[:10]))

    over = []
    per_applicant: dict[tuple[str, int, int], int] = defaultdict(int)
    for scheme_, year_, applicant_, award_ in session.exec(select(
            Application.scheme, Application.year, Application.applicant_id, Application.award_fen)
            .where(col(Application.award_fen).is_not(None))).all():
        per_applicant[(scheme_, year_, applicant_)] += award_ or 0
    for (scheme, year, applicant_id), total in per_applicant.items():
        name = policy.schemes[scheme].allocation.cap if scheme in policy.schemes else None
        if name is not None:
            import datetime as dt
            cap = policy.fen(name, dt.date(year, 12, 31))
            if total > cap:
                over.append(f"applicant {applicant_id} {year}: {total} > {cap}")
    add("awards within the cap", not over, "不超额奖励: no applicant above its cap" if not over else str(over[:10]))

    # Commitments in the ledger match the awards on the cases (paired check: allocation and ledger).
    by_line: dict[tuple[int, str], int] = defaultdict(int)
    for sid, sc in policy.schemes.items():
        if not sc.pays:
            continue
        live = (*sc.states_tagged("committed"), *sc.states_tagged("paid"))
        for year_, line_, award_ in session.exec(select(Application.year, Application.line_code, Application.award_fen)
                                                 .where(Application.scheme == sid,
                                                        col(Application.status).in_(live))).all():
            by_line[(year_, line_ or "")] += award_ or 0
    # Money clawed back after a fraud finding (二(四)13) left paid for the receivable: the case's award
    # stands (it was paid), so what was clawed back is taken off the live awards.
    p_, e_, a_ = (Posting.__table__, PostingEntry.__table__, Account.__table__)  # type: ignore[attr-defined]
    for year_, name_, fen_ in session.execute(
            sa_select(p_.c.year, a_.c.name, e_.c.amount_fen).join(e_, e_.c.posting_id == p_.c.id)
            .join(a_, a_.c.id == e_.c.account_id)
            .where(p_.c.kind == "clawback", e_.c.amount_fen > 0, a_.c.name.like("line:%:receivable"))):
        by_line[(year_, name_.split(":")[1])] -= int(fen_)
    ledger_mismatch = []
    for y in years(session):
        for code, b in ledger.line_balances(session, y).items():
            booked = b.total("committed") + b.total("paid")
            if booked != by_line.get((y, code), 0):
                ledger_mismatch.append(f"{y}:{code} ledger {booked} fen, awards {by_line.get((y, code), 0)} fen")
    add("awards match the ledger", not ledger_mismatch,
        "committed + paid on each line = its live awards less what was clawed back" if not ledger_mismatch
        else "; ".join(ledger_mismatch))

    # The year dossier's reconciliation (rules/reconciliation.py): per line and source, awarded = paid +
    # withdrawn + released + clawed back + outstanding, the moves of the cases' postings against the balances.
    unreconciled = []
    for y in years(session):
        moves, _moments = ledger_moves(session, y)
        held = {(code, s): {k: b.get(s, k) for k in ("committed", "paid", "receivable")}
                for code, b in ledger.line_balances(session, y).items() for s in b.by_source}
        unreconciled += [f"{y}:{line}:{source} residual {f.residual} fen, ledger gap {f.ledger_gap} fen"
                         for (line, source), f in reconcile(moves, held).by_key.items() if not f.holds]
    add("awards reconcile with the ledger", not unreconciled,
        "awarded = paid + withdrawn + released + clawed back + outstanding on every line and source"
        if not unreconciled else "; ".join(unreconciled[:10]))

    fund = []
    for y in years(session):
        for r in evaluate_fund_rules(planned_figures(session, y), thresholds(policy, y)):
            if not r.passed:
                fund.append(f"{y} {r.rule}: shortfall {r.shortfall_fen} fen")
    add("fund rules (planned)", not fund, "三(二) rules pass for every planned year" if not fund else "; ".join(fund))

    from flows.services.agencies import invariants as agency_invariants

    for name, ok, detail in agency_invariants(session):  # the service-agency registry (二(四)10, 13)
        add(name, ok, detail)

    from flows.services.vouchers import invariants as voucher_invariants

    for name, ok, detail in voucher_invariants(session):  # custody vouchers (二(二)5)
        add(name, ok, detail)

    from flows.services.benefits import invariants as benefit_invariants

    for name, ok, detail in benefit_invariants(session, policy):  # 从优从高不重复 across schemes
        add(name, ok, detail)

    from flows.services.loans import invariants as loan_invariants

    for name, ok, detail in loan_invariants(session):  # the IP-pledge loan registry (二(三)7)
        add(name, ok, detail)

    from flows.services.pool import invariants as pool_invariants

    for name, ok, detail in pool_invariants(session):  # the risk-compensation pool (二(三)7)
        add(name, ok, detail)

    from flows.services.projects import invariants as project_invariants

    for name, ok, detail in project_invariants(session):  # funded projects (二(一)1, 二(四)12, 三(三))
        add(name, ok, detail)

    from flows.services.kpis import invariants as kpi_invariants

    for name, ok, detail in kpi_invariants(session):  # the KPI figures measured outside ipfund (一(二))
        add(name, ok, detail)

    from flows.services.links import invariants as link_invariants

    for name, ok, detail in link_invariants(session, policy):  # claims on linked records (e.g. 贴息 on a loan)
        add(name, ok, detail)

    checked, brk = audit.verify(session, from_seq=audit_from_seq)
    scope = f"{checked} events" + (f" after #{audit_from_seq}" if audit_from_seq else "")
    add("audit chain verifies", brk is None, scope if brk is None else f"entry #{brk.seq}: {brk.problem}")

    signed = checkpoints.verify(session, from_seq=audit_from_seq)  # truncation and rewriting (signed heads)
    add("audit checkpoints match", signed.ok, signed.summary())
    return {"ok": all(r["ok"] for r in results), "checks": results}
