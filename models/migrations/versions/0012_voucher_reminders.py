"""Custody voucher expiry reminders (托管服务券, 二(二)5): a partial unique index on the outbox so an
expiry reminder (cause ``voucher_reminder:<ref>:<deadline>:<days>``) is written at most once per
recipient (cause first, so the stage looks causes up by the index).

Revision ID: 0012_voucher_reminders
Revises: 0011_custody_vouchers
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_voucher_reminders"
down_revision = "0011_custody_vouchers"
branch_labels = None
depends_on = None

_WHERE = "cause LIKE 'voucher_reminder:%'"


def upgrade() -> None:
    op.create_index("ux_notification_reminder_once", "notification", ["cause", "recipient"], unique=True,
                    sqlite_where=sa.text(_WHERE), postgresql_where=sa.text(_WHERE))


def downgrade() -> None:
    op.drop_index("ux_notification_reminder_once", table_name="notification")
