"""Funded projects (二(一)1, 二(四)12, 三(三)) on the desk, for every scheme whose policy section has a
``project:`` key: the list of the projects the user may see, one project's page (agreement, reports with
their evidence hashes, extensions, evaluations, tranches, rectification, clawback) and the forms of its acts
— report, extend, decide an extension, evaluate, release, rectify, agree. Every act is the service the CLI's
`ipfund project …` calls (flows.services.projects), which decides who may do what; a refusal is shown on the
page and nothing is written."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import UploadFile as StarletteUpload

from flows.desk.auth import Ctx, checked, current
from flows.desk.i18n import N_
from flows.desk.web import engine_of, render
from flows.services import applications, projects
from flows.services.context import current_policy
from flows.services.project_read import call_terms
from models.uow import read_only, unit_of_work
from rules.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed

router = APIRouter(prefix="/projects")

MAX_FILE = 16 * 1024 * 1024
EVIDENCE_SLOTS = 3  # file inputs on the report form (each with its evidence type)

# What a redirect after an act says (?done=KEY): only these, never text from the URL.
DONE = {
    "report": N_("The progress report was filed."),
    "extend": N_("The extension was asked for; a reviewer decides."),
    "extension": N_("The extension was decided."),
    "evaluate": N_("The evaluation was recorded."),
    "release": N_("The tranches were signed off."),
    "rectify": N_("The rectification was accepted."),
    "agree": N_("The agreement was signed."),
}


def _names(session: Session) -> dict[str, str]:
    policy = current_policy(session)
    return {sid: policy.scheme(sid).name for sid in projects.project_schemes(policy)}


@router.get("")
def list_page(request: Request, ctx: Ctx = Depends(current)) -> Response:
    with read_only(engine_of(request)) as s:
        rows = projects.list_projects(s, ctx.name)
        policy = current_policy(s)
        waiting: list[dict[str, Any]] = []
        for sid in projects.project_schemes(policy):
            pj = policy.scheme(sid).project
            assert pj is not None
            waiting += applications.list_apps(s, ctx.name, sid, pj.agreement_state)
        names = _names(s)
    return render(request, "projects.html", ctx, rows=rows, waiting=waiting, scheme_names=names)


def _view(session: Session, ctx: Ctx, ref: str) -> dict[str, Any]:
    """The project as projects.show gives it (which decides who may see it), with the names its scheme
    declares (states, the performance rubric's criteria) and the stage it runs towards, for the forms."""
    p = projects.show(session, ctx.name, ref)
    policy = current_policy(session)
    sc = policy.scheme(p["scheme"])
    pj = sc.project
    assert pj is not None
    stage = next((st for st in projects.STAGES
                  if p["status"] in (pj.running[st], pj.evaluated[st], pj.rectifying[st])), None)
    rubric = call_terms(session, p["scheme"])["performance_rubric"]
    return {"p": p, "scheme_name": sc.name, "state_names": {k: v.name for k, v in sc.states.items()},
            "rubric": rubric, "criteria": {c["criterion"]: c["name"] for c in rubric}, "stages": projects.STAGES,
            "stage": stage, "slots": range(1, EVIDENCE_SLOTS + 1)}


def _page(request: Request, ctx: Ctx, ref: str, status: int = 200, **values: Any) -> Response:
    with read_only(engine_of(request)) as s:
        view = _view(s, ctx, ref)
    values.setdefault("problems", None)
    values.setdefault("form", None)
    values.setdefault("done", None)
    values.setdefault("values", {})
    return render(request, "project.html", ctx, status, **view, **values)


@router.get("/{ref}")
def project_page(request: Request, ref: str, ctx: Ctx = Depends(current), done: str | None = None) -> Response:
    return _page(request, ctx, ref, done=DONE.get(done or ""))


def _act(request: Request, ctx: Ctx, ref: str, form: str, act: Any, values: dict[str, Any] | None = None
         ) -> Response:
    """Run one act in a unit of work; on success redirect to the project (303), on a refusal show the page
    with the problems at the form (nothing was written: the unit of work rolled back). A permission refused
    or a project not found goes to the desk's error page (403, 404) like every other route."""
    try:
        with unit_of_work(engine_of(request)) as s:
            act(s)
    except ValidationFailed as exc:
        return _page(request, ctx, ref, 422, problems=exc.problems, form=form, values=values or {})
    except (PermissionDenied, NotFound):
        raise
    except RuleViolation as exc:
        return _page(request, ctx, ref, 422, problems=[str(exc)], form=form, values=values or {})
    return RedirectResponse(f"/projects/{ref.strip().upper()}?done={form}", status_code=303)


def _pairs(form: Any, prefix: str) -> dict[str, str]:
    """``prefix:CODE`` fields of a form, the blank ones left out (a blank input gives no value)."""
    return {k[len(prefix):]: str(v).strip() for k, v in form.multi_items()
            if k.startswith(prefix) and isinstance(v, str) and v.strip()}


async def _file(upload: Any) -> tuple[str, bytes] | None:
    if not isinstance(upload, StarletteUpload) or not upload.filename:
        return None
    content = await upload.read(MAX_FILE + 1)
    return upload.filename[:260], content


@router.post("/{ref}/report")
async def report(request: Request, ref: str, ctx: Ctx = Depends(checked)) -> Response:
    form = await request.form()
    stage = str(form.get("stage") or "")
    actuals = _pairs(form, "actual:")
    files: list[tuple[str, str, bytes]] = []
    problems: list[str] = []
    for i in range(1, EVIDENCE_SLOTS + 1):
        got = await _file(form.get(f"evidence_file_{i}"))
        if got is None:
            continue
        name, content = got
        if len(content) > MAX_FILE:
            problems.append(f"evidence {name}: larger than {MAX_FILE // (1024 * 1024)} MiB")
            continue
        files.append((str(form.get(f"evidence_kind_{i}") or "").strip(), name, content))
    values = {"stage": stage, **{f"actual:{k}": v for k, v in actuals.items()}}
    if problems:
        return _page(request, ctx, ref, 422, problems=problems, form="report", values=values)
    return _act(request, ctx, ref, "report", lambda s: projects.report(s, ctx.name, ref, stage, actuals, files),
                values)


@router.post("/{ref}/extend")
def extend(request: Request, ref: str, ctx: Ctx = Depends(checked), stage: str = Form(""), until: str = Form(""),
           reason: str = Form("")) -> Response:
    return _act(request, ctx, ref, "extend", lambda s: projects.extend(s, ctx.name, ref, stage, until, reason),
                {"stage": stage, "until": until, "reason": reason})


@router.post("/{ref}/extension/{extension_id}")
def decide_extension(request: Request, ref: str, extension_id: int, ctx: Ctx = Depends(checked),
                     decision: str = Form(""), reason: str = Form("")) -> Response:
    if decision not in ("grant", "refuse"):
        return _page(request, ctx, ref, 422, problems=["decision: choose grant or refuse"], form="extension")
    return _act(request, ctx, ref, "extension",
                lambda s: projects.decide_extension(s, ctx.name, extension_id, decision == "grant", reason),
                {"reason": reason})


@router.post("/{ref}/evaluate")
async def evaluate(request: Request, ref: str, ctx: Ctx = Depends(checked)) -> Response:
    form = await request.form()
    stage = str(form.get("stage") or "")
    scores = _pairs(form, "score:")
    comment = str(form.get("comment") or "")
    return _act(request, ctx, ref, "evaluate", lambda s: projects.evaluate(s, ctx.name, ref, stage, scores, comment),
                {"stage": stage, "comment": comment, **{f"score:{k}": v for k, v in scores.items()}})


@router.post("/{ref}/release")
def release(request: Request, ref: str, ctx: Ctx = Depends(checked)) -> Response:
    return _act(request, ctx, ref, "release", lambda s: projects.release(s, ctx.name, ref))


@router.post("/{ref}/rectify")
def rectify(request: Request, ref: str, ctx: Ctx = Depends(checked), reason: str = Form("")) -> Response:
    return _act(request, ctx, ref, "rectify", lambda s: projects.rectify(s, ctx.name, ref, reason),
                {"reason": reason})


@router.post("/{ref}/agree")
async def agree(request: Request, ref: str, ctx: Ctx = Depends(checked), file: UploadFile | None = File(None)
                ) -> Response:
    got = await _file(file)
    if got is None:
        return _page(request, ctx, ref, 422, problems=["file: choose the agreement file (TOML)"], form="agree")
    name, content = got
    if len(content) > MAX_FILE:
        return _page(request, ctx, ref, 422, problems=[f"file: larger than {MAX_FILE // (1024 * 1024)} MiB"],
                     form="agree")
    return _act(request, ctx, ref, "agree", lambda s: projects.agree(s, ctx.name, ref, content, name))
