"""The IP-pledge loan registry (二(三)7) through the CLI: imports validated by line with nothing written on any
error, idempotency, receipts, the checker's invariants."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Db
from tests.loan_support import (
    BANK_A,
    BANK_B,
    LOAN_HEADER,
    RECEIPT_HEADER,
    SME2,
    csv_bytes,
    loan_args,
    loan_row,
    ok,
    refused,
    setup_registry,
)


@pytest.fixture
def reg(cli: Any, db: Db, tmp_path: Path) -> Any:
    return setup_registry(cli, tmp_path)


def test_register_show_and_check(reg: Any, db: Db) -> None:
    out = ok(reg(*loan_args("L-001"), "--as", "zhao"))
    assert "registered" in out and "first loan" in out
    v = json.loads(ok(reg("loan", "show", "L-001", "--json", "--as", "zhao")))
    assert v["principal_fen"] == 100_000_000 and v["rate"] == "0.0365" and v["first_loan"]["first"] is True
    assert v["outstanding_fen"] == 100_000_000 and [e["action"] for e in v["events"]] == ["loan.register"]
    check = json.loads(ok(reg("check", "--json", "--as", "admin")))
    names = {c["check"]: c["ok"] for c in check["checks"]}
    assert names["first loans (首贷) agree with the registry"] and names["loan acts by their bank's staff"]



def _import(reg: Any, tmp_path: Path, name: str, content: bytes, *args: str) -> Any:
    (tmp_path / name).write_bytes(content)
    return reg("loan", *args, str(tmp_path / name), "--as", "zhao")


def test_import_loans_with_a_bom_then_again_is_a_no_op(reg: Any, db: Db, tmp_path: Path) -> None:
    rows = [loan_row("L-001"), loan_row("L-002", borrower=SME2, ip_share="60%"),
            loan_row("L-003", drawdown="2021-02-01", pledge_date="2021-01-20")]
    before = db.scalar("SELECT count(*) FROM audit_event")
    out = ok(_import(reg, tmp_path, "loans.csv", csv_bytes(LOAN_HEADER, rows, bom=True), "import"))
    assert "3 registered" in out
    assert db.scalar("SELECT count(*) FROM audit_event WHERE action = 'loan.register'") == 3
    assert db.scalar("SELECT count(*) FROM audit_event") == before + 3
    firsts = dict(db.session().execute(__import__("sqlalchemy").text("SELECT ref, first_loan FROM pledge_loan")).all())
    assert {k: bool(v) for k, v in firsts.items()} == {"L-001": True, "L-002": True, "L-003": False}
    assert json.loads(ok(reg("loan", "show", "L-002", "--json", "--as", "zhao")))["ip_share_ppm"] == 600_000
    snap = db.snapshot()
    out = ok(_import(reg, tmp_path, "loans.csv", csv_bytes(LOAN_HEADER, rows), "import"))
    assert "0 registered" in out and "3 already registered" in out
    assert db.snapshot() == snap


def test_import_reports_every_bad_row_by_line_and_field_and_writes_nothing(reg: Any, db: Db, tmp_path: Path) -> None:
    unknown_bank = "91370600MA3C000000"
    rows = [loan_row("L-001"),
            loan_row("L-002", principal="-5000"),
            loan_row("L-003", principal="1e6"),
            loan_row("L-004", rate="0.036500000000000004"),
            loan_row("L-005", maturity="2020-12-31"),
            loan_row("L-006", bank=unknown_bank),
            loan_row("L-007", pledge_date="2021-01-11"),
            loan_row("L-008", ip_share="120%"),
            loan_row("L-001", principal="2000000"),
            loan_row("L-010", bank=BANK_B)]
    before = db.snapshot()
    msg = refused(_import(reg, tmp_path, "bad.csv", csv_bytes(LOAN_HEADER, rows), "import"))
    assert db.snapshot() == before
    assert "line 3: principal" in msg
    assert "line 4: principal" in msg
    assert "line 5: rate" in msg and "exact" in msg
    assert "line 6: maturity" in msg
    assert "line 7: bank" in msg or "line 7: credit" in msg or "line 7: " in msg
    assert "line 8: pledge_reg_date" in msg and "二(三)7" in msg
    assert "line 9: ip_share" in msg
    assert "line 10: ref: L-001" in msg and "line 2" in msg and "principal: registered ¥1,000,000.00" in msg
    assert "line 11: bank:" in msg and "does not belong" in msg
    assert "line 2:" not in msg


def test_a_two_row_file_with_one_bad_row_writes_nothing(reg: Any, db: Db, tmp_path: Path) -> None:
    rows = [loan_row("L-001"), loan_row("L-002", rate="3.65")]  # 365 % is not a rate
    before = db.snapshot()
    msg = refused(_import(reg, tmp_path, "two.csv", csv_bytes(LOAN_HEADER, rows), "import"))
    assert "1 problem(s)" in msg and "line 3: rate" in msg
    assert db.snapshot() == before
    assert db.scalar("SELECT count(*) FROM pledge_loan") == 0


def test_import_interest_receipts_validated_by_line(reg: Any, db: Db, tmp_path: Path) -> None:
    ok(_import(reg, tmp_path, "loans.csv", csv_bytes(LOAN_HEADER, [loan_row("L-001")]), "import"))
    months = ["2021-01-10", "2021-02-10", "2021-03-10", "2021-04-10"]
    good = [[BANK_A, "L-001", f"I-{i}", "normal", a, b, "2800" if a == "2021-02-10" else "3000"]
            for i, (a, b) in enumerate(itertools.pairwise(months))]
    bad = [*good, [BANK_A, "L-001", "I-9", "normal", "2021-04-10", "2021-05-10", "3100"],  # > ¥3,041.67 allowed
           [BANK_A, "L-404", "I-10", "normal", "2021-04-10", "2021-05-10", "10"],
           [BANK_A, "L-001", "I-0", "normal", "2021-01-10", "2021-02-10", "2999"],
           [BANK_A, "L-001", "I-11", "penalty", "2021-04-10", "2021-05-10", "12.5"]]
    before = db.snapshot()
    msg = refused(_import(reg, tmp_path, "int.csv", csv_bytes(RECEIPT_HEADER, bad), "import-interest"))
    assert db.snapshot() == before
    assert "line 5: amount: ¥3,100.00" in msg and "(¥3,041.67)" in msg
    assert "line 6: loan_ref" in msg and "line 7: receipt: I-0" in msg and "line 8" not in msg
    out = ok(_import(reg, tmp_path, "int.csv", csv_bytes(RECEIPT_HEADER, good), "import-interest"))
    assert "3 recorded" in out
    assert db.scalar("SELECT count(*) FROM audit_event WHERE action = 'loan.interest'") == 3
    v = json.loads(ok(reg("loan", "show", "L-001", "--json", "--as", "zhao")))
    assert v["interest_paid_fen"]["normal"] == 880_000 and len(v["receipts"]) == 3
    assert json.loads(ok(reg("check", "--json", "--as", "admin")))["ok"]


def test_extension_receipts_after_it_and_the_checker(reg: Any, db: Db) -> None:
    ok(reg(*loan_args("L-001"), "--as", "zhao"))
    late = ["loan", "interest", "L-001", "--receipt", "I-13", "--from", "2022-01-10", "--to", "2022-02-10",
            "--amount", "100", "--as", "zhao"]
    assert "outside the loan" in refused(reg(*late))
    ok(reg("loan", "extend", "L-001", "--to", "2022-07-10", "--as", "zhao"))
    assert "recorded" in ok(reg(*late))
    assert "already recorded" in ok(reg(*late))
    v = json.loads(ok(reg("loan", "show", "L-001", "--json", "--as", "zhao")))
    assert v["extended_to"] == "2022-07-10" and v["extensions"][0]["from"] == "2022-01-10"
    assert [e["action"] for e in v["events"]] == ["loan.register", "loan.extend", "loan.interest"]
    assert "another" not in ok(reg("loan", "list", "--as", "qian"))
    assert json.loads(ok(reg("loan", "list", "--json", "--as", "qian"))) == []
    assert len(json.loads(ok(reg("loan", "list", "--json", "--as", "li")))) == 1


def test_receipt_conflict_names_the_field(reg: Any, db: Db) -> None:
    ok(reg(*loan_args("L-001"), "--as", "zhao"))
    base = ["loan", "interest", "L-001", "--receipt", "I-1", "--from", "2021-01-10", "--to", "2021-02-10"]
    ok(reg(*base, "--amount", "3000", "--as", "zhao"))
    before = db.snapshot()
    msg = refused(reg(*base, "--amount", "3001", "--as", "zhao"))
    assert "already recorded with other facts" in msg and "amount: recorded ¥3,000.00, given ¥3,001.00" in msg
    assert db.snapshot() == before


def test_bank_admin_acts_are_audited_and_bank_staff_cannot_add_banks(reg: Any, db: Db) -> None:
    ok(reg("bank", "suspend", BANK_A, "--reason", "NPL above 5 %", "--as", "admin"))
    before = db.snapshot()
    assert "suspended" in refused(reg(*loan_args("L-001"), "--as", "zhao"))
    assert db.snapshot() == before
    ok(reg("bank", "reinstate", BANK_A, "--reason", "resolved", "--as", "admin"))
    ok(reg("bank", "tier", BANK_A, "assessed", "--reason", "2021 assessment", "--as", "admin"))
    v = json.loads(ok(reg("bank", "show", BANK_A, "--json", "--as", "admin")))
    assert [e["action"] for e in v["events"]] == ["add", "suspend", "reinstate", "tier"] and v["tier"] == "assessed"
    assert "may not" in refused(reg("bank", "add", "91370600MA3C00000X", "--name", "x银行", "--as", "zhao"))
    assert json.loads(ok(reg("check", "--json", "--as", "admin")))["ok"]


@pytest.mark.parametrize("sql", [
    "UPDATE pledge_loan SET principal_fen = 0",
    "UPDATE pledge_loan SET ip_share_ppm = 0",
    "UPDATE pledge_loan SET first_loan = NOT first_loan",
    "UPDATE pledge_loan SET extended_to = NULL",
    "DELETE FROM pledge_loan",
    "UPDATE loan_receipt SET amount_fen = amount_fen + 1",
    "DELETE FROM loan_receipt",
    "DELETE FROM bank_event",
    "INSERT INTO pledge_loan (bank_id, ref, borrower_id, principal_fen, rate, drawdown, maturity, pledged_ip, "
    "pledge_reg_no, pledge_reg_date, ip_share_ppm, cover_share_ppm, first_loan, first_basis, registered_by, "
    "registered_at) SELECT bank_id, 'L-002', borrower_id, 0, rate, drawdown, maturity, pledged_ip, pledge_reg_no, "
    "pledge_reg_date, ip_share_ppm, 0, false, 'x', 'zhao', registered_at FROM pledge_loan",
    "INSERT INTO pledge_loan (bank_id, ref, borrower_id, principal_fen, rate, drawdown, maturity, pledged_ip, "
    "pledge_reg_no, pledge_reg_date, ip_share_ppm, cover_share_ppm, first_loan, first_basis, registered_by, "
    "registered_at) SELECT bank_id, 'L-003', borrower_id, 1, rate, drawdown, maturity, pledged_ip, pledge_reg_no, "
    "pledge_reg_date, 1000001, 0, false, 'x', 'zhao', registered_at FROM pledge_loan",
    "INSERT INTO pledge_loan (bank_id, ref, borrower_id, principal_fen, rate, drawdown, maturity, pledged_ip, "
    "pledge_reg_no, pledge_reg_date, ip_share_ppm, cover_share_ppm, first_loan, first_basis, registered_by, "
    "registered_at) SELECT bank_id, ref, borrower_id, 1, rate, drawdown, maturity, pledged_ip, pledge_reg_no, "
    "pledge_reg_date, ip_share_ppm, 0, false, 'x', 'zhao', registered_at FROM pledge_loan",
    "INSERT INTO loan_receipt (loan_id, bank_id, receipt, kind, period_start, period_end, amount_fen, recorded_by, at) "
    "SELECT loan_id, bank_id, receipt, 'principal', NULL, period_end, 1, 'zhao', at FROM loan_receipt",
])
def test_the_database_refuses_what_cannot_be_right(reg: Any, db: Db, sql: str) -> None:
    """CHECKs, unique keys and the append-only triggers of migration 0018 (SQLite and PostgreSQL)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    ok(reg(*loan_args("L-001"), "--as", "zhao"))
    ok(reg("loan", "interest", "L-001", "--receipt", "I-1", "--from", "2021-01-10", "--to", "2021-02-10",
           "--amount", "3000", "--as", "zhao"))
    before = db.snapshot()
    with pytest.raises(DBAPIError), db.engine.begin() as conn:
        conn.execute(text(sql))
    assert db.snapshot() == before


def test_the_checker_names_a_first_loan_written_around_the_service(reg: Any, db: Db) -> None:
    from sqlalchemy import text

    ok(reg(*loan_args("L-001"), "--as", "zhao"))
    with db.engine.begin() as conn:  # a second first loan, later, written around the service by the wrong bank
        conn.execute(text(
            "INSERT INTO pledge_loan (bank_id, ref, borrower_id, principal_fen, rate, drawdown, maturity, pledged_ip, "
            "pledge_reg_no, pledge_reg_date, ip_share_ppm, cover_share_ppm, first_loan, first_basis, registered_by, "
            "registered_at) SELECT bank_id, 'L-009', borrower_id, principal_fen, rate, '2021-05-01', '2022-05-01', "
            "pledged_ip, pledge_reg_no, '2021-05-01', ip_share_ppm, 0, true, 'registry', 'qian', registered_at "
            "FROM pledge_loan"))
    r = reg("check", "--json", "--as", "admin")
    checks = {c["check"]: c for c in json.loads(r.stdout)["checks"]}
    assert not checks["first loans (首贷) agree with the registry"]["ok"]
    assert "L-009" in checks["first loans (首贷) agree with the registry"]["detail"]
    assert not checks["loan acts by their bank's staff"]["ok"] and "qian" in checks["loan acts by their bank's staff"]["detail"]
