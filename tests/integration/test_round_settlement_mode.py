"""The settlement mode a round records when it is opened (二(二)5: 通兑 pays the agency, 通用 reimburses the SME),
the database's guard on it, and the settlement calendar with a failed transfer (a voucher keeps the day it first
became payable)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from flows.services import dossier
from flows.services.advance import advance_plain
from models.uow import read_only
from rules.policy import Parameter, load_policy
from tests.conftest import Db
from tests.support import bank_ack, set_clock
from tests.voucher_support import SCHEME, SME2, A, B, evaluate, evidence, ok, refused, setup_world, status


@pytest.fixture
def world(cli: Any, db: Db, tmp_path: Path) -> Any:
    return setup_world(cli, tmp_path)


def _enterprise_from(monkeypatch: pytest.MonkeyPatch, day: dt.date) -> None:
    """The policy's settlement mode changes to enterprise on ``day`` (a dated value)."""
    policy = load_policy("yantai-2020")
    name = "custody-voucher.settlement_mode"
    old = policy.parameters[name]
    monkeypatch.setitem(policy.parameters, name, Parameter.model_validate(
        {**old.model_dump(exclude={"value_references"}), "values": {**old.values, day: "enterprise"}}))


def _apply(cli: Any, user: str) -> str:
    out = ok(cli("apply", SCHEME, "-f", "service=consulting", "--as", user))
    return next(w for w in out.replace(";", " ").replace(",", " ").split() if w.startswith("CV-"))


def test_a_round_keeps_the_mode_in_force_on_the_day_it_was_opened(world: Any, db: Db, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Opened on 1 March (agency in force), finalized on 10 March after the policy turned to enterprise on 5
    March: its vouchers settle to the agency, the round says where its mode came from."""
    _enterprise_from(monkeypatch, dt.date(2021, 3, 5))
    opened = json.loads(ok(world("round", "open", SCHEME, "--year", "2021", "--as", "wang", "--json")))
    assert (opened["seq"], opened["settlement_mode"]) == (1, "agency")
    assert opened["mode_source"] == "custody-voucher.settlement_mode in force on 2021-03-01"
    ref = _apply(world, "sme1")
    advance_plain(SCHEME, chunk=100)
    set_clock("2021-03-10T01:00:00Z")
    final = json.loads(ok(world("round", "finalize", SCHEME, "--year", "2021", "--as", "wang", "--json")))
    assert final["settlement_mode"] == "agency"
    shown = json.loads(ok(world("round", "show", str(final["round_id"]), "--json", "--as", "sun")))
    assert (shown["state"], shown["settlement_mode"], shown["opened_by"]) == ("finalized", "agency", "wang")
    assert json.loads(ok(world("voucher", "show", ref, "--json", "--as", "sme1")))["terms"]["settlement_mode"] == "agency"
    # A round finalized without being opened records the mode in force on its finalize day (enterprise now).
    _apply(world, "sme2")
    advance_plain(SCHEME, chunk=100)
    set_clock("2021-03-12T01:00:00Z")
    second = json.loads(ok(world("round", "finalize", SCHEME, "--year", "2021", "--as", "wang", "--json")))
    assert second["settlement_mode"] == "enterprise"
    rows = json.loads(ok(world("round", "list", "--json", "--as", "sun")))
    assert [(r["scheme"], r["seq"], r["settlement_mode"], r["mode_source"]) for r in rows] == [
        (SCHEME, 1, "agency", "custody-voucher.settlement_mode in force on 2021-03-01"), (SCHEME, 2, "enterprise", None)]


def test_opening_is_refused_for_a_mode_not_offered_a_second_open_round_or_a_non_approver(world: Any, db: Db) -> None:
    before = db.snapshot()
    why = refused(world("round", "open", SCHEME, "--year", "2021", "--settlement-mode", "bank", "--as", "wang"))
    assert "'bank' is not a settlement mode of custody-voucher.settlement_mode (agency, enterprise; 二(二)5)" in why
    refused(world("round", "open", SCHEME, "--year", "2021", "--settlement-mode", "agency", "--as", "chen"))
    assert db.snapshot() == before
    ok(world("round", "open", SCHEME, "--year", "2021", "--settlement-mode", "enterprise", "--as", "wang"))
    before = db.snapshot()
    why = refused(world("round", "open", SCHEME, "--year", "2021", "--settlement-mode", "agency", "--as", "wang"))
    assert "round 1 of custody-voucher 2021 is already open" in why and "settlement mode enterprise" in why
    assert db.snapshot() == before


def test_the_database_refuses_a_settlement_mode_it_does_not_know(world: Any, db: Db) -> None:
    ok(world("round", "open", SCHEME, "--year", "2021", "--as", "wang"))
    with pytest.raises(DBAPIError), db.engine.begin() as c:
        c.execute(text("UPDATE round_opening SET settlement_mode = 'bank'"))
    _apply(world, "sme1")
    advance_plain(SCHEME, chunk=100)
    ok(world("round", "finalize", SCHEME, "--year", "2021", "--as", "wang"))
    with pytest.raises(DBAPIError), db.engine.begin() as c:
        c.execute(text("UPDATE award_round SET settlement_mode = 'applicant'"))
    with db.engine.begin() as c:  # NULL is allowed: a scheme without payee_mode, or a round from before 0016
        c.execute(text("UPDATE award_round SET settlement_mode = NULL"))
        c.execute(text("UPDATE award_round SET settlement_mode = 'agency'"))


def test_a_failed_settlement_is_paid_again_before_the_next_date(world: Any, db: Db, tmp_path: Path) -> None:
    """Confirmed on 10 May, paid on 30 June, the transfer fails on 2 July: released again on 3 July it is
    paid (it became payable before the cut-off), not held until 20 December."""
    ok(world("round", "open", SCHEME, "--year", "2021", "--as", "wang"))
    ref = _apply(world, "sme1")
    advance_plain(SCHEME, chunk=100)
    set_clock("2021-03-10T01:00:00Z")
    ok(world("round", "finalize", SCHEME, "--year", "2021", "--as", "wang"))
    set_clock("2021-05-10T01:00:00Z")
    ok(world("voucher", "contract", ref, "--agency", A, "--amount", "8000", "--as", "sme1"))
    ok(world("voucher", "redeem", ref, *evidence(tmp_path), "--as", "wu"))
    ok(world("voucher", "confirm", ref, "--as", "sme1"))
    evaluate(world, tmp_path, ref)
    set_clock("2021-06-30T01:00:00Z")
    ok(world("pay", "batch", "--scheme", SCHEME, "--out", str(tmp_path / "b1"), "--as", "chen"))
    set_clock("2021-07-02T01:00:00Z")
    key = f"{ref}:settlement:1"
    (tmp_path / "ack.csv").write_bytes(bank_ack(sorted((tmp_path / "b1").glob("*.csv")), failed={key: "账户冻结"}))
    ok(world("pay", "confirm", str(tmp_path / "ack.csv"), "--as", "chen"))
    assert status(world, ref) == "evaluated"
    set_clock("2021-07-03T01:00:00Z")
    r = world("pay", "batch", "--scheme", SCHEME, "--out", str(tmp_path / "b2"), "--as", "chen")
    ok(r)
    [f] = sorted((tmp_path / "b2").glob("*.csv"))
    assert f"{ref}:settlement:2" in f.read_bytes().decode("utf-8-sig")
    assert status(world, ref) == "settlement_pending"


def test_a_reimbursed_vouchers_dossier_names_the_sme_as_payee(world: Any, db: Db, tmp_path: Path) -> None:
    ok(world("round", "open", SCHEME, "--year", "2021", "--settlement-mode", "enterprise", "--as", "wang"))
    ref = _apply(world, "sme2")
    advance_plain(SCHEME, chunk=100)
    set_clock("2021-03-10T01:00:00Z")
    ok(world("round", "finalize", SCHEME, "--year", "2021", "--as", "wang"))
    ok(world("voucher", "contract", ref, "--agency", B, "--amount", "6000", "--as", "sme2"))
    ok(world("voucher", "redeem", ref, *evidence(tmp_path, invoice=True), "--as", "ma"))
    with read_only(db.engine) as s:
        vo = dossier.build_case(s, ref).data["voucher"]
    assert vo["terms"]["settlement_mode"] == "enterprise"
    assert vo["payee"]["mode"] == "enterprise" and vo["payee"]["uscc"] == SME2, vo["payee"]
    assert [e["kind"] for e in vo["redemption"]["evidence"]] == ["contract", "receipt", "deliverable", "invoice"]


def test_the_checker_finds_a_payment_to_another_payee_than_its_rounds_mode(world: Any, db: Db, tmp_path: Path) -> None:
    """A 通用 round pays the SME; the round's mode changed around the services to agency: `ipfund check` names
    the payment."""
    ok(world("round", "open", SCHEME, "--year", "2021", "--settlement-mode", "enterprise", "--as", "wang"))
    ref = _apply(world, "sme2")
    advance_plain(SCHEME, chunk=100)
    set_clock("2021-03-10T01:00:00Z")
    ok(world("round", "finalize", SCHEME, "--year", "2021", "--as", "wang"))
    ok(world("voucher", "contract", ref, "--agency", A, "--amount", "6000", "--as", "sme2"))
    ok(world("voucher", "redeem", ref, *evidence(tmp_path, invoice=True), "--as", "wu"))
    ok(world("voucher", "confirm", ref, "--as", "sme2"))
    evaluate(world, tmp_path, ref)
    set_clock("2021-06-30T01:00:00Z")
    ok(world("pay", "batch", "--scheme", SCHEME, "--out", str(tmp_path / "b"), "--as", "chen"))
    checks = {c["check"]: c for c in json.loads(ok(world("check", "--json")))["checks"]}
    assert checks["voucher payee = its round's settlement mode"]["ok"], checks
    with db.engine.begin() as c:
        c.execute(text("UPDATE award_round SET settlement_mode = 'agency'"))
    r = world("check", "--json")
    checks = {c["check"]: c for c in json.loads(r.stdout)["checks"]}
    bad = checks["voucher payee = its round's settlement mode"]
    assert not bad["ok"] and f"{ref}:settlement:1: paid to {SME2}, its round settles in mode agency to {A}" in bad["detail"]


def test_releasing_by_name_a_voucher_that_waits_for_the_next_date_is_refused(world: Any, db: Db,
                                                                             tmp_path: Path) -> None:
    """Confirmed on 1 July, after the 30 June cut-off: `pay release REF` on 2 July is refused naming the next
    settlement date, nothing written; on 20 December it is released."""
    ok(world("round", "open", SCHEME, "--year", "2021", "--as", "wang"))
    ref = _apply(world, "sme1")
    advance_plain(SCHEME, chunk=100)
    set_clock("2021-03-10T01:00:00Z")
    ok(world("round", "finalize", SCHEME, "--year", "2021", "--as", "wang"))
    set_clock("2021-07-01T01:00:00Z")
    ok(world("voucher", "contract", ref, "--agency", A, "--amount", "8000", "--as", "sme1"))
    ok(world("voucher", "redeem", ref, *evidence(tmp_path), "--as", "wu"))
    ok(world("voucher", "confirm", ref, "--as", "sme1"))
    evaluate(world, tmp_path, ref)
    set_clock("2021-07-02T01:00:00Z")
    before = db.snapshot()
    why = refused(world("pay", "release", ref, "--scheme", SCHEME, "--as", "chen"))
    assert (f"{ref}: payable since 2021-07-01, after the settlement cut-off 2021-06-30 "
            "(custody-voucher.settlement_dates, 二(二)5); it is settled on 2021-12-20") in why
    assert db.snapshot() == before
    set_clock("2021-12-20T01:00:00Z")
    assert ref in ok(world("pay", "release", ref, "--scheme", SCHEME, "--as", "chen"))
