"""The desk in a real Chromium (Playwright for Python driving Debian's /usr/bin/chromium, headless): the desk
served by uvicorn in-process on a free port, on the test database (SQLite, or PostgreSQL with
IPFUND_TEST_DATABASE_URL). One browser for the session; every wait is on a selector, never a sleep.
Screenshots of each role's main page go to test-artifacts/desk/ (gitignored)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.desk.conftest import PASSWORD, Desk
from tests.desk.test_desk_http import tamper

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "desk"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM) and os.environ.get("IPFUND_BROWSER_TESTS") != "required",
                       reason="Debian's chromium is not installed (apt-get install -y chromium)"),
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn in a thread; its base URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    started = threading.Event()
    for _ in range(500):  # bounded: 5 s for the server to bind
        if server.started:
            started.set()
            break
        started.wait(0.01)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live(desk: Desk) -> Iterator[str]:
    """The desk served by uvicorn in a thread; its base URL."""
    with serving(desk.app) as base:
        yield base


def _page(browser: Any, base: str, name: str) -> Any:
    context = browser.new_context(base_url=base, accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_selector("#sign-out")
    return page


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.fonts.ready.then(() => true)")  # the bundled CJK font, loaded
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _decisions(desk: Desk, reviewer: str) -> list[tuple[str, str, str]]:
    with desk.db.engine.connect() as c:
        return [(str(r[0]), str(r[1]), str(r[2])) for r in c.exec_driver_sql(
            "SELECT a.ref, d.decision, d.reason FROM review_decision d JOIN application a ON a.id = d.application_id "
            f"WHERE d.reviewer = '{reviewer}' ORDER BY d.id").fetchall()]


def test_a_reviewer_claims_and_decides_three_cases_with_the_keyboard(desk: Desk, live: str, browser: Any) -> None:
    page = _page(browser, live, "li.review")
    page.wait_for_selector("#queue [data-nav-item]")
    _shot(page, "reviewer-queue")
    page.keyboard.press("j")  # the first row is selected
    page.wait_for_selector("#queue tr.selected")
    page.keyboard.press("n")  # claim the next case
    page.wait_for_selector("#decide-form")
    first = page.inner_text("#case-ref")
    _shot(page, "reviewer-case")
    page.keyboard.press("a")
    page.wait_for_function("r => document.querySelector('#case-ref').textContent !== r", arg=first)
    second = page.inner_text("#case-ref")
    assert first in page.inner_text("#decided")
    page.keyboard.press("r")
    page.wait_for_selector("#reason:focus")
    page.keyboard.type("证书复印件不清晰，请补正")
    page.keyboard.press("Enter")
    page.wait_for_function("r => document.querySelector('#case-ref').textContent !== r", arg=second)
    third = page.inner_text("#case-ref")
    page.keyboard.press("x")
    page.wait_for_selector("#reason:focus")
    page.keyboard.type("非本市注册企业")
    page.keyboard.press("Enter")
    page.wait_for_function("r => document.querySelector('#case-ref').textContent !== r", arg=third)
    assert _decisions(desk, "li.review") == [(first, "approve", ""), (second, "return", "证书复印件不清晰，请补正"),
                                              (third, "reject", "非本市注册企业")]
    assert page.url.endswith(f"/review/case/{page.inner_text('#case-ref')}")  # htmx pushed the next case's URL
    page.context.close()


def test_a_second_reviewer_never_gets_the_same_case(desk: Desk, live: str, browser: Any) -> None:
    a, b = _page(browser, live, "li.review"), _page(browser, live, "zhao.review")
    a.click("#claim-next")
    a.wait_for_selector("#decide-form")
    b.click("#claim-next")
    b.wait_for_selector("#decide-form")
    assert a.inner_text("#case-ref") != b.inner_text("#case-ref")
    b.goto("/review")
    held = b.locator("#queue tr", has_text=a.inner_text("#case-ref"))
    assert "li.review" in held.inner_text()  # the queue shows who holds it
    a.context.close()
    b.context.close()


def test_an_auditor_downloads_the_clis_dossier_and_verifies_a_tampered_one(desk: Desk, live: str, browser: Any,
                                                                           cli: Any, tmp_path: Path) -> None:
    page = _page(browser, live, "sun.audit")
    assert page.url.endswith("/audit")
    assert page.locator("form[action^='/review']").count() == 0 and page.locator("#decide-form").count() == 0
    _shot(page, "auditor-audit")
    page.fill("#ref", desk.other_ref)
    page.click("#find")
    page.wait_for_selector("#case-dossier")
    with page.expect_download() as dl:
        page.click("#case-dossier")
    got = tmp_path / "desk.pdf"
    dl.value.save_as(str(got))
    out = tmp_path / "cli.pdf"
    assert cli("dossier", "case", desk.other_ref, "--out", str(out), "--as", "sun.audit").exit_code == 0
    assert hashlib.sha256(got.read_bytes()).hexdigest() == hashlib.sha256(out.read_bytes()).hexdigest()
    bad = tmp_path / "tampered.pdf"
    bad.write_bytes(tamper(got.read_bytes()))
    page.set_input_files("#verify-file", str(bad))
    page.click("#verify")
    page.wait_for_selector("#verify-report.changed")
    page.set_input_files("#verify-file", str(got))
    page.click("#verify")
    page.wait_for_selector("#verify-report.same")
    page.context.close()


def test_an_applicant_guessing_anothers_case_url_gets_403(desk: Desk, live: str, browser: Any) -> None:
    page = _page(browser, live, "ann.applicant")
    page.wait_for_selector("#my-cases")
    assert desk.own_ref in page.inner_text("#my-cases") and desk.other_ref not in page.inner_text("#my-cases")
    _shot(page, "applicant-home")
    response = page.goto(f"/case/{desk.other_ref}")
    assert response is not None and response.status == 403
    page.wait_for_selector("#error")
    response = page.goto(f"/case/{desk.own_ref}")
    assert response is not None and response.status == 200
    page.context.close()


def test_the_dashboard_draws_the_fund_rule_gauges_and_the_kpi_chart(browser: Any, live: str) -> None:
    page = _page(browser, live, "ann.applicant")
    page.goto("/dashboard")
    for rule in ("match", "cluster_floor", "market_floor"):
        page.wait_for_selector(f"#gauge-{rule} svg")  # ECharts, served by the desk, drew it
    page.wait_for_selector("#kpi-chart svg")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    page.context.close()


def test_an_evaluator_sees_both_bad_rows_fixes_them_and_uploads(db: Any, browser: Any, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from flows.desk.web import create_app
    from flows.services import desk_auth, evaluation
    from models.uow import read_only, unit_of_work
    from tests.desk.conftest import SETTINGS
    from tests.support import applicants_and_applications, approve_all, staff_and_plan

    staff_and_plan(db.engine)
    approve_all(applicants_and_applications(db.engine, n_apps=4))
    with unit_of_work(db.engine) as s:
        desk_auth.set_password(s, "admin", "eval1", PASSWORD)
    with serving(create_app(db.url, SETTINGS)) as base:
        page = _page(browser, base, "eval1")
        assert page.url.endswith("/evaluate")
        page.wait_for_selector("#assigned")
        _shot(page, "evaluator-evaluate")
        with page.expect_download() as dl:
            page.click("#template")
        sheet = tmp_path / "template.xlsx"
        dl.value.save_as(str(sheet))
        wb = load_workbook(sheet)
        ws = wb["scores"]
        for row in ws.iter_rows(min_row=2):
            row[6].value = 80
        ws["G2"], ws["G3"] = 120, "很好"  # two bad rows: above the maximum, and not a number
        wb.save(sheet)
        before = db.snapshot()
        page.set_input_files("#score-file", str(sheet))
        page.click("#check")
        page.wait_for_selector("#upload-problems")
        problems = page.inner_text("#upload-problems")
        assert "line 2:" in problems and "line 3:" in problems
        assert db.snapshot() == before
        ws["G2"], ws["G3"] = 85.5, 90
        wb.save(sheet)
        page.set_input_files("#score-file", str(sheet))
        page.click("#check")
        page.wait_for_selector("#confirm-form")
        page.click("#confirm")
        page.wait_for_selector("#uploaded")
        with read_only(db.engine) as s:
            again = evaluation.template(s, "eval1", "xlsx")
        filled = {(r[0].value, r[6].value) for r in load_workbook(io.BytesIO(again))["scores"].iter_rows(min_row=2)}
        assert ("85.5" in {v for _, v in filled}) and all(v is not None for _, v in filled)
        page.context.close()


def test_an_approver_finalizes_the_round(db: Any, browser: Any) -> None:
    from flows.desk.web import create_app
    from flows.services import desk_auth
    from models.uow import unit_of_work
    from tests.desk.conftest import SETTINGS
    from tests.support import scored_round, set_clock

    r = scored_round(db.engine, n_apps=6)
    with unit_of_work(db.engine) as s:
        desk_auth.set_password(s, "admin", "wang.approve", PASSWORD)
    set_clock("2021-05-10T01:00:00Z")
    with serving(create_app(db.url, SETTINGS)) as base:
        page = _page(browser, base, "wang.approve")
        assert page.url.endswith("/approve")
        page.wait_for_selector("#trial-cases")
        _shot(page, "approver-approve")
        page.click("#finalize")
        page.wait_for_selector("#finalized")
        assert {r.status(ref) for ref in r.refs} <= {"in_notice", "not_awarded"}
        assert "in_notice" in {r.status(ref) for ref in r.refs}
        page.context.close()
