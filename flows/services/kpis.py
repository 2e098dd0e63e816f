"""`ipfund kpi`: the programme's indicators against the plan's targets (一(二); 绩效考核, 三(二)).

The report reads only: the cases of each scheme a KPI counts (their year, applicant, state, whether the
applicant is an SME and, for a KPI with ``where``, the submitted form), the registry's public list at each
year's end, the loan registry (drawdown, principal, borrower, 首贷), the pool's totals and the current
imported figure of each year of the KPIs measured outside ipfund; rules/kpis.py counts and compares.

`ipfund kpi import` records those figures (kpi_figure, append-only): every line checked before anything
is written; the same figure again is no change; a changed one supersedes the year's current figure (the
old row stays), each with an audit event.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from flows.services import agencies, pool
from flows.services.applicants import decode_text
from flows.services.context import acting, current_policy
from flows.services.csv_input import read_header, read_rows
from models import audit
from models.clock import now, stamp
from models.kpi_figures import KpiFigure
from models.loans import PledgeLoan
from models.tables import Applicant, Application
from rules import kpis as rules
from rules.errors import ValidationFailed


def current_figures(session: Session) -> dict[str, list[KpiFigure]]:
    """KPI -> its current figures (per year the row no later row supersedes), by year."""
    rows = list(session.exec(select(KpiFigure).order_by(col(KpiFigure.id))).all())
    superseded = {r.supersedes_id for r in rows if r.supersedes_id is not None}
    out: dict[str, list[KpiFigure]] = {}
    for r in rows:
        if r.id not in superseded:
            out.setdefault(r.kpi, []).append(r)
    for v in out.values():
        v.sort(key=lambda r: r.year)
    return out


def _fact(r: KpiFigure) -> rules.Figure:
    return rules.Figure(r.year, r.value, r.unit, r.source, r.reference, r.as_of)


def report(session: Session, year: int | None = None, as_of: dt.date | None = None) -> list[rules.KpiResult]:
    """Every KPI of the policy today (or as of ``as_of``: the year dossier's year end), by year of the
    programme; ``year`` restricts the per-year figures to that year (the programme figure stays the
    programme's). Cases count in the state they are in now (a case awarded in 2021 and withdrawn after
    an objection no longer counts); the registry's list is read as it stood on each year's last day; a
    KPI measured outside ipfund reads each year's current imported figure."""
    policy = current_policy(session)
    when = as_of or now().date()
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
    manual = None
    for kid, k in policy.kpis.items():
        if k.measure == "cases":
            if k.where:  # the form is read only for the KPIs that filter on it (a project grant's type)
                facts = [rules.CaseFact(i, a, y, st, bool(sme), json.loads(d)) for i, a, y, st, sme, d in
                         session.execute(sa_select(app.c.id, app.c.applicant_id, app.c.year, app.c.status, who.c.sme,
                                                   app.c.data)
                                         .join(who, who.c.id == app.c.applicant_id)
                                         .where(app.c.scheme == k.scheme)).all()]
            else:
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
            if manual is None:
                manual = current_figures(session)
            figs = [_fact(r) for r in manual.get(kid, []) if r.year in years]
            out.append(rules.evaluate(policy, kid, when, manual=figs, year=year))
            continue
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


def import_figures(session: Session, actor: str | None, content: bytes,
                   filename: str = "kpi-figures.csv") -> dict[str, Any]:
    """Record the yearly figures of KPIs measured outside ipfund from a CSV (columns
    kpi,year,value,unit,source,reference,as_of): all lines or none. Every line is checked first (each
    problem names its line and field); then a figure equal to the year's current one (value, unit,
    source, reference, as_of) is no change, a new KPI-year is added and a changed figure supersedes the
    current one (the old row stays), each written with an audit event. Re-importing a file is a no-op."""
    user = acting(session, actor, "kpi.import")
    policy = current_policy(session)
    what = "KPI figures file"
    text = decode_text(content, filename)
    rows = read_rows(text, what)
    _header, idx = read_header(rows, what, rules.FIGURE_COLUMNS, rules.FIGURE_REQUIRED)
    today = now().date()
    problems: list[str] = []
    good: list[tuple[int, str, rules.Figure]] = []
    seen: dict[tuple[str, int], int] = {}
    for n, row in rows:
        if not any(c.strip() for c in row):
            continue
        if len(row) > len(_header) and any(c.strip() for c in row[len(_header):]):
            problems.append(f"line {n}: {len(row)} cells, the header has {len(_header)}")
            continue
        cells = {c: (row[i] if i < len(row) else "") for c, i in idx.items()}
        fig, kid, errs = rules.check_figure(policy, cells, today)
        if fig is not None and kid is not None:
            key = (kid, fig.year)
            if key in seen:
                errs = [f"kpi, year: {kid} {fig.year} is already on line {seen[key]}"]
            else:
                seen[key] = n
                good.append((n, kid, fig))
        problems += [f"line {n}: {e}" for e in errs]
    if problems:
        raise ValidationFailed(filename, problems)
    current = {(r.kpi, r.year): r for rs in current_figures(session).values() for r in rs}
    at = stamp()
    added: list[dict[str, Any]] = []
    superseded: list[dict[str, Any]] = []
    unchanged = 0
    for n, kid, f in good:
        old = current.get((kid, f.year))
        if old is not None and _fact(old) == f:
            unchanged += 1
            continue
        rec = KpiFigure(kpi=kid, year=f.year, value=f.value, unit=f.unit, source=f.source, reference=f.reference,
                        as_of=f.as_of, supersedes_id=old.id if old is not None else None, file=filename[:200],
                        line=n, actor=user.name, at=at)
        session.add(rec)
        session.flush()
        entry = {"kpi": kid, "year": f.year, "value": f.value, "unit": f.unit, "source": f.source,
                 "reference": f.reference, "as_of": f.as_of, "figure_id": rec.id, "file": filename, "line": n}
        if old is None:
            audit.append(session, actor=user.name, action="kpi.figure", subject=f"kpi:{kid}:{f.year}",
                         payload=entry, at=at)
            added.append(entry)
        else:
            entry["supersedes"] = {"figure_id": old.id, "value": old.value, "source": old.source,
                                   "reference": old.reference, "as_of": old.as_of}
            audit.append(session, actor=user.name, action="kpi.figure.supersede", subject=f"kpi:{kid}:{f.year}",
                         payload=entry, at=at)
            superseded.append(entry)
    return {"file": filename, "added": added, "superseded": superseded, "unchanged": unchanged}


def list_figures(session: Session) -> list[dict[str, Any]]:
    """Every imported figure, oldest first, with whether it is current or superseded (and by which)."""
    rows = list(session.exec(select(KpiFigure).order_by(col(KpiFigure.kpi), col(KpiFigure.year),
                                                       col(KpiFigure.id))).all())
    by = {r.supersedes_id: r.id for r in rows if r.supersedes_id is not None}
    return [{"id": r.id, "kpi": r.kpi, "year": r.year, "value": r.value, "unit": r.unit, "source": r.source,
             "reference": r.reference, "as_of": r.as_of, "supersedes": r.supersedes_id,
             "superseded_by": by.get(r.id or 0), "current": r.id not in by, "file": r.file, "line": r.line,
             "actor": r.actor, "at": r.at} for r in rows]


def invariants(session: Session) -> list[tuple[str, bool, str]]:
    """`ipfund check`: each imported figure supersedes only a figure of its own KPI and year, and each has
    its audit event (kpi.figure or kpi.figure.supersede naming its row)."""
    from models.tables import AuditEvent

    rows = {r.id or 0: r for r in session.exec(select(KpiFigure)).all()}
    strays = [r.id for r in rows.values() if r.supersedes_id is not None and (
        r.supersedes_id not in rows or (rows[r.supersedes_id].kpi, rows[r.supersedes_id].year) != (r.kpi, r.year))]
    logged = set()
    for (payload,) in session.execute(sa_select(AuditEvent.__table__.c.payload).where(  # type: ignore[attr-defined]
            AuditEvent.__table__.c.action.in_(("kpi.figure", "kpi.figure.supersede")))).all():  # type: ignore[attr-defined]
        logged.add(json.loads(payload).get("figure_id"))
    unlogged = sorted(i for i in rows if i not in logged)
    return [("KPI figures supersede their own KPI and year", not strays,
             f"{len(rows)} figures" if not strays else f"figures superseding another KPI's or year's: {strays[:10]}"),
            ("KPI figures each have an audit event", not unlogged,
             f"{len(rows)} figures" if not unlogged else f"figures without their audit event: {unlogged[:10]}")]
