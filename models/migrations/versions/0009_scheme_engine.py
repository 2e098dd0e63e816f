"""One engine, many schemes: declared states, claim keys, payments by purpose, review tiers, escalation.

* scheme_state: every state a scheme's policy declares; application (scheme, status) references it, so
  the database refuses a state the scheme does not declare (this replaces the CHECK on one global
  vocabulary). Filled here with the pairs the cases already use; `ipfund init`, every application and
  advance run, and `ipfund policy sync` add what the policy declares.
* application.certificate_no becomes claim_key (the form's claim-key fields joined: the certificate
  number for the certification award), indexed with the scheme.
* payment.purpose and payment_release.purpose ('award' before this revision): a case may have several
  payments (tranches), at most one live per purpose.
* review_decision.superseded_at: a return keeps the approvals before it, marked superseded.
* escalation: review tasks past their deadline.

Revision ID: 0009_scheme_engine
Revises: 0008_duties_payments
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009_scheme_engine"
down_revision = "0008_duties_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = sqlmodel.sql.sqltypes.AutoString
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.create_table(
        "scheme_state",
        sa.Column("scheme", s(length=64), nullable=False),
        sa.Column("state", s(length=32), nullable=False),
        sa.Column("name", s(length=64), nullable=False),
        sa.Column("tags", s(length=200), nullable=False),
        sa.PrimaryKeyConstraint("scheme", "state"),
    )
    op.execute("INSERT INTO scheme_state (scheme, state, name, tags) "
               "SELECT DISTINCT scheme, status, status, '' FROM application")
    op.create_table(
        "escalation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("tier", s(length=32), nullable=False),
        sa.Column("since", s(length=32), nullable=False),
        sa.Column("due", s(length=10), nullable=False),
        sa.Column("to_role", s(length=16), nullable=False),
        sa.Column("at", s(length=32), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("application_id", "tier", "since", name="escalation_once"),
    )
    # application: claim_key for certificate_no, the declared-state reference for the vocabulary CHECK.
    with op.batch_alter_table("application", recreate="always" if sqlite else "auto") as batch:
        batch.alter_column("certificate_no", new_column_name="claim_key", type_=sa.String(length=200),
                           existing_type=sa.String(length=64), existing_nullable=True)
        batch.drop_index("ix_application_certificate_no")
        batch.drop_constraint("application_status_valid", type_="check")
        batch.create_foreign_key("application_state_declared", "scheme_state", ["scheme", "status"],
                                 ["scheme", "state"])
        batch.add_column(sa.Column("review_due", s(length=10), nullable=True))
    op.create_index("ix_application_claim", "application", ["scheme", "claim_key"])
    with op.batch_alter_table("review_decision") as batch:
        batch.add_column(sa.Column("superseded_at", s(length=32), nullable=True))
    op.add_column("payment", sa.Column("purpose", s(length=32), nullable=False, server_default="award"))
    op.drop_index("ux_payment_live_once", table_name="payment")
    op.create_index("ux_payment_live_once", "payment", ["application_id", "purpose"], unique=True,
                    sqlite_where=sa.text("status <> 'failed'"), postgresql_where=sa.text("status <> 'failed'"))
    op.add_column("payment_release", sa.Column("purpose", s(length=32), nullable=False, server_default="award"))
    with op.batch_alter_table("payment_release", recreate="always" if sqlite else "auto") as batch:
        batch.drop_constraint("release_once_per_attempt", type_="unique")
        batch.create_unique_constraint("release_once_per_attempt", ["application_id", "purpose", "attempt"])


def downgrade() -> None:
    with op.batch_alter_table("payment_release", recreate="always") as batch:
        batch.drop_constraint("release_once_per_attempt", type_="unique")
        batch.create_unique_constraint("release_once_per_attempt", ["application_id", "attempt"])
        batch.drop_column("purpose")
    op.drop_index("ux_payment_live_once", table_name="payment")
    op.create_index("ux_payment_live_once", "payment", ["application_id"], unique=True,
                    sqlite_where=sa.text("status <> 'failed'"), postgresql_where=sa.text("status <> 'failed'"))
    with op.batch_alter_table("payment") as batch:
        batch.drop_column("purpose")
    with op.batch_alter_table("review_decision") as batch:
        batch.drop_column("superseded_at")
    with op.batch_alter_table("application", recreate="always") as batch:
        batch.drop_column("review_due")
        batch.drop_constraint("application_state_declared", type_="foreignkey")
        batch.drop_index("ix_application_claim")
        batch.alter_column("claim_key", new_column_name="certificate_no", type_=sa.String(length=64))
        batch.create_index("ix_application_certificate_no", ["certificate_no"])
    op.drop_table("escalation")
    op.drop_table("scheme_state")
