"""The desk's fixtures: a database with cases waiting in formal review, staff and applicants with desk
passwords, the app on that database, and a signed-in httpx client (fastapi.testclient) per user."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from flows.services import desk_auth, review, users
from models.uow import unit_of_work
from tests.conftest import Db
from tests.support import Round, applicants_and_applications, staff_and_plan

PASSWORD = "correct horse battery"  # every desk user's password in these tests
SETTINGS = desk_auth.DeskSettings(lockout_failures=3, lockout_minutes=15, session_minutes=60, secure_cookies=False)


@dataclass
class Desk:
    db: Db
    round: Round
    app: FastAPI
    own_ref: str  # a case of the applicant user ann.applicant
    other_ref: str  # a case of another applicant
    clients: list[TestClient] = field(default_factory=list)

    def client(self) -> TestClient:
        c = TestClient(self.app, follow_redirects=False)
        self.clients.append(c)
        return c

    def signed_in(self, name: str, password: str = PASSWORD) -> TestClient:
        c = self.client()
        r = sign_in(c, name, password)
        assert r.status_code == 303, (name, r.status_code, r.text[:400])
        return c


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "the page carries a CSRF token"
    return m.group(1)


def sign_in(c: TestClient, name: str, password: str) -> Any:
    page = c.get("/login")
    assert page.status_code == 200
    return c.post("/login", data={"name": name, "password": password, "csrf": csrf_of(page.text), "next": "/"})


def page_csrf(c: TestClient, path: str = "/") -> str:
    r = c.get(path, follow_redirects=True)
    assert r.status_code == 200, (path, r.status_code)
    return csrf_of(r.text)


@pytest.fixture
def desk(db: Db) -> Iterator[Desk]:
    """Twelve certification-award cases in formal review (形式审查, 二(二)4); reviewers li.review and
    zhao.review, auditor sun.audit, approver wang.approve, and ann.applicant who belongs to the applicant of
    one case, all with desk passwords."""
    from flows.desk.web import create_app

    staff_and_plan(db.engine)
    r = applicants_and_applications(db.engine, n_apps=12)
    r.advance()
    with r.uow() as s:
        waiting = review.queue(s, "li.review", limit=100)
    assert len(waiting) >= 6
    own, other = waiting[0], next(w for w in waiting if w["uscc"] != waiting[0]["uscc"])
    with unit_of_work(db.engine) as s:
        users.create_user(s, "admin", "ann.applicant", ["applicant"], "Ann", own["uscc"])
        for name in ("li.review", "zhao.review", "sun.audit", "wang.approve", "ann.applicant", "admin"):
            desk_auth.set_password(s, "admin", name, PASSWORD)
    d = Desk(db, r, create_app(db.url, SETTINGS), own["ref"], other["ref"])
    yield d
    for c in d.clients:
        c.close()
