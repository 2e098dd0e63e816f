"""The terms of a call for projects, read from the policy (`ipfund project call`): what an applicant and an
evaluator need to know before the call opens, each value with the parameter it comes from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from flows.services.context import current_policy
from models.clock import now
from rules.errors import NotFound
from rules.schemes import project_grant as pg


def call_terms(session: Session, scheme: str, on: dt.date | None = None) -> dict[str, Any]:
    policy = current_policy(session)
    if scheme not in policy.schemes or policy.scheme(scheme).project is None:
        raise NotFound(f"{scheme!r} is not a project scheme of the policy "
                       f"({', '.join(s for s, sc in policy.schemes.items() if sc.project is not None)})")
    sc = policy.scheme(scheme)
    pj = sc.project
    assert pj is not None
    day = on or now().date()
    kinds = list(sc.form.fields[pj.type_field].choices or [])

    def rubric(name: str) -> list[dict[str, str]]:
        raw: Mapping[str, Any] = policy.value(name, day)
        return [{"criterion": c, "name": str(v.get("name", c)), "weight": str(v["weight"])} for c, v in raw.items()]

    by_grade: Mapping[str, Any] = policy.value(pg._p("release_by_grade"), day)
    tranches: Sequence[Mapping[str, Any]] = policy.value(pg._p("tranches"), day)
    ev = sc.evaluation
    return {
        "scheme": scheme, "name": sc.name, "name_en": sc.name_en, "clause": sc.clause, "on": day.isoformat(),
        "types": [{"type": k, "max_grant_fen": pg.max_grant(policy, k, day),
                   "kpis": [{"code": t.code, "name": t.name, "unit": t.unit, "formula": t.formula}
                            for t in pg.kpi_template(policy, pj.kpi_template, k, day)]} for k in kinds],
        "application_rubric": rubric(ev.rubric) if ev else [],
        "performance_rubric": rubric(pj.performance_rubric),
        "tranches": [{"key": str(t["key"]), "share": str(t["share"]), "due_on": str(t["due_on"]),
                      "banded": bool(t.get("banded", False))} for t in tranches],
        "bands": [{"grade": g, "name": n, "min": f"{Decimal(f.numerator) / Decimal(f.denominator):f}",
                   "released": str(by_grade.get(g, ""))} for g, n, f in pg.bands(policy, day)],
        "report_months": {k: policy.integer(v, day) for k, v in pj.report_months.items()},
        "rectification_days": policy.integer(pg._p("rectification_days"), day),
        "clawback_share": str(policy.decimal(pg._p("clawback_share_unrectified"), day)),
        "bar_years": policy.integer(pg._p("bar_years"), day),
        "parameters": {"max_grant": pg._p("max_grant_fen"), "kpi_template": pj.kpi_template,
                       "tranches": pg._p("tranches"), "bands": pg._p("grade_bands"),
                       "release_by_grade": pg._p("release_by_grade")},
    }
