"""The Typer application behind `ipfund` (built on first use by flows.cli.main). Commands that run no
flow never import Prefect or WeasyPrint."""

from __future__ import annotations

import os

import typer

from flows.cli import (
    agency_cmd,
    audit_cmd,
    budget_cmd,
    kpi_cmd,
    loan_cmd,
    people_cmd,
    policy_cmd,
    pool_cmd,
    project_cmd,
    subsidy_cmd,
    voucher_cmd,
)
from flows.cli.common import AS_OPTION, console, handled
from rules.constants import DEFAULT_POLICY_ID

app = typer.Typer(
    name="ipfund",
    help="Workflow engine for public grants, subsidies and project performance evaluation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(policy_cmd.app, name="policy")
app.add_typer(budget_cmd.app, name="budget")
app.add_typer(people_cmd.user_app, name="user")
app.add_typer(people_cmd.applicant_app, name="applicant")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(agency_cmd.agency_app, name="agency")
app.add_typer(agency_cmd.notify_app, name="notify")
app.add_typer(kpi_cmd.app, name="kpi")
app.add_typer(voucher_cmd.voucher_app, name="voucher")
app.add_typer(loan_cmd.bank_app, name="bank")
app.add_typer(loan_cmd.loan_app, name="loan")
app.add_typer(pool_cmd.pool_app, name="pool")
app.add_typer(subsidy_cmd.subsidy_app, name="subsidy")
app.add_typer(project_cmd.project_app, name="project")


@app.callback()
def _global(actor: str = typer.Option(None, "--as", help="Acting user for the command that follows (as its own "
                                                           "--as, or IPFUND_USER).")) -> None:
    """Workflow engine for public grants, subsidies and project performance evaluation."""
    if actor:
        os.environ["IPFUND_USER"] = actor  # every command reads --as from IPFUND_USER when not given


@app.command("init")
@handled
def init(
    admin: str = typer.Option(..., "--admin", help="Name of the first admin user."),
    policy: str = typer.Option(DEFAULT_POLICY_ID, "--policy", help="Policy id (rules/policies/ID.yaml) or file."),
    actor: str = AS_OPTION,
) -> None:
    """Create the schema, record the policy, and add the first admin."""
    from flows.services.setup import init as do_init
    from models.db import database_url, get_engine
    from models.uow import unit_of_work

    engine = get_engine()
    with unit_of_work(engine) as s:
        do_init(engine, s, admin, policy)
    console.print(f"[green]initialised[/] {database_url()} with policy {policy}; admin {admin}")
    from models import checkpoints

    if checkpoints.key_path().exists():
        console.print(f"  audit checkpoints are signed with {checkpoints.key_path()} and kept in "
                      f"{checkpoints.location()}", highlight=False, soft_wrap=True)
    else:
        console.print(f"  [yellow]no audit key[/] at {checkpoints.key_path()}: no signed checkpoints are written, so "
                      "truncation or rewriting of the audit log cannot be detected; create one with "
                      "`ipfund audit keygen`", highlight=False, soft_wrap=True)


@app.command("desk")
@handled
def desk(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", help="Port to listen on."),
    actor: str = typer.Option(None, "--as", envvar="IPFUND_USER", help="Accepted like every command's, and unused: "
                              "the desk acts as each user signed in at /login."),
) -> None:
    """Serve the web desk (sign-in and every role's pages: review, evaluation, approval, payments, audit,
    applicants' own, the budget and KPI screen) on the configured database (IPFUND_DATABASE_URL, else
    ./ipfund.db)."""
    from flows.desk.serve import serve

    serve(host, port)


def register_late_commands() -> None:
    """Command groups added by later modules (kept in one place so the import cost stays visible)."""
    import importlib

    for mod in ("flows.cli.workflow_cmd", "flows.cli.bench_cmd", "flows.cli.dossier_cmd"):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
            continue
        m.register(app)


register_late_commands()
