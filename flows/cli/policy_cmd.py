"""`ipfund policy show|check|test`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from flows.cli.common import AS_OPTION, JSON_OPTION, console, handled, print_json
from rules.constants import DEFAULT_POLICY_ID

if TYPE_CHECKING:
    from rules.policy import Policy

app = typer.Typer(help="Policy parameters: every ratio, cap and threshold with its clause.", no_args_is_help=True)


@app.command("show")
@handled
def show(
    policy: str = typer.Option(None, "--policy", help="Policy id or file (default: the database's, else yantai-2020)."),
    as_of: str = typer.Option(None, "--as-of", help="Show the value in force on this date (YYYY-MM-DD)."),
    forms: bool = typer.Option(False, "--forms", help="Show each scheme's application form instead: the "
                               "fields `apply --field NAME=VALUE` takes, their types and validation."),
    scheme: str = typer.Option(None, "--scheme", help="With --forms: only this scheme."),
    as_json: bool = JSON_OPTION,
    actor: str = AS_OPTION,
) -> None:
    """Print the parameters with unit, clause, dated values and whether they are illustrative."""
    from rules.policy import load_policy, parameter_rows

    if policy is None:
        policy = _db_policy_id()
    p = load_policy(policy)
    if forms or scheme is not None:
        _show_forms(p, scheme, as_json)
        return
    when = dt.date.fromisoformat(as_of) if as_of else None
    rows = parameter_rows(p, when)
    if as_json:
        print_json({"id": p.id, "title": p.title, "document": p.document, "issued": p.issued.isoformat(),
                    "parameters": rows, "schemes": sorted(p.schemes)})
        return
    console.print(f"[bold]{p.title}[/] ({p.document}, issued {p.issued}) — policy id [cyan]{p.id}[/]")
    t = Table("parameter", "value(s) by effective date", "unit", "clause", "illustrative")
    for r in rows:
        values = "; ".join(f"{d}: {v}" for d, v in r["values"].items())
        t.add_row(r["name"], values if len(values) < 90 else values[:87] + "...", r["unit"], r["clause"],
                  "yes" if r["illustrative"] else "")
    console.print(t)
    console.print("Illustrative values are defaults the policy text does not give; confirm them before use.")


@app.command("check")
@handled
def check(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Policy YAML file to validate."),
          actor: str = AS_OPTION) -> None:
    """Validate a policy file; every problem is listed with its key path."""
    from rules.policy import load_policy_file

    p = load_policy_file(file)
    console.print(f"[green]ok[/] {file}: policy {p.id} with {len(p.parameters)} parameters and "
                  f"{len(p.schemes)} scheme(s)", soft_wrap=True, highlight=False)


def _form_rows(p: Policy, scheme: str | None) -> list[dict[str, Any]]:
    from rules.money import format_yuan

    ids = sorted(p.schemes) if scheme is None else [scheme]
    if scheme is not None:
        p.scheme(scheme)  # refuses an unknown scheme, naming the known ones
    rows = []
    for sid in ids:
        form = p.scheme(sid).form
        for name, f in form.fields.items():
            rules = []
            if f.pattern:
                rules.append(f"pattern {f.pattern}")
            if f.type == "text":
                rules.append(f"at most {f.max_length} characters")
            if f.upper:
                rules.append("stored in upper case")
            if f.type == "fen":
                rules.append("in yuan, e.g. 12345.67 (stored in fen)")
            shown = format_yuan if f.type == "fen" else str
            if f.min is not None:
                rules.append(f">= {shown(f.min)}")
            if f.max is not None:
                rules.append(f"<= {shown(f.max)}")
            if f.choices:
                rules.append("one of " + ", ".join(f.choices))
            rows.append({"scheme": sid, "field": name, "label": f.label or "", "type": f.type,
                         "required": f.required, "claim_key": name in form.claim_key, "validation": rules})
    return rows


def _show_forms(p: Policy, scheme: str | None, as_json: bool) -> None:
    rows = _form_rows(p, scheme)
    if as_json:
        print_json({"id": p.id, "forms": rows})
        return
    t = Table("scheme", "field", "label", "type", "required", "claim key", "validation")
    for r in rows:
        t.add_row(r["scheme"], r["field"], r["label"], r["type"], "yes" if r["required"] else "",
                  "yes" if r["claim_key"] else "", "; ".join(r["validation"]))
    console.print(t)
    console.print("Give each field as `ipfund apply SCHEME --field NAME=VALUE`; dates YYYY-MM-DD, amounts in yuan, "
                  "yes/no for true/false. The claim-key fields stop a second claim of the same thing.",
                  soft_wrap=True, highlight=False)


@app.command("test")
@handled
def test(
    path: Path = typer.Argument(..., exists=True, help="A YAML test file, or a folder of them "
                                "(e.g. rules/policies/tests/yantai-2020)."),
    policy: str = typer.Option(None, "--policy", help="Run against this policy id or file (default: the policy "
                               "the folder is named after, else yantai-2020) — e.g. to try a draft."),
    show_all: bool = typer.Option(False, "--all", help="List every case, not only the failures."),
    as_json: bool = JSON_OPTION,
    actor: str = AS_OPTION,
) -> None:
    """Run policy test cases (inputs, date, expected outputs) against the pure rules; exit 1 on any failure,
    malformed case or uncovered check or fund rule boundary."""
    from rich.markup import escape

    from rules.policy import load_policy
    from rules.policy_tests import run_path

    report = run_path(path, load_policy(policy) if policy is not None else None)
    if as_json:
        print_json(report.as_dict())
    else:
        for e in report.errors:
            console.print(f"[red]error[/] {escape(e)}", soft_wrap=True, highlight=False)
        t = Table("", "case", "rule", "expected", "got")
        for r in report.results:
            if r.passed and not show_all:
                continue
            t.add_row("ok" if r.passed else "[red]FAIL[/]", r.label, f"{r.scheme or ''} {r.kind} {r.target}".strip(),
                      "; ".join(f"{k}={v}" for k, v in r.expected.items()),
                      "\n".join(r.mismatches) or r.detail)
        if t.row_count:
            console.print(t)
        for u in report.uncovered:
            console.print(f"[yellow]uncovered[/] {u}", soft_wrap=True, highlight=False)
        failed = len(report.failed)
        colour = "green" if report.ok and not report.uncovered else "red"
        console.print(f"[{colour}]{len(report.results) - failed} passed, {failed} failed[/] in {len(report.files)} "
                      f"file(s); {len(report.errors)} problem(s) in malformed files; "
                      f"{len(report.uncovered)} boundary side(s) uncovered", soft_wrap=True, highlight=False)
    if not report.ok or report.uncovered:
        raise typer.Exit(1)


def _db_policy_id() -> str:
    try:
        from flows.services.context import setting
        from models.uow import read_only
        with read_only() as s:
            return setting(s, "policy_id", DEFAULT_POLICY_ID) or DEFAULT_POLICY_ID
    except Exception:
        return DEFAULT_POLICY_ID
