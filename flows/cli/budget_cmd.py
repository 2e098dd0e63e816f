"""`ipfund budget plan|adjust|status`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from flows.cli.common import AS_OPTION, JSON_OPTION, console, handled, money_table, print_json, yuan

app = typer.Typer(help="Budget plans, adjustments and the 三(二) fund rules.", no_args_is_help=True)


@app.command("plan")
@handled
def plan(file: Path = typer.Argument(..., exists=True, dir_okay=False), actor: str = AS_OPTION) -> None:
    """Load a year's budget plan (TOML): the whole plan or nothing."""
    from flows.services import budget
    from models.uow import unit_of_work

    raw = budget.read_plan_toml(file.read_bytes(), str(file))
    with unit_of_work() as s:
        p = budget.load_plan(s, actor, raw, str(file))
    console.print(f"[green]loaded[/] plan {p.year}: {len(p.receipts)} receipt(s), {len(p.lines)} line(s); "
                  "all 三(二) fund rules pass")


@app.command("adjust")
@handled
def adjust(
    line: str = typer.Option(..., "--line", help="Budget line code."),
    source: str = typer.Option(..., "--source", help="central | municipal | district | social"),
    delta_yuan: str = typer.Option(..., "--delta-yuan", help="Signed amount in yuan, e.g. 500000.00 or -250000"),
    reason: str = typer.Option(..., "--reason"),
    year: int = typer.Option(..., "--year"),
    actor: str = AS_OPTION,
) -> None:
    """Allocate more to a line from a source (+) or give unspent money back (-); fund rules re-checked."""
    from flows.services import budget
    from models.uow import unit_of_work

    with unit_of_work() as s:
        adj = budget.adjust_line(s, actor, year, line, source, delta_yuan, reason)
    console.print(f"[green]adjusted[/] {line} {source} by {yuan(adj.delta_fen)} (approved by {adj.approved_by})")


@app.command("status")
@handled
def status(year: int = typer.Option(None, "--year"), as_json: bool = JSON_OPTION, actor: str = AS_OPTION) -> None:
    """Per rule: planned and actual (paid) figures, ratio, threshold, pass/fail and shortfall."""
    from flows.services import budget
    from models.uow import read_only

    with read_only() as s:
        st = budget.status(s, year)
    if as_json:
        print_json(st)
        return
    render_status(st)


def _mark(ok: bool) -> str:
    return "[green]√ pass[/]" if ok else "[red]× fail[/]"


def render_status(st: dict[str, Any]) -> None:
    t = Table(title=f"Fund rules 三(二), fiscal year {st['year']} — base: central funds received; "
                    "actual = paid to date")
    for c in ("rule", "basis", "figure", "ratio", "threshold", "result", "shortfall"):
        t.add_column(c, justify="right" if c in ("figure", "shortfall") else "left")
    for r in st["rules"]:
        for basis in ("planned", "actual"):
            v = r[basis]
            t.add_row(f"{r['title']} {r['clause']}" if basis == "planned" else "", basis, yuan(v["value_fen"]),
                      str(v["ratio"]), v["threshold"], _mark(v["passed"]), yuan(v["shortfall_fen"]))
    console.print(money_table(t, "figure", "shortfall"))
    lt = Table(title="Budget lines")
    # receivable: clawed back after a fraud finding (二(四)13) and not yet recovered — allocated, not paid (三(二))
    money = ("allocated", "committed", "paid", "receivable", "available")
    for c in ("code", "tags", "scheme", *money):
        lt.add_column(c, justify="right" if c in money else "left")
    for ln in st["lines"]:
        lt.add_row(ln["code"], ",".join(ln["tags"]), ln["scheme"] or "", yuan(ln["allocated_fen"]),
                   yuan(ln["committed_fen"]), yuan(ln["paid_fen"]), yuan(ln["receivable_fen"]),
                   yuan(ln["available_fen"]))
    console.print(money_table(lt, *money))
    stbl = Table(title="Fund sources")
    for c in ("source", "received", "unallocated", "allocated", "committed", "paid", "receivable"):
        stbl.add_column(c, justify="left" if c == "source" else "right")
    for src, v in st["sources"].items():
        stbl.add_row(src, yuan(v["received"]), yuan(v["unallocated"]), yuan(v["allocated"]), yuan(v["committed"]),
                     yuan(v["paid"]), yuan(v["receivable"]))
    console.print(money_table(stbl, "received", "unallocated", "allocated", "committed", "paid", "receivable"))
