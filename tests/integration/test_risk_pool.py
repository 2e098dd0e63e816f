"""The risk-compensation pool (二(三)7) in the database: the CHECKs and triggers of migration 0021 refuse what
cannot be right (SQLite and PostgreSQL), and `ipfund check` names the pool invariant broken around the services."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Db
from tests.loan_support import BANK_A, loan_args, ok, refused, setup_registry


@pytest.fixture
def paid(cli: Any, db: Db, tmp_path: Path) -> Any:
    """¥300,000 in the pool; loan L-001 (¥1,000,000) filed, defaulted, claimed, approved and paid ¥300,000 (to the
    balance); a ¥100,000 recovery settled (¥30,000 back to the pool)."""
    setup_registry(cli, tmp_path)
    ok(cli("user", "add", "zhou", "--role", "finance", "--affiliation", "烟台市财政局", "--as", "admin"))
    ok(cli(*loan_args("L-001"), "--as", "zhao"))
    ok(cli(*loan_args("L-002"), "--as", "zhao"))
    ok(cli("pool", "contribute", "municipal", "--amount", "300,000", "--ref", "SZ-1", "--on", "2021-01-05",
           "--as", "zhou"))
    ok(cli("pool", "file", "L-001", "--on", "2021-02-01", "--as", "zhao"))
    ok(cli("pool", "file", "L-002", "--on", "2021-02-01", "--as", "zhao"))
    ok(cli("pool", "claim", "L-001", "--defaulted", "2021-05-17", "--on", "2021-05-20", "--as", "zhao"))
    ok(cli("pool", "decide", "RC-1-1", "approve", "--as", "li"))
    ok(cli("pool", "pay", "RC-1-1", "--as", "zhou"))
    ok(cli("pool", "settle", "RC-1-1", "--recovered", "100,000", "--receipt", "CZ-1", "--as", "zhou"))
    return cli


def test_the_pool_status_and_the_checker_after_a_settled_claim(paid: Any, db: Db) -> None:
    status = json.loads(ok(paid("pool", "status", "--json", "--as", "sun")))
    assert (status["balance_fen"], status["contributed_fen"], status["compensated_fen"], status["recovered_fen"]) == \
        (3_000_000, 30_000_000, 30_000_000, 3_000_000)
    (claim,) = status["claims"]
    assert claim["borne"] == {"city_pool": 30_000_000, "bank": 50_000_000, "insurer": 20_000_000}
    assert claim["recovery_parts"] == {"city_pool": 3_000_000, "bank": 5_000_000, "insurer": 2_000_000}
    assert any("以其余额为限" in step["what"] for step in claim["trace"])
    shown = json.loads(ok(paid("pool", "show", "RC-1-1", "--json", "--as", "zhao")))
    assert [e["action"] for e in shown["events"]] == ["pool.claim", "pool.approve", "pool.pay", "pool.settle"]
    assert "per-loan cap for a standard bank" in ok(paid("pool", "show", "RC-1-1", "--as", "sun"))
    assert "no pool claim 'RC-1-1' of bank" in refused(paid("pool", "show", "RC-1-1", "--as", "qian"))
    assert json.loads(ok(paid("pool", "status", "--json", "--as", "qian")))["claims"] == []
    r = paid("check", "--json", "--as", "admin")
    assert r.exit_code == 0 and json.loads(r.stdout)["ok"]
    events = [e["action"] for e in json.loads(ok(paid("audit", "log", "--json", "--as", "admin")))
              if e["action"].startswith("pool.")]
    assert events == ["pool.contribute", "pool.file", "pool.file", "pool.claim", "pool.approve", "pool.pay",
                      "pool.settle"]


@pytest.mark.parametrize("sql", [
    "UPDATE pool_contribution SET amount_fen = amount_fen + 1",
    "DELETE FROM pool_contribution",
    "UPDATE pool_filing SET filed_on = '2021-01-01'",
    "DELETE FROM pool_filing",
    "UPDATE pool_claim SET loss_fen = loss_fen - 1",
    "UPDATE pool_claim SET parts = '{}'",
    "UPDATE pool_claim SET status = 'paid', recovered_fen = NULL, pool_recovered_fen = NULL",
    "UPDATE pool_claim SET paid_fen = paid_fen + 1",
    "UPDATE pool_claim SET decided_by = 'wang'",
    "DELETE FROM pool_claim",
    "UPDATE account SET balance_fen = -1 WHERE name = 'pool:balance'",
    "INSERT INTO pool_claim (ref, filing_id, loan_id, bank_id, defaulted_on, claimed_on, outstanding_fen, loss_fen, "
    "pool_due_fen, parts, status, claimed_by, claimed_at) SELECT 'RC-1-2', filing_id, loan_id, bank_id, defaulted_on, "
    "claimed_on, outstanding_fen, loss_fen, pool_due_fen, parts, 'claimed', claimed_by, claimed_at FROM pool_claim",
    "INSERT INTO pool_contribution (source, amount_fen, received_on, reference, posting_id, actor, at) "
    "SELECT 'park', 1, received_on, 'SZ-2', posting_id, actor, at FROM pool_contribution",
])
def test_the_database_refuses_what_cannot_be_right(paid: Any, db: Db, sql: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    before = db.snapshot()
    with pytest.raises(DBAPIError), db.engine.begin() as conn:
        conn.execute(text(sql))
    assert db.snapshot() == before


def test_the_checker_names_a_compensation_written_around_the_services(paid: Any, db: Db) -> None:
    from sqlalchemy import text

    with db.engine.begin() as conn:  # ¥10,000 taken from the pool by a posting no claim accounts for
        pid = conn.execute(text("INSERT INTO posting (year, kind, memo, actor, at) VALUES "
                                "(0, 'pool_compensation', 'x', 'qian', '2021-06-01') RETURNING id")).scalar_one()
        for name, fen in (("pool:balance", -1_000_000), ("external:pool:bank:x", 1_000_000)):
            conn.execute(text("INSERT INTO account (year, name, balance_fen) VALUES (0, :n, 0) "
                              "ON CONFLICT (year, name) DO NOTHING"), {"n": name})
            conn.execute(text("UPDATE account SET balance_fen = balance_fen + :f WHERE year = 0 AND name = :n"),
                         {"f": fen, "n": name})
            conn.execute(text("INSERT INTO posting_entry (posting_id, account_id, amount_fen) SELECT :p, id, :f "
                              "FROM account WHERE year = 0 AND name = :n"), {"p": pid, "f": fen, "n": name})
    r = paid("check", "--json", "--as", "admin")
    checks = {c["check"]: c for c in json.loads(r.stdout)["checks"]}
    name = "pool balance = contributions − compensations + recoveries ≥ 0"
    assert r.exit_code != 0 and not checks[name]["ok"] and "records ¥30,000.00" in checks[name]["detail"], checks[name]


@pytest.mark.parametrize(("args", "message"), [
    (("pool", "file", "L-009", "--on", "2021-02-01", "--as", "zhao"), "no loan 'L-009'"),
    (("pool", "file", "L-001", "--on", "2021-02-01", "--as", "zhao"), "already filed into the pool"),
    (("pool", "file", "L-003", "--on", "2021-01-09", "--as", "zhao"), "outside the loan's term 2021-01-10–2022-01-10"),
    (("pool", "file", "L-003", "--on", "2021-02-30", "--as", "zhao"), "on: '2021-02-30' is not a date"),
    (("pool", "file", "L-003", "--on", "2021-02-01", "--as", "zhou"), "may not pool.file"),
    (("pool", "revoke", "L-002", "--reason", " ", "--as", "zhao"), "reason is empty"),
    (("pool", "revoke", "L-001", "--reason", "误报", "--as", "zhao"), "has a claim on the pool: its filing stands"),
    (("pool", "claim", "L-002", "--defaulted", "2021-01-01", "--on", "2021-01-04", "--as", "zhao"),
     "is before the drawdown 2021-01-10"),
    (("pool", "claim", "L-002", "--defaulted", "yesterday", "--as", "zhao"), "defaulted: 'yesterday' is not a date"),
    (("pool", "claim", "L-001", "--defaulted", "2021-05-17", "--on", "2021-05-20", "--as", "zhao"),
     "already has a claim on the pool"),
    (("pool", "claim", "L-002", "--defaulted", "2021-05-17", "--on", "2021-05-20", "--as", "qian"), "no loan 'L-002'"),
    (("pool", "decide", "RC-1-1", "approve", "--as", "li"), "only a claimed one is decided"),
    (("pool", "pay", "RC-1-1", "--as", "zhou"), "only an approved claim is paid"),
    (("pool", "settle", "RC-1-1", "--recovered", "1", "--receipt", "CZ-2", "--as", "zhou"),
     "only a paid claim is settled"),
    (("pool", "pay", "RC-9-9", "--as", "zhou"), "no pool claim 'RC-9-9'"),
    (("pool", "contribute", "municipal", "--amount", "100", "--ref", "SZ-1", "--as", "zhou"), "already recorded"),
    (("pool", "contribute", "municipal", "--amount", "100.001", "--ref", "SZ-3", "--as", "zhou"), "amount"),
    (("pool", "contribute", "municipal", "--amount", "100", "--ref", "SZ-3", "--as", "zhao"), "may not pool.contribute"),
])
def test_bad_input_is_refused_naming_what_and_nothing_is_written(paid: Any, db: Db, args: tuple[str, ...],
                                                                  message: str) -> None:
    ok(paid(*loan_args("L-003"), "--as", "zhao"))
    before = db.snapshot()
    r = paid(*args)
    assert message in refused(r), r.stderr
    assert db.snapshot() == before


def test_a_rejected_claim_says_why_and_the_bank_may_claim_again(paid: Any, db: Db) -> None:
    ok(paid("pool", "claim", "L-002", "--defaulted", "2021-05-17", "--on", "2021-05-20", "--as", "zhao"))
    assert "a rejection says why" in refused(paid("pool", "decide", "RC-2-1", "reject", "--as", "li"))
    ok(paid("user", "add", "wu", "--role", "reviewer", "--affiliation", BANK_A, "--as", "admin"))
    assert "wu belongs to pool claim RC-2-1 (中国银行烟台分行), so may not decide the pool claim of the bank " \
           "(不相容岗位相互分离)" in refused(paid("pool", "decide", "RC-2-1", "approve", "--as", "wu"))
    ok(paid("pool", "decide", "RC-2-1", "reject", "--reason", "逾期天数计算有误", "--as", "li"))
    ok(paid("pool", "claim", "L-002", "--defaulted", "2021-05-18", "--on", "2021-05-21", "--as", "zhao"))
    status = json.loads(ok(paid("pool", "status", "--json", "--as", "li")))
    assert [(c["ref"], c["status"]) for c in status["claims"]] == [("RC-1-1", "settled"), ("RC-2-1", "rejected"),
                                                                   ("RC-2-2", "claimed")]
    r = paid("check", "--json", "--as", "admin")
    assert r.exit_code == 0 and json.loads(r.stdout)["ok"]


def test_whoever_decided_a_claim_does_not_pay_it(paid: Any, db: Db) -> None:
    ok(paid("user", "add", "xu", "--role", "reviewer", "--role", "finance", "--affiliation", "烟台市财政局", "--as", "admin"))
    ok(paid("pool", "contribute", "central", "--amount", "500,000", "--ref", "ZY-1", "--as", "zhou"))
    ok(paid("pool", "claim", "L-002", "--defaulted", "2021-05-17", "--on", "2021-05-20", "--as", "zhao"))
    ok(paid("pool", "decide", "RC-2-1", "approve", "--as", "xu"))
    before = db.snapshot()
    assert "xu took a review decision on pool claim RC-2-1, so may not pay the pool's compensation to the bank" \
        in refused(paid("pool", "pay", "RC-2-1", "--as", "xu"))
    assert db.snapshot() == before
    assert json.loads(ok(paid("pool", "pay", "RC-2-1", "--json", "--as", "zhou")))["paid_fen"] == 40_000_000
