"""`ipfund kpi`: the programme's indicators against the plan's targets (一(二); 绩效考核, 三(二))."""

from __future__ import annotations

from typing import Any

import typer

from flows.cli.common import AS_OPTION, JSON_OPTION, console, handled, print_json, yuan


@handled
def kpi(
    year: int = typer.Option(None, "--year", help="Only this year's figures beside the programme's total."),
    actor: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Each KPI of the policy: what ipfund counts by year, the programme figure, and each target (the city's
    plan, the national floor) with the share reached; KPIs measured outside ipfund are listed with their
    source."""
    from flows.services import kpis
    from models.uow import read_only

    with read_only() as s:
        rows = kpis.report(s, year)
    if as_json:
        print_json([r.as_dict() for r in rows])
        return
    render(rows)


def render(rows: list[Any]) -> None:
    """The KPIs as text blocks (readable at 80 columns)."""
    for r in rows:
        d = r.as_dict()
        console.print(f"[bold]{r.name}[/] ({r.clause}){f' — {r.name_en}' if r.name_en else ''}", highlight=False,
                      soft_wrap=True)
        if r.figures is not None:
            f = r.figures
            for y in f["count"]:
                growth = f"; growth {f['amount_growth'].get(y) or '—'} / {f['count_growth'].get(y) or '—'}" \
                    if y in f["amount_growth"] else ""
                console.print(f"  {y}: {yuan(f['amount_fen'][y])} in {f['count'][y]:,} loans{growth}; "
                              f"{f['first_loan_borrowers'][y]:,} borrowers with a first loan (首贷)", highlight=False,
                              soft_wrap=True)
            if f.get("pool"):
                p = f["pool"]
                console.print(f"  pool: leverage {p['leverage_used'] or '—'} of at most {p['leverage']}, loss rate "
                              f"{p['loss_rate'] or '—'}", highlight=False, soft_wrap=True)
        elif r.total is None:
            console.print(f"  measured outside ipfund: {r.source}", highlight=False, soft_wrap=True)
        else:
            years = " · ".join(f"{y} {n}" for y, n in r.by_year.items())
            kind = "cumulative, each counted once" if r.kind == "flow" else "at the latest year's end"
            console.print(f"  by year: {years or '—'}; programme: [bold]{r.total}[/] ({kind})", highlight=False,
                          soft_wrap=True)
        for tg, td in zip(r.targets, d["targets"], strict=True):
            reached = ("not measurable yet (two years with loans needed)" if r.figures is not None else
                       "measured outside") if tg.met is None else "[red]not met[/]" if td["share"] is None and \
                not tg.met else "[green]met[/]" if tg.met else f"{td['share']} reached"
            flag = " (illustrative)" if tg.illustrative else ""
            console.print(f"  {tg.label}: {_target(tg.target)}{flag} — {reached}", highlight=False, soft_wrap=True)
    if rows:
        console.print(f"as of {rows[0].as_of}; cases count in the state they are in now, agencies as listed on "
                      "each year's last day, loans by their drawdown year", highlight=False, soft_wrap=True)


def _target(value: object) -> str:
    from fractions import Fraction

    if isinstance(value, Fraction):
        tenths = (value * 1000 + Fraction(1, 2)).__floor__()
        return f"+{tenths // 10}.{tenths % 10} %/yr"
    return f"{value}+"
