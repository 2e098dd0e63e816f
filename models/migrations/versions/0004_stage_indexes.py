"""Indexes for chunked stage queries and the reviewers' queue at 100,000+ applications: without
them each chunk sorted every case in the state (quadratic over a round).

Revision ID: 0004_stage_indexes
Revises: 0003_app_role
"""
from alembic import op

revision = "0004_stage_indexes"
down_revision = "0003_app_role"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.drop_index("ix_application_scheme_status")
        batch.create_index("ix_application_scheme_status", ["scheme", "status", "id"], unique=False)
        batch.create_index("ix_application_status_age", ["status", "status_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.drop_index("ix_application_status_age")
        batch.drop_index("ix_application_scheme_status")
        batch.create_index("ix_application_scheme_status", ["scheme", "status"], unique=False)
