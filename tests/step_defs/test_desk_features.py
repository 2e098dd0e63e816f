"""Step definitions for features/desk_sign_in.feature (the desk over HTTP, tests/desk/conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from flows.services import applications
from models.uow import read_only
from tests.desk.conftest import PASSWORD, Desk, desk, page_csrf, sign_in
from tests.support import set_clock

__all__ = ["desk"]  # the fixture, used by the steps below

FEATURES = Path(__file__).resolve().parents[2] / "features"
scenarios("desk_sign_in.feature", features_base_dir=str(FEATURES))


@pytest.fixture
def world() -> dict[str, Any]:
    return {}


@given("cases wait in formal review (形式审查, 二(二)4) and the staff have desk passwords")
def staff(desk: Desk, world: dict[str, Any]) -> None:
    set_clock("2021-03-01T03:00:00Z")
    with read_only(desk.db.engine) as s:
        world["oldest"] = next(a["ref"] for a in applications.list_apps(s, "admin") if a["status"] == "formal_review")


@when(parsers.parse("{name} signs in with a wrong password {n:d} times"))
def wrong(desk: Desk, world: dict[str, Any], name: str, n: int) -> None:
    for i in range(n):
        assert sign_in(desk.client(), name, f"not the password {i}").status_code in (401, 429)


@when(parsers.parse("{name} signs in with the right password"))
def right(desk: Desk, world: dict[str, Any], name: str) -> None:
    world["answer"] = sign_in(desk.client(), name, PASSWORD)


@when(parsers.parse("{minutes:d} minutes pass"))
def later(minutes: int) -> None:
    set_clock(f"2021-03-01T03:{minutes:02d}:30Z")


@then(parsers.parse("{name} is signed in"))
def signed_in(world: dict[str, Any], name: str) -> None:
    assert world["answer"].status_code == 303 and "ipfund_session=" in world["answer"].headers["set-cookie"]


@then(parsers.parse("{name} is refused as locked"))
def locked(world: dict[str, Any], name: str) -> None:
    assert world["answer"].status_code == 429 and "ipfund_session=" not in world["answer"].headers.get("set-cookie", "")


@then("the sign-in log shows 2 bad passwords, the lock-out and the locked try")
def log(desk: Desk) -> None:
    with desk.db.engine.connect() as c:
        rows = [r[0] for r in c.exec_driver_sql("SELECT outcome FROM desk_sign_in ORDER BY id").fetchall()]
    assert rows == ["bad_password", "bad_password", "locked_out", "locked"]


@given(parsers.parse("{name} is signed in at the desk"))
def at_desk(desk: Desk, world: dict[str, Any], name: str) -> None:
    world["client"] = desk.signed_in(name)
    world["token"] = page_csrf(world["client"], "/")
    world["before"] = desk.db.snapshot()


@when(parsers.parse("{name} approves the oldest case without the page's token"))
def approve_without(world: dict[str, Any], name: str) -> None:
    world["answer"] = world["client"].post(f"/review/case/{world['oldest']}/decide", data={"decision": "approve"})


@when(parsers.parse("{name} approves the oldest case with the page's token"))
def approve_with(world: dict[str, Any], name: str) -> None:
    world["answer"] = world["client"].post(f"/review/case/{world['oldest']}/decide",
                                           data={"decision": "approve", "csrf": world["token"]})


@then("the desk answers 403 and nothing was written")
def refused(desk: Desk, world: dict[str, Any]) -> None:
    assert world["answer"].status_code == 403
    assert desk.db.snapshot() == world["before"]


@then(parsers.parse("the oldest case moves to evaluation, decided by {name}"))
def moved(desk: Desk, world: dict[str, Any], name: str) -> None:
    assert world["answer"].status_code == 303
    with read_only(desk.db.engine) as s:
        case = applications.show(s, "admin", world["oldest"])
    assert case["status"] == "evaluation" and case["decisions"][-1]["reviewer"] == name
