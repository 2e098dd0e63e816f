"""Invariants the database itself enforces (django-hordak style): each test goes around the ORM with
raw SQL, really commits, and the database must refuse."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.support import scored_round


def refused(db: Any, *statements: str, role: str | None = None) -> str:
    with pytest.raises(DBAPIError) as info, db.engine.begin() as conn:
        if role:
            conn.execute(text(f"SET ROLE {role}"))
        for s in statements:
            conn.execute(text(s))
    return str(info.value.orig)


@pytest.fixture
def paid_round(db: Any) -> Any:
    r = scored_round(db.engine, n_apps=4)
    r.finalize_and_end_notice()
    r.advance(payer="chen.finance")
    return r


def test_a_receipt_of_zero_fen_is_refused(db: Any) -> None:
    msg = refused(db, "INSERT INTO posting (year, kind, memo, actor, at) VALUES (2021,'x','x','x','x')",
                  "INSERT INTO receipt (year, source, amount_fen, reference, posting_id) VALUES "
                  "(2021, 'central', 0, 'x', (SELECT MAX(id) FROM posting))")
    assert "receipt_amount_positive" in msg or "CHECK" in msg.upper()


def test_an_unknown_application_state_is_refused(db: Any, paid_round: Any) -> None:
    msg = refused(db, "UPDATE application SET status = 'teleported'")
    assert "application_state_declared" in msg or "FOREIGN KEY" in msg.upper(), msg


def test_a_state_another_scheme_declares_is_refused_for_this_one(db: Any, paid_round: Any) -> None:
    """The states are per scheme (scheme_state): a state is refused where its own scheme does not
    declare it, even when some other scheme does."""
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO scheme_state (scheme, state, name, tags) "
                          "VALUES ('other-scheme', 'teleported', 'x', '')"))
    msg = refused(db, "UPDATE application SET status = 'teleported'")
    assert "application_state_declared" in msg or "FOREIGN KEY" in msg.upper(), msg
    with db.engine.begin() as conn:  # the control: the state this scheme declares is accepted
        conn.execute(text("UPDATE application SET status = status"))


def test_a_second_payment_with_the_same_idempotency_key_is_refused(db: Any, paid_round: Any) -> None:
    refused(db, "INSERT INTO payment (idempotency_key, batch_id, application_id, line_code, payee, uscc, "
                "bank_account, amount_fen, status, approver, payer, created_at) "
                "SELECT idempotency_key, batch_id, application_id, line_code, payee, uscc, bank_account, "
                "amount_fen, 'failed', approver, payer, created_at FROM payment LIMIT 1")


def test_a_second_live_payment_for_one_award_is_refused(db: Any, paid_round: Any) -> None:
    msg = refused(db, "INSERT INTO payment (idempotency_key, batch_id, application_id, line_code, payee, uscc, "
                      "bank_account, amount_fen, status, approver, payer, created_at) "
                      "SELECT idempotency_key || '-again', batch_id, application_id, line_code, payee, uscc, "
                      "bank_account, amount_fen, 'pending', approver, payer, created_at FROM payment LIMIT 1")
    assert "ux_payment_live_once" in msg or "UNIQUE" in msg.upper()


def test_a_negative_payment_is_refused(db: Any, paid_round: Any) -> None:
    refused(db, "UPDATE payment SET amount_fen = -1")


def test_a_payment_for_a_missing_application_is_refused_by_the_foreign_key(db: Any, paid_round: Any) -> None:
    """One payment only (several moved to one case would hit the one-live-payment index instead), and the
    refusal must name the foreign key: without `PRAGMA foreign_keys=ON` SQLite accepts it."""
    one = "(SELECT MIN(id) FROM payment)"
    msg = refused(db, f"UPDATE payment SET application_id = 999999 WHERE id = {one}")
    assert "FOREIGN KEY" in msg.upper(), msg
    with db.engine.begin() as conn:  # the control: the same row pointed at an existing case is accepted
        conn.execute(text(f"UPDATE payment SET line_code = line_code WHERE id = {one}"))


def test_two_active_scores_for_one_criterion_are_refused(db: Any, paid_round: Any) -> None:
    refused(db, "INSERT INTO score (application_id, evaluator, criterion, score_tenths, comment, upload_id, active) "
                "SELECT application_id, evaluator, criterion, score_tenths, comment, upload_id, active "
                "FROM score WHERE active LIMIT 1")


@pytest.mark.parametrize("sql", ["UPDATE audit_event SET actor = 'mallory' WHERE seq = 1",
                                 "DELETE FROM audit_event WHERE seq = 1"])
def test_the_audit_log_accepts_insert_only(db: Any, sql: str) -> None:
    msg = refused(db, sql)
    assert "append-only" in msg


def test_on_postgresql_the_application_role_cannot_change_the_audit_log_even_without_the_trigger(db: Any) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the restricted role is PostgreSQL's")
    with db.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_event_append_only ON audit_event"))
    msg = refused(db, "UPDATE audit_event SET actor = 'mallory' WHERE seq = 1", role="ipfund_app")
    assert "permission denied" in msg
    with db.engine.begin() as conn:  # the role may still append and read
        conn.execute(text("SET ROLE ipfund_app"))
        assert conn.execute(text("SELECT COUNT(*) FROM audit_event")).scalar_one() >= 1


def test_on_postgresql_an_unbalanced_posting_is_refused_at_commit(db: Any) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("deferred constraint triggers are PostgreSQL's; on SQLite `ipfund check` finds it")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO account (year, name, balance_fen) VALUES (2021, 'source:central', 0)"))
    msg = refused(db, "INSERT INTO posting (year, kind, memo, actor, at) VALUES (2021,'x','x','x','x')",
                  "INSERT INTO posting_entry (posting_id, account_id, amount_fen) VALUES "
                  "((SELECT MAX(id) FROM posting), (SELECT MIN(id) FROM account), 5)")
    assert "does not balance" in msg
