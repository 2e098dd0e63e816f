"""`ipfund apply | application | review | evaluator | scores`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.panel import Panel
from rich.table import Table

from flows.cli.common import AS_OPTION, JSON_OPTION, console, handled, print_json, yuan

application_app = typer.Typer(help="Applications (申报): import, list, show, withdraw, resubmit.", no_args_is_help=True)
review_app = typer.Typer(help="Formal review (形式审查) for reviewers.", no_args_is_help=True)
evaluator_app = typer.Typer(help="Third-party evaluators (第三方评价).", no_args_is_help=True)
scores_app = typer.Typer(help="Score templates and uploads for evaluators.", no_args_is_help=True)


def apply_cmd(
    scheme: str = typer.Argument(..., help="Scheme id, e.g. certification-award"),
    certificate_no: str = typer.Option(..., "--certificate-no", help="GB/T 29490 certificate number"),
    certification_date: str = typer.Option(..., "--certification-date", help="YYYY-MM-DD"),
    certification_body: str = typer.Option(..., "--certification-body", help="Certification body (认证机构)"),
    applicant: str = typer.Option(None, "--applicant", help="Credit code (admins applying on behalf)"),
    actor: str = AS_OPTION,
) -> None:
    """Apply to a scheme for your organisation."""
    from flows.services import applications
    from models.uow import unit_of_work

    with unit_of_work() as s:
        app = applications.apply(s, actor, scheme, {"certificate_no": certificate_no,
                                                    "certification_date": certification_date,
                                                    "certification_body": certification_body}, applicant)
    console.print(f"[green]submitted[/] {app.ref}; the automatic checks run at the next `ipfund flows advance`")


@application_app.command("import")
@handled
def app_import(file: Path = typer.Argument(..., exists=True, dir_okay=False),
               scheme: str = typer.Option("certification-award", "--scheme"), actor: str = AS_OPTION) -> None:
    """Bulk import (CSV: applicant_uscc,certificate_no,certification_date,certification_body): all or nothing."""
    from flows.services import applications
    from models.uow import unit_of_work

    with unit_of_work() as s:
        apps = applications.import_applications(s, actor, scheme, file.read_bytes(), file.name)
    first_last = f" ({apps[0].ref} … {apps[-1].ref})" if apps else ""
    console.print(f"[green]imported[/] {len(apps)} application(s){first_last}")


@application_app.command("list")
@handled
def app_list(scheme: str = typer.Option(None, "--scheme"), status: str = typer.Option(None, "--status"),
             limit: int = typer.Option(1000, "--limit"), actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    from flows.services import applications
    from models.uow import read_only

    with read_only() as s:
        rows = applications.list_apps(s, actor, scheme, status, limit)
    if as_json:
        print_json(rows)
        return
    t = Table("ref", "applicant", "status", "score", "rank", "outcome", "award")
    for r in rows:
        t.add_row(r["ref"], r["applicant"], r["status"], r["final_score"] or "", str(r["rank"] or ""),
                  r["outcome"] or "", yuan(r["award_fen"]))
    console.print(t)


@application_app.command("show")
@handled
def app_show(app: str = typer.Argument(...), actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Everything about one case, including its history."""
    from flows.services import applications
    from models.uow import read_only

    with read_only() as s:
        case = applications.show(s, actor, app)
    if as_json:
        print_json(case)
        return
    render_case(case)


@application_app.command("withdraw")
@handled
def app_withdraw(app: str = typer.Argument(...), reason: str = typer.Option(None, "--reason"),
                 actor: str = AS_OPTION) -> None:
    from flows.services import applications
    from models.uow import unit_of_work

    with unit_of_work() as s:
        a = applications.withdraw(s, actor, app, reason)
    console.print(f"[green]withdrawn[/] {a.ref}")


@application_app.command("resubmit")
@handled
def app_resubmit(app: str = typer.Argument(...), certificate_no: str = typer.Option("", "--certificate-no"),
                 certification_date: str = typer.Option("", "--certification-date"),
                 certification_body: str = typer.Option("", "--certification-body"),
                 reason: str = typer.Option(None, "--reason"), actor: str = AS_OPTION) -> None:
    """Resubmit a returned application with corrections."""
    from flows.services import applications
    from models.uow import unit_of_work

    with unit_of_work() as s:
        a = applications.resubmit(s, actor, app, {"certificate_no": certificate_no,
                                                  "certification_date": certification_date,
                                                  "certification_body": certification_body}, reason)
    console.print(f"[green]resubmitted[/] {a.ref}")


def render_case(c: dict[str, Any]) -> None:
    a = c["applicant"]
    console.print(Panel.fit(
        f"[bold]{c['ref']}[/] {c['scheme']} {c['year']} — [cyan]{c['status']}[/] ({c['state_name']})\n"
        f"{a['name']}  {a['uscc']}  {a['kind']}  district {a['district']}"
        f"{'  SME' if a['sme'] else ''}{'  whitelist' if a['whitelist'] else ''}\n"
        f"submitted {c['submitted_at']} by {c['submitted_by']}\n"
        + "  ".join(f"{k}: {v}" for k, v in c["data"].items())))
    if c["checks"]:
        t = Table("check", "result", "rule", "clause", "parameter", "detail", title="Automatic checks")
        for k in c["checks"]:
            t.add_row(k["check"], "[green]√[/]" if k["passed"] else "[red]×[/]", k["rule"], k["clause"],
                      k["parameter"] or "", k["detail"])
        console.print(t)
    for d in c["decisions"]:
        console.print(f"review {d['stage']}: [bold]{d['decision']}[/] by {d['reviewer']} at {d['at']} — {d['reason']}")
    if c["final_score"]:
        console.print(f"final score {c['final_score']}  rank {c['rank'] or '-'}  outcome {c['outcome'] or '-'}  "
                      f"award {yuan(c['award_fen'])}")
    elif c["outcome"]:
        console.print(f"outcome {c['outcome']}: {c['outcome_reason']}")
    for o in c["objections"]:
        console.print(f"objection by {o['raised_by']}: {o['reason']} → {o['resolution'] or 'open'}")
    for p in c["payments"]:
        console.print(f"payment {p['idempotency_key']} {yuan(p['amount_fen'])} {p['status']} {p['bank_ref'] or ''}")
    t = Table("#", "at (UTC)", "actor", "action", "from → to", title="History")
    for h in c["history"]:
        pl = h["payload"]
        t.add_row(str(h["seq"]), h["at"], h["actor"], h["action"],
                  f"{pl.get('from', '')} → {pl.get('to', '')}" if "to" in pl else "")
    console.print(t)


@review_app.command("queue")
@handled
def review_queue(stage: str = typer.Option("formal_review", "--stage"), scheme: str = typer.Option(None, "--scheme"),
                 limit: int = typer.Option(50, "--limit"), actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """What waits for you, oldest first."""
    from flows.services import review_read

    rows = review_read.queue(review_read.database_url(), actor, stage, scheme, limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(f"Your queue ({stage}) is empty.")
        return
    t = Table("ref", "scheme", "applicant", "credit code", "waiting since", title=f"Review queue ({stage})")
    for r in rows:
        t.add_row(r["ref"], r["scheme"], r["applicant"], r["uscc"], r["waiting_since"])
    console.print(t)


@review_app.command("next")
@handled
def review_next(stage: str = typer.Option("formal_review", "--stage"), actor: str = AS_OPTION,
                as_json: bool = JSON_OPTION) -> None:
    """The next case in full: applicant, data, every automatic check, history."""
    from flows.services import review_read

    case = review_read.next_case(review_read.database_url(), actor, stage)
    if as_json:
        print_json(case)
        return
    if case is None:
        console.print("Your queue is empty.")
        return
    render_case(case)


# --- the reviewer's fast path --------------------------------------------------------------------
# Typer coerces every non-flag parameter through a pydantic TypeAdapter, which imports pydantic
# (~100 ms) on each run. Reviewers run `review queue` and `review next` all day, so main() offers
# them to fast_review() first: it accepts only a plain list of these commands' own options and then
# calls the very functions above. Anything else (--help, an unknown option, a value that is not a
# plain number or looks like an option) returns None and Typer parses the command line as usual,
# with its own usage messages.

_FAST_OPTIONS: dict[str, dict[str, str]] = {
    "queue": {"--stage": "stage", "--scheme": "scheme", "--limit": "limit", "--as": "actor"},
    "next": {"--stage": "stage", "--as": "actor"},
}


def parse_fast_review(argv: list[str]) -> tuple[str, dict[str, Any]] | None:
    """(command, keyword arguments) for a plain `review queue|next` command line, else None."""
    if len(argv) < 2 or argv[0] != "review" or argv[1] not in _FAST_OPTIONS:
        return None
    names = _FAST_OPTIONS[argv[1]]
    values: dict[str, Any] = {}
    as_json = False
    rest = argv[2:]
    i = 0
    while i < len(rest):
        if rest[i] == "--json":
            as_json, i = True, i + 1
            continue
        name, eq, value = rest[i].partition("=")
        if name not in names:
            return None
        if not eq:
            if i + 1 == len(rest):
                return None
            value = rest[i + 1]
        i += 1 if eq else 2
        if not value or value.startswith("-"):
            return None
        values[names[name]] = value  # the last one wins, as on the Typer path
    if "limit" in values:
        if not (values["limit"].isascii() and values["limit"].isdigit()):
            return None
        values["limit"] = int(values["limit"])
    kwargs: dict[str, Any] = {"stage": values.get("stage", "formal_review"),
                              "actor": values.get("actor") or os.environ.get("IPFUND_USER") or None,
                              "as_json": as_json}
    if argv[1] == "queue":
        kwargs.update(scheme=values.get("scheme"), limit=values.get("limit", 50))
    return argv[1], kwargs


def fast_review(argv: list[str]) -> int | None:
    """Run a plain `review queue|next` without Typer's parameter processing; return the exit status,
    or None when Typer should handle this command line."""
    parsed = parse_fast_review(argv)
    if parsed is None:
        return None
    command, kwargs = parsed
    try:
        (review_queue if command == "queue" else review_next)(**kwargs)
    except typer.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `... | head`: quiet, as Typer is
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


@review_app.command("decide")
@handled
def review_decide(app: str = typer.Argument(...),
                  approve: bool = typer.Option(False, "--approve"), ret: bool = typer.Option(False, "--return"),
                  reject: bool = typer.Option(False, "--reject"), reason: str = typer.Option(None, "--reason"),
                  actor: str = AS_OPTION) -> None:
    """Approve, return (for correction) or reject a case; a reason is required to return or reject."""
    chosen = [n for n, v in (("approve", approve), ("return", ret), ("reject", reject)) if v]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --approve, --return, --reject")
    from flows.services import review
    from models.uow import unit_of_work

    with unit_of_work() as s:
        d = review.decide(s, actor, app, chosen[0], reason)
    console.print(f"[green]recorded[/] {d.decision} on {app.upper()}; it moves on at the next advance run")


@evaluator_app.command("declare-conflict")
@handled
def declare_conflict(applicant: str = typer.Argument(..., help="Applicant credit code"),
                     reason: str = typer.Option(..., "--reason"), actor: str = AS_OPTION) -> None:
    """Declare a conflict of interest: you will never be assigned this applicant's cases."""
    from flows.services import evaluation
    from models.uow import unit_of_work

    with unit_of_work() as s:
        evaluation.declare_conflict(s, actor, applicant, reason)
    console.print(f"[green]declared[/] conflict with {applicant}")


@scores_app.command("template")
@handled
def scores_template(fmt: str = typer.Option("csv", "--format", help="csv | xlsx"),
                    out: Path = typer.Option(None, "--out", help="File to write (default scores-USER.FORMAT)"),
                    actor: str = AS_OPTION) -> None:
    """Write your assigned rows (application_id,criterion,score,comment) to fill in."""
    from flows.services import evaluation
    from models.uow import read_only

    with read_only() as s:
        content = evaluation.template(s, actor, fmt)
    path = out or Path(f"scores-{actor}.{fmt}")
    path.write_bytes(content)
    console.print(f"[green]wrote[/] {path}")


@scores_app.command("upload")
@handled
def scores_upload(file: Path = typer.Argument(..., exists=True, dir_okay=False),
                  dry_run: bool = typer.Option(False, "--dry-run", help="Validate only; write nothing."),
                  actor: str = AS_OPTION) -> None:
    """Upload scores (CSV UTF-8/BOM/GBK or XLSX): every row valid or nothing is written."""
    from flows.services import evaluation
    from models.uow import unit_of_work

    with unit_of_work() as s:
        r = evaluation.upload(s, actor, file.read_bytes(), file.name, dry_run=dry_run)
    if r.dry_run:
        console.print(f"[green]valid[/]: {r.rows} rows; {len(r.changed_cases)} case(s) would change (dry run)")
    elif r.unchanged:
        console.print(f"[yellow]unchanged[/]: {r.rows} rows identical to your current scores; nothing written")
    else:
        console.print(f"[green]uploaded[/] {r.rows} rows; {len(r.changed_cases)} case(s) updated")


def register(app: typer.Typer) -> None:
    app.command("apply")(handled(apply_cmd))
    app.add_typer(application_app, name="application")
    app.add_typer(review_app, name="review")
    app.add_typer(evaluator_app, name="evaluator")
    app.add_typer(scores_app, name="scores")
    from flows.cli import money_cmd, ops_cmd

    money_cmd.register(app)
    ops_cmd.register(app)
