"""Drop two indexes that duplicate the leading column of another index (score.application_id is the
first column of ix_score_active; assignment.application_id of assignment_once): each cost a B-tree
write per score or assignment row (1.2 million score rows in a round of 100,000) and served no query
the other index does not.

Revision ID: 0005_redundant_indexes
Revises: 0004_stage_indexes
"""
from alembic import op

revision = "0005_redundant_indexes"
down_revision = "0004_stage_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_score_application_id", table_name="score")
    op.drop_index("ix_assignment_application_id", table_name="assignment")


def downgrade() -> None:
    op.create_index("ix_assignment_application_id", "assignment", ["application_id"], unique=False)
    op.create_index("ix_score_application_id", "score", ["application_id"], unique=False)
