"""The settlement mode a round records (托管服务券, 二(二)5: 通兑 pays the agency, 通用 reimburses the enterprise).

* award_round.settlement_mode: who the round's cases settle to, NULL for schemes without payment.payee_mode
  (and rounds finalized before this revision); a CHECK on the allowed values;
* round_opening: a round opened (`ipfund round open`) before it is finalized, with its mode (CHECK) and where
  the mode came from; one per scheme, year and seq; round_id set by the finalize that closes it.

Revision ID: 0016_round_settlement_mode
Revises: 0014_voucher_clawback
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0016_round_settlement_mode"
down_revision = "0014_voucher_clawback"
branch_labels = None
depends_on = None

_MODES = "('agency', 'enterprise')"


def upgrade() -> None:
    s = sqlmodel.sql.sqltypes.AutoString
    with op.batch_alter_table("award_round") as b:
        b.add_column(sa.Column("settlement_mode", s(length=16), nullable=True))
        b.create_check_constraint("award_round_settlement_mode_valid",
                                  f"settlement_mode IS NULL OR settlement_mode IN {_MODES}")
    op.create_table(
        "round_opening",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme", s(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("settlement_mode", s(length=16), nullable=False),
        sa.Column("mode_source", s(length=200), nullable=False),
        sa.Column("opened_by", s(length=64), nullable=False),
        sa.Column("opened_at", s(length=32), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(f"settlement_mode IN {_MODES}", name="round_opening_mode_valid"),
        sa.ForeignKeyConstraint(["round_id"], ["award_round.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("round_id"),
        sa.UniqueConstraint("scheme", "year", "seq", name="round_opening_once"),
    )


def downgrade() -> None:
    op.drop_table("round_opening")
    with op.batch_alter_table("award_round") as b:
        b.drop_constraint("award_round_settlement_mode_valid", type_="check")
        b.drop_column("settlement_mode")
