"""`ipfund kpi`: the programme's indicators against the plan's targets (一(二); 绩效考核, 三(二)), and the
figures of those measured outside ipfund (`ipfund kpi import`, `ipfund kpi figures`)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from flows.cli.common import AS_OPTION, JSON_OPTION, console, handled, money_table, print_json, yuan

app = typer.Typer(help="Each KPI of the policy against the plan's targets (一(二)): its figure by year (counted by "
                       "ipfund, or imported with its source), the programme figure, each target (the city's plan, the "
                       "national floor) and the share reached; `kpi import` and `kpi figures` for the figures "
                       "measured outside ipfund.", invoke_without_command=True)


@app.callback()
@handled
def kpi(
    ctx: typer.Context,
    year: int = typer.Option(None, "--year", help="Only this year's figures beside the programme's total."),
    actor: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Each KPI of the policy: its figure by year (counted by ipfund, or imported with its source), the
    programme figure, and each target (the city's plan, the national floor) with the share reached."""
    if ctx.invoked_subcommand is not None:
        return
    from flows.services import kpis
    from models.uow import read_only

    with read_only() as s:
        rows = kpis.report(s, year)
    if as_json:
        print_json([r.as_dict() for r in rows])
        return
    render(rows)


@app.command("import")
@handled
def import_(file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                        help="CSV: kpi,year,value,unit,source,reference,as_of (UTF-8)"),
            actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Import yearly figures of KPIs measured outside ipfund, each with its source: every line checked
    first, nothing written on any error; the same figure again changes nothing, a changed one supersedes
    the year's figure (the old one is kept)."""
    from flows.services import kpis
    from models.uow import unit_of_work

    with unit_of_work() as s:
        r = kpis.import_figures(s, actor, file.read_bytes(), file.name)
    if as_json:
        print_json(r)
        return
    for e in r["added"]:
        console.print(f"added {e['kpi']} {e['year']}: {_value(e['value'], e['unit'])} ({e['source']})",
                      highlight=False, soft_wrap=True)
    for e in r["superseded"]:
        console.print(f"superseded {e['kpi']} {e['year']}: {_value(e['supersedes']['value'], e['unit'])} → "
                      f"{_value(e['value'], e['unit'])} ({e['source']})", highlight=False, soft_wrap=True)
    console.print(f"{len(r['added'])} added, {len(r['superseded'])} superseded, {r['unchanged']} unchanged",
                  highlight=False)


@app.command("figures")
@handled
def figures(actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Every imported figure with its source, reference and date, current or superseded."""
    from flows.services import kpis
    from models.uow import read_only

    with read_only() as s:
        rows = kpis.list_figures(s)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no KPI figures imported (ipfund kpi import FILE.csv)", highlight=False)
        return
    t = Table(title="KPI figures measured outside ipfund")
    for c in ("#", "KPI", "year", "value", "source", "reference", "as of", "status"):
        t.add_column(c, justify="right" if c in ("#", "value") else "left")
    for r in rows:
        status = "current" if r["current"] else f"superseded by #{r['superseded_by']}"
        t.add_row(str(r["id"]), r["kpi"], str(r["year"]), _value(r["value"], r["unit"]), r["source"],
                  r["reference"] or "—", r["as_of"], status)
    console.print(money_table(t, "value"))


def _value(v: int | None, unit: str) -> str:
    if v is None:
        return "—"
    return yuan(v) if unit == "fen" else f"{v:,}"


def render(rows: list[Any]) -> None:
    """The KPIs as one table, a row per KPI and a line per year and per target (one block per KPI when 80
    columns cannot hold it; amounts are never cut), then the pledge financing's yearly figures and the
    sources of the figures measured outside ipfund."""
    cells: list[tuple[str, str, str, str, str]] = []
    notes: list[str] = []
    for r in rows:
        d = r.as_dict()
        if r.figures is not None:
            f = r.figures
            per = "\n".join(f"{y} {f['count'][y]:,}" + (f" {f['count_growth'].get(y) or '—'}"
                                                        if y in f["count_growth"] else "") for y in f["count"])
            programme = f"{r.total:,} loans\nlatest year"
            for y in f["count"]:
                growth = f"; growth {f['amount_growth'].get(y) or '—'} / {f['count_growth'].get(y) or '—'}" \
                    if y in f["amount_growth"] else ""
                notes.append(f"{r.name} {y}: {yuan(f['amount_fen'][y])} in {f['count'][y]:,} loans{growth}; "
                             f"{f['first_loan_borrowers'][y]:,} borrowers with a first loan (首贷)")
            if f.get("pool"):
                p = f["pool"]
                notes.append(f"{r.name} — pool: leverage {p['leverage_used'] or '—'} of at most {p['leverage']}, "
                             f"loss rate {p['loss_rate'] or '—'}")
        elif r.measure == "outside":
            per = "\n".join(f"{y} {_value(n, r.unit)}" + (f" {d['growth'].get(str(y)) or '—'}"
                                                          if d["growth"] and str(y) in d["growth"] else "")
                            for y, n in r.by_year.items()) or "no figure"
            programme = "—" if r.total is None else _value(r.total, r.unit) + (
                "\nsum of the years" if r.kind == "flow" else "\nlatest year")
            sources = "; ".join(f"{m.year}: {m.source}{f', {m.reference}' if m.reference else ''} (as of {m.as_of})"
                                for m in r.manual or ())
            notes.append(f"{r.name}: measured outside ipfund — {sources or r.source + ' (no figure imported)'}")
        else:
            if r.source:
                notes.append(f"{r.name}: {r.source}")
            per = "\n".join(f"{y} {n:,}" for y, n in r.by_year.items()) or "—"
            programme = f"{r.total:,}\n" + ("cumulative" if r.kind == "flow" else "year end")
        targets, reached = [], []
        for tg, td in zip(r.targets, d["targets"], strict=True):
            if tg.met is None:
                reached.append("not measurable yet" if isinstance(tg.target, Fraction) else "no figure yet")
            elif td["share"] is None:
                reached.append("[green]met[/]" if tg.met else "[red]not met[/]")
            else:
                reached.append(f"[green]met[/] {td['share']}" if tg.met else f"{td['share']}")
            targets.append(f"{_target(tg.target)} {tg.label}{' (illustrative)' if tg.illustrative else ''}")
        cells.append((f"{r.name} {r.clause}", per, programme, "\n".join(targets), "\n".join(reached)))
    _print_table(cells)
    for n in notes:
        console.print(n, highlight=False, soft_wrap=True)
    if rows:
        console.print(f"as of {rows[0].as_of}; cases count in the state they are in now, agencies as listed on "
                      "each year's last day, loans by their drawdown year, figures measured outside ipfund as "
                      "last imported (ipfund kpi figures)", highlight=False, soft_wrap=True)


_HEADERS = ("KPI", "by year", "programme", "target", "reached")
_WHOLE = ("by year", "programme")  # figures and amounts: never wrapped


def _print_table(cells: list[tuple[str, str, str, str, str]]) -> None:
    from rich.cells import cell_len

    title = "Programme KPIs against the plan's targets (一(二))"
    widest = {h: max([cell_len(line) for c in cells for line in c[i].split("\n")] + [len(h)])
              for i, h in enumerate(_HEADERS)}
    needed = sum((widest[h] if h in _WHOLE else min(widest[h], 12)) + 3 for h in _HEADERS) + 1
    if needed <= console.width:
        t = Table(title=title)
        for h in _HEADERS:
            t.add_column(h, no_wrap=h in _WHOLE, min_width=widest[h] if h in _WHOLE else min(widest[h], 12),
                         overflow="fold", justify="right" if h == "programme" else "left")
        for c in cells:
            t.add_row(*c, end_section=True)
    else:
        t = Table(title=title, show_header=False)
        t.add_column("field")
        t.add_column("value", overflow="fold")
        for c in cells:
            for j, h in enumerate(_HEADERS):
                t.add_row(h, c[j], end_section=j == len(_HEADERS) - 1)
    console.print(t, highlight=False)


def _target(value: object) -> str:
    if isinstance(value, Fraction):
        tenths = (value * 1000 + Fraction(1, 2)).__floor__()
        return f"+{tenths // 10}.{tenths % 10} %/yr"
    return f"{value}+"
