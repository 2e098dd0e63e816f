"""Where a lending bank is paid (the 首贷 reward to the bank, 二(三)7): its 开户银行 and 账号 on the bank row,
recorded by an admin (`ipfund bank account`, audited with old and new).

Revision ID: 0023_bank_accounts
Revises: 0021_risk_pool
"""
import sqlalchemy as sa
from alembic import op

revision = "0023_bank_accounts"
down_revision = "0021_risk_pool"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bank") as b:
        b.add_column(sa.Column("bank_name", sa.String(length=100), nullable=True))
        b.add_column(sa.Column("bank_account", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bank") as b:
        b.drop_column("bank_account")
        b.drop_column("bank_name")
