"""Creating the schema, and the guards the database itself enforces beyond CHECK/UNIQUE/FK:
the audit table accepts INSERT only (triggers on SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (register tables)

SQLITE_GUARDS = [
    "CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: rows are never updated'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: rows are never deleted'); END",
    "CREATE TRIGGER IF NOT EXISTS posting_entry_no_update BEFORE UPDATE ON posting_entry "
    "BEGIN SELECT RAISE(ABORT, 'posting_entry is append-only: corrections are new postings'); END",
    "CREATE TRIGGER IF NOT EXISTS posting_entry_no_delete BEFORE DELETE ON posting_entry "
    "BEGIN SELECT RAISE(ABORT, 'posting_entry is append-only: corrections are new postings'); END",
]

PG_GUARDS = [
    """CREATE OR REPLACE FUNCTION ipfund_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; END $$""",
    "DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event",
    """CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_event
       FOR EACH STATEMENT EXECUTE FUNCTION ipfund_append_only()""",
    "DROP TRIGGER IF EXISTS posting_entry_append_only ON posting_entry",
    """CREATE TRIGGER posting_entry_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON posting_entry
       FOR EACH STATEMENT EXECUTE FUNCTION ipfund_append_only()""",
    # Double entry, enforced at COMMIT: every posting's entries sum to zero.
    """CREATE OR REPLACE FUNCTION ipfund_posting_balances() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE total bigint;
       BEGIN
         SELECT COALESCE(SUM(amount_fen), 0) INTO total FROM posting_entry WHERE posting_id = NEW.posting_id;
         IF total <> 0 THEN
           RAISE EXCEPTION 'posting % does not balance: entries sum to % fen', NEW.posting_id, total;
         END IF;
         RETURN NULL;
       END $$""",
    "DROP TRIGGER IF EXISTS posting_entry_balanced ON posting_entry",
    """CREATE CONSTRAINT TRIGGER posting_entry_balanced AFTER INSERT ON posting_entry
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ipfund_posting_balances()""",
]


SQLITE_UNGUARD = [f"DROP TRIGGER IF EXISTS {t}" for t in (
    "audit_event_no_update", "audit_event_no_delete", "posting_entry_no_update", "posting_entry_no_delete")]
# The guards of the audit log and the ledger off (migration 0002's downgrade; the tamper tests). The shared
# ipfund_append_only() function stays: later tables' triggers use it too (PG_DROP_GUARDS drops it).
PG_UNGUARD = [
    "DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event",
    "DROP TRIGGER IF EXISTS posting_entry_append_only ON posting_entry",
    "DROP TRIGGER IF EXISTS posting_entry_balanced ON posting_entry",
    "DROP FUNCTION IF EXISTS ipfund_posting_balances()",
]
PG_DROP_GUARDS = [*PG_UNGUARD, "DROP FUNCTION IF EXISTS ipfund_append_only()"]


def install_guards(engine: Engine) -> None:
    stmts = PG_GUARDS if engine.dialect.name == "postgresql" else SQLITE_GUARDS
    with engine.begin() as conn:
        for s in stmts:
            conn.execute(text(s))


def create_schema(engine: Engine) -> None:
    """Bring the database to the newest schema through the Alembic migrations."""
    from models.migrate import upgrade

    upgrade(engine)


def drop_schema(engine: Engine) -> None:
    """Tests only: drop everything ipfund created."""
    SQLModel.metadata.drop_all(engine)
