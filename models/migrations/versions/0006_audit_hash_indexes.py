"""Drop the UNIQUE indexes on audit_event.hash and audit_event.prev_hash.

Their keys are random (sha256), so every append dirtied two random pages of two B-trees that outgrow
any cache: a round of 100,000 applications appends about a million events, and in 1,000-event commits
that measured 110 s against 8 s without them. Sequence (the primary key) orders the chain; its
integrity is proven by walking it (`ipfund check` after every flow run, `ipfund audit verify`), which
also catches what the indexes could not (a changed payload).

SQLite cannot drop an inline UNIQUE constraint, so the table is rebuilt there (rows copied as they
are) and its append-only triggers re-created; PostgreSQL drops the two constraints in place (grants
and triggers stay).

Revision ID: 0006_audit_hash_indexes
Revises: 0005_redundant_indexes
"""
from alembic import op

from models.schema import SQLITE_GUARDS

revision = "0006_audit_hash_indexes"
down_revision = "0005_redundant_indexes"
branch_labels = None
depends_on = None

_COLUMNS = "seq, at, actor, action, subject, payload, prev_hash, hash"


def _rebuild_sqlite(unique: bool) -> None:
    u = " UNIQUE" if unique else ""
    op.execute(f"""CREATE TABLE audit_event_new (
        seq INTEGER NOT NULL PRIMARY KEY,
        at VARCHAR(32) NOT NULL,
        actor VARCHAR(64) NOT NULL,
        action VARCHAR(64) NOT NULL,
        subject VARCHAR(128) NOT NULL,
        payload VARCHAR NOT NULL,
        prev_hash VARCHAR(64) NOT NULL{u},
        hash VARCHAR(64) NOT NULL{u})""")
    op.execute(f"INSERT INTO audit_event_new ({_COLUMNS}) SELECT {_COLUMNS} FROM audit_event ORDER BY seq")
    op.execute("DROP TABLE audit_event")  # its triggers and indexes go with it
    op.execute("ALTER TABLE audit_event_new RENAME TO audit_event")
    op.execute("CREATE INDEX ix_audit_event_subject ON audit_event (subject)")
    for stmt in SQLITE_GUARDS:
        if " ON audit_event " in stmt:
            op.execute(stmt)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("audit_event_hash_key", "audit_event", type_="unique")
        op.drop_constraint("audit_event_prev_hash_key", "audit_event", type_="unique")
    else:
        _rebuild_sqlite(unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_unique_constraint("audit_event_prev_hash_key", "audit_event", ["prev_hash"])
        op.create_unique_constraint("audit_event_hash_key", "audit_event", ["hash"])
    else:
        _rebuild_sqlite(unique=True)
