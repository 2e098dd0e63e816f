"""Applicants', agencies' and banks' own pages: their applications, vouchers and loans (each list is the
service's, which shows nothing of anyone else's), and applying to a scheme through the form its policy
section declares (fields, types, labels), validated by the same service as `ipfund apply`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from flows.desk.auth import Ctx, checked, current
from flows.desk.web import engine_of, render
from flows.services import applications
from flows.services.context import current_policy, scheme_of
from models.uow import read_only, unit_of_work
from rules.errors import ValidationFailed

router = APIRouter()

INPUT_TYPES = {"text": "text", "date": "date", "int": "number", "fen": "text", "bool": "checkbox", "choice": "select"}


def appliable(session: Session) -> list[tuple[str, str]]:
    """(id, name) of the schemes an applicant applies to through a form (their first stage is intake)."""
    policy = current_policy(session)
    return [(sid, sc.name) for sid, sc in sorted(policy.schemes.items()) if sc.stages and sc.stages[0] == "intake"]


def own_pages(request: Request, ctx: Ctx) -> Response:
    """The home page of an applicant's, an agency's or a bank's user."""
    vouchers: list[dict[str, Any]] = []
    loans: list[dict[str, Any]] = []
    with read_only(engine_of(request)) as s:
        mine = applications.list_apps(s, ctx.name, limit=200)
        schemes = appliable(s) if "applicant" in ctx.roles else []
        if ctx.roles & {"applicant", "agency"}:
            from flows.services import vouchers as voucher_svc

            if voucher_svc.voucher_schemes(current_policy(s)):
                vouchers = voucher_svc.list_vouchers(s, ctx.name, limit=200)
        if "bank" in ctx.roles:
            from flows.services import loans as loan_svc

            loans = loan_svc.list_loans(s, ctx.name)
    if "applicant" not in ctx.roles:
        mine = []
    return render(request, "home.html", ctx, cases=mine, schemes=schemes, vouchers=vouchers, loans=loans)


def _form(session: Session, scheme: str) -> tuple[Any, list[dict[str, Any]]]:
    policy = current_policy(session)
    scheme_of(session, scheme, policy)
    sc = policy.scheme(scheme)
    fields = [{"name": k, "label": f.label or k, "type": INPUT_TYPES[f.type], "kind": f.type,
               "required": f.required, "max_length": f.max_length, "choices": f.choices, "min": f.min, "max": f.max}
              for k, f in sc.form.fields.items()]
    return sc, fields


@router.get("/apply/{scheme}")
def apply_page(request: Request, scheme: str, ctx: Ctx = Depends(current)) -> Response:
    with read_only(engine_of(request)) as s:
        sc, fields = _form(s, scheme)
    return render(request, "apply.html", ctx, scheme=scheme, sc=sc, fields=fields, values={}, problems=None)


@router.post("/apply/{scheme}")
async def apply(request: Request, scheme: str, ctx: Ctx = Depends(checked)) -> Response:
    form = await request.form()
    with read_only(engine_of(request)) as s:
        sc, fields = _form(s, scheme)
    values = {f["name"]: str(form.get(f["name"]) or "") for f in fields}
    for f in fields:  # an unticked checkbox sends nothing: that is "no"
        if f["kind"] == "bool":
            values[f["name"]] = "true" if form.get(f["name"]) else "false"
    try:
        with unit_of_work(engine_of(request)) as s:
            app = applications.apply(s, ctx.name, scheme, values)
            ref = app.ref
    except ValidationFailed as exc:
        return render(request, "apply.html", ctx, 422, scheme=scheme, sc=sc, fields=fields, values=values,
                      problems=exc.problems)
    return RedirectResponse(f"/case/{ref}", status_code=303)
