"""`ipfund round | notice | pay`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from flows.cli.common import (
    AS_OPTION,
    JSON_OPTION,
    console,
    err_console,
    fail,
    handled,
    money_table,
    print_json,
    yuan,
)

round_app = typer.Typer(help="Ranking and allocation within budget (择优、不超额).", no_args_is_help=True)
notice_app = typer.Typer(help="Public notice (公示) and objections.", no_args_is_help=True)
pay_app = typer.Typer(help="Payment batches (拨付) and bank confirmations.", no_args_is_help=True)


def render_report(r: dict[str, Any], title: str) -> None:
    t = Table(title=title)
    t.add_column("item")
    t.add_column("value", justify="right")
    t.add_row("budget line", r["line"])
    if r.get("issue_order"):
        t.add_row("issue order", str(r["issue_order"]))
    t.add_row("available on the line", yuan(r["budget_fen"]))
    for k, v in r["counts"].items():
        t.add_row(f"cases {k}", str(v))
    t.add_row("awards funded", str(r["funded"]))
    t.add_row("total awarded", yuan(r["total_fen"]))
    t.add_row("remaining budget", yuan(r["remaining_fen"]))
    t.add_row("eligible but unfunded", f"{r['eligible_unfunded']} ({yuan(r['eligible_unfunded_fen'])})")
    console.print(money_table(t, "value"))


@round_app.command("trial")
@handled
def trial(scheme: str = typer.Argument(..., help="The scheme, e.g. certification-award"),
          year: int = typer.Option(..., "--year"),
          cases: bool = typer.Option(False, "--cases", help="List every case with its outcome."),
          policy: Path = typer.Option(None, "--policy", exists=True, dir_okay=False,
                                      help="What-if: rank and allocate under this alternative policy file"),
          diff: bool = typer.Option(False, "--diff", help="With --policy: what changes, case by case"),
          actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Rank and allocate; writes nothing, prints the report (or, with --policy, the what-if)."""
    from flows.services import rounds
    from models.uow import read_only

    if diff and policy is None:
        raise typer.BadParameter("--diff compares with an alternative policy: give --policy ALT.yaml")
    alternative = None
    if policy is not None:
        from rules.policy import load_policy_file

        alternative = load_policy_file(policy)
    with read_only() as s:
        r = rounds.trial(s, actor, scheme, year, alternative)
        current = rounds.trial(s, actor, scheme, year) if diff else None
    if diff and current is not None:
        d = rounds.diff_reports(current, r)
        if as_json:
            print_json(d)
            return
        render_diff(d, scheme, year, str(policy))
        return
    if as_json:
        print_json(r)
        return
    render_report(r, f"Trial allocation {scheme} {year} (nothing written)")
    if cases:
        t = Table("rank", "ref", "score", "outcome", "award", "reason")
        for c in r["cases"]:
            t.add_row(str(c["rank"] or ""), c["ref"], c["final_score"] or "", c["outcome"], yuan(c["award_fen"]),
                      c["reason"])
        console.print(money_table(t, "award"))


def render_diff(d: dict[str, Any], scheme: str, year: int, alt: str) -> None:
    t = Table("ref", "change", "outcome (now → what-if)", "award now", "award what-if", "rank (now → what-if)",
              title=f"What-if {scheme} {year}: the current policy against {alt} (nothing written)")
    for c in d["changes"]:
        t.add_row(c["ref"], c["change"], f"{c['outcome_before']} → {c['outcome_after']}", yuan(c["award_before_fen"]),
                  yuan(c["award_after_fen"]), f"{c['rank_before'] or '-'} → {c['rank_after'] or '-'}")
    console.print(money_table(t, "award now", "award what-if"))
    console.print(f"funded {d['funded_before']} → {d['funded_after']}; total {yuan(d['total_before_fen'])} → "
                  f"{yuan(d['total_after_fen'])} ({'+' if d['difference_fen'] >= 0 else '-'}"
                  f"{yuan(abs(d['difference_fen']))})", highlight=False)


@round_app.command("open")
@handled
def open_cmd(scheme: str = typer.Argument(..., help="The scheme, e.g. custody-voucher"),
             year: int = typer.Option(..., "--year"),
             settlement_mode: str = typer.Option(None, "--settlement-mode",
                                                 help="agency (通兑: the agency is paid) or enterprise (通用: the SME "
                                                      "is reimbursed); default: the policy's value in force today"),
             actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Open the scheme's next round of the year and record its settlement mode (approvers; 二(二)5)."""
    from flows.services import rounds
    from models.uow import unit_of_work

    with unit_of_work() as s:
        o = rounds.open_round(s, actor, scheme, year, settlement_mode)
        row = {"opening_id": o.id, "scheme": o.scheme, "year": o.year, "seq": o.seq, "state": "open",
               "settlement_mode": o.settlement_mode, "mode_source": o.mode_source, "opened_by": o.opened_by,
               "opened_at": o.opened_at}
    if as_json:
        print_json(row)
        return
    console.print(f"[green]opened[/] round {row['seq']} of {scheme} {year}: settlement mode {row['settlement_mode']} "
                  f"({row['mode_source']})", highlight=False)


@round_app.command("list")
@handled
def list_cmd(scheme: str = typer.Option(None, "--scheme"), year: int = typer.Option(None, "--year"),
             actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Every round, open or finalized, with its settlement mode."""
    from flows.services import rounds
    from models.uow import read_only

    with read_only() as s:
        rows = rounds.list_rounds(s, actor, scheme, year)
    if as_json:
        print_json(rows)
        return
    t = Table("round", "scheme", "year", "seq", "state", "settlement mode", "opened", "finalized", "total")
    for r in rows:
        t.add_row(str(r["round_id"] or ""), r["scheme"], str(r["year"]), str(r["seq"]), r["state"],
                  r["settlement_mode"] or "", r["opened_at"] or "", r["finalized_at"] or "",
                  yuan(r["total_fen"]) if r["total_fen"] is not None else "")
    console.print(money_table(t, "total"))


@round_app.command("show")
@handled
def show_cmd(round_id: int = typer.Argument(..., help="The round id (see `ipfund round list`)"),
             actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """One finalized round: its terms (settlement mode) and the allocation it committed."""
    from flows.services import rounds
    from models.uow import read_only

    with read_only() as s:
        r = rounds.show_round(s, actor, round_id)
    if as_json:
        print_json(r)
        return
    console.print(f"round {r['round_id']}: {r['scheme']} {r['year']} seq {r['seq']}, finalized by {r['approver']} at "
                  f"{r['finalized_at']}; settlement mode {r['settlement_mode'] or '—'}"
                  f"{' (' + r['mode_source'] + ')' if r['mode_source'] else ''}", highlight=False)
    render_report(r["report"], f"Round {r['round_id']}")


@round_app.command("finalize")
@handled
def finalize(scheme: str = typer.Argument(..., help="The scheme, e.g. certification-award"),
             year: int = typer.Option(..., "--year"),
             allow_pending: bool = typer.Option(False, "--allow-pending"), actor: str = AS_OPTION,
             as_json: bool = JSON_OPTION) -> None:
    """Commit the allocation (approvers): awards committed on the line, funded cases into public notice."""
    from flows.services import rounds
    from models.uow import unit_of_work

    with unit_of_work() as s:
        r = rounds.finalize(s, actor, scheme, year, allow_pending=allow_pending)
    if as_json:
        print_json(r)
        return
    render_report(r, f"Finalized round {r['round_id']}: {scheme} {year}")


@notice_app.command("object")
@handled
def object_cmd(app: str = typer.Argument(...), reason: str = typer.Option(..., "--reason"),
               actor: str = AS_OPTION) -> None:
    """Object to an award in public notice: the case is on hold until an approver resolves it."""
    from flows.services import notice
    from models.uow import unit_of_work

    with unit_of_work() as s:
        notice.object_to(s, actor, app, reason)
    console.print(f"[yellow]on hold[/] {app.upper()} until an approver resolves the objection")


@notice_app.command("resolve")
@handled
def resolve(app: str = typer.Argument(...), uphold: bool = typer.Option(False, "--uphold"),
            dismiss: bool = typer.Option(False, "--dismiss"), reason: str = typer.Option(..., "--reason"),
            actor: str = AS_OPTION) -> None:
    """Uphold (award withdrawn, commitment released) or dismiss (back in notice)."""
    if uphold == dismiss:
        raise typer.BadParameter("give exactly one of --uphold, --dismiss")
    from flows.services import notice
    from models.uow import unit_of_work

    with unit_of_work() as s:
        a = notice.resolve(s, actor, app, uphold, reason)
    console.print(f"[green]resolved[/] {a.ref}: now {a.status}")


def _warn_unwritten(scheme: str | None) -> None:
    from flows.services import payments
    from models.uow import read_only

    with read_only() as s:
        missing = [(b.id, b.count, b.total_fen, b.at) for b in payments.unwritten_batches(s, scheme)]
    for batch_id, count, total, at in missing:
        err_console.print(f"[yellow]warning:[/] payment batch {batch_id} ({count} payment(s), {yuan(total)}) was "
                          f"committed at {at} but its bank file was never written; write it with "
                          f"`ipfund pay file {batch_id} --out DIR`", highlight=False)


def _write_batch(batch_id: int, path: Path, content: bytes, actor: str, copy: bool) -> None:
    from flows.services import payments
    from flows.services.advance import write_file_atomically
    from models import faults
    from models.uow import unit_of_work

    write_file_atomically(path, content)
    faults.point("pay.after_payment_file")
    with unit_of_work() as s:
        payments.record_file(s, actor, batch_id, str(path), copy=copy)


@pay_app.command("list")
@handled
def pay_list(scheme: str = typer.Option(..., "--scheme"), actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """The scheme's cases waiting to be paid: amount due, payee, and whether its bank account is on file."""
    from flows.services import payment_read
    from models.uow import read_only

    with read_only() as s:
        rows = payment_read.payable(s, actor, scheme)
    if as_json:
        print_json(rows)
        return
    t = Table("case", "applicant", "state", "purpose", "amount", "payee", "bank account")
    for r in rows:
        t.add_row(r["ref"], r["applicant"], r["status"], r["purpose"], yuan(r["amount_fen"]),
                  f"{r['payee']} ({r['payee_uscc']})", "on file" if r["bank_account_on_file"] else "MISSING")
    console.print(money_table(t, "amount"))
    console.print(f"{len(rows)} case(s), {yuan(sum(r['amount_fen'] for r in rows))}")


@pay_app.command("batches")
@handled
def pay_batches(scheme: str = typer.Option(None, "--scheme"), actor: str = AS_OPTION,
                as_json: bool = JSON_OPTION) -> None:
    """The latest payment batches: count, total, bank file written, and the bank's acknowledgements."""
    from flows.services import payment_read
    from models.uow import read_only

    with read_only() as s:
        rows = payment_read.batches(s, actor, scheme)
    if as_json:
        print_json(rows)
        return
    t = Table("batch", "scheme", "issued", "by", "payments", "total", "file", "paid", "failed", "pending")
    for r in rows:
        t.add_row(str(r["id"]), r["scheme"], r["at"], r["created_by"], str(r["count"]), yuan(r["total_fen"]),
                  "written" if r["file_written"] else "NOT WRITTEN", str(r["paid"]), str(r["failed"]),
                  str(r["pending"]))
    console.print(money_table(t, "total"))


@pay_app.command("release")
@handled
def release(refs: list[str] = typer.Argument(None, help="Cases to release (default: every payable case)"),
            scheme: str = typer.Option(..., "--scheme"), actor: str = AS_OPTION) -> None:
    """Release payable cases for payment (finance officers); the advance flow's payment stage pays them."""
    from flows.services import payments
    from models.uow import unit_of_work

    with unit_of_work() as s:
        r = payments.release(s, actor, scheme, refs or None)
    console.print(f"[green]released[/] {len(r.released)} case(s) for payment by the next advance run"
                  + (f": {', '.join(r.released[:10])}{' ...' if len(r.released) > 10 else ''}" if r.released else ""))
    for ref, why in r.held:
        err_console.print(f"[yellow]held[/] {ref}: {why}", highlight=False)


@pay_app.command("batch")
@handled
def batch(scheme: str = typer.Option(..., "--scheme"),
          out: Path = typer.Option(Path("payments"), "--out", help="Directory for the bank file"),
          actor: str = AS_OPTION) -> None:
    """Release and pay every payable case now (finance officers) and write the bank file; never pays
    anything twice, and a run with nothing payable writes no file."""
    from flows.services import payments
    from models import faults
    from models.uow import unit_of_work

    with unit_of_work() as s:
        r = payments.batch(s, actor, scheme)
    faults.point("pay.after_commit")
    for ref, why in r.held:
        err_console.print(f"[yellow]held[/] {ref}: {why}", highlight=False)
    if r.batch is None or r.batch.id is None:
        console.print("nothing payable: no new payments, no file written")
        _warn_unwritten(scheme)
        return
    path = out / r.batch.file_name
    _write_batch(r.batch.id, path, r.file_content, r.batch.created_by, copy=False)
    console.print(f"[green]batch {r.batch.id}[/]: {r.batch.count} payment(s), {yuan(r.batch.total_fen)} → {path}")
    _warn_unwritten(scheme)


@pay_app.command("file")
@handled
def batch_file(batch_id: int = typer.Argument(...),
               out: str = typer.Option(..., "--out", help="File to write (or a directory, ending in /, for the "
                                                          "batch's own file name)"),
               actor: str = AS_OPTION) -> None:
    """Write the bank file of a batch already issued, from the database (identical bytes), saying so."""
    from flows.services import payments
    from flows.services.context import acting
    from models.uow import read_only

    with read_only() as s:
        user = acting(s, actor, "pay.batch")
        b, content = payments.batch_file(s, batch_id)
        first = b.file_written_at is None
        s.expunge_all()  # keep the values read (the read-only session rolls back on close)
    path = Path(out) / b.file_name if Path(out).is_dir() or out.endswith("/") else Path(out)
    if path.exists() and path.read_bytes() != content:
        fail(f"{path} exists and is not batch {batch_id}'s file; nothing written (choose another --out)")
    assert b.id is not None
    _write_batch(b.id, path, content, user.name, copy=not first)
    if first:
        console.print(f"[green]wrote[/] the bank file of batch {b.id}, which was never written ({b.count} payment(s), "
                      f"{yuan(b.total_fen)}) → {path}")
    else:
        err_console.print(f"[yellow]copy[/]: this is a copy of payment batch {b.id}, already issued at {b.at} by "
                          f"{b.created_by} ({b.count} payment(s), {yuan(b.total_fen)}); do not send it to the bank "
                          "again unless the bank confirms it never received the original", highlight=False)
        console.print(f"[green]wrote[/] copy of batch {b.id} → {path}")


@pay_app.command("confirm")
@handled
def confirm(file: Path = typer.Argument(..., exists=True, dir_okay=False), actor: str = AS_OPTION,
            as_json: bool = JSON_OPTION) -> None:
    """Import the bank's acknowledgements (idempotency_key,status,bank_ref,reason,amount_fen,payee,bank_account)."""
    from flows.services import payments
    from models import faults
    from models.uow import unit_of_work

    with unit_of_work() as s:
        counts = payments.confirm(s, actor, file.read_bytes(), file.name)
    faults.point("pay.after_confirm_import")
    if as_json:
        print_json(counts)
        return
    console.print(f"[green]confirmed[/]: {counts['paid']} paid, {counts['failed']} failed, "
                  f"{counts['unchanged']} already recorded")


def register(app: typer.Typer) -> None:
    app.add_typer(round_app, name="round")
    app.add_typer(notice_app, name="notice")
    app.add_typer(pay_app, name="pay")
