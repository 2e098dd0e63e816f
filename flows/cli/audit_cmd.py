"""`ipfund audit verify|log|keygen`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from flows.cli.common import AS_OPTION, JSON_OPTION, console, err_console, handled, print_json

app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@app.command("verify")
@handled
def verify(checkpoints_at: Path = typer.Option(
        None, "--checkpoints", help="Directory (or .jsonl file) of signed checkpoints to check the chain against "
        "(default: IPFUND_CHECKPOINTS, else beside the database)."),
        as_json: bool = JSON_OPTION, actor: str = AS_OPTION) -> None:
    """Walk the chain, then check it against every signed checkpoint; exit 1 naming the first entry that
    does not verify, or each checkpoint the chain is shorter than, differs from, or that is not signed
    by the trusted key (IPFUND_AUDIT_PUBKEY)."""
    from flows.services import audit_log
    from models.uow import read_only

    if checkpoints_at is not None and not checkpoints_at.exists():
        raise typer.BadParameter(f"{checkpoints_at} does not exist", param_hint="--checkpoints")
    with read_only() as s:
        r = audit_log.verify(s, checkpoints_at)
    cps = r["checkpoints"]
    if as_json:
        print_json(r)
    elif r["chain_ok"] and not cps["ok"]:
        console.print(f"audit chain links verify ({r['events']} events, head #{r['head_seq']} {r['head_hash']}), but "
                      "the log does not match its signed checkpoints", highlight=False, soft_wrap=True)
    elif r["chain_ok"]:
        console.print(f"[green]audit chain verifies[/]: {r['events']} events, head #{r['head_seq']} {r['head_hash']}")
        if cps["ok"] and cps["found"]:
            console.print(f"[green]checkpoints verify[/]: {cps['summary']} — in {cps['location']}", highlight=False,
                          soft_wrap=True)
        elif cps["ok"]:
            console.print(f"[yellow]no checkpoints[/]: {cps['summary']}", highlight=False, soft_wrap=True)
        if cps["ok"]:
            for n in cps["notices"]:
                console.print(f"  note: {n}", highlight=False, markup=False, soft_wrap=True)
    if not r["chain_ok"]:
        err_console.print(f"[bold red]audit chain broken[/] at entry #{r['first_bad_seq']}: {r['problem']}")
    if not cps["ok"]:
        err_console.print(f"[bold red]audit log does not match its signed checkpoints[/] ({cps['location']}, "
                          f"trusted key {cps['public_key']}):", highlight=False, soft_wrap=True)
        problems = cps["problems"]
        shown = problems if len(problems) <= 12 else [*problems[:10], None, problems[-1]]
        for p in shown:
            if p is None:
                err_console.print(f"  … {len(problems) - 11} more (--json lists all); the latest:", highlight=False)
                continue
            name = f"checkpoint #{p['seq']}" if p["seq"] is not None else "checkpoints"
            err_console.print(f"  - {name} at {p['where']}: {p['problem']}", highlight=False, markup=False,
                              soft_wrap=True)
        for n in cps["notices"]:
            err_console.print(f"  note: {n}", highlight=False, markup=False, soft_wrap=True)
    if not r["ok"]:
        raise typer.Exit(1)


@app.command("keygen")
@handled
def keygen(out: Path = typer.Option(None, "--out", help="Private key file (default: IPFUND_AUDIT_KEY, else "
                                    "$IPFUND_HOME/audit-key.pem); the public key is written beside it (.pub)."),
           actor: str = AS_OPTION) -> None:
    """Create the Ed25519 key that signs audit checkpoints (mode 0600; never overwrites a key).

    A file on this machine, not a database change: whoever may write the key file may run it (--as is
    accepted like everywhere, and not needed)."""
    from models import checkpoints

    private, public, fingerprint = checkpoints.generate_key(out)
    console.print(f"[green]audit key created[/]: {private} (private, mode 0600), {public} (public)", highlight=False,
                  soft_wrap=True)
    console.print(f"  fingerprint {fingerprint}", highlight=False)
    if out is not None and private != checkpoints.key_path():
        console.print(f"  to sign with it, set {checkpoints.ENV_KEY}={private}", highlight=False, soft_wrap=True)
    console.print("  every commit that appends audit events now writes a signed checkpoint; keep a copy of the "
                  "public key (and of the checkpoints) where whoever can change the database cannot",
                  highlight=False, soft_wrap=True)


@app.command("log")
@handled
def log(subject: str = typer.Option(None, "--subject"), limit: int = typer.Option(None, "--limit"),
        as_json: bool = JSON_OPTION, actor: str = AS_OPTION) -> None:
    from flows.services import audit_log
    from models.uow import read_only

    with read_only() as s:
        rows = audit_log.log(s, subject, limit)
    if as_json:
        print_json(rows)
        return
    t = Table("#", "at (UTC)", "actor", "action", "subject", "hash")
    for r in rows:
        t.add_row(str(r["seq"]), r["at"], r["actor"], r["action"], r["subject"], r["hash"][:16])
    console.print(t)
