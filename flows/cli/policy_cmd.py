"""`ipfund policy show|check`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.table import Table

from flows.cli.common import AS_OPTION, JSON_OPTION, console, handled, print_json
from rules.constants import DEFAULT_POLICY_ID

app = typer.Typer(help="Policy parameters: every ratio, cap and threshold with its clause.", no_args_is_help=True)


@app.command("show")
@handled
def show(
    policy: str = typer.Option(None, "--policy", help="Policy id or file (default: the database's, else yantai-2020)."),
    as_of: str = typer.Option(None, "--as-of", help="Show the value in force on this date (YYYY-MM-DD)."),
    as_json: bool = JSON_OPTION,
    actor: str = AS_OPTION,
) -> None:
    """Print the parameters with unit, clause, dated values and whether they are illustrative."""
    from rules.policy import load_policy, parameter_rows

    if policy is None:
        policy = _db_policy_id()
    p = load_policy(policy)
    when = dt.date.fromisoformat(as_of) if as_of else None
    rows = parameter_rows(p, when)
    if as_json:
        print_json({"id": p.id, "title": p.title, "document": p.document, "issued": p.issued.isoformat(),
                    "parameters": rows, "schemes": sorted(p.schemes)})
        return
    console.print(f"[bold]{p.title}[/] ({p.document}, issued {p.issued}) — policy id [cyan]{p.id}[/]")
    t = Table("parameter", "value(s) by effective date", "unit", "clause", "illustrative")
    for r in rows:
        values = "; ".join(f"{d}: {v}" for d, v in r["values"].items())
        t.add_row(r["name"], values if len(values) < 90 else values[:87] + "...", r["unit"], r["clause"],
                  "yes" if r["illustrative"] else "")
    console.print(t)
    console.print("Illustrative values are defaults the policy text does not give; confirm them before use.")


@app.command("check")
@handled
def check(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Policy YAML file to validate."),
          actor: str = AS_OPTION) -> None:
    """Validate a policy file; every problem is listed with its key path."""
    from rules.policy import load_policy_file

    p = load_policy_file(file)
    console.print(f"[green]ok[/] {file}: policy {p.id} with {len(p.parameters)} parameters and "
                  f"{len(p.schemes)} scheme(s)", soft_wrap=True, highlight=False)


def _db_policy_id() -> str:
    try:
        from flows.services.context import setting
        from models.uow import read_only
        with read_only() as s:
            return setting(s, "policy_id", DEFAULT_POLICY_ID) or DEFAULT_POLICY_ID
    except Exception:
        return DEFAULT_POLICY_ID
