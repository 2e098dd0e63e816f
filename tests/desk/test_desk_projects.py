"""The project pages of the desk (二(一)1, 二(四)12, 三(三)): the list by who may see it, one project with its
agreement, reports, evaluations and tranches, and each role's act through its form — the same service as
`ipfund project …`; refusals are shown with the field named and the database compared by content."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from flows.services import desk_auth, projects, users
from models.uow import read_only, unit_of_work
from tests.conftest import Db
from tests.desk.conftest import PASSWORD, SETTINGS, csrf_of, sign_in
from tests.project_support import AGREEMENT, FULL, Call, funded_call, scores
from tests.support import set_clock

PDF = b"%PDF-1.7 mid-term progress report\n"


@dataclass
class ProjectDesk:
    db: Db
    call: Call
    app: FastAPI
    own: str  # ann.applicant's project (agreed, running towards its mid-term evaluation)
    other: str  # another organisation's project (agreed, running)
    pending: str  # a project waiting for its agreement
    clients: list[TestClient]

    def signed_in(self, name: str) -> tuple[TestClient, str]:
        c = TestClient(self.app, follow_redirects=False)
        self.clients.append(c)
        assert sign_in(c, name, PASSWORD).status_code == 303
        page = c.get("/projects")
        assert page.status_code == 200, page.text[:400]
        return c, csrf_of(page.text)

    def show(self, ref: str) -> dict[str, Any]:
        with read_only(self.db.engine) as s:
            return projects.show(s, "admin", ref)


@pytest.fixture
def pdesk(db: Db, tmp_path: Path) -> Iterator[ProjectDesk]:
    """Three navigation projects out of their notice; two signed on 1 June 2021 and their advance paid (running
    towards the mid-term evaluation), one still waiting for its agreement; on 20 May 2022, before the mid-term
    report is due, ann.applicant belongs to the first project's organisation."""
    from flows.desk.web import create_app

    call = funded_call(db.engine, tmp_path, n=3)
    own, other, pending = call.refs
    assert call.applicants[own] != call.applicants[other]
    set_clock("2021-06-01T01:00:00Z")
    with call.uow() as s:
        for ref in (own, other):
            projects.agree(s, "qian.approve", ref, AGREEMENT[call.types[ref]].encode(), "agreement.toml")
    call.pay()
    set_clock("2022-05-20T01:00:00Z")  # sessions follow the clock: sign in after it is set
    with unit_of_work(db.engine) as s:
        users.create_user(s, "admin", "ann.applicant", ["applicant"], "Ann", call.applicants[own])
        for name in ("ann.applicant", "li.review", "ma.expert", "qian.approve", "admin"):
            desk_auth.set_password(s, "admin", name, PASSWORD)
    d = ProjectDesk(db, call, create_app(db.url, SETTINGS), own, other, pending, [])
    assert call.status(own) == "mid_term_running" and call.status(pending) == "agreement_pending"
    yield d
    for c in d.clients:
        c.close()


def _report_form(d: ProjectDesk, csrf: str, stage: str = "mid_term", **override: str) -> dict[str, str]:
    form = {"csrf": csrf, "stage": stage, "evidence_kind_1": "report"}
    form.update({f"actual:{k}": v for k, v in FULL[d.call.types[d.own]].items()})
    form.update(override)
    return form


def _report(d: ProjectDesk, c: TestClient, csrf: str, content: bytes = PDF, name: str = "中期报告.pdf",
            **override: str) -> httpx.Response:
    r: httpx.Response = c.post(f"/projects/{d.own}/report", data=_report_form(d, csrf, **override),
                               files={"evidence_file_1": (name, content, "application/pdf")})
    return r


def test_the_list_shows_an_applicant_only_its_own_projects_and_staff_all(pdesk: ProjectDesk) -> None:
    c, _ = pdesk.signed_in("ann.applicant")
    page = c.get("/projects").text
    assert f'href="/projects/{pdesk.own}"' in page
    assert pdesk.other not in page and pdesk.pending not in page
    assert 'href="/projects"' in page  # the navigation links the page
    r = c.get(f"/projects/{pdesk.other}")
    assert r.status_code == 404 and pdesk.call.applicants[pdesk.other] not in r.text  # nothing of another's
    staff, _ = pdesk.signed_in("qian.approve")
    page = staff.get("/projects").text
    for ref in (pdesk.own, pdesk.other):
        assert f'href="/projects/{ref}"' in page
    assert f'<a href="/projects/{pdesk.pending}">' in page  # waiting for its agreement
    with read_only(pdesk.db.engine) as s:
        row = next(r for r in projects.list_projects(s, "qian.approve") if r["ref"] == pdesk.own)
    assert row["released_fen"] > 0 and row["paid_fen"] == row["released_fen"]  # the advance, released and paid


def test_the_project_page_shows_the_agreement_and_its_kpis(pdesk: ProjectDesk) -> None:
    c, _ = pdesk.signed_in("ann.applicant")
    page = c.get(f"/projects/{pdesk.own}").text
    shown = pdesk.show(pdesk.own)
    agreement = shown["agreement"]
    assert isinstance(agreement, dict)
    assert agreement["file_sha256"] in page
    for k in agreement["kpis"]:
        assert f'name="actual:{k["code"]}"' in page and k["name"] in page
    assert 'id="report-form"' in page and 'id="extend-form"' in page
    assert 'id="release-form"' not in page and 'id="evaluate-form"' not in page  # forms by role


def test_an_applicant_files_a_report_through_the_form(pdesk: ProjectDesk) -> None:
    c, csrf = pdesk.signed_in("ann.applicant")
    r = _report(pdesk, c, csrf)
    assert r.status_code == 303 and r.headers["location"] == f"/projects/{pdesk.own}?done=report"
    page = c.get(r.headers["location"]).text
    assert 'id="done"' in page
    reports = pdesk.show(pdesk.own)["reports"]
    assert isinstance(reports, list) and len(reports) == 1
    rep = reports[0]
    assert rep["stage"] == "mid_term" and rep["filed_by"] == "ann.applicant" and not rep["late"]
    assert rep["actuals"] == {k: v for k, v in FULL[pdesk.call.types[pdesk.own]].items()}
    assert rep["evidence"] == [{"kind": "report", "file": "中期报告.pdf", "sha256": hashlib.sha256(PDF).hexdigest(),
                                "bytes": len(PDF)}]
    assert hashlib.sha256(PDF).hexdigest() in page


@pytest.mark.parametrize(("override", "content", "named"), [
    ({"actual:bogus": "5"}, PDF, "actual bogus: not a KPI of the agreement"),
    ({}, b"", "the file is empty"),
    ({"stage": "final"}, PDF, "a final report is filed while the project runs towards its final evaluation"),
    ({"stage": "yearly"}, PDF, "--stage: 'yearly' is not one of"),
], ids=["unknown-kpi", "empty-evidence", "wrong-stage", "no-such-stage"])
def test_a_bad_report_is_shown_with_the_field_named_and_nothing_written(
        pdesk: ProjectDesk, override: dict[str, str], content: bytes, named: str) -> None:
    c, csrf = pdesk.signed_in("ann.applicant")
    before = pdesk.db.snapshot()
    r = _report(pdesk, c, csrf, content=content, **override)
    assert r.status_code == 422
    assert 'id="problems"' in r.text and named in r.text.replace("&#39;", "'")
    assert 'id="report-form"' in r.text  # the form again, with what was typed
    assert pdesk.db.snapshot() == before


def test_the_reviewer_decides_an_extension_the_applicant_asked_for(pdesk: ProjectDesk) -> None:
    c, csrf = pdesk.signed_in("ann.applicant")
    r = c.post(f"/projects/{pdesk.own}/extend", data={"csrf": csrf, "stage": "mid_term", "until": "2022-07-15",
                                                      "reason": "第三方数据延迟交付"})
    assert r.status_code == 303, r.text[:600]
    exts = pdesk.show(pdesk.own)["extensions"]
    assert isinstance(exts, list) and [e["decision"] for e in exts] == [None]
    ext = exts[0]["id"]
    rv, rcsrf = pdesk.signed_in("li.review")
    page = rv.get(f"/projects/{pdesk.own}").text
    assert f'id="extension-{ext}-form"' in page
    before = pdesk.db.snapshot()
    r = rv.post(f"/projects/{pdesk.own}/extension/{ext}", data={"csrf": rcsrf, "decision": "grant", "reason": ""})
    assert r.status_code == 422 and "--reason: a decision gives its reason" in r.text
    assert pdesk.db.snapshot() == before
    r = rv.post(f"/projects/{pdesk.own}/extension/{ext}", data={"csrf": rcsrf, "decision": "grant",
                                                                "reason": "理由充分"})
    assert r.status_code == 303
    shown = pdesk.show(pdesk.own)
    assert [e["decision"] for e in shown["extensions"]] == ["granted"]
    assert shown["due"] == {"mid_term": "2022-07-15", "final": shown["due"]["final"]}


def _reported(d: ProjectDesk) -> None:
    with d.call.uow() as s:
        projects.report(s, "ann.applicant", d.own, "mid_term", FULL[d.call.types[d.own]],
                        [("report", "progress.pdf", PDF)])


def test_the_evaluator_scores_the_stage_and_the_grade_shows(pdesk: ProjectDesk) -> None:
    _reported(pdesk)
    c, csrf = pdesk.signed_in("ma.expert")
    page = c.get(f"/projects/{pdesk.own}").text
    for criterion in scores(0):
        assert f'name="score:{criterion}"' in page
    form = {"csrf": csrf, "stage": "mid_term", "comment": "按计划推进",
            **{f"score:{k}": v for k, v in scores(900).items()}}
    before = pdesk.db.snapshot()
    r = c.post(f"/projects/{pdesk.own}/evaluate", data={**form, "score:funds_use": ""})  # a criterion left blank
    assert r.status_code == 422 and "score funds_use: missing" in r.text
    assert pdesk.db.snapshot() == before
    r = c.post(f"/projects/{pdesk.own}/evaluate", data=form)
    assert r.status_code == 303
    evs = pdesk.show(pdesk.own)["evaluations"]
    assert isinstance(evs, list) and len(evs) == 1
    ev = evs[0]
    assert ev["evaluator"] == "ma.expert" and ev["scores_tenths"] == {c_: 900 for c_ in scores(0)}
    page = c.get(r.headers["location"]).text
    assert re.search(rf'class="grade">{re.escape(str(ev["grade_name"]))}<', page)
    assert pdesk.call.status(pdesk.own) == "mid_term_evaluated"


def test_the_approver_releases_the_evaluated_stage(pdesk: ProjectDesk) -> None:
    _reported(pdesk)
    with pdesk.call.uow() as s:
        projects.evaluate(s, "ma.expert", pdesk.own, "mid_term", scores(900))
    c, csrf = pdesk.signed_in("qian.approve")
    page = c.get(f"/projects/{pdesk.own}").text
    assert 'id="release-form"' in page
    released_before = pdesk.show(pdesk.own)["released_fen"]
    r = c.post(f"/projects/{pdesk.own}/release", data={"csrf": csrf})
    assert r.status_code == 303
    shown = pdesk.show(pdesk.own)
    assert shown["released_fen"] > released_before
    assert "mid_term" in {t["tranche"] for t in shown["tranches"]}
    assert pdesk.call.status(pdesk.own) == "mid_term_payable"
    before = pdesk.db.snapshot()  # released once: a second sign-off is refused, nothing written
    r = c.post(f"/projects/{pdesk.own}/release", data={"csrf": csrf})
    assert r.status_code == 422 and "a tranche is released only when its condition holds" in r.text
    assert pdesk.db.snapshot() == before


def test_the_approver_signs_the_agreement_by_uploading_its_file(pdesk: ProjectDesk) -> None:
    c, csrf = pdesk.signed_in("qian.approve")
    page = c.get(f"/projects/{pdesk.pending}").text
    assert 'id="agree-form"' in page and 'id="no-agreement"' in page
    before = pdesk.db.snapshot()
    r = c.post(f"/projects/{pdesk.pending}/agree", data={"csrf": csrf},
               files={"file": ("agreement.toml", b'[[kpi]]\ncode = "reports"\nweight = 1.5\n', "text/plain")})
    assert r.status_code == 422 and "kpi 1.weight" in r.text and pdesk.db.snapshot() == before
    content = AGREEMENT[pdesk.call.types[pdesk.pending]].encode()
    r = c.post(f"/projects/{pdesk.pending}/agree", data={"csrf": csrf},
               files={"file": ("agreement.toml", content, "text/plain")})
    assert r.status_code == 303
    agreement = pdesk.show(pdesk.pending)["agreement"]
    assert isinstance(agreement, dict) and agreement["file_sha256"] == hashlib.sha256(content).hexdigest()
    assert agreement["signed_by"] == "qian.approve"


@pytest.mark.parametrize("act", ["release", "agree"])
def test_an_applicants_forged_post_of_an_approver_act_is_refused(pdesk: ProjectDesk, act: str) -> None:
    if act == "release":
        _reported(pdesk)
        with pdesk.call.uow() as s:
            projects.evaluate(s, "ma.expert", pdesk.own, "mid_term", scores(900))
    c, csrf = pdesk.signed_in("ann.applicant")
    before = pdesk.db.snapshot()
    files = {"file": ("agreement.toml", AGREEMENT[pdesk.call.types[pdesk.own]].encode(), "text/plain")}
    r = c.post(f"/projects/{pdesk.own}/{act}", data={"csrf": csrf}, files=files if act == "agree" else None)
    assert r.status_code == 403, r.text[:600]
    assert "may not" in r.text
    assert pdesk.db.snapshot() == before


def test_a_post_without_the_csrf_token_is_refused(pdesk: ProjectDesk) -> None:
    c, csrf = pdesk.signed_in("ann.applicant")
    before = pdesk.db.snapshot()
    form = _report_form(pdesk, csrf)
    del form["csrf"]
    r = c.post(f"/projects/{pdesk.own}/report", data=form,
               files={"evidence_file_1": ("中期报告.pdf", PDF, "application/pdf")})
    assert r.status_code == 403
    r = c.post(f"/projects/{pdesk.own}/report", data={**form, "csrf": "forged"},
               files={"evidence_file_1": ("中期报告.pdf", PDF, "application/pdf")})
    assert r.status_code == 403
    assert pdesk.db.snapshot() == before


def test_the_pages_are_in_chinese_by_default_and_in_english(pdesk: ProjectDesk) -> None:
    c, _ = pdesk.signed_in("ann.applicant")
    zh = c.get(f"/projects/{pdesk.own}").text
    assert "提交进展报告" in zh and "File a progress report" not in zh
    c.cookies.set("ipfund_lang", "en")
    en = c.get(f"/projects/{pdesk.own}").text
    assert "File a progress report" in en


def test_a_poor_evaluation_opens_a_rectification_the_reviewer_accepts(pdesk: ProjectDesk) -> None:
    _reported(pdesk)
    with pdesk.call.uow() as s:
        projects.evaluate(s, "ma.expert", pdesk.own, "mid_term", scores(300))  # the bottom band: 限期整改
    assert pdesk.call.status(pdesk.own) == "mid_term_rectification"
    c, csrf = pdesk.signed_in("li.review")
    page = c.get(f"/projects/{pdesk.own}").text
    assert 'id="rectify-form"' in page and 'id="rectifications"' in page
    before = pdesk.db.snapshot()
    r = c.post(f"/projects/{pdesk.own}/rectify", data={"csrf": csrf, "reason": ""})
    assert r.status_code == 422 and "--reason: accepting a rectification gives its reason" in r.text
    assert pdesk.db.snapshot() == before
    r = c.post(f"/projects/{pdesk.own}/rectify", data={"csrf": csrf, "reason": "整改报告经核查属实"})
    assert r.status_code == 303
    assert [x["result"] for x in pdesk.show(pdesk.own)["rectifications"]] == ["rectified"]
    assert pdesk.call.status(pdesk.own) == "mid_term_running"
