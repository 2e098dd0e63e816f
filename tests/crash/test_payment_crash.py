"""Crash safety of the payment path: kill the process at every step boundary (os._exit, like a
power cut), rerun to completion, and check that Σ paid = Σ approved, no payment appears twice in any
payment file, and the audit chain verifies."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from flows.services import audit_log, checker, payments, rounds
from models import faults
from models.uow import unit_of_work
from rules.errors import IdempotencyConflict
from tests.support import SCHEME, bank_ack, scored_round, set_clock

NOW = "2021-05-25T01:00:00Z"


def payable_round(db: Any) -> int:
    r = scored_round(db.engine, n_apps=5)
    set_clock("2021-05-10T01:00:00Z")
    with r.uow() as s:
        final = rounds.finalize(s, "wang.approve", SCHEME, 2021)
    set_clock(NOW)
    r.advance()
    return int(final["funded"])


def ipfund(db: Any, *args: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IPFUND_DATABASE_URL": db.url, "IPFUND_NOW": NOW}
    env.pop("IPFUND_FAULT", None)
    if fault:
        env["IPFUND_FAULT"] = fault
    return subprocess.run([sys.executable, "-m", "flows.cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def ack_file(out: Path, name: str) -> Path:
    path = out / name
    path.write_bytes(bank_ack(sorted(out.glob("payment-batch-*.csv"))))
    return path


@pytest.mark.parametrize("point", faults.POINTS)
def test_a_crash_at_any_step_of_the_payment_path_recovers_without_paying_twice(db: Any, tmp_path: Path,
                                                                              point: str) -> None:
    funded = payable_round(db)
    out = tmp_path / "payments"
    batch_args = ("pay", "batch", "--scheme", SCHEME, "--out", str(out), "--as", "chen.finance")
    crashed = ipfund(db, *batch_args, fault=point)
    if point != "pay.after_confirm_import":
        assert crashed.returncode == faults.EXIT_CODE, crashed.stderr
    rerun = ipfund(db, *batch_args)
    assert rerun.returncode == 0, rerun.stderr
    # A crash between the commit and the file: the rerun pays nothing new and writes no file, but names
    # the batch whose file was never written; the officer writes it with `pay file`.
    unwritten = re.findall(r"ipfund pay file (\d+)", " ".join(rerun.stderr.split()))
    if point in ("pay.after_commit", "pay.after_payment_file"):
        assert unwritten == ["1"], rerun.stderr
    for batch_id in unwritten:
        written = ipfund(db, "pay", "file", batch_id, "--out", f"{out}/", "--as", "chen.finance")
        assert written.returncode == 0, written.stderr
    again_rerun = ipfund(db, *batch_args)
    assert "ipfund pay file" not in again_rerun.stderr and "nothing payable" in again_rerun.stdout
    ack = ack_file(out, "ack.csv")
    confirm = ipfund(db, "pay", "confirm", str(ack), "--as", "chen.finance", fault=point)
    if point == "pay.after_confirm_import":
        assert confirm.returncode == faults.EXIT_CODE, confirm.stderr
    again = ipfund(db, "pay", "confirm", str(ack), "--as", "chen.finance")  # re-import: a no-op or the rest
    assert again.returncode == 0, again.stderr

    keys: Counter[str] = Counter()
    apps: Counter[str] = Counter()
    for f in out.glob("payment-batch-*.csv"):
        for row in csv.DictReader(io.StringIO(f.read_bytes().decode("utf-8-sig"))):
            keys[row["idempotency_key"]] += 1
            apps[row["idempotency_key"].split(":")[0]] += 1
    assert keys and max(keys.values()) == 1, keys
    assert max(apps.values()) == 1, apps  # no award in two files
    assert len(apps) == funded
    with db.engine.connect() as c:
        approved = c.execute(text("SELECT SUM(award_fen) FROM application WHERE award_fen IS NOT NULL")).scalar_one()
        paid_ledger = c.execute(text("SELECT SUM(balance_fen) FROM account WHERE name LIKE :p"),
                                {"p": "line:%:paid"}).scalar_one()
        paid_cases = c.execute(text("SELECT COUNT(*) FROM application WHERE status = 'paid'")).scalar_one()
    assert paid_ledger == approved and paid_cases == funded
    with db.session() as s:
        assert audit_log.verify(s)["ok"]
        report = checker.run(s)
    assert report["ok"], report


def test_the_same_idempotency_key_with_another_amount_is_a_conflict_and_writes_nothing(db: Any, tmp_path: Path) -> None:
    payable_round(db)
    with unit_of_work(db.engine) as s:
        result = payments.batch(s, "chen.finance", SCHEME)
    p = result.payments[0]
    before = db.snapshot()
    fields = {"batch_id": p.batch_id, "application_id": p.application_id, "line_code": p.line_code,
              "payee": p.payee, "uscc": p.uscc, "bank_account": "", "status": "pending", "approver": p.approver,
              "payer": p.payer, "created_at": p.created_at}
    with pytest.raises(IdempotencyConflict, match="refused, nothing written"), unit_of_work(db.engine) as s:
        payments.ensure_payment(s, p.idempotency_key, amount_fen=p.amount_fen + 1, **fields)
    with pytest.raises(IdempotencyConflict), unit_of_work(db.engine) as s:
        payments.ensure_payment(s, p.idempotency_key, amount_fen=p.amount_fen, **{**fields, "uscc": "X" * 18})
    with unit_of_work(db.engine) as s:
        same, created = payments.ensure_payment(s, p.idempotency_key, amount_fen=p.amount_fen, **fields)
    assert not created and same.id == p.id
    assert db.snapshot() == before
