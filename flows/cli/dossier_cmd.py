"""`ipfund dossier case|year|verify|bench`: auditor dossiers (审计档案).

Rendering and verifying only read the database; ``--issue`` appends one ``dossier.issue`` event
(auditor or admin). WeasyPrint is imported inside the commands, never when the CLI starts.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import typer

from flows.cli.common import AS_OPTION, JSON_OPTION, console, err_console, handled, print_json
from rules.errors import ValidationFailed

app = typer.Typer(help="Auditor dossiers (审计档案): byte-reproducible PDFs, issued and verified against the "
                       "audit chain.", no_args_is_help=True)


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(content)
    tmp.replace(path)


def _one(kind: str, key: str, out: Path | None, issue: bool, actor: str | None, as_json: bool) -> None:
    from flows.services import dossier
    from models.uow import read_only, unit_of_work

    with read_only() as s:
        if issue:
            dossier.check_may_issue(s, actor)
        else:
            dossier.check_may_read(s, actor)
        d = dossier.build(s, kind, key)
    result = dossier.render(d)
    path = out or Path(d.file_name)
    _write(path, result.pdf)
    event = None
    if issue:
        with unit_of_work() as s:
            ev = dossier.issue(s, actor, d, result)
            event = {"seq": ev.seq, "hash": ev.hash, "actor": ev.actor, "at": ev.at}
    pages = dossier.page_count(result.pdf)
    info = {"file": str(path), "document_id": d.number, "kind": d.kind, "key": d.key, "pages": pages,
            "sha256": result.sha256, "data_sha256": d.data_sha256, "created": d.created,
            "anchor_seq": d.data["chain"]["seq"], "anchor_hash": d.data["chain"]["hash"], "issued": event,
            "checkpoint": d.data["chain"].get("checkpoint"),
            "manifest": result.manifest}
    if as_json:
        print_json(info)
        return
    console.print(f"[green]wrote[/] {path}: {d.number}, {pages} page(s), dated {d.created}", highlight=False,
                  soft_wrap=True)
    console.print(f"  sha256 {result.sha256}\n  data sha256 {d.data_sha256}\n  audit anchor "
                  f"#{info['anchor_seq']} {info['anchor_hash']}", highlight=False, soft_wrap=True)
    cp = info["checkpoint"]
    console.print(f"  signed checkpoint #{cp['seq']} ({cp['at']}, key {cp['key'][:16]}…) covers the anchor" if cp else
                  "  [yellow]no signed checkpoint covers the anchor[/] (no audit key, or none written since): the "
                  "dossier says so", highlight=False, soft_wrap=True)
    if event:
        console.print(f"  [green]issued[/]: audit event #{event['seq']} by {event['actor']} records the sha256 "
                      "and render manifest", highlight=False, soft_wrap=True)


@app.command("case")
@handled
def case(
    app_key: str = typer.Argument(None, metavar="APP", help="Case reference, e.g. CA-2021-00004"),
    out: Path = typer.Option(None, "--out", help="Output file (one case) or directory (--all)."),
    all_cases: bool = typer.Option(False, "--all", help="Every case of --year, in parallel, into the --out directory."),
    year: int = typer.Option(None, "--year", help="Fiscal year (with --all)."),
    scheme: str = typer.Option(None, "--scheme", help="Only this scheme's cases (with --all)."),
    jobs: int = typer.Option(None, "--jobs", help="Worker processes (default: all cores)."),
    issue: bool = typer.Option(False, "--issue", help="Record the dossier's sha256 and manifest in the audit chain."),
    actor: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Render a case dossier (Chinese with English alongside).

    Applicant, application, automatic checks, review decisions, scores, rank and outcome, award and
    fund rules at finalize, notice, payments, and the case's audit events."""
    if all_cases:
        if app_key or year is None or out is None:
            raise ValidationFailed("dossier case --all", ["give --year YEAR and --out DIR, and no APP"])
        _many(year, scheme, out, jobs, issue, actor, as_json)
        return
    if not app_key:
        raise ValidationFailed("dossier case", ["name the case (APP), or use --all --year YEAR --out DIR"])
    _one("case", app_key, out, issue, actor, as_json)


def _many(year: int, scheme: str | None, out_dir: Path, jobs: int | None, issue: bool, actor: str | None,
          as_json: bool) -> None:
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from flows.services import dossier
    from models.db import database_url
    from models.uow import read_only, unit_of_work

    with read_only() as s:
        if issue:
            dossier.check_may_issue(s, actor)
        else:
            dossier.check_may_read(s, actor)
        refs = dossier.case_refs(s, year, scheme)
        chain = dossier.chain_status(s)
    if not refs:
        raise ValidationFailed("dossier case --all", [f"no cases of {year}{' in ' + scheme if scheme else ''}"])
    workers = max(1, min(jobs or os.cpu_count() or 1, len(refs)))
    started = time.perf_counter()
    # auto_refresh=False: no refresh thread runs while the worker processes are forked.
    with Progress(TextColumn("dossiers"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, disable=as_json, auto_refresh=False) as progress:
        task = progress.add_task("render", total=len(refs))

        def done(_r: dossier.RenderedFile) -> None:
            progress.advance(task)
            progress.refresh()

        results = dossier.render_many(database_url(), refs, str(out_dir), workers, chain, on_done=done)
    elapsed = time.perf_counter() - started
    issued = 0
    if issue:
        with unit_of_work() as s:
            for r in results:
                dossier.issue_record(s, actor, kind="case", key=r.ref, number=r.number, pdf_sha256=r.sha256,
                                     data_sha256=r.data_sha256, created=r.created, anchor_seq=r.anchor_seq,
                                     anchor_hash=r.anchor_hash, manifest=r.manifest)
                issued += 1
    pages = sum(r.pages for r in results)
    if as_json:
        print_json({"year": year, "dossiers": len(results), "pages": pages, "seconds": round(elapsed, 3),
                    "workers": workers, "issued": issued,
                    "files": [{"ref": r.ref, "file": r.path, "document_id": r.number, "sha256": r.sha256,
                               "pages": r.pages} for r in results]})
        return
    console.print(f"[green]wrote[/] {len(results)} case dossiers ({pages} pages) to {out_dir} in {elapsed:.1f} s "
                  f"on {workers} process(es): {len(results) / elapsed * 60:.0f} dossiers/min"
                  + (f"; {issued} issued in the audit chain" if issue else ""), highlight=False)


@app.command("year")
@handled
def year_cmd(
    year: int = typer.Argument(..., help="Fiscal year, e.g. 2021"),
    out: Path = typer.Option(None, "--out", help="Output file (default DOS-Y<year>-<hash>.pdf)."),
    issue: bool = typer.Option(False, "--issue", help="Record the dossier's sha256 and manifest in the audit chain."),
    actor: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Render a fund-year dossier.

    Receipts, budget lines and balances, the 三(二) rules planned and actual, totals per scheme, cases
    by outcome, award rounds and budget adjustments; per scheme the reconciliation of its awards with the
    ledger (per line and source, per line, per source; every difference with its audit event), the signed
    checkpoints covering the year, and the roster of every case as an appendix."""
    _one("year", str(year), out, issue, actor, as_json)


@app.command("pool-claim")
@handled
def pool_claim_cmd(
    ref: str = typer.Argument(..., help="The pool claim, e.g. RC-1-1 (`ipfund pool status` lists them)"),
    out: Path = typer.Option(None, "--out", help="Output file (default DOS-<claim>-<hash>.pdf)."),
    issue: bool = typer.Option(False, "--issue", help="Record the dossier's sha256 and manifest in the audit chain."),
    actor: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Render a risk-compensation pool claim's dossier (风险补偿代偿档案, 二(三)7).

    The loan, its bank and borrower, the claim, each party's part of the loss with the shares of the filing
    date and what each bore, the computation's trace with every parameter and clause, the pool's postings,
    and every event of the claim and of the loan's filing, anchored to the claim's latest event."""
    _one("pool_claim", ref.strip(), out, issue, actor, as_json)


def _cut(value: Any, width: int = 90) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[:width - 1] + "…"


@app.command("verify")
@handled
def verify(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A dossier PDF."),
    case_ref: str = typer.Option(None, "--case", help="The case it should be (if the file cannot say)."),
    year: int = typer.Option(None, "--year", help="The year it should be (if the file cannot say)."),
    actor: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Re-render a dossier file from the database and compare the bytes.

    Identical -> exit 0. Different -> exit 1 naming what differs: the embedded data field by field,
    else the render environment, else the text page by page."""
    from flows.services import dossier
    from models.uow import read_only

    kind, key = ("case", case_ref) if case_ref else ("year", str(year)) if year else (None, None)
    with read_only() as s:
        dossier.check_may_read(s, actor)
        report = dossier.verify(s, file.read_bytes(), kind, key, name=str(file))
    signed_ok = report.checkpoint.get("ok", True)
    if as_json:
        print_json(report.as_dict())
        if not (report.identical and signed_ok):
            raise typer.Exit(1)
        return
    if report.identical:
        console.print(f"[green]√ identical[/]: {file} is {report.expected_document_id} exactly as the database renders "
                      f"it today (sha256 {report.file_sha256})", highlight=False, soft_wrap=True)
        for i in report.issued:
            console.print(f"  issued by {i['actor']} at {i['at']} (audit event #{i['seq']})", highlight=False,
                          soft_wrap=True)
        if not report.issued:
            console.print("  (no dossier.issue event records this file's sha256)", highlight=False)
        if signed_ok:
            console.print(f"  {report.checkpoint.get('message', '')}", highlight=False, markup=False, soft_wrap=True)
            return
    if not signed_ok:
        from rich.markup import escape

        err_console.print(f"[bold red]× checkpoint[/]: {escape(report.checkpoint['message'])}", highlight=False,
                          soft_wrap=True)
    if report.identical:
        raise typer.Exit(1)
    err_console.print(f"[bold red]× differs[/] ({report.verdict}): {file} is not the dossier the database renders "
                      f"today ({report.expected_document_id}, sha256 {report.expected_sha256}); file sha256 "
                      f"{report.file_sha256}", highlight=False, soft_wrap=True)
    for m in report.messages:
        err_console.print(f"  - {m}", highlight=False, markup=False, soft_wrap=True)
    if report.data_differences:
        err_console.print("Embedded data vs database (field: in the file → in the database):", highlight=False)
        for diff in report.data_differences[:40]:
            err_console.print(f"  {diff['field']}: {_cut(diff['in_file'])} → {_cut(diff['in_database'])}",
                              highlight=False, markup=False, soft_wrap=True)
        if len(report.data_differences) > 40:
            err_console.print(f"  … and {len(report.data_differences) - 40} more field(s) (--json lists all)")
    if report.environment_differences:
        err_console.print("Render environment (manifest key: in the file → now):", highlight=False)
        for e in report.environment_differences:
            err_console.print(f"  {e['key']}: {_cut(e['in_file'])} → {_cut(e['now'])}", highlight=False,
                              markup=False, soft_wrap=True)
    for page in report.page_differences[:10]:
        err_console.print(f"  page {page['page']}:", highlight=False)
        for line in page["lines"]:
            err_console.print(f"    {line}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(1)


# The default sample: under a minute on 2 cores; spread over the year's cases (every scheme's shape).
BENCH_CASES = 24


@app.command("bench")
@handled
def bench(
    year: int = typer.Option(None, "--year", help="Fiscal year of the cases (default: the year with the most cases)."),
    cases: int = typer.Option(BENCH_CASES, "--cases", help="How many cases to render (0: all of the year)."),
    jobs: int = typer.Option(None, "--jobs", help="Worker processes (default: all cores)."),
    sequential: int = typer.Option(4, "--sequential", help="Dossiers rendered on one core first."),
    out: Path = typer.Option(None, "--out", help="Directory for the PDFs (default: a temporary one)."),
    year_dossier: bool = typer.Option(False, "--year-dossier", help="Also render the year dossier once (its "
                                      "roster lists every case of the year) and time it."),
    as_json: bool = JSON_OPTION,
    actor: str = AS_OPTION,
) -> None:
    """Measure rendering speed on the current database.

    Prints pages per second per core and dossiers per minute (one core, then all cores) and the
    projection for 2,000 case dossiers against the 10-minute target. By default a sample of 24 cases
    spread over the year (every scheme's shape); --cases 0 renders all. With --year-dossier, also the
    time to read and render the year dossier."""
    from sqlalchemy import func
    from sqlmodel import col, select

    from flows.services import dossier
    from models.db import database_url
    from models.tables import Application
    from models.uow import read_only

    with read_only() as s:
        # By default the year with the most cases (the demo also files one application to next year's call).
        year_col = col(Application.year)
        y = year or s.exec(select(year_col).group_by(year_col)
                           .order_by(func.count().desc(), year_col.desc()).limit(1)).first()
        if y is None:
            raise ValidationFailed("dossier bench", ["the database has no cases; run `ipfund demo` first"])
        refs = dossier.case_refs(s, int(y))
    if cases and cases < len(refs):
        step = len(refs) / cases
        refs = [refs[int(i * step)] for i in range(cases)]
    with tempfile.TemporaryDirectory(prefix="ipfund-bench-") as tmp:
        result = dossier.benchmark(database_url(), refs, str(out or tmp), jobs, sequential)
    if year_dossier:
        result["year_dossier"] = dossier.year_benchmark(database_url(), int(y))
    if as_json:
        print_json(result)
        return
    one, many = result["sequential"], result["parallel"]
    console.print(f"one core: {one['dossiers']} dossiers, {one['pages']} pages in {one['seconds']} s — "
                  f"{one['pages_per_second']} pages/s per core, {one['dossiers_per_minute']} dossiers/min",
                  highlight=False)
    console.print(f"{result['cores']} cores: {many['dossiers']} dossiers, {many['pages']} pages in {many['seconds']} s "
                  f"— {many['pages_per_second_per_core']} pages/s per core, {many['dossiers_per_minute']} dossiers/min",
                  highlight=False)
    p = result["projection"]
    verdict = "[green]within[/]" if p["meets_target"] else "[red]over[/]"
    console.print(f"projection: {p['cases']:,} case dossiers in {p['seconds']} s ({(p['seconds'] or 0) / 60:.1f} min) on "
                  f"{result['cores']} cores — {verdict} the {p['target_seconds'] // 60}-minute target",
                  highlight=False)
    if year_dossier:
        yd = result["year_dossier"]
        console.print(f"year dossier {yd['year']}: {yd['cases']:,} cases in its roster, {yd['pages']:,} pages in "
                      f"{yd['seconds']} s (data {yd['data_seconds']} s, PDF {yd['render_seconds']} s)", highlight=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="dossier")
