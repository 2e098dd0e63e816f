"""`ipfund kpi`: the programme's indicators against the plan's targets (一(二); 绩效考核, 三(二)).

Reads only: the cases of each scheme a KPI counts (their year, applicant, state and whether the applicant
is an SME) and the registry's public list at each year's end; rules/kpis.py counts and compares.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select as sa_select
from sqlmodel import Session

from flows.services import agencies
from flows.services.context import current_policy
from models.clock import now
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
        else:
            by_year, total = {}, None
        if year is not None:
            by_year = {y: n for y, n in by_year.items() if y == year}
        out.append(rules.evaluate(policy, kid, when, by_year, total))
    return out
