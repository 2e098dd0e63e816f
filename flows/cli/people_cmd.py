"""`ipfund user ...` and `ipfund applicant ...`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from flows.cli.common import AS_OPTION, JSON_OPTION, console, handled, print_json

user_app = typer.Typer(help="Users and their roles.", no_args_is_help=True)
applicant_app = typer.Typer(help="Applicants (enterprises, universities, institutes).", no_args_is_help=True)


@user_app.command("add")
@handled
def user_add(
    name: str = typer.Argument(...),
    role: list[str] = typer.Option(..., "--role", help="applicant|reviewer|approver|evaluator|finance|auditor|admin "
                                   "(repeat for several)"),
    display_name: str = typer.Option(None, "--display-name"),
    affiliation: str = typer.Option(None, "--affiliation", help="Organisation: an applicant's credit code, or a "
                                    "firm/bureau name"),
    actor: str = AS_OPTION,
) -> None:
    """Add a user (admins only)."""
    from flows.services import users
    from models.uow import unit_of_work

    with unit_of_work() as s:
        u = users.add_user(s, actor, name, role, display_name, affiliation)
    console.print(f"[green]added[/] user {u.name} ({u.roles})")


@user_app.command("set-password")
@handled
def user_set_password(
    name: str = typer.Argument(..., help="The user whose desk password is set."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from the first line "
                                        "of standard input (scripts), instead of prompting twice."),
    actor: str = AS_OPTION,
) -> None:
    """Set a user's password for the web desk (admins only; argon2id, the hash only is kept)."""
    import sys

    from flows.services import desk_auth
    from models.uow import unit_of_work

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)
    with unit_of_work() as s:
        desk_auth.set_password(s, actor, name, password)
    console.print(f"[green]set[/] the desk password of {name} (argon2id)", highlight=False)


@user_app.command("list")
@handled
def user_list(as_json: bool = JSON_OPTION, actor: str = AS_OPTION) -> None:
    from flows.services import users
    from models.uow import read_only

    with read_only() as s:
        rows: list[dict[str, Any]] = [{"name": u.name, "display_name": u.display_name,
                                       "roles": u.roles.split(","), "affiliation": u.affiliation}
                                      for u in users.list_users(s)]
    if as_json:
        print_json(rows)
        return
    t = Table("name", "display name", "roles", "affiliation")
    for r in rows:
        t.add_row(r["name"], r["display_name"], ",".join(r["roles"]), r["affiliation"] or "")
    console.print(t)


@applicant_app.command("import")
@handled
def applicant_import(file: Path = typer.Argument(..., exists=True, dir_okay=False), actor: str = AS_OPTION) -> None:
    """Import applicants from CSV (name,uscc,kind,district,sme,whitelist): all rows or none."""
    from flows.services import applicants
    from models.uow import unit_of_work

    with unit_of_work() as s:
        n = applicants.import_applicants(s, actor, file.read_bytes(), file.name)
    console.print(f"[green]imported[/] {n} new applicant(s) from {file}")


@applicant_app.command("bank")
@handled
def applicant_bank(applicant: str = typer.Argument(..., help="Credit code (or id) of the applicant"),
                   bank_name: str = typer.Option(..., "--bank-name", help="Bank and branch (开户银行)"),
                   account: str = typer.Option(..., "--account", help="Account number (账号)"),
                   reason: str = typer.Option(None, "--reason", help="Why the details change (kept in the audit log)"),
                   actor: str = AS_OPTION) -> None:
    """Record the payee's bank account (admins and reviewers; audited). Payments go to this account."""
    from flows.services import payees
    from models.uow import unit_of_work
    from rules.bank import mask_account

    with unit_of_work() as s:
        a = payees.set_bank(s, actor, applicant, bank_name, account, reason)
        shown = f"{a.bank_name} {mask_account(a.bank_account or '')}"
    console.print(f"[green]bank account[/] of {a.name}: {shown}")


@applicant_app.command("list")
@handled
def applicant_list(as_json: bool = JSON_OPTION, actor: str = AS_OPTION) -> None:
    from flows.services import applicants
    from models.uow import read_only

    with read_only() as s:
        rows: list[dict[str, Any]] = [{"id": a.id, "name": a.name, "uscc": a.uscc, "kind": a.kind, "district": a.district, "sme": a.sme,
                 "whitelist": a.whitelist} for a in applicants.list_applicants(s)]
    if as_json:
        print_json(rows)
        return
    t = Table("id", "name", "credit code", "kind", "district", "SME", "whitelist")
    for r in rows:
        t.add_row(str(r["id"]), r["name"], r["uscc"], r["kind"], r["district"], "yes" if r["sme"] else "",
                  "yes" if r["whitelist"] else "")
    console.print(t)
