"""The auditor's pages, read-only: search a case by reference, download its case dossier and the year
dossier (the same bytes `ipfund dossier case|year` writes: flows.services.dossier builds and renders
both), and upload a dossier PDF to verify it against the database (flows.services.dossier.verify).
Nothing here changes data; the one POST (verify) reads only, and still carries the CSRF token."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlmodel import Session

from flows.desk.auth import Ctx, checked, current
from flows.desk.i18n import SHANGHAI
from flows.desk.web import case_view, engine_of, render
from flows.services import dossier
from models.uow import read_only
from rules.errors import ValidationFailed

router = APIRouter(prefix="/audit")

MAX_UPLOAD = 64 * 1024 * 1024


@router.get("")
def audit_page(request: Request, ctx: Ctx = Depends(current), ref: str | None = None) -> Response:
    view = None
    with read_only(engine_of(request)) as s:
        dossier.check_may_read(s, ctx.name)
        if ref and ref.strip():
            view = case_view(s, ctx.name, ref.strip())
        year = _latest_year(s)
    return render(request, "audit.html", ctx, view=view, ref=(ref or "").strip(), report=None, year=year)


def _latest_year(session: Session) -> int:
    """The latest fiscal year with cases (the year field's default), else this year in Beijing time."""
    from sqlmodel import func, select

    from models.clock import now
    from models.tables import Application

    y = session.exec(select(func.max(Application.year))).one()
    return int(y) if y is not None else now().astimezone(SHANGHAI).year


def _pdf(content: bytes, file_name: str) -> Response:
    return Response(content, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{file_name}"',
                             "Cache-Control": "no-store"})


@router.get("/case/{ref}/dossier.pdf")
def case_dossier(request: Request, ref: str, ctx: Ctx = Depends(current)) -> Response:
    with read_only(engine_of(request)) as s:
        dossier.check_may_read(s, ctx.name)
        d = dossier.build_case(s, ref)
    return _pdf(dossier.render(d).pdf, d.file_name)


@router.get("/year/{year}/dossier.pdf")
def year_dossier(request: Request, year: int, ctx: Ctx = Depends(current)) -> Response:
    with read_only(engine_of(request)) as s:
        dossier.check_may_read(s, ctx.name)
        d = dossier.build_year(s, year)
    return _pdf(dossier.render(d).pdf, d.file_name)


@router.post("/verify")
async def verify(request: Request, ctx: Ctx = Depends(checked), file: UploadFile = File(...),
                 case: str = Form(""), year: str = Form("")) -> Response:
    content = await file.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        raise ValidationFailed("dossier upload", [f"the file is larger than {MAX_UPLOAD // (1024 * 1024)} MiB"])
    if year.strip() and not year.strip().isdigit():
        raise ValidationFailed("dossier upload", [f"year {year.strip()[:8]!r}: a fiscal year such as 2021"])
    kind, key = ("case", case.strip()) if case.strip() else ("year", year.strip()) if year.strip() else (None, None)
    name = (file.filename or "dossier.pdf")[:200]

    def run() -> dossier.VerifyReport:
        with read_only(engine_of(request)) as s:
            dossier.check_may_read(s, ctx.name)
            return dossier.verify(s, content, kind, key, name=name)

    from starlette.concurrency import run_in_threadpool

    report = await run_in_threadpool(run)

    def latest() -> int:
        with read_only(engine_of(request)) as s:
            return _latest_year(s)

    return render(request, "audit.html", ctx, view=None, ref="", report=report, file_name=name,
                  year=await run_in_threadpool(latest))
