"""The IP-pledge loan registry (二(三)7) through the CLI: imports validated by line with nothing written on any
error, idempotency, receipts, the checker's invariants."""

from __future__ import annotations

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
    SME1,
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

