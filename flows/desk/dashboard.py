"""Everyone's screen (可视化数据大屏, 二(四)11): the budget status of a year with the three fund rules of 三(二)
planned and actual, each with its clause and threshold, as gauges and as a table; the budget lines; and
the programme's KPIs against the seed's targets (一(二)). Reads only: flows.services.budget.status and
flows.services.kpis.report, the figures `ipfund budget status` and `ipfund kpi` print. Charts are Apache
ECharts (served by the desk), drawn by static/dashboard.js from the page's JSON; the tables carry the same
figures without JavaScript."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from flows.desk.auth import Ctx, current
from flows.desk.web import engine_of, render, settings_of
from flows.services import budget, kpis
from models.clock import stamp
from models.uow import read_only
from rules.errors import NotFound

router = APIRouter(prefix="/dashboard")


def chart_data(status: dict[str, Any] | None, kpi_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the charts draw: per fund rule the planned and actual ratio and the threshold (as decimal
    text, the rules' own exact figures), per KPI the programme figure and each target's share reached."""
    rules = [] if status is None else [
        {"rule": r["rule"], "title": r["title"], "clause": r["clause"], "threshold": r["planned"]["threshold"],
         "planned": r["planned"]["ratio"], "actual": r["actual"]["ratio"], "passed_planned": r["planned"]["passed"],
         "passed_actual": r["actual"]["passed"]} for r in status["rules"]]
    return {"rules": rules,
            "kpis": [{"id": k["id"], "name": k["name"], "total": k["total"], "by_year": k["by_year"],
                      "targets": [{"label": t["label"], "target": t["target"], "share": t["share"], "met": t["met"]}
                                  for t in k["targets"]]} for k in kpi_rows]}


def figures(request: Request, year: int | None) -> dict[str, Any]:
    """The budget status, the KPIs and the years, computed at most once per ``dashboard_seconds`` per
    desk process and year (a screen many users watch: at 100,000 cases the KPIs take ~0.6 s to count).
    Past that age the figures are still served while the one request that took the lock computes them
    again; only the very first request of a year waits (the desk warms the current year at start)."""
    ttl = settings_of(request).dashboard_seconds
    if not ttl:
        return _compute(engine_of(request), year)
    cache = _cache(request.app)
    hit = cache.get(year)
    if hit is not None and time.monotonic() - hit[0] < ttl:
        return hit[1]
    if hit is not None and not _COMPUTING.acquire(blocking=False):
        return hit[1]  # another request is computing them: serve the previous figures meanwhile
    if hit is None:
        _COMPUTING.acquire()
    try:
        again = cache.get(year)
        if again is not None and again is not hit and time.monotonic() - again[0] < ttl:
            return again[1]
        value = _compute(engine_of(request), year)
        cache[year] = (time.monotonic(), value)
        return value
    finally:
        _COMPUTING.release()


_COMPUTING = threading.Lock()


def _cache(app: Any) -> dict[int | None, tuple[float, dict[str, Any]]]:
    cache: dict[int | None, tuple[float, dict[str, Any]]] = app.state.__dict__.setdefault("dashboard_cache", {})
    return cache


def warm(app: Any) -> None:
    """Compute the current year's figures once, before users ask (the desk's start-up, in a thread)."""
    with _COMPUTING:
        if None not in _cache(app):
            _cache(app)[None] = (time.monotonic(), _compute(app.state.engine, None))


def _compute(engine: Any, year: int | None) -> dict[str, Any]:
    with read_only(engine) as s:
        years = budget.years(s)
        try:
            status: dict[str, Any] | None = budget.status(s, year)
            problem = None
        except NotFound as exc:
            status, problem = None, str(exc)
        kpi_rows = [k.as_dict() for k in kpis.report(s)]
    return {"status": status, "problem": problem, "years": years, "kpis": kpi_rows, "as_of": stamp()}


@router.get("")
def dashboard(request: Request, ctx: Ctx = Depends(current), year: int | None = None) -> Response:
    f = figures(request, year)
    data = json.dumps(chart_data(f["status"], f["kpis"]), ensure_ascii=False, sort_keys=True).replace("</", "<\\/")
    return render(request, "dashboard.html", ctx, budget_status=f["status"], problem=f["problem"], years=f["years"],
                  kpis=f["kpis"], chart_json=data, as_of=f["as_of"])
