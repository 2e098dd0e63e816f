"""The reviewer's pages: the queue (filters: scheme, stage, district, overdue), claiming the next case (the
review lease of flows.services.review_read: two reviewers never get the same case), the case page and the
decision (approve, return, reject with a reason) through flows.services.review, with htmx partial updates
and keyboard shortcuts (static/desk.js)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from flows.desk.auth import Ctx, checked, current
from flows.desk.web import case_view, engine_of, is_htmx, render
from flows.services import review
from flows.services.context import current_policy
from models.uow import read_only, unit_of_work

router = APIRouter(prefix="/review")


def _filters(scheme: str | None, stage: str | None, district: str | None, overdue: str | None) -> dict[str, Any]:
    return {"scheme": scheme or None, "stage": stage or None, "district": district or None,
            "overdue": overdue in ("1", "on", "true")}


def _query(f: dict[str, Any]) -> str:
    q = {k: ("1" if v is True else v) for k, v in f.items() if v}
    return ("?" + urlencode(q)) if q else ""


@router.get("")
def queue_page(request: Request, ctx: Ctx = Depends(current), scheme: str | None = None, stage: str | None = None,
               district: str | None = None, overdue: str | None = None, empty: str | None = None) -> Response:
    f = _filters(scheme, stage, district, overdue)
    with read_only(engine_of(request)) as s:
        rows = review.queue(s, ctx.name, f["stage"], f["scheme"], 200, f["district"], f["overdue"])
        policy = current_policy(s)
        stages = review.review_stages(s)
    schemes = [(sid, sc.name) for sid, sc in sorted(policy.schemes.items())]
    return render(request, "review_queue.html", ctx, rows=rows, filters=f, query=_query(f), schemes=schemes,
                  stages=stages, districts=sorted(policy.jurisdiction.districts.items()),
                  scheme_names=dict(schemes), empty=bool(empty))


def _neighbours(request: Request, ctx: Ctx, ref: str, f: dict[str, Any]) -> tuple[str | None, str | None]:
    with read_only(engine_of(request)) as s:
        refs = [r["ref"] for r in review.queue(s, ctx.name, f["stage"], f["scheme"], 200, f["district"],
                                               f["overdue"])]
    if ref not in refs:
        return None, refs[0] if refs else None
    i = refs.index(ref)
    return (refs[i - 1] if i > 0 else None), (refs[i + 1] if i + 1 < len(refs) else None)


def _case_response(request: Request, ctx: Ctx, ref: str, f: dict[str, Any], decided: tuple[str, str] | None = None,
                   push: bool = False) -> Response:
    with read_only(engine_of(request)) as s:
        review.may_decide(s, ctx.name)  # only a reviewer sees the decision form
        view = case_view(s, ctx.name, ref)
    prev, nxt = _neighbours(request, ctx, view["case"]["ref"], f)
    values = {**view, "filters": f, "query": _query(f), "prev_ref": prev, "next_ref": nxt, "decided": decided,
              "held_by_me": True}
    if is_htmx(request):
        headers = {"HX-Push-Url": f"/review/case/{view['case']['ref']}{_query(f)}"} if push else None
        return render(request, "_review_case.html", ctx, headers=headers, **values)
    return render(request, "review_case.html", ctx, **values)


@router.get("/case/{ref}")
def case_page(request: Request, ref: str, ctx: Ctx = Depends(current), scheme: str | None = None,
              stage: str | None = None, district: str | None = None, overdue: str | None = None) -> Response:
    return _case_response(request, ctx, ref, _filters(scheme, stage, district, overdue))


def _claim(request: Request, ctx: Ctx, f: dict[str, Any]) -> str | None:
    with unit_of_work(engine_of(request)) as s:
        case = review.next_case(s, ctx.name, f["stage"], f["scheme"])
    return None if case is None else str(case["ref"])


def _after(request: Request, ctx: Ctx, f: dict[str, Any], ref: str | None,
           decided: tuple[str, str] | None) -> Response:
    if ref is None:
        target = "/review" + _query({**f, "empty": "1"})
        if is_htmx(request):
            return Response(status_code=200, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    if is_htmx(request):
        return _case_response(request, ctx, ref, f, decided=decided, push=True)
    return RedirectResponse(f"/review/case/{ref}{_query(f)}", status_code=303)


@router.post("/next")
def claim_next(request: Request, ctx: Ctx = Depends(checked), scheme: str = Form(""), stage: str = Form(""),
               district: str = Form(""), overdue: str = Form("")) -> Response:
    f = _filters(scheme, stage, district, overdue)
    return _after(request, ctx, f, _claim(request, ctx, f), None)


@router.post("/case/{ref}/decide")
def decide(request: Request, ref: str, ctx: Ctx = Depends(checked), decision: str = Form(""),
           reason: str = Form(""), scheme: str = Form(""), stage: str = Form(""), district: str = Form(""),
           overdue: str = Form("")) -> Response:
    f = _filters(scheme, stage, district, overdue)
    with unit_of_work(engine_of(request)) as s:
        d = review.decide(s, ctx.name, ref, decision, reason)
        done = (ref.upper(), d.decision)
    return _after(request, ctx, f, _claim(request, ctx, f), done)
