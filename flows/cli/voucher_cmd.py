"""`ipfund voucher ...`: custody service vouchers (托管服务券, 二(二)5) — contract, redeem, confirm, dispute,
list and show. Vouchers are applied for with `ipfund apply custody-voucher -f service=S`, issued by
`ipfund round finalize custody-voucher --year Y`, lapse in `ipfund flows advance` and settle with
`ipfund pay batch --scheme custody-voucher`. No flow runs here: neither Prefect nor the ORM is imported
until a command runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from flows.cli.common import AS_OPTION, JSON_OPTION, console, fail, handled, money_table, print_json, yuan

voucher_app = typer.Typer(help="Custody service vouchers (托管服务券, 二(二)5): contract, redeem, confirm, dispute, "
                               "resolve.",
                          no_args_is_help=True)


FILE_OPTION = typer.Option(None, "--file", help="A bulk CSV file instead of one voucher (all lines or none)")


def _bulk(kind: str, path: Path, actor: str | None, as_json: bool, run: Any) -> None:
    """Run one bulk file in one unit of work and say what it did."""
    from models.uow import unit_of_work

    if not path.is_file():
        fail(f"--file {str(path)!r}: no such file")
    with unit_of_work() as s:
        result = run(s, actor, path.read_bytes(), path.name)
    if as_json:
        print_json(result.as_json())
        return
    console.print(f"[green]{kind}[/] {result.vouchers:,} voucher(s) from {result.file}", highlight=False)


def _single(ref: str | None, file: Path | None, **needed: Any) -> str:
    """The voucher of a single act; refused when --file is mixed with single-act arguments or one is missing."""
    if file is not None:
        given = [f"--{k}" if k != "ref" else "REF" for k, v in {"ref": ref, **needed}.items() if v]
        if given:
            fail(f"--file acts on every line of the file; leave out {', '.join(given)}")
        return ""
    missing = [f"--{k}" if k != "ref" else "REF" for k, v in {"ref": ref, **needed}.items() if not v]
    if missing:
        fail(f"give {', '.join(missing)} (or --file for a bulk file)")
    return str(ref)


@voucher_app.command("contract")
@handled
def voucher_contract(
    ref: str = typer.Argument(None, help="The voucher, e.g. CV-2021-00001"),
    agency: str = typer.Option(None, "--agency", help="The accredited agency's 统一社会信用代码"),
    amount: str = typer.Option(None, "--amount", help="The contract amount in yuan, e.g. 8000 or 8,000.00"),
    file: Path = FILE_OPTION, actor: str = AS_OPTION, as_json: bool = JSON_OPTION,
) -> None:
    """The SME contracts the voucher's service with an accredited agency (by the use-by date). With
    --file CSV (voucher,agency,amount_yuan): the SME's contracts of its own vouchers, every line checked
    as one contract, all or none."""
    from flows.services import voucher_bulk, vouchers
    from models.uow import unit_of_work

    key = _single(ref, file, agency=agency, amount=amount)
    if file is not None:
        _bulk("contracted", file, actor, as_json, voucher_bulk.contract_file)
        return
    with unit_of_work() as s:
        c = vouchers.contract(s, actor, key, agency, amount)
        shown = f"contract {c.id}: {yuan(c.contract_fen)}, the voucher covers {yuan(c.cover_fen)}"
    console.print(f"[green]contracted[/] {key.strip().upper()} — {shown}", highlight=False)


def _evidence(specs: list[str]) -> list[tuple[str, str, bytes]]:
    out = []
    for spec in specs:
        kind, eq, path = spec.partition("=")
        if not eq or not kind.strip() or not path.strip():
            fail(f"--evidence {spec!r}: write KIND=FILE, e.g. contract=合同.pdf")
        p = Path(path.strip())
        if not p.is_file():
            fail(f"--evidence {spec!r}: no such file {str(p)!r}")
        out.append((kind.strip(), p.name, p.read_bytes()))
    return out


def evidence_opener(base: Path) -> Any:
    """Reads the evidence files a manifest names, relative to the manifest's folder and never outside it
    (an absolute path or ``..`` is refused, naming the cell)."""
    from rules.errors import ValidationFailed

    root = base.resolve()

    def open_evidence(cell: str) -> tuple[str, bytes]:
        rel = Path(cell)
        if rel.is_absolute() or ".." in rel.parts:
            raise ValidationFailed(cell, [f"evidence {cell!r}: give a path inside the manifest's folder (no absolute "
                                          "path, no ..)"])
        p = (root / rel).resolve()
        if root not in p.parents or not p.is_file():
            raise ValidationFailed(cell, [f"evidence {cell!r}: no such file next to the manifest"])
        return p.name, p.read_bytes()

    return open_evidence


@voucher_app.command("redeem")
@handled
def voucher_redeem(
    ref: str = typer.Argument(None),
    evidence: list[str] = typer.Option(None, "--evidence", help="KIND=FILE: contract, receipt (the SME's payment "
                                       "of its share), deliverable; in a 通用 round (settlement mode enterprise) also "
                                       "invoice (the agency's, for the full contract amount); repeat for each file"),
    amount: str = typer.Option(None, "--amount", help="The amount redeemed in yuan (the voucher's cover by default)"),
    file: Path = typer.Option(None, "--file", help="A redemption manifest (voucher,amount_yuan,contract,receipt,"
                              "deliverable; evidence paths relative to it), all lines or none"),
    actor: str = AS_OPTION, as_json: bool = JSON_OPTION,
) -> None:
    """The agency's staff redeem a contracted voucher with its evidence (by the redeem-by date, once). With
    --file MANIFEST: the agency's redemptions, every line checked as one redemption, all or none."""
    from flows.services import voucher_bulk, vouchers
    from models.uow import unit_of_work

    key = _single(ref, file, evidence=evidence)
    if file is not None:
        if amount:
            fail("--file gives each line's amount (amount_yuan); leave out --amount")
        opener = evidence_opener(file.parent)
        _bulk("redeemed", file, actor, as_json,
              lambda s, a, content, name: voucher_bulk.redeem_file(s, a, content, opener, name))
        return
    files = _evidence(evidence)
    with unit_of_work() as s:
        r = vouchers.redeem(s, actor, key, files, amount)
        shown = f"redemption {r.id}: {yuan(r.amount_fen)} with {len(files)} evidence file(s)"
    console.print(f"[green]redeemed[/] {key.strip().upper()} — {shown}; the SME confirms or disputes it",
                  highlight=False)


@voucher_app.command("confirm")
@handled
def voucher_confirm(ref: str = typer.Argument(None), file: Path = FILE_OPTION, actor: str = AS_OPTION,
                    as_json: bool = JSON_OPTION) -> None:
    """The SME confirms the service redeemed: the voucher is payable for the redeemed amount. With --file
    CSV (voucher): the SME's confirmations, all or none."""
    from flows.services import voucher_bulk, vouchers
    from models.uow import unit_of_work

    key = _single(ref, file)
    if file is not None:
        _bulk("confirmed", file, actor, as_json, voucher_bulk.confirm_file)
        return
    with unit_of_work() as s:
        app = vouchers.confirm(s, actor, key)
        shown = f"{app.ref} payable: {yuan(app.award_fen)}"
    console.print(f"[green]confirmed[/] {shown}", highlight=False)


@voucher_app.command("dispute")
@handled
def voucher_dispute(ref: str = typer.Argument(...),
                    reason: str = typer.Option(..., "--reason", help="What is wrong with the service"),
                    actor: str = AS_OPTION) -> None:
    """The SME disputes the service redeemed (the agency is told); nothing is paid until it confirms."""
    from flows.services import vouchers
    from models.uow import unit_of_work

    with unit_of_work() as s:
        app = vouchers.dispute(s, actor, ref, reason)
        shown = app.ref
    console.print(f"[green]disputed[/] {shown}", highlight=False)


@voucher_app.command("recover")
@handled
def voucher_recover(
    ref: str = typer.Argument(...),
    amount: str = typer.Option(..., "--amount", help="The amount recovered in yuan (part or all of what is owed)"),
    receipt: str = typer.Option(..., "--receipt", help="The bank's receipt reference (recorded once)"),
    received_on: str = typer.Option(None, "--on", help="YYYY-MM-DD the money arrived (today by default)"),
    actor: str = AS_OPTION,
) -> None:
    """Finance records money recovered on a clawed-back voucher (二(四)13): it returns to the budget line."""
    from flows.services import fraud
    from models.uow import unit_of_work

    with unit_of_work() as s:
        r = fraud.recover(s, actor, ref, amount, receipt, received_on)
        left = r.clawback.amount_fen - r.clawback.recovered_fen
        shown = (f"{yuan(r.recovery.amount_fen)} (receipt {r.recovery.receipt_ref}); "
                 + (f"{yuan(left)} still outstanding" if left else "recovered in full"))
        done = "recovered" if r.created else "already recorded"
    console.print(f"[green]{done}[/] {ref.strip().upper()} — {shown}", highlight=False)


@voucher_app.command("resolve")
@handled
def voucher_resolve(ref: str = typer.Argument(...),
                    dismiss: bool = typer.Option(False, "--dismiss", help="The service stands: on to the reviewer's "
                                                                          "check and the evaluation"),
                    uphold: bool = typer.Option(False, "--uphold", help="The redemption is refused: the agency "
                                                                        "redeems again by the redeem-by date, or the "
                                                                        "voucher is void after it"),
                    reason: str = typer.Option(..., "--reason", help="Why (both parties are told)"),
                    actor: str = AS_OPTION) -> None:
    """A reviewer resolves a disputed voucher (二(二)5): --dismiss or --uphold, with a reason."""
    from flows.services import vouchers
    from models.uow import unit_of_work

    if dismiss == uphold:
        fail("give exactly one of --dismiss or --uphold")
    with unit_of_work() as s:
        app = vouchers.resolve(s, actor, ref, "dismiss" if dismiss else "uphold", reason)
        shown = f"{app.ref} is {app.status}"
    console.print(f"[green]resolved[/] {shown}", highlight=False)


@voucher_app.command("list")
@handled
def voucher_list(
    scheme: str = typer.Option(None, "--scheme", help="A voucher scheme (every one by default)"),
    status: str = typer.Option(None, "--status"),
    agency: str = typer.Option(None, "--agency", help="Only vouchers contracted with this agency"),
    actor: str = AS_OPTION, as_json: bool = JSON_OPTION,
) -> None:
    """Vouchers, oldest first (staff: all; an SME: its own; an agency: those contracted with it)."""
    from flows.services import vouchers
    from models.uow import read_only

    with read_only() as s:
        rows = vouchers.list_vouchers(s, actor, scheme, status, agency)
    if as_json:
        print_json(rows)
        return
    t = Table("voucher", "status", "holder", "service", "face", "agency", "cover", "use by", "redeem by", "mode")
    for r in rows:
        t.add_row(r["ref"], r["status"], r["holder"], r["service"] or "", yuan(r["face_fen"]), r["agency"] or "",
                  yuan(r["cover_fen"]), r["use_by"] or "", r["redeem_by"] or "", r["settlement_mode"] or "")
    console.print(money_table(t, "face", "cover"))


@voucher_app.command("show")
@handled
def voucher_show(ref: str = typer.Argument(...), actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """One voucher: holder, terms, contracts, redemption with evidence hashes, payments, every event."""
    from flows.services import vouchers
    from models.uow import read_only

    with read_only() as s:
        v: dict[str, Any] = vouchers.show(s, actor, ref)
    if as_json:
        print_json(v)
        return
    t = v["terms"] or {}
    console.print(f"{v['ref']} ({v['clause']}): [bold]{v['status']}[/] {v['state_name']} — {v['holder']['name']} "
                  f"({v['holder']['uscc']}), {v['service']}, face {yuan(v['face_fen'])}, held {yuan(v['held_fen'])}; "
                  f"use by {t.get('use_by', '—')}, redeem by {t.get('redeem_by', '—')}, "
                  f"settlement {t.get('settlement_mode', '—')}", highlight=False, soft_wrap=True)
    for c in v["contracts"]:
        console.print(f"  contract {c['id']}: {c['agency_name']} ({c['agency']}) {yuan(c['contract_fen'])}, cover "
                      f"{yuan(c['cover_fen'])} on {c['contracted_on']}"
                      + (f", ended: {c['ended_reason']}" if c["ended_at"] else ""), highlight=False, soft_wrap=True)
    if v["redemption"]:
        r = v["redemption"]
        console.print(f"  redeemed {yuan(r['amount_fen'])} on {r['redeemed_on']} by {r['by']}", highlight=False)
        for e in r["evidence"]:
            console.print(f"    {e['kind']}: {e['file']} ({e['bytes']} bytes) sha256 {e['sha256']}", highlight=False)
    for p in v["payments"]:
        console.print(f"  payment {p['idempotency_key']} to {p['payee']} ({p['credit_code']}) {yuan(p['amount_fen'])} "
                      f"{p['status']}", highlight=False, soft_wrap=True)
    cb = v.get("clawback")
    if cb:
        f = cb["finding"] or {}
        console.print(f"  clawed back {yuan(cb['amount_fen'])} from {cb['debtor']} ({cb['debtor_uscc']}) on "
                      f"{cb['at'][:10]} (fraud finding {f.get('id')}, {f.get('clause')}: {f.get('finding')}); "
                      f"recovered {yuan(cb['recovered_fen'])}, outstanding {yuan(cb['outstanding_fen'])}",
                      highlight=False, soft_wrap=True)
        for r in cb["recoveries"]:
            console.print(f"    recovered {yuan(r['amount_fen'])} on {r['received_on']} receipt {r['receipt']} by "
                          f"{r['by']}", highlight=False)
    events = Table("seq", "at", "actor", "action")
    for e in v["history"]:
        events.add_row(str(e["seq"]), e["at"][:19], e["actor"], e["action"])
    console.print(events)
