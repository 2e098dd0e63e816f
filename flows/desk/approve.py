"""The approver's pages: a scheme's trial allocation for a year (ranking, outcome, award and the reason per
case; nothing written), a what-if against an alternative policy file uploaded in the browser (case by case
what would change; nothing written), finalizing the round, and resolving objections raised in public
notice. Every act is the service the CLI calls (flows.services.rounds, flows.services.notice)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from flows.desk.audit import _latest_year
from flows.desk.auth import Ctx, checked, current
from flows.desk.web import engine_of, render
from flows.services import notice, rounds
from flows.services.context import current_policy
from models.uow import read_only, unit_of_work
from rules.errors import RuleViolation
from rules.policy import PolicyError, parse_policy

router = APIRouter(prefix="/approve")

MAX_POLICY = 2 * 1024 * 1024


def _page(request: Request, ctx: Ctx, scheme: str | None, year: int | None, status: int = 200,
          **values: Any) -> Response:
    with read_only(engine_of(request)) as s:
        policy = current_policy(s)
        schemes = [(sid, sc.name) for sid, sc in sorted(policy.schemes.items()) if "ranking" in sc.stages]
        chosen = scheme if scheme in dict(schemes) else (schemes[0][0] if schemes else None)
        year = year or _latest_year(s)
        report, problem = None, None
        if chosen:
            try:
                report = rounds.trial(s, ctx.name, chosen, year)
            except RuleViolation as exc:
                problem = str(exc)
        objections = notice.open_objections(s, ctx.name)
    for key in ("finalized", "what_if", "problems", "resolved"):
        values.setdefault(key, None)
    return render(request, "approve.html", ctx, status, schemes=schemes, scheme=chosen, year=year, report=report,
                  trial_problem=problem, objections=objections, **values)


@router.get("")
def approve_page(request: Request, ctx: Ctx = Depends(current), scheme: str | None = None,
                 year: int | None = None) -> Response:
    return _page(request, ctx, scheme, year)


@router.post("/finalize")
def finalize(request: Request, ctx: Ctx = Depends(checked), scheme: str = Form(""), year: int = Form(0),
             allow_pending: str = Form("")) -> Response:
    with unit_of_work(engine_of(request)) as s:
        r = rounds.finalize(s, ctx.name, scheme, year, allow_pending=allow_pending in ("1", "on", "true"))
    return _page(request, ctx, scheme, year, finalized=r)


@router.post("/what-if")
async def what_if(request: Request, ctx: Ctx = Depends(checked), file: UploadFile = File(...),
                  scheme: str = Form(""), year: int = Form(0)) -> Response:
    """Rank and allocate under an alternative policy file and compare, case by case; nothing written."""
    content = await file.read(MAX_POLICY + 1)
    name = (file.filename or "policy.yaml")[:200]
    problems: list[str] | None = None
    if len(content) > MAX_POLICY:
        problems = [f"file: larger than {MAX_POLICY // (1024 * 1024)} MiB"]
    else:
        try:
            alternative = parse_policy(content.decode("utf-8"), name)
        except UnicodeDecodeError:
            problems = ["file: not UTF-8 text (a policy file is YAML in UTF-8)"]
        except PolicyError as exc:
            problems = list(exc.problems)
    if problems:
        return _page(request, ctx, scheme, year, 422, problems=problems, file_name=name)

    def run() -> dict[str, Any]:
        with read_only(engine_of(request)) as s:
            current_report = rounds.trial(s, ctx.name, scheme, year)
            return rounds.diff_reports(current_report, rounds.trial(s, ctx.name, scheme, year, alternative))

    from starlette.concurrency import run_in_threadpool

    return _page(request, ctx, scheme, year, what_if=await run_in_threadpool(run), file_name=name)


@router.post("/objection/{ref}")
def resolve(request: Request, ref: str, ctx: Ctx = Depends(checked), decision: str = Form(""),
            reason: str = Form(""), scheme: str = Form(""), year: int = Form(0)) -> Response:
    if decision not in ("uphold", "dismiss"):
        raise RuleViolation("decision: choose uphold or dismiss")
    with unit_of_work(engine_of(request)) as s:
        app = notice.resolve(s, ctx.name, ref, decision == "uphold", reason)
        done = (app.ref, decision, app.status)
    return _page(request, ctx, scheme or None, year or None, resolved=done)
