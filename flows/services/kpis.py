"""`ipfund kpi`: the programme's indicators against the plan's targets (一(二); 绩效考核, 三(二)).

Reads only: the cases of each scheme a KPI counts (their year, applicant, state and whether the applicant
is an SME), the registry's public list at each year's end, the loan registry (drawdown, principal,
borrower, 首贷) and the pool's totals; rules/kpis.py counts and compares.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select as sa_select
from sqlmodel import Session

from flows.services import agencies, pool
from flows.services.context import current_policy
from models.clock import now
from models.loans import PledgeLoan
from models.tables import Applicant, Application
from rules import kpis as rules
from rules.errors import ValidationFailed


def report(session: Session, year: int | None = None) -> list[rules.KpiResult]:
    """Every KPI of the policy today, by year of the programme; ``year`` restricts the per-year figures to
    that year (the programme figure stays the programme's). Cases count in the state they are in now (a
    case awarded in 2021 and withdrawn after an objection no longer counts); the registry's list is read
    as it stood on each year's last day."""
    policy = current_policy(session)
    when = now().date()
    years = rules.period_years(policy, when)
    if year is not None:
        if year not in range(policy.valid_from.year, (policy.valid_to or when).year + 1):
            raise ValidationFailed("kpi", [f"--year: {year} is not a year of policy {policy.id} "
                                           f"({policy.valid_from.year}–{(policy.valid_to or when).year})"])
        if year > when.year:
            raise ValidationFailed("kpi", [f"--year: {year} has not begun (as of {when})"])
    app = Application.__table__  # type: ignore[attr-defined]
    who = Applicant.__table__  # type: ignore[attr-defined]
    out = []
    for kid, k in policy.kpis.items():
        if k.measure == "cases":
            facts = [rules.CaseFact(i, a, y, st, bool(sme)) for i, a, y, st, sme in session.execute(
                sa_select(app.c.id, app.c.applicant_id, app.c.year, app.c.status, who.c.sme)
                .join(who, who.c.id == app.c.applicant_id).where(app.c.scheme == k.scheme)).all()]
            by_year, total = rules.count_cases(policy, k, facts, years)
        elif k.measure == "accredited_agencies":
            by_year = {y: len(agencies.accredited_on(session, min(dt.date(y, 12, 31), when))) for y in years}
            total = by_year[years[-1]] if years else 0
        elif k.measure == "pledge_loans":
            loan = PledgeLoan.__table__  # type: ignore[attr-defined]
            facts_l = [rules.LoanFact(int(d[:4]), p, b, bool(f)) for d, p, b, f in session.execute(
                sa_select(loan.c.drawdown, loan.c.principal_fen, loan.c.borrower_id, loan.c.first_loan)).all()]
            series = rules.pledge_series(facts_l, years)
            figures = pool.ratios(session) if pool.declared(policy) else None
            out.append(rules.evaluate(policy, kid, when, pledge=_only(series, year), pool=figures))
            continue
        else:
            by_year, total = {}, None
        if year is not None:
            by_year = {y: n for y, n in by_year.items() if y == year}
        out.append(rules.evaluate(policy, kid, when, by_year, total))
    return out


def _only(series: rules.PledgeSeries, year: int | None) -> rules.PledgeSeries:
    """The series, or (``--year``) only that year's figures — the target is then judged on that year against
    the year before."""
    if year is None:
        return series
    keep = {year - 1, year}
    return rules.PledgeSeries(*({y: v for y, v in d.items() if y in keep}  # type: ignore[arg-type]
                                for d in (series.amount_fen, series.count, series.first_loan_borrowers,
                                          series.amount_growth, series.count_growth)))
