"""Interest-subsidy claims (二(三)7): an intake check that computes an amount stores its computation trace.

* intake_check.trace: the trace steps (JSON: what, value, parameter, clause, in_force, reference) of a check
  that computed an amount — e.g. a pledge loan's interest subsidy — printed in the case dossier; NULL for a
  plain check (every row written before).

Revision ID: 0020_subsidy_claims
Revises: 0019_desk_sessions
"""
import sqlalchemy as sa
from alembic import op

revision = "0020_subsidy_claims"
down_revision = "0019_desk_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("intake_check") as b:
        b.add_column(sa.Column("trace", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("intake_check") as b:
        b.drop_column("trace")
