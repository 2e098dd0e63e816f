"""The evaluator's desk pages (第三方评价, 二(二)4): assigned cases, the XLSX template (the service's bytes),
an upload that is a dry run first — bad rows listed by line, nothing written — then confirmed, and the
declaration of a conflict; refusals compared with the database's content."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import select

from flows.services import desk_auth, evaluation
from models.tables import EvaluatorConflict, Score
from models.uow import read_only, unit_of_work
from tests.conftest import Db
from tests.desk.conftest import PASSWORD, SETTINGS, csrf_of, sign_in
from tests.support import Round, applicants_and_applications, approve_all, staff_and_plan

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class EvalDesk:
    db: Db
    round: Round
    client: TestClient
    csrf: str
    refs: list[str]  # eval1's assigned cases


@pytest.fixture
def ev_desk(db: Db) -> Iterator[EvalDesk]:
    from flows.desk.web import create_app

    staff_and_plan(db.engine)
    r = applicants_and_applications(db.engine, n_apps=6)
    approve_all(r)
    with unit_of_work(db.engine) as s:
        for name in ("eval1", "li.review"):
            desk_auth.set_password(s, "admin", name, PASSWORD)
    with read_only(db.engine) as s:
        refs = [row["ref"] for row in evaluation.assigned(s, "eval1")]
    assert refs, "test setup: eval1 has assigned cases"
    c = TestClient(create_app(db.url, SETTINGS), follow_redirects=False)
    assert sign_in(c, "eval1", PASSWORD).status_code == 303
    page = c.get("/evaluate")
    assert page.status_code == 200
    yield EvalDesk(db, r, c, csrf_of(page.text), refs)
    c.close()


def filled(template: bytes, score: object = 85.5, comment: str = "符合要求") -> bytes:
    wb = load_workbook(io.BytesIO(template))
    ws = wb["scores"]
    for row in ws.iter_rows(min_row=2):
        row[6].value, row[7].value = score, comment
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_the_evaluator_sees_the_assigned_cases_and_gets_the_services_template(ev_desk: EvalDesk) -> None:
    page = ev_desk.client.get("/evaluate").text
    for ref in ev_desk.refs:
        assert ref in page
    r = ev_desk.client.get("/evaluate/template.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    with read_only(ev_desk.db.engine) as s:
        assert r.content == evaluation.template(s, "eval1", "xlsx")  # the bytes the CLI writes
    ws = load_workbook(io.BytesIO(r.content))["scores"]
    assert ws["A1"].value == "申报编号 (application_id)" and ws["G1"].value == "得分 (score)"
    assert {row[0].value for row in ws.iter_rows(min_row=2)} == set(ev_desk.refs)
    assert all(row[1].value for row in ws.iter_rows(min_row=2))  # the applicant's name on every row


def test_a_bad_file_lists_every_bad_row_by_line_and_writes_nothing(ev_desk: EvalDesk) -> None:
    template = ev_desk.client.get("/evaluate/template.xlsx").content
    bad = load_workbook(io.BytesIO(filled(template)))
    ws = bad["scores"]
    ws["G2"], ws["G4"] = 100.5, "=1+1"
    buf = io.BytesIO()
    bad.save(buf)
    before = ev_desk.db.snapshot()
    r = ev_desk.client.post("/evaluate/upload", data={"csrf": ev_desk.csrf},
                            files={"file": ("scores.xlsx", buf.getvalue(), XLSX)})
    assert r.status_code == 422
    assert "Refused, nothing was written" in r.text or "未写入" in r.text
    assert "line 2:" in r.text and "line 4:" in r.text
    assert 'id="confirm-form"' not in r.text
    assert ev_desk.db.snapshot() == before


def test_a_dry_run_writes_nothing_and_the_confirmation_writes_the_scores(ev_desk: EvalDesk) -> None:
    content = filled(ev_desk.client.get("/evaluate/template.xlsx").content)
    before = ev_desk.db.snapshot()
    r = ev_desk.client.post("/evaluate/upload", data={"csrf": ev_desk.csrf},
                            files={"file": ("scores.xlsx", content, XLSX)})
    assert r.status_code == 200 and 'id="dry-run"' in r.text and 'id="confirm-form"' in r.text
    assert ev_desk.db.snapshot() == before  # a dry run: nothing written
    form = {k: v for k, v in (
        ("content", _hidden(r.text, "content")), ("file_name", _hidden(r.text, "file_name")),
        ("sha256", _hidden(r.text, "sha256")))}
    forged = {**form, "sha256": "0" * 64}
    r2 = ev_desk.client.post("/evaluate/confirm", data={"csrf": ev_desk.csrf, **forged})
    assert r2.status_code == 422 and ev_desk.db.snapshot() == before
    r3 = ev_desk.client.post("/evaluate/confirm", data={"csrf": ev_desk.csrf, **form})
    assert r3.status_code == 200 and 'id="uploaded"' in r3.text
    with read_only(ev_desk.db.engine) as s:
        scores = s.exec(select(Score).where(Score.evaluator == "eval1", Score.active == True)).all()  # noqa: E712
        assert {sc.score_tenths for sc in scores} == {855} and len(scores) >= len(ev_desk.refs)
        again = evaluation.template(s, "eval1", "xlsx")
    ws = load_workbook(io.BytesIO(again))["scores"]
    assert {(row[6].value, row[7].value) for row in ws.iter_rows(min_row=2)} == {("85.5", "符合要求")}  # pre-filled


def test_an_upload_without_the_csrf_token_is_refused(ev_desk: EvalDesk) -> None:
    content = filled(ev_desk.client.get("/evaluate/template.xlsx").content)
    before = ev_desk.db.snapshot()
    r = ev_desk.client.post("/evaluate/upload", files={"file": ("scores.xlsx", content, XLSX)})
    assert r.status_code == 403
    assert ev_desk.db.snapshot() == before


def test_a_conflict_is_declared_and_a_declaration_without_a_reason_writes_nothing(ev_desk: EvalDesk) -> None:
    with read_only(ev_desk.db.engine) as s:
        uscc = evaluation.assigned(s, "eval1")[0]["uscc"]
    before = ev_desk.db.snapshot()
    r = ev_desk.client.post("/evaluate/conflict", data={"csrf": ev_desk.csrf, "applicant": uscc, "reason": ""})
    assert r.status_code == 422 and ev_desk.db.snapshot() == before
    r = ev_desk.client.post("/evaluate/conflict", data={"csrf": ev_desk.csrf, "applicant": uscc,
                                                        "reason": "曾为该企业提供咨询"})
    assert r.status_code == 200 and 'id="declared"' in r.text
    with read_only(ev_desk.db.engine) as s:
        assert s.exec(select(EvaluatorConflict).where(EvaluatorConflict.evaluator == "eval1")).all()


def test_a_reviewer_may_not_use_the_evaluators_pages(ev_desk: EvalDesk) -> None:
    c = TestClient(ev_desk.client.app, follow_redirects=False)
    assert sign_in(c, "li.review", PASSWORD).status_code == 303
    for path in ("/evaluate", "/evaluate/template.xlsx"):
        r = c.get(path)
        assert r.status_code == 403 and "may not" in r.text, path
    c.close()


def _hidden(html: str, name: str) -> str:
    import re

    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m, name
    return m.group(1)
