"""The desk over HTTP (httpx against the ASGI app): every route's permissions, CSRF, sessions, lock-out,
the reviewer's and the auditor's acts; refusals compared with the database's content (nothing written)."""

from __future__ import annotations

import hashlib

import pytest
from sqlmodel import select

from flows.services import applications, desk_auth
from models.tables import DeskSession
from models.uow import read_only
from tests.desk.conftest import PASSWORD, Desk, csrf_of, page_csrf, sign_in
from tests.support import set_clock

GET_ROUTES = ["/", "/review", "/review/case/{ref}", "/audit", "/audit?ref={ref}", "/audit/case/{ref}/dossier.pdf",
              "/audit/year/2021/dossier.pdf", "/case/{ref}"]
POST_ROUTES = ["/review/next", "/review/case/{ref}/decide", "/audit/verify", "/logout"]


def tamper(pdf: bytes) -> bytes:
    """The dossier with one byte changed in the middle of its content."""
    i = len(pdf) // 2
    return pdf[:i] + bytes([pdf[i] ^ 0x01]) + pdf[i + 1:]


def _routes(routes: list[str], ref: str) -> list[str]:
    return [r.format(ref=ref) for r in routes]


def test_anonymous_requests_are_sent_to_sign_in_and_write_nothing(desk: Desk) -> None:
    c = desk.client()
    before = desk.db.snapshot()
    for path in _routes(GET_ROUTES, desk.other_ref):
        r = c.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    for path in _routes(POST_ROUTES, desk.other_ref):
        r = c.post(path, data={"decision": "approve", "csrf": "x"})
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    r = c.get("/review", headers={"HX-Request": "true"})
    assert r.status_code == 200 and r.headers["HX-Redirect"].startswith("/login")
    assert desk.db.snapshot() == before


@pytest.mark.parametrize(("user", "paths"), [
    ("ann.applicant", ["/review", "/review/case/{ref}", "/audit", "/audit?ref={ref}", "/audit/case/{ref}/dossier.pdf",
                       "/audit/year/2021/dossier.pdf"]),
    ("sun.audit", ["/review", "/review/case/{ref}"]),
    ("wang.approve", ["/review", "/review/case/{ref}"]),
])
def test_a_role_without_the_permission_gets_403(desk: Desk, user: str, paths: list[str]) -> None:
    c = desk.signed_in(user)
    for path in _routes(paths, desk.other_ref):
        r = c.get(path)
        assert r.status_code == 403, (user, path, r.status_code)
        assert "may not" in r.text  # the service's own refusal, naming the permission


def test_an_auditors_forged_post_is_refused_with_nothing_written(desk: Desk) -> None:
    c = desk.signed_in("sun.audit")
    token = page_csrf(c, "/audit")
    home = c.get("/audit").text
    assert 'action="/review' not in home and "decide" not in home  # no form that changes data
    before = desk.db.snapshot()
    r = c.post(f"/review/case/{desk.other_ref}/decide", data={"csrf": token, "decision": "approve", "reason": ""})
    assert r.status_code == 403 and "review.decide" in r.text
    r = c.post("/review/next", data={"csrf": token})
    assert r.status_code == 403
    assert desk.db.snapshot() == before


def test_a_post_without_the_csrf_token_is_refused_with_nothing_written(desk: Desk) -> None:
    c = desk.signed_in("li.review")
    token = page_csrf(c, "/review")
    before = desk.db.snapshot()
    for data in ({}, {"csrf": ""}, {"csrf": token[:-1] + ("A" if token[-1] != "A" else "B")}):
        for path in _routes(POST_ROUTES, desk.other_ref):
            r = c.post(path, data={**data, "decision": "approve"})
            assert r.status_code == 403, (path, data)
            assert "CSRF" in r.text
    r = c.post("/review/next", headers={"HX-Request": "true", "X-CSRF-Token": "forged"})
    assert r.status_code == 403
    assert desk.db.snapshot() == before
    # the same request with the token does act (so the refusal above was the token's)
    r = c.post("/review/next", headers={"X-CSRF-Token": token})
    assert r.status_code == 303 and r.headers["location"].startswith("/review/case/")
    assert desk.db.snapshot() != before


def test_sign_in_uses_argon2id_and_stores_only_the_tokens_hash(desk: Desk) -> None:
    c = desk.client()
    r = sign_in(c, "li.review", PASSWORD)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "ipfund_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie
    token = c.cookies["ipfund_session"]
    with read_only(desk.db.engine) as s:
        rows = s.exec(select(DeskSession)).all()
        assert [x.token_sha256 for x in rows] == [hashlib.sha256(token.encode()).hexdigest()]
        assert token not in str([(x.token_sha256, x.csrf_token) for x in rows])
    assert desk.db.scalar("SELECT hash FROM user_password p JOIN app_user u ON u.id = p.user_id "
                          "WHERE u.name = 'li.review'").startswith("$argon2id$")


def test_secure_cookies_behind_https(desk: Desk) -> None:
    from fastapi.testclient import TestClient

    from flows.desk.web import create_app
    from tests.desk.conftest import SETTINGS

    app = create_app(desk.db.url, desk_auth.DeskSettings(**{**SETTINGS.__dict__, "secure_cookies": True}))
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        r = sign_in(c, "li.review", PASSWORD)
        assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]


def test_sign_out_ends_the_session(desk: Desk) -> None:
    c = desk.signed_in("li.review")
    token = page_csrf(c, "/review")
    cookie = c.cookies["ipfund_session"]
    r = c.post("/logout", data={"csrf": token})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert desk.db.scalar("SELECT ended_why FROM desk_session") == "signed_out"
    c.cookies.set("ipfund_session", cookie)  # the old cookie, replayed
    assert c.get("/review").status_code == 303


def test_an_expired_session_is_refused(desk: Desk) -> None:
    c = desk.signed_in("li.review")
    assert c.get("/review").status_code == 200
    set_clock("2021-03-01T01:59:00Z")  # the fixture's clock is 01:00; sessions last 60 minutes
    assert c.get("/review").status_code == 200
    set_clock("2021-03-01T02:01:00Z")
    before = desk.db.snapshot()
    r = c.get("/review")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert c.post("/review/next", data={"csrf": "whatever"}).status_code == 303
    assert desk.db.snapshot() == before


def test_lock_out_after_repeated_failures_within_the_window(desk: Desk) -> None:
    set_clock("2021-03-01T03:00:00Z")
    c = desk.client()
    assert sign_in(c, "li.review", "wrong password 1").status_code == 401
    assert sign_in(c, "li.review", "wrong password 2").status_code == 401
    r = sign_in(c, "li.review", "wrong password 3")  # the third failure (SETTINGS: 3 in 15 minutes) locks
    assert r.status_code == 429
    r = sign_in(c, "li.review", PASSWORD)  # even the right password, while locked
    assert r.status_code == 429 and "ipfund_session" not in c.cookies
    rows = [tuple(x) for x in desk.db.engine.connect().exec_driver_sql(
        "SELECT name, outcome FROM desk_sign_in ORDER BY id").fetchall()]
    assert rows[-4:] == [("li.review", "bad_password"), ("li.review", "bad_password"), ("li.review", "locked_out"),
                         ("li.review", "locked")]
    assert sign_in(c, "zhao.review", PASSWORD).status_code == 303  # another name is not locked
    set_clock("2021-03-01T03:16:00Z")  # the window has passed the failures
    assert sign_in(desk.client(), "li.review", PASSWORD).status_code == 303


def test_two_failures_then_success_do_not_lock(desk: Desk) -> None:
    c = desk.client()
    assert sign_in(c, "li.review", "nope nope 1").status_code == 401
    assert sign_in(c, "li.review", "nope nope 2").status_code == 401
    assert sign_in(c, "li.review", PASSWORD).status_code == 303
    assert sign_in(desk.client(), "li.review", "nope nope 3").status_code == 401  # counted from the success
    assert sign_in(desk.client(), "li.review", PASSWORD).status_code == 303
    assert sign_in(desk.client(), "nobody", PASSWORD).status_code == 401
    assert desk.db.scalar("SELECT outcome FROM desk_sign_in ORDER BY id DESC LIMIT 1") == "unknown_user"


def test_a_reviewer_claims_and_decides_through_the_review_service(desk: Desk) -> None:
    c = desk.signed_in("li.review")
    token = page_csrf(c, "/review")
    queue = c.get("/review")
    assert desk.other_ref in queue.text and "认证证书编号" not in queue.text
    r = c.post("/review/next", data={"csrf": token})
    first = r.headers["location"].split("/")[-1]
    page = c.get(f"/review/case/{first}")
    assert page.status_code == 200
    for label in ("认证证书编号", "认证日期", "认证机构"):  # the scheme's own form labels
        assert label in page.text
    assert "certificate_number" in page.text and "二(二)4" in page.text  # the intake checks with clause
    before = desk.db.snapshot()
    r = c.post(f"/review/case/{first}/decide", data={"csrf": token, "decision": "return", "reason": ""})
    assert r.status_code == 422 and "reason" in r.text  # the service's refusal: a return needs a reason
    assert desk.db.snapshot() == before
    r = c.post(f"/review/case/{first}/decide", data={"csrf": token, "decision": "approve", "reason": ""},
               headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert r.status_code == 200 and "HX-Push-Url" in r.headers
    with read_only(desk.db.engine) as s:
        shown = applications.show(s, "admin", first)
    assert shown["status"] == "evaluation" and shown["decisions"][-1]["reviewer"] == "li.review"
    nxt = r.headers["HX-Push-Url"].split("/")[-1]
    assert nxt != first and f'data-case-ref="{nxt}"' in r.text


def test_two_reviewers_never_get_the_same_case(desk: Desk) -> None:
    a, b = desk.signed_in("li.review"), desk.signed_in("zhao.review")
    ta, tb = page_csrf(a, "/review"), page_csrf(b, "/review")
    got = []
    for _ in range(3):
        got.append(a.post("/review/next", data={"csrf": ta}).headers["location"])
        got.append(b.post("/review/next", data={"csrf": tb}).headers["location"])
    # each keeps the case it holds until deciding it; the two never hold the same one
    assert len({got[0], got[1]}) == 2 and set(got[0::2]) == {got[0]} and set(got[1::2]) == {got[1]}
    ref_b = got[1].split("/")[-1]
    r = a.post(f"/review/case/{ref_b}/decide", data={"csrf": ta, "decision": "approve"})
    assert r.status_code == 422 and "zhao.review" in r.text  # leased to the other reviewer


def test_queue_filters_by_district_and_overdue(desk: Desk) -> None:
    import re

    c = desk.signed_in("li.review")
    with read_only(desk.db.engine) as s:
        district = applications.show(s, "admin", desk.other_ref)["applicant"]["district"]

    def district_of(ref: str) -> str:
        return str(desk.db.scalar("SELECT p.district FROM application a JOIN applicant p ON p.id = a.applicant_id "
                                  "WHERE a.ref = :r", r=ref))

    everything = re.findall(r'data-href="/review/case/([A-Z0-9-]+)', c.get("/review").text)
    narrowed = re.findall(r'data-href="/review/case/([A-Z0-9-]+)', c.get(f"/review?district={district}").text)
    assert desk.other_ref in narrowed
    assert narrowed == [ref for ref in everything if district_of(ref) == district]
    assert len(narrowed) < len(everything)
    r = c.get("/review?overdue=1")
    assert r.status_code == 200 and "data-nav-item" not in r.text  # nothing is past its deadline on 1 March


def test_an_applicant_sees_their_own_case_and_403_for_anothers_or_a_guessed_one(desk: Desk) -> None:
    c = desk.signed_in("ann.applicant")
    assert c.get("/").status_code == 200
    assert c.get(f"/case/{desk.own_ref}").status_code == 200
    other = c.get(f"/case/{desk.other_ref}")
    missing = c.get("/case/CA-2021-99999")
    assert other.status_code == missing.status_code == 403
    assert other.text.replace(desk.other_ref, "X") == missing.text.replace("CA-2021-99999", "X")  # nothing leaked
    with read_only(desk.db.engine) as s:
        other_name = applications.show(s, "admin", desk.other_ref)["applicant"]["name"]
    assert other_name not in other.text


def test_the_auditors_dossier_is_the_clis_bytes_and_a_tampered_one_is_changed(desk: Desk, cli, tmp_path) -> None:
    c = desk.signed_in("sun.audit")
    r = c.get(f"/audit?ref={desk.other_ref}")
    assert r.status_code == 200 and f"/audit/case/{desk.other_ref}/dossier.pdf" in r.text
    pdf = c.get(f"/audit/case/{desk.other_ref}/dossier.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    out = tmp_path / "cli.pdf"
    assert cli("dossier", "case", desk.other_ref, "--out", str(out), "--as", "sun.audit").exit_code == 0
    assert hashlib.sha256(pdf.content).hexdigest() == hashlib.sha256(out.read_bytes()).hexdigest()
    token = csrf_of(r.text)
    before = desk.db.snapshot()
    same = c.post("/audit/verify", data={"csrf": token}, files={"file": ("d.pdf", pdf.content, "application/pdf")})
    assert same.status_code == 200 and 'id="verify-report" class="same"' in same.text
    tampered = tamper(pdf.content)
    changed = c.post("/audit/verify", data={"csrf": token},
                     files={"file": ("t.pdf", tampered, "application/pdf")})
    assert changed.status_code == 200 and 'id="verify-report" class="changed"' in changed.text
    assert desk.db.snapshot() == before  # verifying reads only
    year = c.get("/audit/year/2021/dossier.pdf")
    out = tmp_path / "year.pdf"
    assert cli("dossier", "year", "2021", "--out", str(out), "--as", "sun.audit").exit_code == 0
    assert year.content == out.read_bytes()


def test_pages_in_chinese_by_default_and_english_on_request(desk: Desk) -> None:
    c = desk.client()
    assert "登录" in c.get("/login").text
    r = c.get("/lang/en?next=/login")
    assert r.status_code == 303
    assert "Sign in" in c.get("/login").text and "登录" not in c.get("/login").text


def test_times_are_shown_in_beijing_time() -> None:
    from flows.desk.i18n import local_time

    assert local_time("2021-03-01T16:30:00.000000Z") == "2021-03-02 00:30"
    assert local_time("2021-03-01") == "2021-03-01"
