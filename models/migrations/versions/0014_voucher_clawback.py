"""Fraud found after settlement (追回, 二(四)13; 三(三) 保障财政资金安全): findings, clawbacks, recoveries.

* fraud_finding: a finding against an agency (what was found, by whom, the expulsion it caused, the vouchers
  it named), append-only;
* voucher_clawback: the receivable opened on a settled voucher (once per voucher), the amount moved from the
  line's paid bucket to its receivable; only recovered_fen changes, upward, never above the amount (CHECK and
  trigger), never deleted;
* voucher_recovery: money recovered with the bank's receipt reference (UNIQUE: recorded once), append-only.

The trigger text is written out here, frozen at this revision.

Revision ID: 0014_voucher_clawback
Revises: 0013_voucher_evaluation
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0014_voucher_clawback"
down_revision = "0013_voucher_evaluation"
branch_labels = None
depends_on = None

_APPEND_ONLY = ("fraud_finding", "voucher_recovery")
_CLAWBACK_FIXED = ("id", "application_id", "finding_id", "payment_id", "year", "line_code", "debtor_uscc",
                   "debtor_name", "amount_fen", "posting_id", "opened_by", "at")
_MSG = "voucher_clawback: only recovered_fen changes, and only upward"


def _sqlite_guards() -> list[str]:
    out = []
    for t in _APPEND_ONLY:
        out.append(f"CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t} "
                   f"BEGIN SELECT RAISE(ABORT, '{t} is append-only: rows are never updated'); END")
        out.append(f"CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t} "
                   f"BEGIN SELECT RAISE(ABORT, '{t} is append-only: rows are never deleted'); END")
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _CLAWBACK_FIXED)
    out.append("CREATE TRIGGER voucher_clawback_no_delete BEFORE DELETE ON voucher_clawback "
               "BEGIN SELECT RAISE(ABORT, 'voucher_clawback rows are never deleted'); END")
    out.append(f"CREATE TRIGGER voucher_clawback_recovered_only BEFORE UPDATE ON voucher_clawback "
               f"WHEN NEW.recovered_fen < OLD.recovered_fen OR {changed} "
               f"BEGIN SELECT RAISE(ABORT, '{_MSG}'); END")
    return out


def _pg_guards() -> list[str]:
    out = []
    for t in _APPEND_ONLY:
        out.append(f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {t} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION ipfund_append_only()")
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in _CLAWBACK_FIXED)
    out.append(f"""CREATE OR REPLACE FUNCTION ipfund_clawback_recovered_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.recovered_fen < OLD.recovered_fen OR {changed} THEN
           RAISE EXCEPTION '{_MSG}';
         END IF;
         RETURN NEW;
       END $$""")
    out.append("CREATE TRIGGER voucher_clawback_recovered_only BEFORE UPDATE ON voucher_clawback "
               "FOR EACH ROW EXECUTE FUNCTION ipfund_clawback_recovered_only()")
    out.append("CREATE TRIGGER voucher_clawback_append_only BEFORE DELETE OR TRUNCATE ON voucher_clawback "
               "FOR EACH STATEMENT EXECUTE FUNCTION ipfund_append_only()")
    return out


def upgrade() -> None:
    s = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "fraud_finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("finding", s(length=1000), nullable=False),
        sa.Column("clause", s(length=32), nullable=False),
        sa.Column("found_by", s(length=64), nullable=False),
        sa.Column("found_on", s(length=10), nullable=False),
        sa.Column("agency_event_id", sa.Integer(), nullable=True),
        sa.Column("detail", s(), nullable=False),
        sa.Column("at", s(length=32), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.ForeignKeyConstraint(["agency_event_id"], ["agency_event.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_fraud_finding_agency_id", "fraud_finding", ["agency_id"])
    op.create_table(
        "voucher_clawback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("line_code", s(length=64), nullable=False),
        sa.Column("debtor_uscc", s(length=18), nullable=False),
        sa.Column("debtor_name", s(length=200), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("recovered_fen", sa.BigInteger(), nullable=False),
        sa.Column("posting_id", sa.Integer(), nullable=False),
        sa.Column("opened_by", s(length=64), nullable=False),
        sa.Column("at", s(length=32), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name="voucher_clawback_positive"),
        sa.CheckConstraint("recovered_fen >= 0 AND recovered_fen <= amount_fen",
                           name="voucher_clawback_recovered_within"),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.ForeignKeyConstraint(["finding_id"], ["fraud_finding.id"]),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"]),
        sa.ForeignKeyConstraint(["posting_id"], ["posting.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("application_id"),
    )
    op.create_index("ix_voucher_clawback_finding_id", "voucher_clawback", ["finding_id"])
    op.create_table(
        "voucher_recovery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clawback_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("receipt_ref", s(length=64), nullable=False),
        sa.Column("received_on", s(length=10), nullable=False),
        sa.Column("recorded_by", s(length=64), nullable=False),
        sa.Column("posting_id", sa.Integer(), nullable=False),
        sa.Column("at", s(length=32), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name="voucher_recovery_positive"),
        sa.ForeignKeyConstraint(["clawback_id"], ["voucher_clawback.id"]),
        sa.ForeignKeyConstraint(["posting_id"], ["posting.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("receipt_ref"),
    )
    op.create_index("ix_voucher_recovery_clawback_id", "voucher_recovery", ["clawback_id"])
    for stmt in (_pg_guards() if op.get_bind().dialect.name == "postgresql" else _sqlite_guards()):
        op.execute(stmt)


def downgrade() -> None:
    for t in ("voucher_recovery", "voucher_clawback", "fraud_finding"):
        op.drop_table(t)  # their triggers go with them
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ipfund_clawback_recovered_only()")
