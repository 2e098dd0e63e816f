"""`ipfund apply | application | review | evaluator | scores`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from flows.cli.common import AS_OPTION, JSON_OPTION, console, handled, money_table, print_json, yuan
from flows.cli.review_view import render_case, show_next, show_queue

application_app = typer.Typer(help="Applications (申报): import, list, show, withdraw, resubmit.", no_args_is_help=True)
review_app = typer.Typer(help="Formal review (形式审查) for reviewers.", no_args_is_help=True)
evaluator_app = typer.Typer(help="Third-party evaluators (第三方评价).", no_args_is_help=True)
scores_app = typer.Typer(help="Score templates and uploads for evaluators.", no_args_is_help=True)


def parse_fields(pairs: list[str] | None) -> dict[str, str]:
    """``--field NAME=VALUE`` options as a dict (a name given twice is refused: which one was meant?)."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        name, eq, value = pair.partition("=")
        if not eq or not name.strip():
            raise typer.BadParameter(f"--field {pair!r}: write NAME=VALUE, e.g. --field certificate_no=165IP2100123R0M")
        if name.strip() in out:
            raise typer.BadParameter(f"--field {name.strip()} is given twice")
        out[name.strip()] = value
    return out


FIELD_OPTION: Any = typer.Option(None, "--field", "-f", help="A field of the scheme's form: NAME=VALUE (repeat; "
                                                             "`ipfund policy show --forms` lists them)")


def apply_cmd(
    scheme: str = typer.Argument(..., help="Scheme id, e.g. certification-award"),
    field: list[str] = FIELD_OPTION,
    applicant: str = typer.Option(None, "--applicant", help="Credit code (admins applying on behalf)"),
    actor: str = AS_OPTION,
) -> None:
    """Apply to a scheme for your organisation: the fields of its form, checked against the policy."""
    from flows.services import applications
    from models.uow import unit_of_work

    with unit_of_work() as s:
        app = applications.apply(s, actor, scheme, parse_fields(field), applicant)
    console.print(f"[green]submitted[/] {app.ref}; the automatic checks run at the next `ipfund flows advance`")


@application_app.command("import")
@handled
def app_import(file: Path = typer.Argument(..., exists=True, dir_okay=False),
               scheme: str = typer.Option(..., "--scheme", help="The scheme the applications are for"),
               actor: str = AS_OPTION) -> None:
    """Bulk import (CSV: applicant_uscc and the scheme's form fields as columns): all or nothing."""
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
    console.print(money_table(t, "award"))


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
def app_resubmit(app: str = typer.Argument(...), field: list[str] = FIELD_OPTION,
                 reason: str = typer.Option(None, "--reason"), actor: str = AS_OPTION) -> None:
    """Resubmit a returned application with corrections (the fields given replace those before)."""
    from flows.services import applications
    from models.uow import unit_of_work

    with unit_of_work() as s:
        a = applications.resubmit(s, actor, app, parse_fields(field), reason)
    console.print(f"[green]resubmitted[/] {a.ref}")


@review_app.command("queue")
@handled
def review_queue(stage: str = typer.Option(None, "--stage", help="One review state (default: every state a scheme tags review)."),
                 scheme: str = typer.Option(None, "--scheme"),
                 limit: int = typer.Option(50, "--limit"), actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """What waits for you, oldest first."""
    show_queue(stage, scheme, limit, actor, as_json)


@review_app.command("next")
@handled
def review_next(stage: str = typer.Option(None, "--stage", help="One review state (default: every state a scheme tags review)."),
                scheme: str = typer.Option(None, "--scheme"), actor: str = AS_OPTION,
                as_json: bool = JSON_OPTION) -> None:
    """The next case in full: applicant, data, every automatic check, history."""
    show_next(stage, actor, as_json, scheme)


@review_app.command("escalated")
@handled
def review_escalated(scheme: str = typer.Option(None, "--scheme"), actor: str = AS_OPTION,
                     as_json: bool = JSON_OPTION) -> None:
    """Review work past its deadline, escalated to the next level (approvers, supervisors)."""
    from flows.services import review
    from models.uow import read_only

    with read_only() as s:
        rows = review.escalated(s, actor, scheme)
    if as_json:
        print_json(rows)
        return
    t = Table("ref", "scheme", "tier", "since", "due", "to", "still waiting", title="Escalated review work")
    for r in rows:
        t.add_row(r["ref"], r["scheme"], r["tier"], r["since"][:10], r["due"], r["to"],
                  "yes" if r["still_waiting"] else "decided")
    console.print(t)


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
    console.print(f"[green]decided[/] {d.decision} on {app.upper()}: the case moved on at once")


@review_app.command("decide-file")
@handled
def review_decide_file(path: Path = typer.Argument(..., exists=True, dir_okay=False,
                                                   help="CSV: case,decision,reason (UTF-8 or GBK)"),
                       actor: str = AS_OPTION) -> None:
    """Take a decision file: one decision per line (approve, return or reject; a reason to return or
    reject), each checked as `review decide` checks it; one bad line refuses the file, nothing written."""
    from flows.services import review
    from models.uow import unit_of_work

    with unit_of_work() as s:
        n = review.decide_file(s, actor, path.read_bytes(), path.name)
    console.print(f"[green]decided[/] {n} case(s) from {path.name}: each moved on at once")


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
