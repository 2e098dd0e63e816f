"""`ipfund pool ...`: the risk-compensation pool (风险补偿资金池, 二(三)7) — contributions, filings of loans,
claims, their decision and provisional payment, settlement after disposal, and its status. No flow runs
here: neither Prefect nor the ORM is imported until a command runs."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from flows.cli.common import AS_OPTION, JSON_OPTION, console, done, handled, money_table, print_json, yuan

pool_app = typer.Typer(help="The IP-pledge risk-compensation pool (风险补偿资金池, 二(三)7): contribute, file, revoke, "
                            "claim, decide, pay, settle, status.", no_args_is_help=True)

BANK_OPTION: Any = typer.Option(None, "--bank", help="The bank's credit code (a bank's staff: their own by default)")
ON_OPTION: Any = typer.Option(None, "--on", help="The day (YYYY-MM-DD; default today)")


@pool_app.command("contribute")
@handled
def contribute(source: str = typer.Argument(..., help="central | municipal | district (园区) | social"),
               amount: str = typer.Option(..., "--amount", help="In yuan, e.g. 5,000,000"),
               reference: str = typer.Option(..., "--ref", help="The transfer's reference (recorded once)"),
               on: str = ON_OPTION, actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Record a fund source's contribution to the pool (finance): one ledger posting."""
    from flows.services import pool
    from models.uow import unit_of_work

    with unit_of_work() as s:
        r = pool.contribute(s, actor, source, amount, reference, on)
        data: dict[str, Any] = {"reference": r.reference, "source": r.source, "amount_fen": r.amount_fen, "on": r.received_on,
                "balance_fen": pool.balance(s)}
    done(as_json, data, f"[green]contributed[/] {yuan(data['amount_fen'])} from {data['source']} "
                         f"({data['reference']}); the pool holds {yuan(data['balance_fen'])}")


@pool_app.command("file")
@handled
def file_loan(ref: str = typer.Argument(..., help="The bank's loan reference"), bank: str = BANK_OPTION,
              on: str = ON_OPTION, actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """File a loan into the pool (within the leverage ceiling); only a loan filed before it defaults is covered."""
    from flows.services import pool
    from models.uow import unit_of_work

    with unit_of_work() as s:
        f = pool.file_loan(s, actor, ref, bank, on)
        data: dict[str, Any] = {"loan": ref.strip(), "filed_on": f.filed_on, "covered_fen": f.covered_fen}
    done(as_json, data, f"[green]filed[/] {data['loan']} on {data['filed_on']}: covers {yuan(data['covered_fen'])}")


@pool_app.command("revoke")
@handled
def revoke(ref: str = typer.Argument(...), reason: str = typer.Option(..., "--reason"), bank: str = BANK_OPTION,
           on: str = ON_OPTION, actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Revoke a loan's filing, with a reason (not while it has a claim)."""
    from flows.services import pool
    from models.uow import unit_of_work

    with unit_of_work() as s:
        r = pool.revoke(s, actor, ref, reason, bank, on)
        data: dict[str, Any] = {"loan": ref.strip(), "revoked_on": r.revoked_on, "reason": r.reason}
    done(as_json, data, f"[green]revoked[/] the filing of {data['loan']} on {data['revoked_on']}")


@pool_app.command("claim")
@handled
def claim(ref: str = typer.Argument(...), defaulted: str = typer.Option(..., "--defaulted", help="The default date"),
          bank: str = BANK_OPTION, on: str = ON_OPTION, actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Claim on a covered loan that defaulted (the bank, within the deadline in working days)."""
    from flows.services import pool
    from models.uow import unit_of_work

    with unit_of_work() as s:
        c = pool.claim(s, actor, ref, defaulted, bank, on)
        data: dict[str, Any] = {"claim": c.ref, "loan": ref.strip(), "loss_fen": c.loss_fen, "pool_due_fen": c.pool_due_fen,
                "status": c.status}
    done(as_json, data, f"[green]claimed[/] {data['claim']} on {data['loan']}: loss {yuan(data['loss_fen'])}, "
                         f"the pool's part {yuan(data['pool_due_fen'])}")


@pool_app.command("decide")
@handled
def decide(claim_ref: str = typer.Argument(..., help="The claim, e.g. RC-1-1"),
           decision: str = typer.Argument(..., help="approve | reject"),
           reason: str = typer.Option("", "--reason", help="Why (required to reject)"),
           actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Approve or reject a claim (a reviewer or approver, of another organisation than the bank)."""
    from flows.services import pool
    from models.uow import unit_of_work

    with unit_of_work() as s:
        c = pool.decide(s, actor, claim_ref, decision, reason)
        data: dict[str, Any] = {"claim": c.ref, "status": c.status}
    done(as_json, data, f"[green]{data['status']}[/] {data['claim']}")


@pool_app.command("pay")
@handled
def pay(claim_ref: str = typer.Argument(...), actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Pay an approved claim to the bank (finance; not who decided it): the provisional compensation."""
    from flows.services import pool
    from models.uow import retrying

    def run(s: Any) -> dict[str, Any]:
        c = pool.pay(s, actor, claim_ref)
        return {"claim": c.ref, "paid_fen": c.paid_fen, "bound": c.bound, "balance_fen": pool.balance(s)}

    data = retrying(run)
    done(as_json, data, f"[green]paid[/] {data['claim']}: {yuan(data['paid_fen'])} (bound by {data['bound']}); "
                         f"the pool holds {yuan(data['balance_fen'])}")


@pool_app.command("settle")
@handled
def settle(claim_ref: str = typer.Argument(...),
           recovered: str = typer.Option(..., "--recovered", help="Recovered by disposal of the pledged IP, in yuan"),
           receipt: str = typer.Option(..., "--receipt", help="The reference of the money returned"),
           actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Settle a paid claim after disposal: the recovery shared in the proportions borne; the pool's part returns."""
    from flows.services import pool
    from models.uow import unit_of_work

    with unit_of_work() as s:
        c = pool.settle(s, actor, claim_ref, recovered, receipt)
        data: dict[str, Any] = {"claim": c.ref, "recovered_fen": c.recovered_fen, "pool_recovered_fen": c.pool_recovered_fen,
                "balance_fen": pool.balance(s)}
    done(as_json, data, f"[green]settled[/] {data['claim']}: recovered {yuan(data['recovered_fen'])}, "
                         f"{yuan(data['pool_recovered_fen'])} back to the pool (holds {yuan(data['balance_fen'])})")


@pool_app.command("show")
@handled
def show(claim_ref: str = typer.Argument(...), actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """One claim: each party's part, what each bore, the computation's trace (parameters, clauses) and its events."""
    from flows.services import pool
    from models.uow import read_only

    with read_only() as s:
        c = pool.show(s, actor, claim_ref)
    if as_json:
        print_json(c)
        return
    console.print(f"{c['ref']} — {c['bank_name']} loan {c['loan']}: [bold]{c['status']}[/]; defaulted "
                  f"{c['defaulted_on']}, claimed {c['claimed_on']}; loss {c['loss']}", highlight=False, soft_wrap=True)
    console.print("  parts: " + ", ".join(f"{k} {yuan(v)}" for k, v in c["parts"].items()), highlight=False)
    if c["borne"]:
        console.print("  borne: " + ", ".join(f"{k} {yuan(v)}" for k, v in c["borne"].items()), highlight=False)
    for step in c["trace"] or []:
        where = ", ".join(x for x in (step["parameter"], step["clause"], step["in_force"] and f"since {step['in_force']}",
                                      step["reference"]) if x)
        console.print(f"  · {step['what']}: {step['value']}" + (f" ({where})" if where else ""), highlight=False,
                      soft_wrap=True)
    for e in c["events"]:
        console.print(f"  #{e['seq']} {e['at'][:19]} {e['action']} by {e['actor']}", highlight=False)


@pool_app.command("status")
@handled
def status(actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """The pool: balance, contributions, compensations, recoveries, leverage, banks and claims."""
    from flows.services import pool
    from models.uow import read_only

    with read_only() as s:
        r = pool.status(s, actor)
    if as_json:
        print_json(r)
        return
    console.print(f"pool balance {yuan(r['balance_fen'])} = contributed {yuan(r['contributed_fen'])} − compensated "
                  f"{yuan(r['compensated_fen'])} + recovered {yuan(r['recovered_fen'])}; covering "
                  f"{yuan(r['covered_fen'])} (leverage ≤ {r['leverage']}×)", highlight=False, soft_wrap=True)
    for b in r["banks"]:
        console.print(f"  {b['bank']} {b['name']} ({b['state']}): {b['detail']}"
                      + (" — 业务暂停" if b["suspended_by_threshold"] else ""), highlight=False, soft_wrap=True)
    t = Table("claim", "bank", "loan", "status", "defaulted", "loss", "paid", "bound", "recovered to pool")
    for c in r["claims"]:
        t.add_row(c["ref"], c["bank"], c["loan"], c["status"], c["defaulted_on"], yuan(c["loss_fen"]),
                  yuan(c["paid_fen"]), c["bound"] or "", yuan(c["pool_recovered_fen"]))
    console.print(money_table(t, "loss", "paid", "recovered to pool"))
