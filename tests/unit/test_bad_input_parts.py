"""Issue 10, the pure parts: the shared CSV reader, the message helpers, the plan's text check, the
database-URL messages and the content snapshot's canonical form."""

from __future__ import annotations

import tomllib

import pytest

from flows.cli.output import database_problem, masked_url
from flows.services.budget import plan_text_problem, read_plan_toml
from flows.services.csv_input import FIELD_LIMIT, read_rows
from flows.services.text_input import shown
from rules.budget_plan import parse_plan
from rules.errors import ValidationFailed
from tests.conftest import EXAMPLES, _canonical

# --- flows.services.csv_input.read_rows ---------------------------------------------------------------------

def test_read_rows_numbers_each_row_by_the_line_it_starts_on() -> None:
    text = 'a,b\n"two\nlines",x\nc,d\n'
    assert list(read_rows(text, "f.csv")) == [(1, ["a", "b"]), (2, ["two\nlines", "x"]), (4, ["c", "d"])]


def test_read_rows_turns_a_cell_over_the_field_limit_into_a_refusal_naming_its_line() -> None:
    text = "a,b\nc,d\n" + '"' + "x" * (FIELD_LIMIT + 1) + '",e\n'
    rows = read_rows(text, "f.csv")
    assert [next(rows), next(rows)] == [(1, ["a", "b"]), (2, ["c", "d"])]
    with pytest.raises(ValidationFailed) as caught:
        next(rows)
    assert caught.value.what == "f.csv"
    assert caught.value.problems == [
        "line 3: cannot read this line as CSV: a cell is longer than 131,072 characters (probably an unclosed "
        "double quote that swallowed the rest of the file); check the quotes on this line"]


def test_read_rows_keeps_nul_bytes_for_the_callers_text_check() -> None:
    assert list(read_rows("a\x00b,c\n", "f.csv")) == [(1, ["a\x00b", "c"])]


# --- message helpers --------------------------------------------------------------------------------------

def test_shown_quotes_a_short_value_as_repr_and_cuts_a_long_one() -> None:
    assert shown("abc") == "'abc'"
    assert shown("a\x00") == "'a\\x00'"
    assert shown("x" * 10_000) == repr("x" * 39 + "…")


@pytest.mark.parametrize(("url", "masked"), [
    ("postgresql+psycopg://u:secret@h:5432/db", "postgresql+psycopg://u:***@h:5432/db"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgresql+psycopg//u:secret@h/db", "postgresql+psycopg//u:***@h/db"),  # malformed: still masked
    ("postgresql://h/db?user=u&password=secret&sslmode=require", "postgresql://h/db?user=u&password=***&sslmode=require"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
])
def test_masked_url_never_shows_a_password(url: str, masked: str) -> None:
    assert masked_url(url) == masked
    assert "secret" not in masked_url(url)


class _PgError(Exception):
    """Stands in for psycopg.OperationalError (matched by module and class name)."""


_PgError.__module__ = "psycopg"
_PgError.__name__ = "OperationalError"


@pytest.mark.parametrize(("driver_message", "fragment"), [
    ('connection failed: connection to server at "h", port 5432 failed: FATAL:  password authentication failed '
     'for user "u"', "password authentication failed; check the user and password in the URL"),
    ('connection failed: connection to server at "h", port 5432 failed: FATAL:  role "u" does not exist',
     'the server has no user (role) "u"'),
    ('connection failed: connection to server at "h", port 5432 failed: FATAL:  database "db" does not exist',
     'the server has no database "db"; create it (createdb db), then run `ipfund init --admin NAME`'),
    ("failed to resolve host 'nohost': [Errno -2] Name or service not known",
     "the host nohost cannot be found (DNS)"),
    ('connection is bad: invalid integer value "p0rt" for connection option "port"',
     'invalid integer value "p0rt" for connection option "port"'),
])
def test_a_failed_postgresql_connection_is_one_line_with_the_cause(
        monkeypatch: pytest.MonkeyPatch, driver_message: str, fragment: str) -> None:
    monkeypatch.setenv("IPFUND_DATABASE_URL", "postgresql+psycopg://u:secret@h:5432/db")
    problem = database_problem(_PgError(driver_message + "\n"))
    assert problem is not None
    assert problem.startswith("cannot connect to the database at postgresql+psycopg://u:***@h:5432/db: ")
    assert fragment in problem and problem.endswith("check IPFUND_DATABASE_URL")
    assert "\n" not in problem and "secret" not in problem


def test_an_error_that_is_not_about_connecting_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPFUND_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert database_problem(_PgError("consuming input failed: server closed the connection")) is None
    assert database_problem(ZeroDivisionError("x")) is None


def test_a_password_a_driver_quotes_is_scrubbed_from_its_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPFUND_DATABASE_URL", "postgresql+psycopg://u:p%zz@h/db")
    problem = database_problem(_PgError('connection is bad: invalid percent-encoded token: "p%zz"'))
    assert problem is not None and "p%zz" not in problem and '"***"' in problem


# --- the budget plan's file and text ------------------------------------------------------------------------

def test_read_plan_toml_reads_utf8_with_or_without_bom() -> None:
    raw = (EXAMPLES / "plan-2021.toml").read_bytes()
    assert read_plan_toml(raw) == read_plan_toml(b"\xef\xbb\xbf" + raw) == tomllib.loads(raw.decode())


def test_parse_plan_reports_what_the_text_check_says_by_key_path_and_nothing_else_for_that_field() -> None:
    raw = tomllib.loads((EXAMPLES / "plan-2021.toml").read_text(encoding="utf-8"))
    parse_plan(raw)  # the sample is clean
    raw["line"][1]["name"] = "运营\x00中心"
    raw["receipt"][0]["reference"] = "资" * 201
    raw["line"][0]["code"] = "c" * 65
    with pytest.raises(ValidationFailed) as caught:
        parse_plan(raw, check_text=plan_text_problem)
    assert caught.value.problems == [
        "receipt[1].reference is 201 characters long; at most 200 are stored (shorten it)",
        "line[1].code is 65 characters long; at most 64 are stored (shorten it)",
        "line[2].name contains a NUL byte at character 3; remove it (control characters are never stored)",
    ]


# --- the content snapshot --------------------------------------------------------------------------------

def test_the_snapshot_writes_booleans_and_integers_alike_whatever_the_driver_returns() -> None:
    # SQLite returns 0/1 for a boolean column, PostgreSQL False/True: the same content, the same hash.
    assert _canonical(True) == _canonical(1) == 1
    assert _canonical(False) == _canonical(0) == 0
    assert _canonical(None) is None and _canonical("x") == "x" and _canonical(b"\x01") == "01"
