"""Database guards: the audit log and ledger entries are append-only (triggers on SQLite and
PostgreSQL); on PostgreSQL every posting must balance at COMMIT (a deferred constraint trigger).

Revision ID: 0002_guards
Revises: 0001_initial
"""
from alembic import op

from models.schema import PG_DROP_GUARDS, PG_GUARDS, SQLITE_GUARDS, SQLITE_UNGUARD

revision = "0002_guards"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    stmts = PG_GUARDS if op.get_bind().dialect.name == "postgresql" else SQLITE_GUARDS
    for s in stmts:
        op.execute(s)


def downgrade() -> None:
    stmts = PG_DROP_GUARDS if op.get_bind().dialect.name == "postgresql" else SQLITE_UNGUARD
    for s in stmts:
        op.execute(s)
