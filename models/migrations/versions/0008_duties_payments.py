"""Duties that cannot be bypassed, payment authority, payee bank accounts and review leases.

* Users' affiliations are normalised (NFKC, trimmed, inner whitespace collapsed; a credit code in
  upper case without spaces): an affiliation typed in lower case or with a trailing space defeated
  every own-organisation check. The normalisation is written out here, frozen at this revision.
* payment_release: a finance officer's release of a payable case; the payment stage pays only those.
* review_claim: `review next` leases a case to one reviewer at a time.
* applicant.bank_name / bank_account: the payee's 开户银行 and 账号, written into the bank file.
* payment.bank_name, payment.release_id, payment.confirmed_by: what was sent, on whose release, and
  who imported the bank's acknowledgement; payment_batch.file_written_at: whether its bank file exists.

Revision ID: 0008_duties_payments
Revises: 0007_exact_scores
"""
import re
import unicodedata

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008_duties_payments"
down_revision = "0007_exact_scores"
branch_labels = None
depends_on = None

_SPACE = re.compile(r"\s+")
_CODE_LIKE = re.compile(r"[0-9A-Za-z]{15,20}")


def _normalise(text: str) -> str:
    t = _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    compact = t.replace(" ", "")
    if _CODE_LIKE.fullmatch(compact) and any(c.isdigit() for c in compact):
        return compact.upper()
    return t


def upgrade() -> None:
    s = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "payment_release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("released_by", s(length=64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("at", s(length=32), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name="release_amount_positive"),
        sa.CheckConstraint("attempt >= 1", name="release_attempt_positive"),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("application_id", "attempt", name="release_once_per_attempt"),
    )
    op.create_table(
        "review_claim",
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("holder", s(length=64), nullable=False),
        sa.Column("claimed_at", s(length=32), nullable=False),
        sa.Column("expires_at", s(length=32), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.PrimaryKeyConstraint("application_id"),
    )
    op.add_column("applicant", sa.Column("bank_name", s(length=100), nullable=True))
    op.add_column("applicant", sa.Column("bank_account", s(length=32), nullable=True))
    # Plain ADD COLUMN on both databases (no table rebuild: payment keeps its partial unique index and
    # CHECK constraints untouched); the empty default fills the rows written before this revision.
    op.add_column("payment", sa.Column("bank_name", s(length=100), nullable=False, server_default=""))
    if op.get_bind().dialect.name == "sqlite":  # SQLite adds a column with its reference, not a constraint
        op.execute("ALTER TABLE payment ADD COLUMN release_id INTEGER REFERENCES payment_release (id)")
    else:
        op.add_column("payment", sa.Column("release_id", sa.Integer(), nullable=True))
        op.create_foreign_key(None, "payment", "payment_release", ["release_id"], ["id"])
    op.add_column("payment", sa.Column("confirmed_by", s(length=64), nullable=True))
    op.add_column("payment_batch", sa.Column("file_written_at", s(length=32), nullable=True))
    op.execute("UPDATE payment_batch SET file_written_at = at")  # batches before this revision had their files

    conn = op.get_bind()
    users = sa.table("app_user", sa.column("id", sa.Integer), sa.column("affiliation", sa.String))
    for uid, affiliation in conn.execute(sa.select(users.c.id, users.c.affiliation)).all():
        if affiliation is None:
            continue
        fixed = _normalise(affiliation) or None
        if fixed != affiliation:
            conn.execute(users.update().where(users.c.id == uid).values(affiliation=fixed))


def downgrade() -> None:
    with op.batch_alter_table("payment_batch") as batch:
        batch.drop_column("file_written_at")
    with op.batch_alter_table("payment") as batch:
        batch.drop_column("confirmed_by")
        batch.drop_column("release_id")
        batch.drop_column("bank_name")
    with op.batch_alter_table("applicant") as batch:
        batch.drop_column("bank_account")
        batch.drop_column("bank_name")
    op.drop_table("review_claim")
    op.drop_table("payment_release")
