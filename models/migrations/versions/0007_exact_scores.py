"""application.final_score_exact: the exact score a case is ranked by, written when it is scored.

Ranking a round read every active score row of every scored case again (1.2 million rows in a round
of 100,000) to rebuild the exact scores aggregation had already computed. Aggregation now writes them
on the case (exact final score and each criterion's sum of tenths, as integers), and ranking reads one
value per case. Cases scored before this revision have NULL here; ranking recomputes theirs from the
score rows, as before.

Revision ID: 0007_exact_scores
Revises: 0006_audit_hash_indexes
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007_exact_scores"
down_revision = "0006_audit_hash_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("application", sa.Column("final_score_exact", sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.drop_column("final_score_exact")
