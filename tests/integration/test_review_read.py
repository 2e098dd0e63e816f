"""The reviewer's lean read path (flows/services/review_read.py, plain DB-API) answers exactly what
the ORM path (flows/services/review.py queue/next_case, applications.show) answers: on SQLite and,
with IPFUND_TEST_DATABASE_URL set, on PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flows.services import applications, review, review_read, users
from flows.services.context import get_user
from rules.errors import NotFound, PermissionDenied
from tests.conftest import Db
from tests.support import Round, applicants_and_applications, score_all, set_clock, staff_and_plan


def _same(value: Any) -> Any:
    """What the CLI prints (JSON, dates as text): the comparison the reviewer would see."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _orm_queue(r: Round, actor: str | None, **kw: Any) -> list[dict[str, Any]]:
    with r.ro() as s:
        return review.queue(s, actor, **kw)


def _orm_next(r: Round, actor: str | None, stage: str = "formal_review") -> dict[str, Any] | None:
    with r.ro() as s:
        return review.next_case(s, actor, stage)


@pytest.fixture
def in_review(db: Db) -> Round:
    """Twenty cases through intake into formal review; li.review and zhao.review are reviewers, and
    own.review is a reviewer who belongs to the applicant of one of the waiting cases."""
    staff_and_plan(db.engine)
    r = applicants_and_applications(db.engine, n_apps=20)
    r.advance()
    waiting = _orm_queue(r, "li.review", limit=1000)
    assert len(waiting) >= 5
    with r.uow() as s:
        users.create_user(s, "admin", "own.review", ["reviewer"], "own.review", waiting[2]["uscc"])
        users.create_user(s, "admin", "no.org", ["reviewer"], "no.org", None)
    return r


def test_the_queue_and_the_next_case_match_the_orm_path(db: Db, in_review: Round) -> None:
    r = in_review
    for actor in ("li.review", "zhao.review", "own.review", "no.org"):
        for kw in ({}, {"limit": 3}, {"limit": 1000}, {"scheme": "certification-award", "limit": 7},
                   {"scheme": "custody-voucher"}, {"stage": "returned"}):
            lean = review_read.queue(db.url, actor, **kw)
            assert _same(lean) == _same(_orm_queue(r, actor, **kw)), (actor, kw)
        lean_next = review_read.next_case(db.url, actor)
        assert lean_next is not None
        assert _same(lean_next) == _same(_orm_next(r, actor)), actor
    assert review_read.next_case(db.url, "li.review", "returned") is None
    assert _orm_next(r, "li.review", "returned") is None


def test_the_queue_never_shows_a_case_of_the_reviewers_own_organisation(db: Db, in_review: Round) -> None:
    with in_review.ro() as s:
        org = get_user(s, "own.review").affiliation
    everyone = review_read.queue(db.url, "li.review", limit=1000)
    own = [q["ref"] for q in everyone if q["uscc"] == org]
    assert own, "the fixture puts own.review's organisation among the waiting cases"
    theirs = review_read.queue(db.url, "own.review", limit=1000)
    assert [q["ref"] for q in theirs] == [q["ref"] for q in everyone if q["ref"] not in own]
    assert theirs == _orm_queue(in_review, "own.review", limit=1000)
    nxt = review_read.next_case(db.url, "own.review")
    assert nxt is not None and nxt["applicant"]["uscc"] != org


def test_decided_cases_leave_the_queue_and_the_next_case_moves_on(db: Db, in_review: Round) -> None:
    r = in_review
    first = review_read.queue(db.url, "li.review", limit=1000)
    with r.uow() as s:
        review.decide(s, "li.review", first[0]["ref"], "approve", "材料齐全")
        review.decide(s, "zhao.review", first[1]["ref"], "return", "证书复印件不清晰")
    after = review_read.queue(db.url, "li.review", limit=1000)
    assert [q["ref"] for q in after] == [q["ref"] for q in first[2:]]
    assert after == _orm_queue(r, "li.review", limit=1000)
    nxt = review_read.next_case(db.url, "zhao.review")
    assert nxt is not None and nxt["ref"] == first[2]["ref"]
    assert _same(nxt) == _same(_orm_next(r, "zhao.review"))
    # Once moved on (returned, resubmitted, back in review) a case waits again with its new decisions.
    set_clock("2021-03-02T01:00:00Z")
    r.advance()
    assert review_read.queue(db.url, "li.review", limit=1000) == _orm_queue(r, "li.review", limit=1000)
    with r.ro() as s:
        returned = applications.show(s, "admin", first[1]["ref"])
    assert returned["status"] == "returned"
    assert _same(review_read.show(db.url, "li.review", first[1]["ref"])) == _same(returned)


@pytest.mark.parametrize(("actor", "error"), [
    ("nobody", NotFound), (None, PermissionDenied), ("", PermissionDenied),
    ("eval1", PermissionDenied), ("wang.approve", PermissionDenied), ("admin", PermissionDenied),
])
def test_an_unknown_or_unauthorised_user_is_refused_with_the_orm_message(db: Db, in_review: Round, actor: str | None,
                                                                         error: type[Exception]) -> None:
    with pytest.raises(error) as orm:
        _orm_queue(in_review, actor)
    for call in (lambda: review_read.queue(db.url, actor), lambda: review_read.next_case(db.url, actor)):
        with pytest.raises(error) as lean:
            call()
        assert type(lean.value) is type(orm.value)
        assert str(lean.value) == str(orm.value)


def test_show_matches_on_a_scored_case_for_staff_and_for_its_applicant(db: Db) -> None:
    """Scores, assignments and the evaluators' names (hidden from applicants) read the same."""
    staff_and_plan(db.engine)
    r = applicants_and_applications(db.engine, n_apps=4)
    r.advance()
    with r.uow() as s:
        for item in review.queue(s, "li.review", limit=100):
            review.decide(s, "li.review", item["ref"], "approve", "材料齐全")
    r.advance()
    score_all(r)
    ref = r.refs[0]
    with r.uow() as s:
        uscc = applications.show(s, "admin", ref)["applicant"]["uscc"]
        users.create_user(s, "admin", "applicant.user", ["applicant"], "applicant.user", uscc)
    for actor in ("admin", "li.review", "sun.audit", "applicant.user"):
        with r.ro() as s:
            orm = applications.show(s, actor, ref)
        lean = review_read.show(db.url, actor, ref)
        assert _same(lean) == _same(orm), actor
    assert lean["scores"] and {x["evaluator"] for x in lean["scores"]} == {"(third party)"}
    other = next(x for x in r.refs if x != ref)
    with pytest.raises(NotFound) as lean_refusal:
        review_read.show(db.url, "applicant.user", other)
    with r.ro() as s, pytest.raises(NotFound) as orm_refusal:
        applications.show(s, "applicant.user", other)
    assert str(lean_refusal.value) == str(orm_refusal.value)
    assert "not found among applicant.user's applications" in str(lean_refusal.value)


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:////abs/dir/ipfund.db", ("/abs/dir/ipfund.db", False)),
    ("sqlite:///rel/ipfund.db", ("rel/ipfund.db", False)),
    ("sqlite+pysqlite:///ipfund.db", ("ipfund.db", False)),
    ("sqlite://", (":memory:", False)),
    ("sqlite:///:memory:", (":memory:", False)),
    ("sqlite:///with%20space.db", ("with space.db", False)),
    ("sqlite:///file:data.db?mode=ro&uri=true", ("file:data.db?mode=ro", True)),
])
def test_sqlite_urls_name_the_same_file_as_sqlalchemy(url: str, expected: tuple[str, bool]) -> None:
    assert review_read.sqlite_path(url) == expected


def test_postgres_urls_become_libpq_conninfo() -> None:
    assert (review_read.pg_conninfo("postgresql+psycopg://u:p%40ss@db.example:5433/ipfund?sslmode=require")
            == "postgresql://u:p%40ss@db.example:5433/ipfund?sslmode=require")


@pytest.mark.parametrize("argv", [
    ["review", "queue", "--as", "li.review", "--json"],
    ["review", "queue", "--as", "own.review", "--json", "--limit", "4", "--scheme", "certification-award"],
    ["review", "queue", "--as=li.review", "--stage=returned", "--json"],
    ["review", "queue", "--as", "li.review"],
    ["review", "next", "--as", "own.review", "--json"],
    ["review", "next", "--as", "li.review", "--stage", "returned"],
    ["review", "next", "--as", "li.review"],
    ["review", "queue", "--as", "nobody", "--json"],
    ["review", "next", "--as", "eval1"],
    ["review", "queue", "--json"],
])
def test_the_fast_command_line_path_prints_what_typer_prints(db: Db, in_review: Round, cli: Any,
                                                             capsys: pytest.CaptureFixture[str],
                                                             argv: list[str]) -> None:
    from flows.cli.review_view import run_fast_review as fast_review

    typer_path = cli(*argv)
    capsys.readouterr()
    code = fast_review(argv)
    out, err = capsys.readouterr()
    assert code == typer_path.exit_code
    if "--json" in argv and code == 0:
        assert json.loads(out) == json.loads(typer_path.stdout)
    else:
        assert out.split() == typer_path.stdout.split()
    assert err.split() == typer_path.stderr.split()
