"""The evaluator's pages: the assigned cases, the XLSX score template (the same bytes as `ipfund scores
template --format xlsx`), an upload that is always a dry run first — every bad row listed by line, nothing
written — then confirmed, and the declaration of a conflict of interest. Every act is the service the CLI
calls (flows.services.evaluation), which decides who may do it."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from flows.desk.auth import Ctx, checked, current
from flows.desk.web import engine_of, render
from flows.services import evaluation
from flows.services.context import current_policy
from models.uow import read_only, unit_of_work
from rules.errors import ValidationFailed

router = APIRouter(prefix="/evaluate")

MAX_UPLOAD = 16 * 1024 * 1024  # a 10,000-row score file is well under 1 MiB


def _page(request: Request, ctx: Ctx, status: int = 200, **values: Any) -> Response:
    with read_only(engine_of(request)) as s:
        rows = evaluation.assigned(s, ctx.name)
        names = {sid: sc.name for sid, sc in current_policy(s).schemes.items()}
    values.setdefault("problems", None)
    values.setdefault("checked", None)
    values.setdefault("done", None)
    return render(request, "evaluate.html", ctx, status, rows=rows, scheme_names=names, **values)


@router.get("")
def evaluate_page(request: Request, ctx: Ctx = Depends(current)) -> Response:
    return _page(request, ctx)


@router.get("/template.xlsx")
def template(request: Request, ctx: Ctx = Depends(current)) -> Response:
    with read_only(engine_of(request)) as s:
        content = evaluation.template(s, ctx.name, "xlsx")
    return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="scores-{ctx.name}.xlsx"',
                             "Cache-Control": "no-store"})


def _upload(request: Request, ctx: Ctx, content: bytes, name: str, dry_run: bool) -> Response:
    try:
        with unit_of_work(engine_of(request)) as s:
            result = evaluation.upload(s, ctx.name, content, name, dry_run=dry_run)
    except ValidationFailed as exc:
        return _page(request, ctx, 422, problems=exc.problems, file_name=name)
    if dry_run:
        return _page(request, ctx, checked=result, file_name=name, content=base64.b64encode(content).decode(),
                     sha256=hashlib.sha256(content).hexdigest())
    return _page(request, ctx, done=result, file_name=name)


@router.post("/upload")
async def upload(request: Request, ctx: Ctx = Depends(checked), file: UploadFile = File(...)) -> Response:
    """The dry run: validates the whole file, writes nothing, and offers to confirm."""
    content = await file.read(MAX_UPLOAD + 1)
    name = (file.filename or "scores.xlsx")[:200]
    if len(content) > MAX_UPLOAD:
        return _page(request, ctx, 422, problems=[f"file: larger than {MAX_UPLOAD // (1024 * 1024)} MiB"],
                     file_name=name)
    return _upload(request, ctx, content, name, dry_run=True)


@router.post("/confirm")
def confirm(request: Request, ctx: Ctx = Depends(checked), content: str = Form(""), file_name: str = Form(""),
            sha256: str = Form("")) -> Response:
    """Writes the file the dry run checked (validated again, whole, by the same service: all rows or none)."""
    try:
        data = base64.b64decode(content.encode(), validate=True)
    except (binascii.Error, ValueError):
        data = b""
    if not data or hashlib.sha256(data).hexdigest() != sha256:
        return _page(request, ctx, 422, problems=["file: the confirmed file is not the one checked; upload it again"],
                     file_name=file_name[:200])
    return _upload(request, ctx, data, file_name[:200] or "scores.xlsx", dry_run=False)


@router.post("/conflict")
def conflict(request: Request, ctx: Ctx = Depends(checked), applicant: str = Form(""),
             reason: str = Form("")) -> Response:
    with unit_of_work(engine_of(request)) as s:
        evaluation.declare_conflict(s, ctx.name, applicant.strip(), reason)
    return _page(request, ctx, declared=applicant.strip().upper())
