"""`ipfund project ...`: funded projects (二(一)1, 二(四)12, 三(三)) — the call's terms, applying, the agreement,
progress reports and extensions, mid-term and final evaluations, tranche releases, rectification, clawback
recoveries, list and show. No flow runs here: neither Prefect nor the ORM is imported until a command runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from flows.cli.common import AS_OPTION, JSON_OPTION, console, done, fail, handled, print_json, yuan

project_app = typer.Typer(help="Funded projects (专利导航、运营中心, 二(一)1, 二(四)12): call, apply, agree, report, extend, "
                               "extension, evaluate, release, rectify, clawback, list, show.", no_args_is_help=True)

STAGE_OPTION: Any = typer.Option(..., "--stage", help="mid_term | final")


def _pairs(specs: list[str] | None, option: str, example: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for spec in specs or []:
        key, eq, value = spec.partition("=")
        if not eq or not key.strip() or not value.strip():
            fail(f"{option} {spec!r}: write CODE=VALUE, e.g. {example}")
        if key.strip() in out:
            fail(f"{option} {key.strip()!r} is given twice")
        out[key.strip()] = value.strip()
    return out


def _evidence(specs: list[str] | None) -> list[tuple[str, str, bytes]]:
    out = []
    for spec in specs or []:
        kind, eq, path = spec.partition("=")
        if not eq or not kind.strip() or not path.strip():
            fail(f"--evidence {spec!r}: write KIND=FILE, e.g. report=中期报告.pdf")
        p = Path(path.strip())
        if not p.is_file():
            fail(f"--evidence {spec!r}: no such file {str(p)!r}")
        out.append((kind.strip(), p.name, p.read_bytes()))
    return out


@project_app.command("call")
@handled
def call(scheme: str = typer.Argument(..., help="The project scheme, e.g. project-navigation"),
         on: str = typer.Option(None, "--on", help="The day the terms are read for (YYYY-MM-DD; default today)"),
         actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """The call's terms from the policy: project types with their grant caps and KPI templates, the expert and the
    performance rubrics, the tranche plan, the grade bands and what each releases, the report and rectification
    periods — each with its parameter."""
    from flows.services.project_read import call_terms
    from models.uow import read_only

    with read_only() as s:  # the terms are public: anyone may read them (--as is accepted, not needed)
        terms = call_terms(s, scheme, dt.date.fromisoformat(on) if on else None)
    if as_json:
        print_json(terms)
        return
    console.print(f"[bold]{terms['name']}[/] ({terms['scheme']}, {terms['clause']}) — terms on {terms['on']}")
    t = Table("type", "grant at most", "KPIs (code: name, unit, formula)", title="project types")
    for kind in terms["types"]:
        t.add_row(kind["type"], yuan(kind["max_grant_fen"]),
                  "\n".join(f"{k['code']}: {k['name']}, {k['unit']}, {k['formula']}" for k in kind["kpis"]))
    console.print(t)
    for title, rubric in (("expert review (立项评审)", terms["application_rubric"]),
                          ("performance evaluation (项目管理)", terms["performance_rubric"])):
        r = Table("criterion", "name", "weight %", title=title)
        for c in rubric:
            r.add_row(c["criterion"], c["name"], c["weight"])
        console.print(r)
    tr = Table("tranche", "share", "falls due on", "banded by the grade", title="tranches (project-grant.tranches)")
    for x in terms["tranches"]:
        tr.add_row(x["key"], x["share"], x["due_on"], "yes" if x["banded"] else "no")
    console.print(tr)
    b = Table("grade", "name", "score from", "banded tranche released", title="grade bands")
    for x in terms["bands"]:
        b.add_row(x["grade"], x["name"], x["min"], x["released"])
    console.print(b)
    console.print(f"reports due {terms['report_months']['mid_term']} and {terms['report_months']['final']} months "
                  f"after the agreement; {terms['rectification_days']} days to rectify; unrectified: "
                  f"{terms['clawback_share']} of what was paid clawed back, barred {terms['bar_years']} year(s)",
                  highlight=False)


@project_app.command("apply")
@handled
def apply(scheme: str = typer.Argument(..., help="The project scheme, e.g. project-navigation"),
          project_type: str = typer.Option(..., "--type", help="The project type (see `ipfund project call`)"),
          name: str = typer.Option(..., "--name", help="The project's name"),
          industry: str = typer.Option(..., "--industry", help="The industry it serves"),
          requested: str = typer.Option(..., "--requested", help="The grant asked for, in yuan"),
          applicant: str = typer.Option(None, "--applicant", help="An admin names the applicant's credit code"),
          actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Apply to a call for projects (an applicant for their own organisation)."""
    from flows.services import applications
    from models.uow import unit_of_work

    with unit_of_work() as s:
        app = applications.apply(s, actor, scheme, {"project_type": project_type, "project_name": name,
                                                    "industry": industry, "requested": requested}, applicant)
        data = {"ref": app.ref, "scheme": app.scheme, "status": app.status}
    done(as_json, data, f"[green]applied[/] {data['ref']} to {scheme} ({data['status']})")


@project_app.command("agree")
@handled
def agree(ref: str = typer.Argument(...), file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                                                       help="The agreement (TOML: [[kpi]] code, "
                                                                            "baseline, target, weight, due; "
                                                                            "[[deliverable]] code, name, due)"),
          actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Sign the project's agreement (approvers): KPI targets, deliverables, the tranche plan; the advance is due."""
    from flows.services import projects
    from models.uow import unit_of_work

    with unit_of_work() as s:
        a = projects.agree(s, actor, ref, file.read_bytes(), file.name)
        data = projects.show(s, actor, ref)
    done(as_json, data, f"[green]agreed[/] {data['ref']}: grant {yuan(a.grant_fen)}, tranches "
                        + ", ".join(f"{t['key']} {yuan(t['amount_fen'])}" for t in data["agreement"]["tranches"])
                        + f"; reports due {data['due']['mid_term']} and {data['due']['final']}")


@project_app.command("report")
@handled
def report(ref: str = typer.Argument(...), stage: str = STAGE_OPTION,
           actual: list[str] = typer.Option(None, "--actual", help="CODE=VALUE for each KPI, e.g. smes_served=42"),
           evidence: list[str] = typer.Option(None, "--evidence", help="KIND=FILE, e.g. report=中期报告.pdf"),
           actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """File a progress report with the KPI actuals and its evidence (the project's staff); late after the due date."""
    from flows.services import projects
    from models.uow import unit_of_work

    actuals = _pairs(actual, "--actual", "smes_served=42")
    files = _evidence(evidence)
    with unit_of_work() as s:
        r = projects.report(s, actor, ref, stage, actuals, files)
        data = {"ref": ref.strip().upper(), "report_id": r.id, "stage": r.stage, "due_on": r.due_on,
                "filed_on": r.filed_on, "late": r.late, "evidence": len(files)}
    done(as_json, data, f"[green]reported[/] {data['ref']} {stage}: filed {data['filed_on']}, due {data['due_on']}"
                        + (" — [yellow]late[/]" if data["late"] else "") + f", {len(files)} evidence file(s)")


@project_app.command("extend")
@handled
def extend(ref: str = typer.Argument(...), stage: str = STAGE_OPTION,
           until: str = typer.Option(..., "--until", help="The new due date (YYYY-MM-DD)"),
           reason: str = typer.Option(..., "--reason"), actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Ask, before the report is due, for a later due date (a reviewer decides: `project extension`)."""
    from flows.services import projects
    from models.uow import unit_of_work

    with unit_of_work() as s:
        e = projects.extend(s, actor, ref, stage, until, reason)
        data = {"extension": e.id, "ref": ref.strip().upper(), "stage": e.stage, "due_on": e.due_on,
                "new_due": e.new_due}
    done(as_json, data, f"[green]asked[/] extension {data['extension']} of {data['ref']} {stage}: "
                        f"{data['due_on']} → {data['new_due']}")


@project_app.command("extension")
@handled
def extension(extension_id: int = typer.Argument(..., help="The extension's number"),
              grant: bool = typer.Option(..., "--grant/--refuse", help="Grant or refuse it"),
              reason: str = typer.Option(..., "--reason"), actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Decide an extension (reviewers): granted, the new due date is in force."""
    from flows.services import projects
    from models.uow import unit_of_work

    with unit_of_work() as s:
        e = projects.decide_extension(s, actor, extension_id, grant, reason)
        data = {"extension": e.id, "decision": e.decision, "stage": e.stage, "new_due": e.new_due}
    done(as_json, data, f"[green]{data['decision']}[/] extension {data['extension']} ({data['stage']}, "
                        f"{data['new_due']})")


@project_app.command("evaluate")
@handled
def evaluate(ref: str = typer.Argument(...), stage: str = STAGE_OPTION,
             score: list[str] = typer.Option(None, "--score", help="CRITERION=SCORE (0–100, tenths) for each criterion "
                                                                  "of the performance rubric"),
             comment: str = typer.Option("", "--comment"), actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Evaluate a project's stage (third-party evaluators): the grade from the rubric and the KPI actuals."""
    from flows.services import projects
    from models.uow import unit_of_work

    scores = _pairs(score, "--score", "funds_use=85")
    with unit_of_work() as s:
        e = projects.evaluate(s, actor, ref, stage, scores, comment)
        data = {"ref": ref.strip().upper(), "evaluation": e.id, "stage": e.stage, "rubric_score": e.rubric_score,
                "kpi_score": e.kpi_score, "score": e.score, "grade": e.grade, "grade_name": e.grade_name,
                "trace": projects.show(s, actor, ref)["evaluations"][-1]["trace"]}
    done(as_json, data, f"[green]evaluated[/] {data['ref']} {stage}: rubric {data['rubric_score']}, KPIs "
                        f"{data['kpi_score']}, score {data['score']} — {data['grade_name']} ({data['grade']})")


@project_app.command("release")
@handled
def release(ref: str = typer.Argument(...), actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Sign off the tranches of the stage the project was evaluated at (approvers): released by the grade, the rest
    cancelled back to the line; what is released is then paid through `pay release`."""
    from flows.services import projects
    from models.uow import unit_of_work

    with unit_of_work() as s:
        rows = projects.release(s, actor, ref)
        tranches = [{"tranche": t.tranche, "grade": t.grade, "released_fen": t.released_fen,
                      "cancelled_fen": t.cancelled_fen} for t in rows]
    data: dict[str, Any] = {"ref": ref.strip().upper(), "tranches": tranches}
    done(as_json, data, f"[green]released[/] {data['ref']}: " + "; ".join(
        f"{t['tranche']} (grade {t['grade']}) {yuan(int(t['released_fen'] or 0))} released, "
        f"{yuan(int(t['cancelled_fen'] or 0))} cancelled" for t in tranches))


@project_app.command("rectify")
@handled
def rectify(ref: str = typer.Argument(...), reason: str = typer.Option(..., "--reason"), actor: str = AS_OPTION,
            as_json: bool = JSON_OPTION) -> None:
    """Accept a project's rectification by its due date (reviewers); the project is then evaluated again."""
    from flows.services import projects
    from models.uow import unit_of_work

    with unit_of_work() as s:
        r = projects.rectify(s, actor, ref, reason)
        data = {"ref": ref.strip().upper(), "rectification": r.id, "due_on": r.due_on}
    done(as_json, data, f"[green]rectified[/] {data['ref']} (due {data['due_on']})")


@project_app.command("clawback")
@handled
def clawback(ref: str = typer.Argument(...), amount: str = typer.Option(..., "--amount", help="Recovered, in yuan"),
             receipt: str = typer.Option(..., "--receipt", help="The bank's receipt reference (recorded once)"),
             received_on: str = typer.Option(..., "--received-on", help="YYYY-MM-DD"), actor: str = AS_OPTION,
             as_json: bool = JSON_OPTION) -> None:
    """Record money recovered on an unrectified project's clawback (finance): receivable → available."""
    from flows.services import projects
    from models.uow import unit_of_work

    with unit_of_work() as s:
        r = projects.recover(s, actor, ref, amount, receipt, received_on)
        shown = projects.show(s, actor, ref)
        data = {"ref": shown["ref"], "recovered_fen": r.amount_fen, "receipt": r.receipt_ref,
                "owed_fen": shown["clawback"]["amount_fen"], "recovered_total_fen": shown["clawback"]["recovered_fen"],
                "status": shown["status"]}
    done(as_json, data, f"[green]recovered[/] {yuan(data['recovered_fen'])} on {data['ref']} ({data['receipt']}): "
                        f"{yuan(data['recovered_total_fen'])} of {yuan(data['owed_fen'])} — {data['status']}")


@project_app.command("list")
@handled
def list_cmd(scheme: str = typer.Option(None, "--scheme"), status: str = typer.Option(None, "--status"),
             actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Funded projects (from the agreement on; applicants see their own) with the money granted, released, paid,
    cancelled and clawed back."""
    from flows.services import projects
    from models.uow import read_only

    with read_only() as s:
        rows = projects.list_projects(s, actor, scheme, status)
    if as_json:
        print_json(rows)
        return
    t = Table("ref", "type", "applicant", "status", "grant", "released", "paid", "cancelled", "clawed back",
              title="projects")
    for r in rows:
        t.add_row(r["ref"], str(r["project_type"]), r["applicant"], r["status"], yuan(r["grant_fen"] or 0),
                  yuan(r["released_fen"]), yuan(r["paid_fen"]), yuan(r["cancelled_fen"]),
                  f"{yuan(r['clawback_fen'])} ({yuan(r['recovered_fen'])} back)" if r["clawback_fen"] else "")
    console.print(t)


@project_app.command("show")
@handled
def show(ref: str = typer.Argument(...), actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """One project: agreement, reports with evidence hashes, extensions, evaluations with their trace, tranches,
    rectification, clawback."""
    from flows.services import projects
    from models.uow import read_only

    with read_only() as s:
        p = projects.show(s, actor, ref)
    if as_json:
        print_json(p)
        return
    console.print(f"[bold]{p['ref']}[/] {p['project_name']} ({p['project_type']}) — {p['applicant']} {p['uscc']} — "
                  f"{p['status']}", highlight=False)
    a = p["agreement"]
    if a:
        console.print(f"agreement {a['agreed_on']} by {a['signed_by']}, grant {yuan(a['grant_fen'])}, file sha256 "
                      f"{a['file_sha256']}; reports due {p['due']['mid_term']} (mid-term), {p['due']['final']} (final)",
                      highlight=False)
        k = Table("KPI", "name", "unit", "baseline", "target", "weight %", "formula", title="KPI targets")
        for x in a["kpis"]:
            k.add_row(x["code"], x["name"], x["unit"], x["baseline"], x["target"], x["weight"], x["formula"])
        console.print(k)
    for r in p["reports"]:
        console.print(f"report {r['id']} {r['stage']}: filed {r['filed_on']} (due {r['due_on']}"
                      f"{', late' if r['late'] else ''}) actuals {r['actuals']}; evidence "
                      + ", ".join(f"{e['file']} sha256 {e['sha256']}" for e in r["evidence"]), highlight=False)
    for e in p["extensions"]:
        console.print(f"extension {e['id']} {e['stage']}: {e['due_on']} → {e['new_due']} ({e['decision'] or 'asked'})",
                      highlight=False)
    for e in p["evaluations"]:
        console.print(f"evaluation {e['id']} {e['stage']} by {e['evaluator']} on {e['evaluated_on']}: rubric "
                      f"{e['rubric_score']}, KPIs {e['kpi_score']}, score {e['score']} — {e['grade_name']}",
                      highlight=False)
    tr = Table("tranche", "stage", "planned", "released", "cancelled", "grade", "why", title="tranches")
    for t in p["tranches"]:
        tr.add_row(t["tranche"], t["stage"], yuan(t["planned_fen"]), yuan(t["released_fen"]), yuan(t["cancelled_fen"]),
                   t["grade"] or "", t["why"])
    console.print(tr)
    for r in p["rectifications"]:
        console.print(f"rectification {r['id']} ({r['stage']}): opened {r['opened_on']}, due {r['due_on']} — "
                      f"{r['result'] or 'open'}", highlight=False)
    if p["clawback"]:
        console.print(f"clawback {yuan(p['clawback']['amount_fen'])}, recovered {yuan(p['clawback']['recovered_fen'])}",
                      highlight=False)
    for b in p["bars"]:
        console.print(f"barred from calls {b['since']} – {b['until']}: {b['reason']}", highlight=False)
