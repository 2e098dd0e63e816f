"""Step definitions for features/year_dossier.feature: the year dossier's roster and reconciliation,
rendered through the real `ipfund dossier year` on a private copy of a finished round
(tests/bench/sample_round.py: an award withdrawn after an upheld objection, a failed transfer paid on
retry), read back from the PDF's text (poppler's pdftotext) and from its embedded data, and checked
against the ledger rows with plain SQL."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when
from sqlalchemy import text

from flows.pdf_render import extract_attachment
from models.db import make_engine
from rules.money import format_yuan, parse_yuan
from tests.bench.sample_round import shared
from tests.conftest import FEATURES
from tests.step_defs.test_auditor_dossier_features import run, state

scenarios("year_dossier.feature", features_base_dir=str(FEATURES))

ROW = re.compile(r"^\s*(\d+|—)\s+([A-Z]+-\d{4}-\d{5})\s+.*?\s([a-z][a-z_]+)\s+(-?¥[\d,.]+)\s+(-?¥[\d,.]+)")


@pytest.fixture
def ctx() -> dict[str, Any]:
    return {}


def fen(yuan: str) -> int:
    return parse_yuan(yuan.replace("¥", "").replace(",", ""))


def sql(url: str, query: str, **params: Any) -> list[Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(query), params).all())
    finally:
        engine.dispose()


def moved(url: str, kind: str, bucket: str, line: str, source: str | None = None, ref: str | None = None) -> int:
    """What postings of ``kind`` moved into ``bucket`` of the line (and source), from the ledger rows."""
    rows = sql(url, "SELECT a.name, e.amount_fen, p.subject FROM posting p JOIN posting_entry e ON e.posting_id = p.id "
                    "JOIN account a ON a.id = e.account_id WHERE p.kind = :kind AND e.amount_fen > 0", kind=kind)
    return sum(int(amount) for name, amount, subject in rows
               if name.split(":")[1:2] == [line] and name.endswith(f":{bucket}")
               and (source is None or name.split(":")[2] == source) and (ref is None or subject == f"app:{ref}"))


@given("a finished 2021 certification-award round where one award was withdrawn after an upheld objection and "
       "one transfer failed and was paid on retry", target_fixture="rnd")
def finished_round(ctx: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    sample = shared()
    url = sample.copy_to(tmp_path / "db")
    ctx["before"] = state(url)
    return {"url": url, "sample": sample, "dir": tmp_path}


@given(parsers.parse('someone with database access adds ¥{amount} to the committed central funds of the line "{line}"'))
def tamper(rnd: dict[str, Any], amount: str, line: str) -> None:
    engine = make_engine(rnd["url"])
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE account SET balance_fen = balance_fen + :d WHERE name = :n"),
                         {"d": fen(amount), "n": f"line:{line}:central:committed"})
    finally:
        engine.dispose()


@when(parsers.parse('"{name}" renders the dossier of fund year {year:d}'))
def render_year(ctx: dict[str, Any], rnd: dict[str, Any], name: str, year: int) -> None:
    out = rnd["dir"] / "year.pdf"
    r = run(rnd["url"], "dossier", "year", str(year), "--out", str(out), "--as", name)
    assert r.exit_code == 0, r.stderr
    pdf = out.read_bytes()
    exe = shutil.which("pdftotext")
    assert exe is not None, "pdftotext (poppler-utils) is needed"
    layout = subprocess.run([exe, "-layout", str(out), "-"], capture_output=True, check=True, text=True).stdout
    embedded = extract_attachment(pdf, "dossier.json")
    assert embedded is not None
    ctx.update(file=out, layout=layout, data=json.loads(embedded))


def _roster(ctx: dict[str, Any]) -> list[tuple[str, str, str, int, int]]:
    """(rank, ref, reason code, awarded, paid) of every roster row, from the PDF's text."""
    appendix = ctx["layout"].split("Appendix 1: roster of cases", 1)[1]
    return [(m[1], m[2], m[3], fen(m[4]), fen(m[5])) for m in map(ROW.match, appendix.splitlines()) if m]


def _recon(ctx: dict[str, Any], scheme: str = "certification-award") -> dict[str, Any]:
    return next(r for r in ctx["data"]["reconciliation"] if r["scheme"] == scheme)


@then(parsers.parse('the roster of the scheme "{scheme}" lists each of the round\'s {n:d} cases once'))
def roster_lists(ctx: dict[str, Any], rnd: dict[str, Any], scheme: str, n: int) -> None:
    refs = [row[1] for row in _roster(ctx)]
    apps = sorted(r for (r,) in sql(rnd["url"], "SELECT ref FROM application WHERE scheme = :s AND year = 2021", s=scheme))
    assert len(apps) == n and sorted(refs) == apps, (refs, apps)
    assert f"certification-award · {n}" in " ".join(ctx["layout"].split())


@then("every case in the roster shows the rank and reason code of its application and the awarded and paid of its postings")
def roster_matches_ledger(ctx: dict[str, Any], rnd: dict[str, Any]) -> None:
    url = rnd["url"]
    apps = {ref: (rank, outcome or status) for ref, rank, outcome, status in
            sql(url, "SELECT ref, rank, outcome, status FROM application WHERE year = 2021")}
    for rank, ref, code, awarded, paid in _roster(ctx):
        assert (rank, code) == (str(apps[ref][0]) if apps[ref][0] is not None else "—", apps[ref][1]), ref
        assert awarded == moved(url, "commitment", "committed", "certification-award", ref=ref), ref
        assert paid == (moved(url, "payment", "paid", "certification-award", ref=ref)
                        - moved(url, "reversal", "committed", "certification-award", ref=ref)), ref


def _case_row(ctx: dict[str, Any], ref: str) -> dict[str, Any]:
    roster = ctx["data"]["roster"][0]["cases"]
    return next(c for c in roster if c["ref"] == ref)


@then(parsers.parse("the case withdrawn after the objection shows ¥{awarded} awarded, ¥{paid} paid and ¥{withdrawn} withdrawn"))
def withdrawn_case(ctx: dict[str, Any], rnd: dict[str, Any], awarded: str, paid: str, withdrawn: str) -> None:
    ref = rnd["sample"].upheld
    row = next(r for r in _roster(ctx) if r[1] == ref)
    assert (row[2], row[3], row[4]) == ("objection_upheld", fen(awarded), fen(paid))
    c = _case_row(ctx, ref)
    assert c["withdrawn_fen"] == fen(withdrawn) == moved(rnd["url"], "release", "available", "certification-award", ref=ref)
    assert c["award_fen"] is None and c["holds"]


@then(parsers.parse("the case whose transfer failed shows ¥{awarded} awarded, ¥{paid} paid and a failed transfer of ¥{failed}"))
def failed_case(ctx: dict[str, Any], rnd: dict[str, Any], awarded: str, paid: str, failed: str) -> None:
    ref = rnd["sample"].paid[0]
    row = next(r for r in _roster(ctx) if r[1] == ref)
    assert (row[2], row[3], row[4]) == ("funded", fen(awarded), fen(paid))
    c = _case_row(ctx, ref)
    assert c["failed_fen"] == fen(failed) and c["holds"]
    assert sql(rnd["url"], "SELECT count(*) FROM payment p JOIN application a ON a.id = p.application_id "
                           "WHERE a.ref = :r AND p.status = 'failed'", r=ref)[0][0] == 1


@then(parsers.parse('the line "{line}" reconciles: awarded ¥{awarded} = paid ¥{paid} + withdrawn ¥{withdrawn} + '
                    'released ¥{released} + clawed back ¥{clawed} + outstanding ¥{outstanding}'))
def line_reconciles(ctx: dict[str, Any], rnd: dict[str, Any], line: str, awarded: str, paid: str, withdrawn: str,
                    released: str, clawed: str, outstanding: str) -> None:
    x = next(r for r in _recon(ctx)["by_line"] if r["line"] == line)
    want = [fen(v) for v in (awarded, paid, withdrawn, released, clawed, outstanding)]
    assert [x[k] for k in ("awarded_fen", "paid_fen", "withdrawn_fen", "released_fen", "clawed_back_fen",
                           "outstanding_fen")] == want
    assert want[0] == sum(want[1:]) and x["holds"] and x["residual_fen"] == 0
    url = rnd["url"]
    assert want[0] == moved(url, "commitment", "committed", line)
    assert want[1] == moved(url, "payment", "paid", line) - moved(url, "reversal", "committed", line)
    assert want[2] == moved(url, "release", "available", line)
    # the same figures in the text of the PDF: the line's row of the "By line" table
    rows = [ln for ln in ctx["layout"].split("By line", 1)[1].splitlines() if ln.strip().startswith(line)]
    assert rows and [format_yuan(v) for v in want] == re.findall(r"-?¥[\d,.]+", rows[0]), rows
    assert "√ 通过 pass" in rows[0]


@then("each fund source of the line reconciles to the fen with the ledger's balances, and the sources add up to the line")
def sources_reconcile(ctx: dict[str, Any], rnd: dict[str, Any]) -> None:
    r = _recon(ctx)
    balances = dict(sql(rnd["url"], "SELECT name, balance_fen FROM account WHERE name LIKE 'line:certification-award:%'"))
    rows = [x for x in r["by_line_source"] if x["line"] == "certification-award"]
    assert {x["source"] for x in rows} == {"central", "municipal"}
    for x in rows:
        acc = f"line:certification-award:{x['source']}"
        assert x["holds"] and x["outstanding_fen"] == balances[f"{acc}:committed"]
        assert x["paid_fen"] == balances[f"{acc}:paid"]
        assert x["awarded_fen"] == moved(rnd["url"], "commitment", "committed", "certification-award", x["source"])
    line = next(x for x in r["by_line"] if x["line"] == "certification-award")
    for k in ("awarded_fen", "paid_fen", "withdrawn_fen", "outstanding_fen"):
        assert sum(x[k] for x in rows) == line[k]
    # per source, in the PDF: the central row of the "By source" table
    central = [ln for ln in ctx["layout"].split("By source", 1)[1].splitlines() if ln.strip().startswith("central funds")]
    src = next(x for x in r["by_source"] if x["source"] == "central")
    assert central and re.findall(r"-?¥[\d,.]+", central[0])[:3] == [
        format_yuan(src[k]) for k in ("awarded_fen", "paid_fen", "withdrawn_fen")]


@then(parsers.parse("the payment rows agree with the ledger: ¥{paid} paid and ¥{failed} failed"))
def payment_rows(ctx: dict[str, Any], rnd: dict[str, Any], paid: str, failed: str) -> None:
    p = _recon(ctx)["payments"]
    got = dict(sql(rnd["url"], "SELECT status, sum(amount_fen) FROM payment GROUP BY status"))
    assert (p["paid_rows_fen"], p["failed_rows_fen"]) == (fen(paid), fen(failed)) == (got["paid"], got["failed"])
    assert p["paid_matches"] and p["failed_matches"] and _recon(ctx)["awards_match"]


@then(parsers.parse('there are {n:d} differences: the withdrawal explained by the event "{withdraw}" and the failed '
                    'transfer by the event "{fail}"'))
def differences(ctx: dict[str, Any], rnd: dict[str, Any], n: int, withdraw: str, fail: str) -> None:
    diffs = _recon(ctx)["differences"]
    assert len(diffs) == n
    by_kind = {d["kind"]: d for d in diffs}
    sample = rnd["sample"]
    assert (by_kind["withdraw"]["case"], by_kind["withdraw"]["event"]["action"]) == (sample.upheld, withdraw)
    assert (by_kind["fail"]["case"], by_kind["fail"]["event"]["action"]) == (sample.paid[0], fail)
    for d in diffs:  # the event is the case's, recorded at the moment of the posting
        seq, subject = sql(rnd["url"], "SELECT e.seq, e.subject FROM audit_event e JOIN posting p ON p.at = e.at "
                                       "AND p.subject = e.subject WHERE p.id = :p AND e.action = :a",
                           p=d["posting_id"], a=d["event"]["action"])[0]
        assert (seq, subject) == (d["event"]["seq"], f"app:{d['case']}")
    body = " ".join(ctx["layout"].split())
    for d in diffs:
        assert f"#{d['event']['seq']} {d['event']['action']}" in body
    assert "撤销奖励" in body and "转账失败退回" in body


@then('"ipfund dossier verify" says the file is identical')
def verify_identical(ctx: dict[str, Any], rnd: dict[str, Any]) -> None:
    r = run(rnd["url"], "dossier", "verify", str(ctx["file"]))
    assert r.exit_code == 0, r.stdout + r.stderr


@then("the database is unchanged")
def unchanged(ctx: dict[str, Any], rnd: dict[str, Any]) -> None:
    assert state(rnd["url"]) == ctx["before"]


@then(parsers.parse('the line "{line}" with central funds does not reconcile, by {residual}'))
def line_fails(ctx: dict[str, Any], line: str, residual: str) -> None:
    r = _recon(ctx)
    x = next(x for x in r["by_line_source"] if (x["line"], x["source"]) == (line, "central"))
    assert not x["holds"] and x["residual_fen"] == fen(residual.replace("-", "")) * (-1 if "-" in residual else 1)
    assert not r["holds"]
    row = [ln for ln in ctx["layout"].split("Line / source", 1)[1].splitlines() if "× 未通过 fail" in ln]
    assert row and residual.replace("-", "") in " ".join(ctx["layout"].split("Line / source", 1)[1].split()[:200])


@then("the municipal finance of the line still reconciles")
def municipal_holds(ctx: dict[str, Any]) -> None:
    x = next(x for x in _recon(ctx)["by_line_source"] if x["source"] == "municipal")
    assert x["holds"] and x["residual_fen"] == 0
