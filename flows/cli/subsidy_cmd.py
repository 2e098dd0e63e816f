"""`ipfund subsidy claim|list`: claims on a registered IP-pledge loan (贴息, 二(三)7) — thin wrappers over `apply`
and `application list` for the scheme whose form links a loan (the policy's ``links: loan``). Neither Prefect
nor the ORM is imported until a command runs."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from flows.cli.common import AS_OPTION, JSON_OPTION, console, handled, money_table, print_json, yuan
from flows.cli.workflow_cmd import FIELD_OPTION, parse_fields

subsidy_app = typer.Typer(help="Claims on registered IP-pledge loans (二(三)7): the interest subsidy (贴息: claim), "
                               "the service-fee subsidies and the 首贷 bonus (fee), list.",
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
    _file(loan, bank, {"period_from": start, "period_to": end, "other_subsidy": other}, field, applicant,
          for_borrower, scheme, actor, "period_from")


@subsidy_app.command("fee")
@handled
def fee(loan: str = typer.Argument(..., help="The bank's loan reference"),
        bank: str = typer.Option(..., "--bank", help="The lending bank's credit code"),
        kind: str = typer.Option(..., "--kind", help="evaluation (评估费) | insurance (保证保险费) | guarantee (担保费) | "
                                                     "first_loan_bonus (首贷奖励)"),
        amount: str = typer.Option(None, "--fee", help="The fee actually paid, in yuan (not for first_loan_bonus)"),
        receipt: str = typer.Option(None, "--receipt", help="The fee's receipt (缴费凭证) reference"),
        field: list[str] = FIELD_OPTION,
        applicant: str = typer.Option(None, "--applicant", help="Credit code (admins claiming on behalf)"),
        for_borrower: bool = typer.Option(False, "--for-borrower",
                                          help="File as the lending bank's staff for the loan's borrower (代为申报)"),
        scheme: str = SCHEME_OPTION, actor: str = AS_OPTION) -> None:
    """Claim a service-fee subsidy (评估、保证保险、担保, a share of the fee paid, with its receipt) or the 首贷
    bonus of a first loan: checked at the next `flows advance`."""
    _file(loan, bank, {"kind": kind, "fee": amount, "receipt": receipt}, field, applicant, for_borrower, scheme,
          actor, "fee")


def _file(loan: str, bank: str, shorthands: dict[str, str | None], field: list[str], applicant: str | None,
          for_borrower: bool, scheme: str | None, actor: str | None, having: str) -> None:
    from flows.services import applications, links, loans
    from flows.services.context import current_policy
    from models.uow import unit_of_work

    given = parse_fields(field)
    with unit_of_work() as s:
        policy = current_policy(s)
        sid = links.scheme_linking(policy, "loan", scheme, having)
        declared = policy.scheme(sid).form.fields
        for name, value in shorthands.items():
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
    """The claims you may see (the interest subsidy's, or --scheme pledge-fee-subsidy): the loan, the period or the
    fee kind, the subsidy the intake computed, the outcome and award."""
    from flows.services import links
    from flows.services.context import current_policy
    from models.uow import read_only

    with read_only() as s:
        policy = current_policy(s)
        sid = links.scheme_linking(policy, "loan", scheme, "period_from")
        roles = policy.scheme(sid).links["loan"]
        rows = links.list_claims(s, actor, sid, year, status)
    if as_json:
        print_json(rows)
        return
    t = Table("ref", "applicant", "loan", "period or kind", "status", "computed", "outcome", "award")
    for r in rows:
        f = r["form"]
        what = (f"{f.get('period_from', '')} – {f.get('period_to', '')}" if "period_from" in f
                else f"{f.get('kind', '')} {yuan(f['fee']) if f.get('fee') else ''}".strip())
        t.add_row(r["ref"], r["applicant"], f"{f.get(roles['bank'], '')}:{f.get(roles['ref'], '')}",
                  what, r["status"], r["computed"] or "", r["outcome"] or "", yuan(r["award_fen"]))
    console.print(money_table(t, "award"))
