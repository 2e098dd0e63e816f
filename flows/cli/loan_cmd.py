"""`ipfund bank ...` and `ipfund loan ...`: the IP-pledge loan registry (知识产权质押融资, 二(三)7) — banks,
loans, extensions (展期), interest and repayment receipts, one by one or imported from CSV. No flow runs
here: neither Prefect nor the ORM is imported until a command runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from flows.cli.common import AS_OPTION, JSON_OPTION, console, handled, money_table, print_json, yuan

bank_app = typer.Typer(help="Lending banks of the IP-pledge loan registry (二(三)7): add, account, list, show, suspend.",
                       no_args_is_help=True)
loan_app = typer.Typer(help="IP-pledge loans (知识产权质押融资, 二(三)7): register, import, extend, interest, repay, "
                            "list, show.", no_args_is_help=True)


@bank_app.command("add")
@handled
def bank_add(uscc: str = typer.Argument(..., help="The bank's 统一社会信用代码"),
             name: str = typer.Option(..., "--name", help="Registered name, e.g. 中国银行烟台分行"),
             tier: str = typer.Option("standard", "--tier", help="standard | assessed (the pool's per-loan cap)"),
             actor: str = AS_OPTION) -> None:
    """Add a lending bank (admins). Its staff: `ipfund user add NAME --role bank --affiliation CODE`."""
    from flows.services import loans
    from models.uow import unit_of_work

    with unit_of_work() as s:
        b = loans.add_bank(s, actor, uscc, name, tier)
        shown = f"{b.uscc} {b.name} ({b.tier})"
    console.print(f"[green]added[/] bank {shown}", highlight=False)


def _change(uscc: str, action: str, reason: str, actor: str, tier: str | None = None) -> None:
    from flows.services import loans
    from models.uow import unit_of_work

    with unit_of_work() as s:
        b = loans.change_bank(s, actor, uscc, action, reason, tier)
        shown = f"{b.uscc} {b.name}: {b.state}, tier {b.tier}"
    console.print(f"[green]{action}[/] bank {shown}", highlight=False)


@bank_app.command("suspend")
@handled
def bank_suspend(uscc: str = typer.Argument(...), reason: str = typer.Option(..., "--reason"),
                 actor: str = AS_OPTION) -> None:
    """Suspend a bank: it registers no new loans until reinstated (receipts of its loans go on)."""
    _change(uscc, "suspend", reason, actor)


@bank_app.command("reinstate")
@handled
def bank_reinstate(uscc: str = typer.Argument(...), reason: str = typer.Option(..., "--reason"),
                   actor: str = AS_OPTION) -> None:
    """Reinstate a suspended bank."""
    _change(uscc, "reinstate", reason, actor)


@bank_app.command("tier")
@handled
def bank_tier(uscc: str = typer.Argument(...), tier: str = typer.Argument(..., help="standard | assessed"),
              reason: str = typer.Option(..., "--reason"), actor: str = AS_OPTION) -> None:
    """Change a bank's tier (e.g. assessed after its performance assessment)."""
    _change(uscc, "tier", reason, actor, tier)


@bank_app.command("account")
@handled
def bank_account(uscc: str = typer.Argument(..., help="The bank's 统一社会信用代码"),
                 bank_name: str = typer.Option(..., "--bank-name", help="开户银行"),
                 account: str = typer.Option(..., "--account", help="账号 (digits, 8–32)"),
                 reason: str = typer.Option("", "--reason"), actor: str = AS_OPTION) -> None:
    """Record the bank's own account, where its 首贷 rewards are paid (admins; audited with old and new)."""
    from flows.services import payees
    from models.uow import unit_of_work

    with unit_of_work() as s:
        b = payees.set_bank_account(s, actor, uscc, bank_name, account, reason)
        shown = f"{b.name} ({b.uscc}): {b.bank_name} {b.bank_account}"
    console.print(f"[green]recorded[/] {shown}", highlight=False)


@bank_app.command("list")
@handled
def bank_list(actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Every bank, with its state, tier and loans registered."""
    from flows.services import loans
    from models.uow import read_only

    with read_only() as s:
        rows = [loans.bank_view(s, b) for b in loans.list_banks(s)]
    if as_json:
        print_json([{k: v for k, v in r.items() if k != "events"} for r in rows])
        return
    t = Table("bank", "name", "tier", "state", "loans", "principal")
    for r in rows:
        t.add_row(r["uscc"], r["name"], r["tier"], r["state"], str(r["loans"]), yuan(r["principal_fen"]))
    console.print(money_table(t, "principal"))


@bank_app.command("show")
@handled
def bank_show(uscc: str = typer.Argument(...), actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """One bank and its events."""
    from flows.services import loans
    from models.uow import read_only

    with read_only() as s:
        r = loans.bank_view(s, loans.get_bank(s, uscc))
    if as_json:
        print_json(r)
        return
    console.print(f"{r['uscc']} {r['name']}: [bold]{r['state']}[/], tier {r['tier']}, {r['loans']} loans, "
                  f"{yuan(r['principal_fen'])}", highlight=False)
    for e in r["events"]:
        console.print(f"  {e['at'][:19]} {e['action']} {e['from'] or 'new'} → {e['to']} ({e['tier']}) by {e['actor']}"
                      + (f": {e['reason']}" if e["reason"] else ""), highlight=False, soft_wrap=True)


@loan_app.command("register")
@handled
def loan_register(
    ref: str = typer.Argument(..., help="The bank's loan reference (合同号)"),
    borrower: str = typer.Option(..., "--borrower", help="The borrower's 统一社会信用代码 (a registered applicant)"),
    principal: str = typer.Option(..., "--principal", help="Principal in yuan, e.g. 3,000,000"),
    rate: str = typer.Option(..., "--rate", help="Annual rate, exact: 3.90% or 0.039"),
    drawdown: str = typer.Option(..., "--drawdown", help="Drawdown date (放款日) YYYY-MM-DD"),
    maturity: str = typer.Option(..., "--maturity", help="Maturity date YYYY-MM-DD"),
    ip: str = typer.Option(..., "--ip", help="Pledged patents / trademarks, e.g. ZL202010123456.7;TM12345678"),
    pledge_no: str = typer.Option(..., "--pledge-no", help="国家知识产权局 pledge registration number"),
    pledge_date: str = typer.Option(..., "--pledge-date", help="Pledge registration date (on or before drawdown)"),
    bank: str = typer.Option(None, "--bank", help="The bank's credit code (a bank's staff: their own by default)"),
    ip_share: str = typer.Option("", "--ip-share", help="IP share of a combined loan (default 100%)"),
    cover_kind: str = typer.Option("", "--cover", help="insurance | guarantee (保证保险 / 政策性担保)"),
    cover_party: str = typer.Option("", "--cover-party", help="The insurer or guarantor"),
    cover_share: str = typer.Option("", "--cover-share", help="The share of the IP part it covers, e.g. 80%"),
    first_loan: str = typer.Option("", "--first-loan", help="yes | no: the bank's declaration (checked)"),
    actor: str = AS_OPTION, as_json: bool = JSON_OPTION,
) -> None:
    """Register an IP-pledge loan (a bank's staff, for their own bank). The same terms again: already registered."""
    from flows.services import loans
    from models.uow import unit_of_work

    row = {"bank": bank or "", "ref": ref, "borrower": borrower, "principal": principal, "rate": rate,
           "drawdown": drawdown, "maturity": maturity, "pledged_ip": ip, "pledge_reg_no": pledge_no,
           "pledge_reg_date": pledge_date, "ip_share": ip_share, "cover_kind": cover_kind, "cover_party": cover_party,
           "cover_share": cover_share, "first_loan": first_loan}
    with unit_of_work() as s:
        status, v = loans.register(s, actor, row)
    if as_json:
        print_json({"status": status, **v})
        return
    f = v["first_loan"]
    console.print(f"[green]{status}[/] {v['ref']} of {v['bank_name']} ({v['bank']}): {yuan(v['principal_fen'])} to "
                  f"{v['borrower_name']}; {'first loan (首贷)' if f['first'] else 'not a first loan'} — {f['basis']}",
                  highlight=False, soft_wrap=True)


@loan_app.command("extend")
@handled
def loan_extend(ref: str = typer.Argument(...), to: str = typer.Option(..., "--to", help="The new maturity"),
                bank: str = typer.Option(None, "--bank"), actor: str = AS_OPTION) -> None:
    """Record an extension (展期) of a loan's maturity (audited; extended periods earn no subsidy)."""
    from flows.services import loans
    from models.uow import unit_of_work

    with unit_of_work() as s:
        e = loans.extend(s, actor, ref, to, bank)
        shown = f"{e.from_date} → {e.to_date}"
    console.print(f"[green]extended[/] {ref.strip()}: {shown}", highlight=False)


@loan_app.command("interest")
@handled
def loan_interest(ref: str = typer.Argument(...), receipt: str = typer.Option(..., "--receipt"),
                  start: str = typer.Option(..., "--from", help="First day of the period"),
                  end: str = typer.Option(..., "--to", help="End of the period (not counted: 算头不算尾)"),
                  amount: str = typer.Option(..., "--amount", help="Interest paid, in yuan"),
                  kind: str = typer.Option("normal", "--kind", help="normal | overdue | surcharge | penalty"),
                  bank: str = typer.Option(None, "--bank"), actor: str = AS_OPTION) -> None:
    """Record an interest receipt: never above what the loan's rate allows for the period."""
    from flows.services import loans
    from models.uow import unit_of_work

    with unit_of_work() as s:
        status = loans.record_interest(s, actor, ref, receipt, start, end, amount, kind, bank)
    console.print(f"[green]{status}[/] interest receipt {receipt.strip()} of {ref.strip()}", highlight=False)


@loan_app.command("repay")
@handled
def loan_repay(ref: str = typer.Argument(...), receipt: str = typer.Option(..., "--receipt"),
               on: str = typer.Option(..., "--on", help="The day it was repaid"),
               principal: str = typer.Option(..., "--principal", help="Principal repaid, in yuan"),
               bank: str = typer.Option(None, "--bank"), actor: str = AS_OPTION) -> None:
    """Record a repayment of principal: never above what is outstanding."""
    from flows.services import loans
    from models.uow import unit_of_work

    with unit_of_work() as s:
        status = loans.record_repayment(s, actor, ref, receipt, on, principal, bank)
    console.print(f"[green]{status}[/] repayment {receipt.strip()} of {ref.strip()}", highlight=False)


@loan_app.command("import")
@handled
def loan_import(path: Path = typer.Argument(..., help="CSV UTF-8: " + ",".join(
        ("bank", "ref", "borrower", "principal", "rate", "drawdown", "maturity", "pledged_ip", "pledge_reg_no",
         "pledge_reg_date", "ip_share", "cover_kind", "cover_party", "cover_share", "first_loan"))),
        actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Import loans, one per row: every row checked first, nothing written on any problem."""
    from flows.services import loans

    counts = loans.import_loans(actor, path.read_bytes(), path.name)
    _counts(counts, as_json)


@loan_app.command("import-interest")
@handled
def loan_import_interest(path: Path = typer.Argument(..., help="CSV UTF-8: bank,loan_ref,receipt,kind,from,to,amount"),
                         actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Import receipts, one per row (kind principal: a repayment on the `to` day): nothing written on any problem."""
    from flows.services import loans

    counts = loans.import_receipts(actor, path.read_bytes(), path.name)
    _counts(counts, as_json)


def _counts(counts: dict[str, int], as_json: bool) -> None:
    if as_json:
        print_json(counts)
        return
    console.print("[green]imported[/] " + ", ".join(f"{v:,} {k}" for k, v in counts.items()), highlight=False)


@loan_app.command("list")
@handled
def loan_list(bank: str = typer.Option(None, "--bank"), borrower: str = typer.Option(None, "--borrower"),
              actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Loans (a bank's staff: their own bank's)."""
    from flows.services import loans
    from models.uow import read_only

    with read_only() as s:
        rows = loans.list_loans(s, actor, bank, borrower)
    if as_json:
        print_json(rows)
        return
    t = Table("loan", "bank", "borrower", "principal", "rate", "drawdown", "maturity", "IP share", "首贷")
    for r in rows:
        t.add_row(r["ref"], r["bank_name"], r["borrower_name"], yuan(r["principal_fen"]), r["rate"], r["drawdown"],
                  r["extended_to"] or r["maturity"], r["ip_share"], "yes" if r["first_loan"] else "")
    console.print(money_table(t, "principal"))


@loan_app.command("show")
@handled
def loan_show(ref: str = typer.Argument(...), bank: str = typer.Option(None, "--bank"), actor: str = AS_OPTION,
              as_json: bool = JSON_OPTION) -> None:
    """One loan: terms, first-loan basis, extensions, receipts, outstanding principal, interest by kind, events."""
    from flows.services import loans
    from models.uow import read_only

    with read_only() as s:
        v: dict[str, Any] = loans.show(s, actor, ref, bank)
    if as_json:
        print_json(v)
        return
    console.print(f"{v['ref']} of {v['bank_name']} ({v['bank']}) to {v['borrower_name']} ({v['borrower']}): "
                  f"{yuan(v['principal_fen'])}, outstanding {yuan(v['outstanding_fen'])}", highlight=False)
    for k, val in v["terms"].items():
        console.print(f"  {k}: {val}", highlight=False)
    console.print(f"  首贷: {v['first_loan']['first']} — {v['first_loan']['basis']}", highlight=False)
    for e in v["extensions"]:
        console.print(f"  展期 {e['from']} → {e['to']} by {e['by']}", highlight=False)
    t = Table("receipt", "kind", "from", "to", "amount")
    for r in v["receipts"]:
        t.add_row(r["receipt"], r["kind"], r["from"] or "", r["to"], yuan(r["amount_fen"]))
    console.print(money_table(t, "amount"))
