"""Applicants', agencies' and banks' own pages: their own cases, vouchers and loans and nothing of anyone
else's, and applying through the scheme's declared form (二(二)4) with every bad field named and nothing
written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from flows.desk.web import create_app
from flows.services import desk_auth
from models.uow import unit_of_work
from tests.conftest import Db
from tests.desk.conftest import PASSWORD, SETTINGS, Desk, csrf_of, sign_in
from tests.loan_support import BANK_A, BANK_B, SME1, loan_args, ok, setup_registry
from tests.support import set_clock


def test_an_applicant_sees_only_its_own_cases_and_may_apply(desk: Desk) -> None:
    c = desk.signed_in("ann.applicant")
    home = c.get("/")
    assert home.status_code == 200
    assert desk.own_ref in home.text and desk.other_ref not in home.text
    assert 'href="/apply/certification-award"' in home.text


def test_applying_through_the_declared_form_names_each_bad_field_and_writes_nothing(desk: Desk) -> None:
    c = desk.signed_in("ann.applicant")
    page = c.get("/apply/certification-award")
    assert page.status_code == 200
    for field in ("certificate_no", "certification_date", "certification_body"):
        assert f'name="{field}"' in page.text
    token = csrf_of(page.text)
    before = desk.db.snapshot()
    r = c.post("/apply/certification-award", data={"csrf": token, "certificate_no": "", "certification_date": "2021-13-01",
                                                   "certification_body": "中知（北京）认证有限公司"})
    assert r.status_code == 422
    assert "certificate_no is empty" in r.text and "certification_date" in r.text
    assert desk.db.snapshot() == before
    r = c.post("/apply/certification-award", data={"csrf": token, "certificate_no": "165ip2100777r0m",
                                                   "certification_date": "2021-01-20",
                                                   "certification_body": "中知（北京）认证有限公司"})
    assert r.status_code == 303
    ref = r.headers["location"].rsplit("/", 1)[1]
    case = c.get(f"/case/{ref}")
    assert case.status_code == 200 and "165IP2100777R0M" in case.text
    assert ref in c.get("/").text


def test_staff_without_the_permission_cannot_apply(desk: Desk) -> None:
    c = desk.signed_in("sun.audit")
    token = csrf_of(c.get("/audit").text)
    before = desk.db.snapshot()
    r = c.post("/apply/certification-award", data={"csrf": token, "certificate_no": "165IP2100778R0M",
                                                   "certification_date": "2021-01-20", "certification_body": "x"})
    assert r.status_code == 403
    assert desk.db.snapshot() == before


def test_a_bank_user_sees_only_its_own_banks_loans(db: Db, cli: Any, tmp_path: Path) -> None:
    setup_registry(cli, tmp_path)
    ok(cli(*loan_args("A-001", borrower=SME1), "--as", "zhao"))
    ok(cli(*loan_args("B-002", borrower=SME1), "--as", "qian"))
    with unit_of_work(db.engine) as s:
        desk_auth.set_password(s, "admin", "zhao", PASSWORD)
    set_clock("2021-06-01T02:00:00Z")
    c = TestClient(create_app(db.url, SETTINGS), follow_redirects=False)
    assert sign_in(c, "zhao", PASSWORD).status_code == 303
    home = c.get("/").text
    assert 'id="my-loans"' in home
    loans = re.findall(r"<td>([AB]-\d{3})</td>", home)
    assert loans == ["A-001"] and BANK_B not in home and BANK_A not in home.split('id="my-loans"')[0]
    c.close()
