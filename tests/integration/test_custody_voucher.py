"""Custody service vouchers (托管服务券, 二(二)5) against a real database (SQLite, and PostgreSQL with
IPFUND_TEST_DATABASE_URL), through the CLI: issued first come first served within the line, contracted
with an accredited agency, redeemed with evidence, confirmed or disputed, settled through the payment
path to the agency (通兑) or the enterprise (通用); expiry and an agency's exit release what vouchers
hold; every bad input refused with rule and clause and the database unchanged by content; the ledger
identity Σ committed = Σ settled + Σ released + Σ open per line, to the fen."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from flows.services import vouchers
from flows.services.advance import advance_plain
from models.uow import read_only, unit_of_work
from tests.conftest import Db
from tests.support import bank_ack, set_clock
from tests.voucher_support import (
    PDF,
    SCHEME,
    SME1,
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
    setup_world,
    status,
)


@pytest.fixture
def world(cli: Any, db: Db, tmp_path: Path) -> Any:
    return setup_world(cli, tmp_path)


# --- issue, contract, redeem, confirm, settle ---------------------------------------------------------------

def test_a_voucher_goes_from_issue_to_settlement_with_the_agency_paid_the_cover(world: Any, db: Db,
                                                                                 tmp_path: Path) -> None:
    [ref] = issue(world, [("sme1", "consulting")])
    v = json.loads(ok(world("voucher", "show", ref, "--json", "--as", "sme1")))
    assert (v["status"], v["face_fen"], v["held_fen"]) == ("issued", 500000, 500000)
    assert v["terms"] == {"issued_on": "2021-03-10", "use_by": "2021-09-10", "redeem_by": "2021-12-10",
                          "settlement_mode": "agency"}
    ok(world("voucher", "contract", ref, "--agency", A, "--amount", "8000", "--as", "sme1"))
    v = json.loads(ok(world("voucher", "show", ref, "--json", "--as", "wu")))  # the agency reads its contract
    assert v["contracts"][0]["cover_fen"] == 400000  # min(0.5 × ¥8,000, ¥5,000)
    set_clock("2021-04-20T01:00:00Z")
    ok(world("voucher", "redeem", ref, *evidence(tmp_path), "--as", "wu"))
    ok(world("voucher", "confirm", ref, "--as", "sme1"))
    assert line_figures(db) == {"committed": 500000, "settled": 0, "released": 100000, "open": 400000}
    set_clock("2021-06-30T01:00:00Z")  # the first settlement date of 2021 (custody-voucher.settlement_dates)
    out = tmp_path / "bank"
    # Confirmed is not payable: the reviewer checks it and the third party grades it first.
    ok(world("pay", "batch", "--scheme", SCHEME, "--out", str(tmp_path / "early"), "--as", "chen"))
    assert not list((tmp_path / "early").glob("*.csv")) and status(world, ref) == "confirmed"
    evaluate(world, tmp_path, ref, 80)
    assert status(world, ref) == "evaluated"
    ok(world("pay", "batch", "--scheme", SCHEME, "--out", str(out), "--as", "chen"))
    [bank_file] = sorted(out.glob("*.csv"))
    rows = list(csv.DictReader(io.StringIO(bank_file.read_bytes().decode("utf-8-sig"))))
    assert [(r["idempotency_key"], r["payee"], r["credit_code"], r["bank_account"], r["amount_fen"]) for r in rows] == [
        (f"{ref}:settlement:1", "烟台正道知识产权代理有限公司", A, "6216610000000009", "400000")]
    (tmp_path / "ack.csv").write_bytes(bank_ack([bank_file]))
    ok(world("pay", "confirm", str(tmp_path / "ack.csv"), "--as", "chen"))
    assert status(world, ref) == "settled"
    assert line_figures(db) == {"committed": 500000, "settled": 400000, "released": 100000, "open": 0}
    names = [c["check"] for c in check_ok(world)]
    assert "voucher ledger: committed = settled + released + open" in names
    v = json.loads(ok(world("voucher", "show", ref, "--json", "--as", "sun")))
    hashes = {e["kind"]: e["sha256"] for e in v["redemption"]["evidence"]}
    assert hashes["contract"] == hashlib.sha256(PDF).hexdigest()
    redeem_event = next(e for e in v["history"] if e["action"] == "case.redeem")
    assert {e["sha256"] for e in redeem_event["payload"]["evidence"]} == set(hashes.values())  # in the audit chain
    with read_only(db.engine) as s:
        assert vouchers.evidence_content(s, hashes["contract"]) == PDF  # content-addressed store


def test_a_round_in_the_enterprise_mode_reimburses_the_sme(world: Any, db: Db, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """通用: the settlement mode in force when the round is finalized (enterprise from 5 March here, a dated
    value) pays the SME, whatever agency served it."""
    import datetime as dt

    from rules.policy import Parameter, load_policy

    policy = load_policy("yantai-2020")
    name = "custody-voucher.settlement_mode"
    old = policy.parameters[name]
    dumped = old.model_dump(exclude={"value_references"})
    monkeypatch.setitem(policy.parameters, name, Parameter.model_validate(
        {**dumped, "values": {**old.values, dt.date(2021, 3, 5): "enterprise"}}))
    [ref] = issue(world, [("sme2", "consulting")])
    assert json.loads(ok(world("voucher", "show", ref, "--json", "--as", "sme2")))["terms"]["settlement_mode"] == \
        "enterprise"
    ok(world("voucher", "contract", ref, "--agency", B, "--amount", "6000", "--as", "sme2"))
    ok(world("voucher", "redeem", ref, *evidence(tmp_path, invoice=True), "--as", "ma"))  # B has no bank account: not needed
    ok(world("voucher", "confirm", ref, "--as", "sme2"))
    evaluate(world, tmp_path, ref, 75)
    set_clock("2021-06-30T01:00:00Z")  # the first settlement date of 2021 (custody-voucher.settlement_dates)
    out = tmp_path / "bank"
    ok(world("pay", "batch", "--scheme", SCHEME, "--out", str(out), "--as", "chen"))
    [bank_file] = sorted(out.glob("*.csv"))
    [row] = list(csv.DictReader(io.StringIO(bank_file.read_bytes().decode("utf-8-sig"))))
    assert (row["payee"], row["credit_code"], row["amount_fen"]) == ("莱山云帆软件有限公司", SME2, "300000")
    check_ok(world)


def test_vouchers_are_issued_first_come_first_served_one_per_service_and_sme_only(world: Any, db: Db) -> None:
    refs = issue(world, [("sme1", "consulting"), ("sme1", "consulting"), ("big", "consulting"),
                         ("sme1", "lobbying"), ("sme2", "application"), ("sme1", "training")])
    got = {r: status(world, r) for r in refs}
    assert got == {refs[0]: "issued", refs[1]: "rejected", refs[2]: "rejected", refs[3]: "rejected",
                   refs[4]: "issued", refs[5]: "issued"}
    checks = {r: [c["check"] for c in json.loads(ok(world("application", "show", r, "--json", "--as", "admin")))["checks"]
                  if not c["passed"]] for r in refs[1:4]}
    assert checks == {refs[1]: ["no_prior_award"], refs[2]: ["sme_only"], refs[3]: ["custody_service"]}
    with read_only(db.engine) as s:
        from models import ledger

        committed = ledger.line_balances(s, 2021)["custody-voucher"].total("committed")
    assert committed == 500000 + 1000000 + 300000
    check_ok(world)


# --- expiry and an agency's exit ------------------------------------------------------------------------------

def test_the_expiry_stage_lapses_vouchers_past_their_dates_and_releases_them(world: Any, db: Db,
                                                                              tmp_path: Path) -> None:
    a, b, c = issue(world, [("sme1", "consulting"), ("sme2", "consulting"), ("sme3", "consulting")])
    ok(world("voucher", "contract", b, "--agency", A, "--amount", "8000", "--as", "sme2"))
    ok(world("voucher", "contract", c, "--agency", A, "--amount", "8000", "--as", "sme3"))
    ok(world("voucher", "redeem", c, *evidence(tmp_path), "--as", "wu"))
    set_clock("2021-09-10T23:00:00Z")  # the use-by date itself: nothing lapses
    advance_plain(SCHEME, chunk=2)
    assert [status(world, r) for r in (a, b, c)] == ["issued", "contracted", "delivered"]
    set_clock("2021-09-11T01:00:00Z")  # the day after: the uncontracted voucher lapses
    advance_plain(SCHEME, chunk=2)
    assert [status(world, r) for r in (a, b, c)] == ["expired", "contracted", "delivered"]
    set_clock("2021-12-11T01:00:00Z")  # after the redeem-by date: the unredeemed contract lapses too
    advance_plain(SCHEME, chunk=2)
    assert [status(world, r) for r in (a, b, c)] == ["expired", "expired", "delivered"]
    assert line_figures(db) == {"committed": 1500000, "settled": 0, "released": 1000000, "open": 500000}
    told = json.loads(ok(world("notify", "list", "--to", SME1, "--json", "--as", "admin")))
    assert any(n["subject"].startswith(f"托管服务券已过期 {a}") for n in told)
    with read_only(db.engine) as s:
        from flows.services import applications

        history = applications.show(s, "admin", a)["history"]
    assert [e["action"] for e in history].count("case.expire") == 1
    check_ok(world)


@pytest.mark.parametrize(("act", "to"), [("suspend", "issued"), ("expel", "voided")])
def test_an_agency_suspended_or_expelled_mid_round_redeems_nothing_and_its_holders_are_told(
        world: Any, db: Db, tmp_path: Path, act: str, to: str) -> None:
    a, b = issue(world, [("sme1", "consulting"), ("sme2", "consulting")])
    ok(world("voucher", "contract", a, "--agency", A, "--amount", "8000", "--as", "sme1"))
    ok(world("voucher", "contract", b, "--agency", A, "--amount", "8000", "--as", "sme2"))
    ok(world("voucher", "redeem", b, *evidence(tmp_path), "--as", "wu"))
    ok(world("agency", act, A, "--reason", "抽查不合格", "--as", "li"))
    assert [status(world, r) for r in (a, b)] == [to, "delivered"]  # the redeemed one is confirmed as usual
    why = refused(world("voucher", "redeem", a, *evidence(tmp_path), "--as", "wu"))
    assert "only a contracted voucher is redeemed" in why
    told = json.loads(ok(world("notify", "list", "--to", SME1, "--json", "--as", "admin")))
    assert [n for n in told if a in n["subject"] and "服务机构" in n["subject"]]
    if act == "suspend":  # returned to the holder: it contracts another agency
        ok(world("voucher", "contract", a, "--agency", B, "--amount", "6000", "--as", "sme1"))
    else:
        assert line_figures(db)["released"] == 500000
    check_ok(world)


def test_an_agency_suspended_after_a_contract_cannot_redeem_even_returned_contracts(world: Any, db: Db,
                                                                                      tmp_path: Path) -> None:
    """A contract signed and then the agency suspended: the redemption asks the registry on its own day."""
    [ref] = issue(world, [("sme1", "consulting")])
    ok(world("voucher", "contract", ref, "--agency", A, "--amount", "8000", "--as", "sme1"))
    with unit_of_work(db.engine) as s:  # written around the exit hook: the contract stays live
        s.execute(text("UPDATE agency SET state = 'suspended'"))
        s.execute(text("INSERT INTO agency_event (agency_id, action, from_state, to_state, actor, reason, clause, "
                       "detail, at) SELECT id, 'suspend', 'accredited', 'suspended', 'li', 'x', '二(四)10', '{}', "
                       "'2021-03-10T02:00:00.000000Z' FROM agency WHERE uscc = :a"), {"a": A})
    before = db.snapshot()
    why = refused(world("voucher", "redeem", ref, *evidence(tmp_path), "--as", "wu"))
    assert "was suspended on 2021-03-10" in why and "二(四)10" in why
    assert db.snapshot() == before


# --- bad input: refused with rule and clause, nothing written -----------------------------------------------------

@pytest.fixture
def contracted(world: Any, tmp_path: Path) -> tuple[Any, str, str]:
    a, b = issue(world, [("sme1", "consulting"), ("sme2", "consulting")])
    ok(world("voucher", "contract", a, "--agency", A, "--amount", "8000", "--as", "sme1"))
    return world, a, b


def test_a_redemption_after_the_redeem_by_date_is_refused(contracted: Any, db: Db, tmp_path: Path) -> None:
    cli, a, _ = contracted
    set_clock("2021-12-11T01:00:00Z")
    before = db.snapshot()
    why = refused(cli("voucher", "redeem", a, *evidence(tmp_path), "--as", "wu"))
    assert "兑付截止日期已过" in why and "2021-12-10" in why and "custody-voucher.redeem_by_months, 二(二)5" in why
    assert db.snapshot() == before
    set_clock("2021-12-10T23:00:00Z")  # the redeem-by date itself is still in time
    ok(cli("voucher", "redeem", a, *evidence(tmp_path), "--as", "wu"))


def test_a_contract_after_the_use_by_date_is_refused(contracted: Any, db: Db) -> None:
    cli, _, b = contracted
    set_clock("2021-09-11T01:00:00Z")
    before = db.snapshot()
    why = refused(cli("voucher", "contract", b, "--agency", A, "--amount", "8000", "--as", "sme2"))
    assert "use-by date (使用截止日期) was 2021-09-10" in why and "二(二)5" in why
    assert db.snapshot() == before
    set_clock("2021-09-10T23:00:00Z")
    ok(cli("voucher", "contract", b, "--agency", A, "--amount", "8000", "--as", "sme2"))


BAD_CONTRACTS = [
    pytest.param((B, "6000.01"), "above 福山华知知识产权服务有限公司's scheduled price of 600000 fen", id="above the price"),
    pytest.param((A, "abc"), "--amount", id="not money"),
    pytest.param((A, "0"), "must be more than ¥0.00", id="zero"),
]


@pytest.mark.parametrize(("args", "message"), BAD_CONTRACTS)
def test_a_bad_contract_is_refused_naming_the_rule(contracted: Any, db: Db, args: tuple[str, str],
                                                   message: str) -> None:
    cli, _, b = contracted
    before = db.snapshot()
    why = refused(cli("voucher", "contract", b, "--agency", args[0], "--amount", args[1], "--as", "sme2"))
    assert message in why
    assert db.snapshot() == before


def test_a_contract_with_a_suspended_agency_or_one_not_accredited_for_the_service_is_refused(
        contracted: Any, db: Db) -> None:
    cli, _, b = contracted
    ok(cli("agency", "suspend", B, "--reason", "抽查不合格", "--as", "li"))
    before = db.snapshot()
    why = refused(cli("voucher", "contract", b, "--agency", B, "--amount", "6000", "--as", "sme2"))
    assert "was suspended on 2021-03-10 (二(四)10)" in why
    assert db.snapshot() == before
    ok(cli("apply", SCHEME, "-f", "service=application", "--as", "sme2"))
    advance_plain(SCHEME, chunk=100)
    ok(cli("round", "finalize", SCHEME, "--year", "2021", "--as", "wang"))
    app_ref = json.loads(ok(cli("voucher", "list", "--status", "issued", "--json", "--as", "sme2")))[-1]["ref"]
    ok(cli("agency", "reinstate", B, "--reason", "整改完成", "--as", "li"))
    before = db.snapshot()
    why = refused(cli("voucher", "contract", app_ref, "--agency", B, "--amount", "5000", "--as", "sme2"))
    assert "is not accredited for 'application'" in why and "二(二)5" in why
    assert db.snapshot() == before


BAD_REDEMPTIONS = [
    pytest.param({"contract": b""}, [], "contract file '合同.pdf' is empty (0 bytes)", id="empty file"),
    pytest.param({"receipt": b"MZ\x90\x00"}, [], "is named .png but its content is not a PNG file", id="not what it says"),
    pytest.param({}, ["--amount", "4000.01"], "¥4,000.01 is above the voucher's cover of ¥4,000.00", id="above the cover"),
]


@pytest.mark.parametrize(("files", "extra", "message"), BAD_REDEMPTIONS)
def test_a_bad_redemption_is_refused_naming_the_rule(contracted: Any, db: Db, tmp_path: Path,
                                                      files: dict[str, bytes], extra: list[str], message: str) -> None:
    cli, a, _ = contracted
    before = db.snapshot()
    why = refused(cli("voucher", "redeem", a, *evidence(tmp_path, **files), *extra, "--as", "wu"))
    assert message in why
    assert db.snapshot() == before


def test_evidence_of_a_type_the_policy_does_not_allow_is_refused(contracted: Any, db: Db, tmp_path: Path) -> None:
    cli, a, _ = contracted
    (tmp_path / "deliverable.exe").write_bytes(b"MZ\x90\x00")
    args = [*evidence(tmp_path)[:4], "--evidence", f"deliverable={tmp_path / 'deliverable.exe'}"]
    before = db.snapshot()
    why = refused(cli("voucher", "redeem", a, *args, "--as", "wu"))
    assert "is of type 'exe'; the policy allows pdf, png, jpg, jpeg (custody-voucher.evidence_types)" in why
    assert db.snapshot() == before
    why = refused(cli("voucher", "redeem", a, *evidence(tmp_path)[:4], "--as", "wu"))
    assert "no deliverable file" in why
    assert db.snapshot() == before


def test_a_second_redemption_is_refused(contracted: Any, db: Db, tmp_path: Path) -> None:
    cli, a, _ = contracted
    ok(cli("voucher", "redeem", a, *evidence(tmp_path), "--as", "wu"))
    before = db.snapshot()
    why = refused(cli("voucher", "redeem", a, *evidence(tmp_path), "--as", "wu"))
    assert "was already redeemed on 2021-03-10 by wu" in why and "a voucher is redeemed once (二(二)5)" in why
    assert db.snapshot() == before
    with pytest.raises(DBAPIError), db.engine.begin() as c:  # the database refuses it too (UNIQUE)
        c.execute(text("INSERT INTO voucher_redemption (application_id, contract_id, agency_id, amount_fen, "
                       "redeemed_on, redeemed_by, at) SELECT application_id, contract_id, agency_id, 1, redeemed_on, "
                       "'wu', at FROM voucher_redemption"))


def test_only_the_contracted_agency_redeems_and_only_the_holder_confirms(contracted: Any, db: Db,
                                                                         tmp_path: Path) -> None:
    cli, a, _ = contracted
    before = db.snapshot()
    why = refused(cli("voucher", "redeem", a, *evidence(tmp_path), "--as", "ma"))
    assert f"does not belong to {a} (contracted with agency {A})" in why
    why = refused(cli("voucher", "contract", a, "--agency", A, "--amount", "8000", "--as", "sme2"))
    assert "an applicant acts only for their own organisation" in why
    assert db.snapshot() == before
    ok(cli("voucher", "redeem", a, *evidence(tmp_path), "--as", "wu"))
    refused(cli("voucher", "confirm", a, "--as", "sme2"))
    refused(cli("voucher", "confirm", a, "--as", "wu"))
    ok(cli("voucher", "dispute", a, "--reason", "报告未交付", "--as", "sme1"))
    assert status(cli, a) == "disputed"
    set_clock("2021-06-30T01:00:00Z")  # the first settlement date of 2021 (custody-voucher.settlement_dates)
    out = tmp_path / "bank"
    ok(cli("pay", "batch", "--scheme", SCHEME, "--out", str(out), "--as", "chen"))
    assert not list(out.glob("*.csv"))  # a disputed voucher is not paid
    ok(cli("voucher", "confirm", a, "--as", "sme1"))
    assert status(cli, a) == "confirmed"


def test_a_settlement_acknowledgement_naming_a_voucher_not_in_the_batch_is_refused_by_line(
        contracted: Any, db: Db, tmp_path: Path) -> None:
    cli, a, b = contracted
    ok(cli("voucher", "redeem", a, *evidence(tmp_path), "--as", "wu"))
    ok(cli("voucher", "confirm", a, "--as", "sme1"))
    evaluate(cli, tmp_path, a, 80)
    set_clock("2021-06-30T01:00:00Z")  # the first settlement date of 2021 (custody-voucher.settlement_dates)
    out = tmp_path / "bank"
    ok(cli("pay", "batch", "--scheme", SCHEME, "--out", str(out), "--as", "chen"))
    [bank_file] = sorted(out.glob("*.csv"))
    ack = bank_ack([bank_file]).decode("utf-8") + f"{b}:settlement:1,paid,B9,,400000,莱山云帆软件有限公司,6227000000000002\n"
    (tmp_path / "ack.csv").write_text(ack, encoding="utf-8")
    before = db.snapshot()
    why = refused(cli("pay", "confirm", str(tmp_path / "ack.csv"), "--as", "chen"))
    assert f"line 3: no payment has idempotency key '{b}:settlement:1'" in why
    assert db.snapshot() == before


# --- the checker catches voucher data written around the services -----------------------------------------------

def test_the_checker_catches_a_cover_above_the_rule_and_a_commitment_released_around_the_ledger(
        contracted: Any, db: Db) -> None:
    cli, a, _ = contracted
    check_ok(cli)
    with pytest.raises(DBAPIError, match="only its end is recorded, once"), db.engine.begin() as c:
        c.execute(text("UPDATE voucher_contract SET cover_fen = 450000"))  # the database refuses an edit
    with db.engine.begin() as c:  # ended and signed again around the service, with a cover above the rule
        c.execute(text("UPDATE voucher_contract SET ended_at = '2021-03-10T02:00:00Z', ended_by = 'mallory'"))
        c.execute(text("INSERT INTO voucher_contract (application_id, agency_id, service, contract_fen, cover_fen, "
                       "contracted_on, contracted_by, at) SELECT application_id, agency_id, service, contract_fen, "
                       "450000, contracted_on, 'mallory', at FROM voucher_contract"))
    bad = {x["check"]: x["detail"] for x in json.loads(cli("check", "--json").stdout)["checks"] if not x["ok"]}
    assert "cover 450000 fen, the rule gives 400000 fen" in bad["voucher cover <= face and <= share × contract"]
    with db.engine.begin() as c:  # a voucher taken out of its committed state without releasing it
        c.execute(text("UPDATE application SET status = 'issued', award_fen = 100000 WHERE ref = :r"), {"r": a})
    bad = {x["check"]: x["detail"] for x in json.loads(cli("check", "--json").stdout)["checks"] if not x["ok"]}
    assert "committed 1000000 ≠ settled 0 + released 0 + open 600000 fen" in bad[
        "voucher ledger: committed = settled + released + open"]


def test_voucher_commands_run_without_importing_prefect(world: Any, db: Db) -> None:
    """`voucher list` (read all day by SMEs and agencies) runs no flow, so it never imports Prefect."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    issue(world, [("sme1", "consulting")])
    code = ("import sys; sys.argv = ['ipfund', 'voucher', 'list', '--json', '--as', 'sme1']\n"
            "from flows.cli.main import main\ntry:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "assert 'prefect' not in sys.modules and 'weasyprint' not in sys.modules, 'heavy import'")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "IPFUND_DATABASE_URL": db.url}, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout)[0]["holder"] == "烟台海拓机械有限公司"


def test_the_checker_decides_every_voucher_act_again_with_the_duties_rule(contracted: Any, db: Db,
                                                                          tmp_path: Path) -> None:
    """A redemption written around the service by another agency's user is named by `ipfund check`."""
    cli, a, b = contracted
    ok(cli("voucher", "redeem", a, *evidence(tmp_path), "--as", "wu"))
    ok(cli("voucher", "contract", b, "--agency", A, "--amount", "8000", "--as", "sme2"))
    names = {c["check"]: c["detail"] for c in check_ok(cli)}
    assert names["voucher duties (own organisation only)"] == "3 voucher act(s) decided again by the duties rule"
    with db.engine.begin() as c:
        c.execute(text("INSERT INTO voucher_redemption (application_id, contract_id, agency_id, amount_fen, "
                       "redeemed_on, redeemed_by, at) SELECT application_id, id, agency_id, 400000, '2021-03-10', "
                       "'ma', at FROM voucher_contract WHERE application_id = (SELECT id FROM application "
                       "WHERE ref = :b)"), {"b": b})
    bad = {x["check"]: x["detail"] for x in json.loads(cli("check", "--json").stdout)["checks"] if not x["ok"]}
    assert f"voucher.redeem: ma (role agency, of {B}) does not belong to {b} (contracted with agency {A})" in bad[
        "voucher duties (own organisation only)"]
