"""The programme's KPI figures measured outside ipfund (一(二)), imported with their source
(`ipfund kpi import`): kpi_figure, append-only; a changed figure of a KPI and year is a new row that
supersedes the old one (once). The trigger text is written out here, frozen at this revision.

Revision ID: 0024_kpi_figures
Revises: 0023_bank_accounts
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0024_kpi_figures"
down_revision = "0023_bank_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "kpi_figure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kpi", s(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("unit", s(length=8), nullable=False),
        sa.Column("source", s(length=200), nullable=False),
        sa.Column("reference", s(length=200), nullable=False),
        sa.Column("as_of", s(length=10), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("file", s(length=200), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("actor", s(length=64), nullable=False),
        sa.Column("at", s(length=32), nullable=False),
        sa.CheckConstraint("value >= 0", name="kpi_figure_value_not_negative"),
        sa.CheckConstraint("unit IN ('count', 'fen')", name="kpi_figure_unit_valid"),
        sa.ForeignKeyConstraint(["supersedes_id"], ["kpi_figure.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("supersedes_id", name="kpi_figure_superseded_once"),
    )
    op.create_index("ix_kpi_figure_kpi_year", "kpi_figure", ["kpi", "year", "id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER kpi_figure_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON kpi_figure "
                   "FOR EACH STATEMENT EXECUTE FUNCTION ipfund_append_only()")
    else:
        op.execute("CREATE TRIGGER kpi_figure_no_update BEFORE UPDATE ON kpi_figure "
                   "BEGIN SELECT RAISE(ABORT, 'kpi_figure is append-only: rows are never updated'); END")
        op.execute("CREATE TRIGGER kpi_figure_no_delete BEFORE DELETE ON kpi_figure "
                   "BEGIN SELECT RAISE(ABORT, 'kpi_figure is append-only: rows are never deleted'); END")


def downgrade() -> None:
    op.drop_table("kpi_figure")  # its triggers go with it
