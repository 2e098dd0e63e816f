"""Step definitions for features/auditor_dossier.feature, through the real `ipfund` CLI on a private
copy of a finished round (tests/bench/sample_round.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from pytest_bdd import given, parsers, scenarios, then, when
from sqlalchemy import text
from typer.testing import CliRunner

from models.db import make_engine
from rules.money import parse_yuan, to_daxie
from tests.bench.sample_round import database, shared
from tests.conftest import FEATURES, CliResult, Db

scenarios("auditor_dossier.feature", features_base_dir=str(FEATURES))


@pytest.fixture
def ctx() -> dict[str, Any]:
    return {}


def run(url: str, *args: str) -> CliResult:
    from flows.cli.main import app

    with database(url):
        r = CliRunner().invoke(app, list(args), env={"IPFUND_DATABASE_URL": url, "IPFUND_USER": None},
                               catch_exceptions=False)
    return CliResult(r.exit_code, r.stdout, r.stderr)


def state(url: str) -> dict[str, Any]:
    """Row counts, balances, the audit head and every case's data and status: "unchanged" is equality."""
    engine = make_engine(url)
    try:
        snap: dict[str, Any] = Db(url, engine).snapshot()
        with engine.connect() as conn:
            snap["audit_head"] = conn.execute(text("SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1")).scalar()
            snap["cases"] = conn.execute(text("SELECT group_concat(ref || data || status, '|') FROM application")).scalar()
            snap["accounts"] = conn.execute(text("SELECT group_concat(name || balance_fen, '|') FROM account")).scalar()
        return snap
    finally:
        engine.dispose()


def packed_text(pdf: bytes) -> str:
    from io import BytesIO

    return "".join("".join(page.extract_text() or "" for page in PdfReader(BytesIO(pdf)).pages).split())


@given(parsers.parse('a finished 2021 certification-award round with the auditor "{auditor}"'), target_fixture="rnd")
def finished_round(ctx: dict[str, Any], tmp_path: Path, auditor: str) -> dict[str, Any]:
    sample = shared()
    url = sample.copy_to(tmp_path / "db")
    ctx["before"] = state(url)
    return {"url": url, "sample": sample, "auditor": auditor, "dir": tmp_path}


def _case(rnd: dict[str, Any], which: str) -> str:
    sample = rnd["sample"]
    ref: str = {"the first paid case": sample.paid[0], "a case scored below the minimum": sample.below_min[0],
                "a case rejected in review": sample.rejected[0]}[which]
    return ref


def _render(ctx: dict[str, Any], rnd: dict[str, Any], name: str, which: str, issue: bool) -> None:
    ref = _case(rnd, which)
    out = rnd["dir"] / f"{ref}.pdf"
    r = run(rnd["url"], "dossier", "case", ref, "--out", str(out), "--as", name, "--json",
            *(["--issue"] if issue else []))
    assert r.exit_code == 0, r.stderr
    ctx.update(ref=ref, file=out, info=json.loads(r.stdout))


@when(parsers.parse('"{name}" renders the dossier of {which}'))
def renders(ctx: dict[str, Any], rnd: dict[str, Any], name: str, which: str) -> None:
    if which.startswith("fund year "):
        out = rnd["dir"] / "year.pdf"
        r = run(rnd["url"], "dossier", "year", which.removeprefix("fund year "), "--out", str(out), "--as", name)
        assert r.exit_code == 0, r.stderr
        ctx.update(file=out)
        return
    _render(ctx, rnd, name, which, issue=False)


@when(parsers.parse('"{name}" issues the dossier of {which}'))
def issues(ctx: dict[str, Any], rnd: dict[str, Any], name: str, which: str) -> None:
    _render(ctx, rnd, name, which, issue=True)


@given(parsers.parse('"{name}" has issued the dossier of {which}'))
def has_issued(ctx: dict[str, Any], rnd: dict[str, Any], name: str, which: str) -> None:
    _render(ctx, rnd, name, which, issue=True)


@when(parsers.parse('"{name}" tries to give back ¥{amount} of central funds from the line "{line}"'))
def tries_adjust(ctx: dict[str, Any], rnd: dict[str, Any], name: str, amount: str, line: str) -> None:
    ctx["result"] = run(rnd["url"], "budget", "adjust", "--line", line, "--source", "central",
                        "--delta-yuan", f"-{amount}", "--reason", "审计调整", "--year", "2021", "--as", name)


@when(parsers.parse("someone with database access changes that case's first score to {score}"))
def change_score(ctx: dict[str, Any], rnd: dict[str, Any], score: str) -> None:
    tenths = round(float(score) * 10)
    engine = make_engine(rnd["url"])
    try:
        with engine.begin() as conn:
            changed = conn.execute(text(
                "UPDATE score SET score_tenths = :t WHERE id = (SELECT min(score.id) FROM score JOIN application "
                "ON application.id = score.application_id WHERE application.ref = :r)"),
                {"t": tenths, "r": ctx["ref"]}).rowcount
        assert changed == 1
    finally:
        engine.dispose()


@when("one byte in the middle of the file is changed")
def change_byte(ctx: dict[str, Any]) -> None:
    content = bytearray(ctx["file"].read_bytes())
    content[len(content) // 2] ^= 0x01
    ctx["file"].write_bytes(bytes(content))


@then(parsers.parse("the dossier names the applicant and the award of ¥{amount} in words as {words}"))
def names_applicant_and_award(ctx: dict[str, Any], rnd: dict[str, Any], amount: str, words: str) -> None:
    body = packed_text(ctx["file"].read_bytes())
    fen = parse_yuan(amount)
    assert to_daxie(fen) == words
    with database(rnd["url"]):
        from flows.services.applications import show
        from models.uow import read_only

        with read_only() as s:
            case = show(s, rnd["auditor"], ctx["ref"])
    assert case["award_fen"] == fen
    for expected in (case["applicant"]["name"], case["applicant"]["uscc"], f"¥{amount}", words, ctx["info"]["document_id"]):
        assert expected in body, expected


@then('"ipfund dossier verify" says the file is identical')
def verify_identical(rnd: dict[str, Any], ctx: dict[str, Any]) -> None:
    r = run(rnd["url"], "dossier", "verify", str(ctx["file"]))
    assert r.exit_code == 0, r.stderr
    assert "√ identical" in r.stdout


@then("the database is unchanged")
def unchanged(ctx: dict[str, Any], rnd: dict[str, Any]) -> None:
    assert state(rnd["url"]) == ctx["before"]


@then(parsers.parse('the audit log ends with a dossier.issue event by "{name}" holding the file\'s sha256'))
def issue_event(ctx: dict[str, Any], rnd: dict[str, Any], name: str) -> None:
    r = run(rnd["url"], "audit", "log", "--json", "--subject", f"dossier:{ctx['ref']}")
    events = json.loads(r.stdout)
    assert [(e["action"], e["actor"]) for e in events] == [("dossier.issue", name)]
    assert events[0]["payload"]["pdf_sha256"] == hashlib.sha256(ctx["file"].read_bytes()).hexdigest()
    assert events[0]["payload"]["manifest"]["data_sha256"] == ctx["info"]["data_sha256"]
    head = json.loads(run(rnd["url"], "audit", "verify", "--json").stdout)
    assert head["ok"] and head["head_seq"] == events[0]["seq"]


@then(parsers.parse("the change is refused because {action} needs the role {role_a} or {role_b}"))
def refused(ctx: dict[str, Any], action: str, role_a: str, role_b: str) -> None:
    r = ctx["result"]
    assert r.exit_code == 1, r.stdout
    err = " ".join(r.stderr.split())
    assert f"may not {action}" in err and f"{role_b}, {role_a}" in err, err


@then(parsers.parse('"ipfund dossier verify" fails naming the field "{field}" as {value}'))
def verify_names_field(ctx: dict[str, Any], rnd: dict[str, Any], field: str, value: str) -> None:
    r = run(rnd["url"], "dossier", "verify", str(ctx["file"]))
    assert r.exit_code == 1
    assert f'{field}: "' in r.stderr and f'→ "{value}"' in r.stderr, r.stderr
    report = json.loads(run(rnd["url"], "dossier", "verify", str(ctx["file"]), "--json").stdout)
    assert report["verdict"] == "database_changed"
    assert {d["field"]: d["in_database"] for d in report["data_differences"]}[field] == value


@then('"ipfund dossier verify" fails saying the PDF was altered')
def verify_altered(ctx: dict[str, Any], rnd: dict[str, Any]) -> None:
    r = run(rnd["url"], "dossier", "verify", str(ctx["file"]))
    assert r.exit_code == 1
    err = " ".join(r.stderr.split())
    assert "× differs (pdf_altered)" in err and "the PDF was altered after rendering" in err, err


@then(parsers.parse("it shows receipts of ¥{total} and the 1:1.2 match planned as passing"))
def year_shows(ctx: dict[str, Any], total: str) -> None:
    body = packed_text(ctx["file"].read_bytes())
    assert f"¥{total}" in body
    assert "计划（按安排数）Planned(allocations)" in body
    planned = body.split("Planned(allocations)", 1)[1].split("Actual(paidtodate)", 1)[0]
    assert "1:1.2地方配套" in planned and planned.count("√通过pass") == 3
