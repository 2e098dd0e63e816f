"""Fraud found after settlement (追回, 二(四)13; 三(三)) against a real database (SQLite, and PostgreSQL with
IPFUND_TEST_DATABASE_URL), through the CLI: the finding on an agency already expelled, the redeemed vouchers
not yet paid voided with it and the one in a payment batch left to settle, the SME as debtor in a 通用 round,
the payee's own staff refused, the database's guards on clawbacks and recoveries, and `ipfund check`
catching clawback rows written around the services."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import Db
from tests.voucher_support import (
    CLAWBACK_IDENTITY,
    SCHEME,
    SME2,
    A,
    B,
    check_ok,
    evaluate,
    evidence,
    issue,
    line_figures,
    ok,
    refused,
    settle,
    setup_world,
    status,
)

FINDING = "伪造托管服务成果报告（弄虚作假）"


@pytest.fixture
def settled(cli: Any, db: Db, tmp_path: Path) -> tuple[Any, list[str]]:
    """sme1's and sme2's consulting vouchers settled to agency A (¥4,000.00 each), sme3's redeemed and
    waiting for the SME's confirmation."""
    setup_world(cli, tmp_path)
    refs = issue(cli, [("sme1", "consulting"), ("sme2", "consulting"), ("sme3", "consulting")])
    settle(cli, tmp_path, refs[:2], ["sme1", "sme2"])
    ok(cli("voucher", "contract", refs[2], "--agency", A, "--amount", "8000", "--as", "sme3"))
    ok(cli("voucher", "redeem", refs[2], *evidence(tmp_path), "--as", "wu"))
    return cli, refs


def _bad(cli: Any) -> dict[str, str]:
    r = cli("check", "--json")
    assert r.exit_code != 0
    return {x["check"]: x["detail"] for x in json.loads(r.stdout)["checks"] if not x["ok"]}


def test_a_finding_on_an_agency_already_expelled_still_claws_back_and_voids_what_is_open(
        settled: tuple[Any, list[str]], db: Db) -> None:
    cli, (a, b, c) = settled
    ok(cli("agency", "expel", A, "--reason", "年度监测：抽查发现弄虚作假", "--as", "wang"))
    assert status(cli, c) == "delivered"  # an ordinary expulsion leaves a redeemed voucher to be confirmed
    report = json.loads(ok(cli("agency", "fraud", A, "--finding", FINDING, "--voucher", a, "--json", "--as", "li")))
    assert (report["expelled"], report["voided"], [x["ref"] for x in report["clawbacks"]]) == (False, [c], [a])
    assert status(cli, c) == "voided" and status(cli, a) == "clawback_due" and status(cli, b) == "settled"
    assert line_figures(db) == {"committed": 1500000, "settled": 800000, "released": 700000, "open": 0}
    assert line_figures(db, CLAWBACK_IDENTITY) == {"clawed_back": 400000, "recovered": 0, "outstanding": 400000}
    [f] = json.loads(ok(cli("agency", "show", A, "--json")))["fraud_findings"]
    assert (f["found_by"], f["agency_event_id"], f["detail"]["voided"]) == ("li", None, [c])
    listed = {r["ref"]: r for r in json.loads(ok(cli("voucher", "list", "--json", "--as", "admin")))}
    assert (listed[a]["clawed_back_fen"], listed[a]["recovered_fen"], listed[b]["clawed_back_fen"]) == (400000, 0, None)
    check_ok(cli)


def test_a_voucher_in_a_payment_batch_is_left_to_settle_and_is_clawed_back_by_a_later_finding(
        settled: tuple[Any, list[str]], db: Db, tmp_path: Path) -> None:
    cli, (a, _b, c) = settled
    ok(cli("voucher", "confirm", c, "--as", "sme3"))
    evaluate(cli, tmp_path, c)
    ok(cli("pay", "batch", "--scheme", SCHEME, "--out", str(tmp_path / "bank2"), "--as", "chen"))
    pending = status(cli, c)
    report = json.loads(ok(cli("agency", "fraud", A, "--finding", FINDING, "--voucher", a, "--json", "--as", "li")))
    assert (report["voided"], report["in_payment"]) == ([], [c]) and status(cli, c) == pending
    before = db.snapshot()
    why = refused(cli("agency", "fraud", A, "--finding", FINDING, "--voucher", c, "--as", "li"))
    assert "not settled" in why and "二(四)13" in why
    assert db.snapshot() == before
    why = refused(cli("agency", "fraud", A, "--finding", FINDING, "--voucher", a, "--as", "li"))
    assert "already clawed back" in why
    assert db.snapshot() == before
    check_ok(cli)


def test_in_a_tongyong_round_the_sme_that_was_reimbursed_owes_the_clawback(
        cli: Any, db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """通用: the SME was paid, so the receivable is due from the SME; its own staff may not record the
    recovery (the payee's organisation never acts), finance may."""
    from rules.policy import Parameter, load_policy

    setup_world(cli, tmp_path)
    policy = load_policy("yantai-2020")
    name = "custody-voucher.settlement_mode"
    old = policy.parameters[name]
    monkeypatch.setitem(policy.parameters, name, Parameter.model_validate(
        {**old.model_dump(exclude={"value_references"}), "values": {**old.values, dt.date(2021, 3, 5): "enterprise"}}))
    [ref] = issue(cli, [("sme2", "consulting")])
    settle(cli, tmp_path, [ref], ["sme2"], agency="B", amount="6000", invoice=True)
    ok(cli("agency", "fraud", B, "--finding", "企业与机构恶意串通虚开付款凭证", "--voucher", ref, "--as", "li"))
    shown = json.loads(ok(cli("voucher", "show", ref, "--json", "--as", "admin")))
    assert (shown["clawback"]["debtor_uscc"], shown["clawback"]["amount_fen"]) == (SME2, 300000)
    ok(cli("user", "add", "qian", "--role", "finance", "--affiliation", SME2, "--as", "admin"))
    before = db.snapshot()
    why = refused(cli("voucher", "recover", ref, "--amount", "3000", "--receipt", "ICBC-R9", "--as", "qian"))
    assert "belongs to the applicant of" in why and "不相容岗位相互分离" in why
    assert db.snapshot() == before
    ok(cli("voucher", "recover", ref, "--amount", "3000", "--receipt", "ICBC-R9", "--as", "chen"))
    assert status(cli, ref) == "clawed_back"
    check_ok(cli)


def test_the_database_keeps_a_clawback_within_its_amount_and_its_recoveries_append_only(
        settled: tuple[Any, list[str]], db: Db) -> None:
    cli, (a, _b, _c) = settled
    ok(cli("agency", "fraud", A, "--finding", FINDING, "--voucher", a, "--as", "li"))
    ok(cli("voucher", "recover", a, "--amount", "1000", "--receipt", "BOC-R1", "--as", "chen"))
    with pytest.raises(DBAPIError, match=r"voucher_clawback_recovered_within|CHECK constraint"), db.engine.begin() as c:
        c.execute(text("UPDATE voucher_clawback SET recovered_fen = amount_fen + 1"))
    with pytest.raises(DBAPIError, match="only recovered_fen changes"), db.engine.begin() as c:
        c.execute(text("UPDATE voucher_clawback SET amount_fen = 1"))
    with pytest.raises(DBAPIError, match="only recovered_fen changes"), db.engine.begin() as c:
        c.execute(text("UPDATE voucher_clawback SET recovered_fen = 0"))
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as c:
        c.execute(text("DELETE FROM voucher_recovery"))
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as c:
        c.execute(text("UPDATE fraud_finding SET finding = 'nothing'"))
    with pytest.raises(DBAPIError, match=r"UNIQUE|unique|duplicate"), db.engine.begin() as c:
        c.execute(text("INSERT INTO voucher_recovery (clawback_id, amount_fen, receipt_ref, received_on, recorded_by, "
                       "posting_id, at) SELECT clawback_id, 1, receipt_ref, received_on, recorded_by, posting_id, at "
                       "FROM voucher_recovery"))
    check_ok(cli)


def test_the_checker_catches_a_recovery_written_around_the_services(settled: tuple[Any, list[str]], db: Db) -> None:
    """The clawback row says more was recovered than its recovery rows and postings: the identity clawed back
    = recovered + outstanding breaks, and so does the clawback's own check; a recovery row by whoever
    recorded the finding is named by the duties rule."""
    cli, (a, _b, _c) = settled
    ok(cli("agency", "fraud", A, "--finding", FINDING, "--voucher", a, "--as", "li"))
    ok(cli("voucher", "recover", a, "--amount", "1000", "--receipt", "BOC-R1", "--as", "chen"))
    check_ok(cli)
    with db.engine.begin() as c:  # 'recovered' around the services: no money, no posting
        c.execute(text("UPDATE voucher_clawback SET recovered_fen = recovered_fen + 250000"))
    bad = _bad(cli)
    assert "clawed back 400000 ≠ recovered 100000 + outstanding 50000 fen" in bad[
        "voucher ledger: committed = settled + released + open"]
    assert (f"{a}: clawback 1 says 350000 fen recovered, its recovery rows 100000 fen, their postings 100000 fen"
            in bad["voucher clawbacks match their postings and recoveries"])
    with db.engine.begin() as c:  # a second recovery row, recorded as the finding's own recorder
        c.execute(text("INSERT INTO voucher_recovery (clawback_id, amount_fen, receipt_ref, received_on, recorded_by, "
                       "posting_id, at) SELECT clawback_id, 250000, 'BOC-R2', received_on, 'li', posting_id, at "
                       "FROM voucher_recovery"))
    bad = _bad(cli)
    assert "voucher.recover: li (roles: reviewer) may not record money recovered" in bad[
        "fraud findings and recoveries (不相容岗位相互分离)"]


def test_only_a_voucher_with_a_clawback_takes_a_recovery(settled: tuple[Any, list[str]], db: Db) -> None:
    cli, (_a, b, _c) = settled
    before = db.snapshot()
    why = refused(cli("voucher", "recover", b, "--amount", "1000", "--receipt", "BOC-R1", "--as", "chen"))
    assert "it has no clawback" in why and "二(四)13" in why
    assert db.snapshot() == before


def test_the_year_dossier_reconciles_releases_a_clawback_and_its_recovery_with_the_ledger(
        settled: tuple[Any, list[str]], db: Db, tmp_path: Path) -> None:
    """三(三) 二(四)13 in the year dossier: ¥15,000.00 awarded as vouchers = ¥4,000.00 still paid + ¥7,000.00
    released (a voucher voided, the others settled below their face) + ¥4,000.00 clawed back (¥1,000.00
    of it recovered, ¥3,000.00 receivable) + nothing outstanding; each difference with its audit event."""
    from flows.pdf_render import extract_attachment

    cli, (a, _b, c) = settled
    ok(cli("agency", "fraud", A, "--finding", FINDING, "--voucher", a, "--json", "--as", "li"))
    ok(cli("voucher", "recover", a, "--amount", "1000", "--receipt", "BOC-R1", "--as", "chen"))
    out = tmp_path / "year.pdf"
    ok(cli("dossier", "year", "2021", "--out", str(out), "--as", "admin"))
    raw = extract_attachment(out.read_bytes())
    assert raw is not None
    [r] = [x for x in json.loads(raw)["reconciliation"] if x["scheme"] == SCHEME]
    t = r["total"]
    assert (t["awarded_fen"], t["paid_fen"], t["withdrawn_fen"], t["released_fen"], t["clawed_back_fen"],
            t["outstanding_fen"], t["recovered_fen"], t["receivable_fen"]) == (
        1500000, 400000, 0, 700000, 400000, 0, 100000, 300000)
    assert r["holds"] and all(x["holds"] for x in r["by_line_source"])
    assert line_figures(db) == {"committed": t["awarded_fen"], "settled": t["paid_fen"] + t["clawed_back_fen"],
                                "released": t["released_fen"], "open": t["outstanding_fen"]}
    kinds = {(d["case"], d["kind"]): d for d in r["differences"]}
    assert kinds[(a, "clawback")]["amount_fen"] == 400000 and kinds[(a, "clawback")]["event"]["action"] == "case.claw_back"
    assert kinds[(a, "recover")]["amount_fen"] == 100000 and kinds[(a, "recover")]["event"] is not None
    assert kinds[(c, "release")]["event"] is not None
    assert all(d["event"] is not None for d in r["differences"]), r["differences"]
    check_ok(cli)
