"""`ipfund flows | check | demo`."""

from __future__ import annotations

import typer
from rich.table import Table

from flows.cli.common import JSON_OPTION, console, err_console, handled, print_json

flows_app = typer.Typer(help="Run and serve the Prefect flows.", no_args_is_help=True)


@flows_app.command("advance")
@handled
def advance(scheme: str = typer.Option("certification-award", "--scheme"),
            payer: str = typer.Option(None, "--payer", help="Finance user: also batch payable cases"),
            chunk: int = typer.Option(1000, "--chunk", help="Cases per task run"),
            out_dir: str = typer.Option("payments", "--out-dir"),
            as_json: bool = JSON_OPTION) -> None:
    """Run the `advance` flow once: every stage with work, then the invariant check."""
    from flows.prefect_flows import advance_flow

    totals = advance_flow(scheme=scheme, chunk=chunk, payer=payer, out_dir=out_dir)
    if as_json:
        print_json(totals)
        return
    console.print("advance: " + ", ".join(f"{k} {v}" for k, v in totals.items() if k not in ("check", "payment")))
    if totals.get("payment"):
        console.print(f"payment: {totals['payment']}")


@flows_app.command("serve")
def serve(scheme: str = typer.Option("certification-award", "--scheme"),
          interval: int = typer.Option(300, "--interval", help="Seconds between scheduled runs"),
          payer: str = typer.Option(None, "--payer")) -> None:
    """Serve the advance flow as a deployment with an interval schedule (Ctrl-C to stop)."""
    from flows.prefect_flows import advance_flow

    advance_flow.serve(name=f"advance-{scheme}", interval=interval,
                       parameters={"scheme": scheme, "payer": payer})


@handled
def check(as_json: bool = JSON_OPTION) -> None:
    """Check every invariant: ledger, balances, four eyes, caps, fund rules, audit chain."""
    from flows.services.advance import run_check

    r = run_check()
    if as_json:
        print_json(r)
    else:
        t = Table("check", "result", "detail")
        for c in r["checks"]:
            t.add_row(c["check"], "[green]√ ok[/]" if c["ok"] else "[red]× FAIL[/]", c["detail"])
        console.print(t)
    if not r["ok"]:
        err_console.print("[bold red]invariant check failed[/]")
        raise typer.Exit(1)


@handled
def demo(applicants: int = typer.Option(300, "--applicants"), applications: int = typer.Option(120, "--applications"),
         seed: int = typer.Option(2021, "--seed")) -> None:
    """A full certification-award round on the embedded database, end to end, narrated."""
    from flows.demo import run_demo

    run_demo(n_applicants=applicants, n_applications=applications, seed=seed)


def register(app: typer.Typer) -> None:
    app.add_typer(flows_app, name="flows")
    app.command("check")(check)
    app.command("demo")(demo)
