"""Bank files and acknowledgements: text that could run as a formula never reaches a spreadsheet, the
round's approver never imports the acknowledgement of its payments, and a malformed file is refused
by line with nothing written."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from flows.services import payments, rounds, users
from rules.errors import FourEyesViolation, ValidationFailed
from tests.support import SCHEME, bank_ack, scored_round, set_clock


def _payable(db: Any, n: int = 3, approver: str = "wang.approve") -> Any:
    r = scored_round(db.engine, n_apps=n)
    set_clock("2021-05-10T01:00:00Z")
    with r.uow() as s:
        rounds.finalize(s, approver, SCHEME, 2021)
    set_clock("2021-05-25T01:00:00Z")
    r.advance()
    return r


def test_a_payee_name_that_would_start_a_formula_is_neutralised_in_the_bank_file(db: Any) -> None:
    r = _payable(db)
    # Written around the import (which refuses such names): the export still defends the spreadsheet.
    with db.engine.begin() as c:
        c.execute(text("UPDATE applicant SET name = '=HYPERLINK(\"http://x\",\"pay\")' WHERE id = "
                       "(SELECT applicant_id FROM application WHERE status = 'payable' ORDER BY id LIMIT 1)"))
    with r.uow() as s:
        content = payments.batch(s, "chen.finance", SCHEME).file_content
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'=HYPERLINK(\"http://x\",\"pay\")" in cells
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)


def test_the_approver_of_the_round_cannot_import_the_acknowledgement_of_its_payments(db: Any, tmp_path: Path) -> None:
    r = scored_round(db.engine, n_apps=3)
    with r.uow() as s:
        users.create_user(s, "admin", "lin.both", ["approver", "finance"], "lin.both", "烟台市财政局")
    set_clock("2021-05-10T01:00:00Z")
    with r.uow() as s:
        rounds.finalize(s, "lin.both", SCHEME, 2021)
    set_clock("2021-05-25T01:00:00Z")
    r.advance(payer="chen.finance", out_dir=str(tmp_path))
    ack = bank_ack(sorted(tmp_path.glob("payment-batch-*.csv")))
    before = db.snapshot()
    with pytest.raises(FourEyesViolation, match=r"lin\.both approved the round of CA-2021-\d+, so may not import"), \
            r.uow() as s:
        payments.confirm(s, "lin.both", ack, "ack.csv")
    assert db.snapshot() == before
    with r.uow() as s:
        assert payments.confirm(s, "chen.finance", ack, "ack.csv")["paid"] == 3


def test_an_acknowledgement_with_a_cell_over_the_csv_limit_is_refused_by_line(db: Any, tmp_path: Path) -> None:
    r = _payable(db)
    r.advance(payer="chen.finance", out_dir=str(tmp_path))
    ack = bank_ack(sorted(tmp_path.glob("payment-batch-*.csv"))).decode()
    lines = ack.splitlines()
    lines.insert(2, 'X,paid,"' + "B" * 200_000)
    before = db.snapshot()
    with pytest.raises(ValidationFailed, match="line 3: cannot read this line as CSV: a cell is longer than"), \
            r.uow() as s:
        payments.confirm(s, "chen.finance", "\n".join(lines).encode(), "ack.csv")
    assert db.snapshot() == before


def test_a_run_with_nothing_payable_writes_no_file_and_no_old_file_again(cli: Any, db: Any, tmp_path: Path) -> None:
    _payable(db)
    first = cli("pay", "batch", "--scheme", SCHEME, "--out", str(tmp_path / "monday"), "--as", "chen.finance")
    assert first.exit_code == 0 and "batch 1" in first.stdout
    again = cli("pay", "batch", "--scheme", SCHEME, "--out", str(tmp_path / "tuesday"), "--as", "chen.finance")
    assert again.exit_code == 0 and "nothing payable" in again.stdout
    assert "restored" not in again.stdout + again.stderr and "warning" not in again.stderr
    assert not (tmp_path / "tuesday").exists()
