"""`ipfund subsidy claim|list`: claims on a registered IP-pledge loan (贴息, 二(三)7) — thin wrappers over `apply`
and `application list` for the scheme whose form links a loan (the policy's ``links: loan``). Neither Prefect
nor the ORM is imported until a command runs."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from flows.cli.common import AS_OPTION, JSON_OPTION, console, handled, money_table, print_json, yuan
from flows.cli.workflow_cmd import FIELD_OPTION, parse_fields

subsidy_app = typer.Typer(help="Interest-subsidy claims on registered IP-pledge loans (贴息, 二(三)7): claim, list.",
                          no_args_is_help=True)

SCHEME_OPTION: Any = typer.Option(None, "--scheme", help="The scheme (default: the one whose form links a loan)")


@subsidy_app.command("claim")
@handled
def claim(loan: str = typer.Argument(..., help="The bank's loan reference"),
          bank: str = typer.Option(..., "--bank", help="The lending bank's credit code"),
          start: str = typer.Option(None, "--from", help="First day of the interest period claimed (YYYY-MM-DD)"),
          end: str = typer.Option(None, "--to", help="Last day of the period, included (YYYY-MM-DD)"),
          other: str = typer.Option("no", "--other-subsidy", help="yes if another fiscal programme subsidises the loan"),
          field: list[str] = FIELD_OPTION,
          applicant: str = typer.Option(None, "--applicant", help="Credit code (admins claiming on behalf)"),
          for_borrower: bool = typer.Option(False, "--for-borrower",
                                            help="File as the lending bank's staff for the loan's borrower (代为申报)"),
          scheme: str = SCHEME_OPTION, actor: str = AS_OPTION) -> None:
    """Claim the interest subsidy of a loan for a past period (先付后贴): checked at the next `flows advance`.
    The borrower claims for itself, or its bank files for it with --for-borrower."""
    from flows.services import applications, links, loans
    from flows.services.context import current_policy
    from models.uow import unit_of_work

    given = parse_fields(field)
    with unit_of_work() as s:
        policy = current_policy(s)
        sid = links.scheme_linking(policy, "loan", scheme)
        declared = policy.scheme(sid).form.fields
        for name, value in (("period_from", start), ("period_to", end), ("other_subsidy", other)):
            if value is not None and name in declared:  # shorthands for the fields a claim's form usually has
                given.setdefault(name, value)
        if for_borrower:
            ref = loans.file_claim(s, actor, sid, bank, loan, given).ref
        else:
            form = links.claim_fields(policy, sid, "loan", {"bank": bank, "ref": loan}, given)
            ref = applications.apply(s, actor, sid, form, applicant).ref
    console.print(f"[green]claimed[/] {ref} ({sid}); the checks and the subsidy are computed at the next "
                  "`ipfund flows advance`", highlight=False)


@subsidy_app.command("list")
@handled
def claim_list(year: int = typer.Option(None, "--year"), status: str = typer.Option(None, "--status"),
               scheme: str = SCHEME_OPTION, actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """The claims you may see: the loan, the period, the subsidy the intake computed, the outcome and award."""
    from flows.services import links
    from flows.services.context import current_policy
    from models.uow import read_only

    with read_only() as s:
        policy = current_policy(s)
        sid = links.scheme_linking(policy, "loan", scheme)
        roles = policy.scheme(sid).links["loan"]
        rows = links.list_claims(s, actor, sid, year, status)
    if as_json:
        print_json(rows)
        return
    t = Table("ref", "applicant", "loan", "period", "status", "computed", "outcome", "award")
    for r in rows:
        f = r["form"]
        t.add_row(r["ref"], r["applicant"], f"{f.get(roles['bank'], '')}:{f.get(roles['ref'], '')}",
                  f"{f.get('period_from', '')} – {f.get('period_to', '')}", r["status"], r["computed"] or "",
                  r["outcome"] or "", yuan(r["award_fen"]))
    console.print(money_table(t, "award"))
