"""`ipfund audit verify|log`."""

from __future__ import annotations

import typer
from rich.table import Table

from flows.cli.common import JSON_OPTION, console, err_console, handled, print_json

app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@app.command("verify")
@handled
def verify(as_json: bool = JSON_OPTION) -> None:
    """Walk the chain; exit 1 naming the first entry that does not verify."""
    from flows.services import audit_log
    from models.uow import read_only

    with read_only() as s:
        r = audit_log.verify(s)
    if as_json:
        print_json(r)
    elif r["ok"]:
        console.print(f"[green]audit chain verifies[/]: {r['events']} events, head #{r['head_seq']} {r['head_hash']}")
    if not r["ok"]:
        err_console.print(f"[bold red]audit chain broken[/] at entry #{r['first_bad_seq']}: {r['problem']}")
        raise typer.Exit(1)


@app.command("log")
@handled
def log(subject: str = typer.Option(None, "--subject"), limit: int = typer.Option(None, "--limit"),
        as_json: bool = JSON_OPTION) -> None:
    from flows.services import audit_log
    from models.uow import read_only

    with read_only() as s:
        rows = audit_log.log(s, subject, limit)
    if as_json:
        print_json(rows)
        return
    t = Table("#", "at (UTC)", "actor", "action", "subject", "hash")
    for r in rows:
        t.add_row(str(r["seq"]), r["at"], r["actor"], r["action"], r["subject"], r["hash"][:16])
    console.print(t)
