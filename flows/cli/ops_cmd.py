"""`ipfund flows | check | demo`."""

from __future__ import annotations

import typer
from rich.table import Table

from flows.cli.common import AS_OPTION, JSON_OPTION, console, err_console, handled, print_json

flows_app = typer.Typer(help="Run and serve the Prefect flows.", no_args_is_help=True)


@flows_app.command("advance")
@handled
def advance(scheme: str = typer.Option(None, "--scheme", help="One scheme (default: every scheme the policy runs)"),
            chunk: int = typer.Option(1000, "--chunk", help="Cases per task run"),
            out_dir: str = typer.Option("payments", "--out-dir", help="Directory for bank files of released payments"),
            actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Run the `advance` flow once (admins): every system stage with work, the payments finance officers
    released, then the invariant check."""
    from flows.services.context import acting, current_policy
    from models.uow import read_only

    with read_only() as s:  # refused before Prefect starts: no flow runs on nobody's authority
        acting(s, actor, "flow.advance")
        if scheme:
            current_policy(s).scheme(scheme)  # nor for a scheme the policy does not have
    from flows.prefect_flows import advance_flow, quiet_refusals

    with quiet_refusals():  # a refusal inside the flow is printed once, by @handled, without tracebacks
        totals = advance_flow(scheme=scheme, chunk=chunk, out_dir=out_dir)
    if as_json:
        print_json(totals)
        return
    per_scheme = totals.get("schemes", {scheme: totals})
    for sid, t in per_scheme.items():
        moved = ", ".join(f"{k} {v}" for k, v in t.items() if k not in ("check", "payment", "events") and v)
        console.print(f"advance {sid}: {moved or 'nothing to do'}", highlight=False)
        for path in (t.get("payment") or {}).get("files", []):
            console.print(f"payment: released payments paid → {path}")


@flows_app.command("serve")
@handled
def serve(scheme: str = typer.Option(None, "--scheme", help="One scheme (default: every scheme)"),
          interval: int = typer.Option(300, "--interval", help="Seconds between scheduled runs"),
          out_dir: str = typer.Option("payments", "--out-dir"), actor: str = AS_OPTION) -> None:
    """Serve the advance flow as a deployment with an interval schedule (admins; Ctrl-C to stop). Its
    payment stage pays only what finance officers have released."""
    from flows.services.context import acting
    from models.uow import read_only

    with read_only() as s:
        acting(s, actor, "flow.advance")
    from flows.prefect_flows import advance_flow

    advance_flow.serve(name=f"advance-{scheme or 'all'}", interval=interval,
                       parameters={"scheme": scheme, "out_dir": out_dir})


@handled
def check(as_json: bool = JSON_OPTION, actor: str = AS_OPTION) -> None:
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
         seed: int = typer.Option(2021, "--seed"), actor: str = AS_OPTION) -> None:
    """Every scheme built so far on the embedded database, end to end, narrated."""
    from flows.demo import run_demo

    run_demo(n_applicants=applicants, n_applications=applications, seed=seed)


def register(app: typer.Typer) -> None:
    app.add_typer(flows_app, name="flows")
    app.command("check")(check)
    app.command("demo")(demo)
