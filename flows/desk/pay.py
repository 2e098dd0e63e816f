"""The finance officer's pages: a scheme's payable cases with the amount due and the payee, releasing them
for the next payment run or paying them now as one batch, the batch's bank file (the bytes `ipfund pay
file` writes, regenerated from the database and recorded in the audit chain as issued, or as a copy), and
the bank's acknowledgement file imported with every bad line shown and nothing written. Every act is the
service the CLI calls (flows.services.payments), which applies the duties rule to each case."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from flows.desk.auth import Ctx, checked, current
from flows.desk.web import engine_of, render
from flows.services import payment_read, payments
from models.uow import read_only, unit_of_work
from rules.errors import ValidationFailed

router = APIRouter(prefix="/pay")

MAX_UPLOAD = 16 * 1024 * 1024


def _page(request: Request, ctx: Ctx, scheme: str | None, status: int = 200, **values: Any) -> Response:
    with read_only(engine_of(request)) as s:
        schemes = payment_read.paying_schemes(s)
        chosen = scheme if scheme in dict(schemes) else (schemes[0][0] if schemes else None)
        rows = payment_read.payable(s, ctx.name, chosen) if chosen else []
        made = payment_read.batches(s, ctx.name, None, 20)
    for key in ("problems", "counts", "released", "issued"):
        values.setdefault(key, None)
    return render(request, "pay.html", ctx, status, schemes=schemes, scheme=chosen, rows=rows, batches=made,
                  total_fen=sum(r["amount_fen"] for r in rows), **values)


@router.get("")
def pay_page(request: Request, ctx: Ctx = Depends(current), scheme: str | None = None,
             batch: int | None = None) -> Response:
    return _page(request, ctx, scheme, issued=batch)


@router.post("/release")
def release(request: Request, ctx: Ctx = Depends(checked), scheme: str = Form("")) -> Response:
    """Release every payable case of the scheme for the next payment run (the advance flow pays them)."""
    with unit_of_work(engine_of(request)) as s:
        r = payments.release(s, ctx.name, scheme)
    return _page(request, ctx, scheme, released=r)


@router.post("/batch")
def pay_now(request: Request, ctx: Ctx = Depends(checked), scheme: str = Form("")) -> Response:
    """Release and pay every payable case of the scheme now, as one batch (`ipfund pay batch`)."""
    with unit_of_work(engine_of(request)) as s:
        r = payments.batch(s, ctx.name, scheme)
        batch_id = r.batch.id if r.batch is not None else None
    if batch_id is None:  # nothing payable (or all held): no batch, no file
        return _page(request, ctx, scheme, released=payments.ReleaseResult([], r.held))
    return RedirectResponse(f"/pay?scheme={quote(scheme)}&batch={batch_id}", status_code=303)


@router.post("/batch/{batch_id}/file")
def bank_file(request: Request, batch_id: int, ctx: Ctx = Depends(checked)) -> Response:
    """The batch's bank file, regenerated from the database (refused if it differs from the one issued),
    recorded in the audit chain as issued — or, after the first time, as a copy."""
    with unit_of_work(engine_of(request)) as s:
        b, content = payments.batch_file(s, batch_id)
        first = b.file_written_at is None
        payments.record_file(s, ctx.name, batch_id, f"desk download by {ctx.name}", copy=not first)
        name = b.file_name
    return Response(content, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@router.post("/confirm")
async def confirm(request: Request, ctx: Ctx = Depends(checked), file: UploadFile = File(...),
                  scheme: str = Form("")) -> Response:
    """Import the bank's acknowledgement file: every line valid or nothing written."""
    content = await file.read(MAX_UPLOAD + 1)
    name = (file.filename or "ack.csv")[:200]
    if len(content) > MAX_UPLOAD:
        return _page(request, ctx, scheme, 422, problems=[f"file: larger than {MAX_UPLOAD // (1024 * 1024)} MiB"],
                     file_name=name)

    def run() -> dict[str, int]:
        with unit_of_work(engine_of(request)) as s:
            return payments.confirm(s, ctx.name, content, name)

    from starlette.concurrency import run_in_threadpool

    try:
        counts = await run_in_threadpool(run)
    except ValidationFailed as exc:
        return _page(request, ctx, scheme, 422, problems=exc.problems, file_name=name)
    return _page(request, ctx, scheme, counts=counts, file_name=name)
