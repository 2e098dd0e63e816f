"""Step definitions for features/applicants.feature (through the real CLI and database).

In the tables, ``#N`` stands for a valid synthetic credit code (rules.uscc.make_uscc), optionally spoiled
in one named way, so the feature reads in domain words and never carries 18-character codes around."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from flows.services.users import create_user
from rules.uscc import CHARSET, make_uscc
from tests.conftest import FEATURES

scenarios("applicants.feature", features_base_dir=str(FEATURES))

COLUMNS = ("name", "uscc", "kind", "district", "sme", "whitelist")


def _other(ch: str, allowed: str) -> str:
    return next(c for c in allowed if c != ch)


def credit_code(token: str) -> str:
    """``#N`` -> a valid code; ``#N <how>`` -> the same code spoiled so exactly one GB 32100 check fails."""
    if not token.startswith("#"):
        return token
    number, _, how = token[1:].partition(" ")
    code = make_uscc("370602", 1000 + int(number))
    if how == "":
        return code
    if how == "last char wrong":
        return code[:17] + _other(code[17], CHARSET)
    if how == "org check wrong":
        return code[:16] + _other(code[16], "0123456789") + code[17]
    if how == "with an O":
        return code[:9] + "O" + code[10:]
    if how == "one char short":
        return code[:17]
    raise AssertionError(f"scenario: unknown way to spoil a credit code: {how!r}")


@pytest.fixture
def ctx() -> dict[str, Any]:
    return {}


def _write(path: Path, rows: list[dict[str, str]], bom: bool) -> None:
    lines = [",".join(COLUMNS)]
    for r in rows:
        lines.append(",".join(credit_code(r[c]) if c == "uscc" else r[c] for c in COLUMNS))
    data = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def _rows(datatable: list[list[str]]) -> list[dict[str, str]]:
    header = datatable[0]
    return [dict(zip(header, row, strict=True)) for row in datatable[1:]]


def _applicants(cli: Any) -> list[dict[str, Any]]:
    r = cli("applicant", "list", "--json")
    assert r.exit_code == 0, r.stderr
    rows: list[dict[str, Any]] = json.loads(r.stdout)
    return rows


@given(parsers.parse('the reviewer "{name}" may import applicants'))
def reviewer(db: Any, name: str) -> None:
    with db.session() as s:
        create_user(s, "admin", name, ["reviewer"])
        s.commit()


@given(parsers.parse("a CSV file saved as UTF-8 with the rows"))
def csv_plain(ctx: dict[str, Any], tmp_path: Path, datatable: list[list[str]]) -> None:
    ctx["file"] = tmp_path / "applicants.csv"
    _write(ctx["file"], _rows(datatable), bom=False)
    assert not ctx["file"].read_bytes().startswith(b"\xef\xbb\xbf")


@given(parsers.parse("a CSV file saved as UTF-8 with a byte-order mark with the rows"))
def csv_bom(ctx: dict[str, Any], tmp_path: Path, datatable: list[list[str]]) -> None:
    ctx["file"] = tmp_path / "applicants.csv"
    _write(ctx["file"], _rows(datatable), bom=True)
    assert ctx["file"].read_bytes().startswith(b"\xef\xbb\xbfname,")


@given(parsers.parse("the file is rewritten with the rows"))
def rewrite(ctx: dict[str, Any], datatable: list[list[str]]) -> None:
    _write(ctx["file"], _rows(datatable), bom=False)


@given(parsers.parse('"{name}" has imported the file'))
def imported(ctx: dict[str, Any], cli: Any, name: str) -> None:
    r = cli("applicant", "import", str(ctx["file"]), "--as", name)
    assert r.exit_code == 0, r.stderr
    ctx["listed_before"] = _applicants(cli)


@when(parsers.parse('"{name}" imports the file'))
def do_import(ctx: dict[str, Any], cli: Any, db: Any, name: str) -> None:
    ctx["before"] = db.snapshot()
    ctx["result"] = cli("applicant", "import", str(ctx["file"]), "--as", name)


@then(parsers.re(r"the import reports (?P<n>\d+) new applicants?"))
def reports(ctx: dict[str, Any], n: str) -> None:
    r = ctx["result"]
    assert r.exit_code == 0, r.stderr
    assert f"imported {n} new applicant(s)" in r.stdout, r.stdout


@then(parsers.parse('the applicant list shows "{name}" as an {kind} in {district}, {sme} and {whitelist}'))
def listed(cli: Any, name: str, kind: str, district: str, sme: str, whitelist: str) -> None:
    rows = {r["name"]: r for r in _applicants(cli)}
    assert name in rows, sorted(rows)  # with a BOM, a misread header would lose the name column
    row = rows[name]
    assert (row["kind"], row["district"]) == (kind, district)
    assert row["sme"] is (sme == "an SME"), row
    assert row["whitelist"] is (whitelist == "whitelisted"), row
    assert row["uscc"].startswith("91370602") and len(row["uscc"]) == 18


@then(parsers.parse("the applicant list holds the same {n:d} applicants as before"))
def same_applicants(ctx: dict[str, Any], cli: Any, db: Any, n: int) -> None:
    after = _applicants(cli)
    assert len(after) == n
    assert after == ctx["listed_before"]
    assert db.snapshot()["applicant"] == ctx["before"]["applicant"] and ctx["before"]["applicant"].rows == n


def _refusal(ctx: dict[str, Any]) -> str:
    r = ctx["result"]
    assert r.exit_code == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert "nothing was written" in r.stderr
    return str(r.stderr)


def _problems(err: str) -> list[str]:
    return [ln.strip()[2:] for ln in err.splitlines() if ln.strip().startswith("- line ")]


@then(parsers.parse('the import is refused naming "{fragment}"'))
def refused(ctx: dict[str, Any], fragment: str) -> None:
    err = _refusal(ctx)
    assert fragment in err, err


@then(parsers.parse('the import is refused and only line {n:d} is reported, with "{reason}"'))
def refused_line(ctx: dict[str, Any], n: int, reason: str) -> None:
    problems = _problems(_refusal(ctx))
    # The good rows around it (lines 2 and 4) are not reported.
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"line {n}: "), problems
    assert reason in problems[0], problems


@then("the import is refused naming every bad line")
def refused_every(ctx: dict[str, Any], datatable: list[list[str]]) -> None:
    err = _refusal(ctx)
    problems = _problems(err)
    want = _rows(datatable)
    assert f"{len(want)} problem(s)" in err, err
    assert len(problems) == len(want), problems
    for problem, w in zip(problems, want, strict=True):
        assert problem.startswith(f"line {w['line']}: "), problem
        assert w["reason"] in problem, problem


@then("nothing is written to the database")
def unchanged(ctx: dict[str, Any], db: Any) -> None:
    assert db.snapshot() == ctx["before"]
