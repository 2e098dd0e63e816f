"""The IP-pledge loan registry (知识产权质押融资, 二(三)7).

* bank: a lending bank (credit code, name, tier standard|assessed, state active|suspended);
* bank_event: every change of a bank (added, suspended, reinstated, tier), append-only;
* pledge_loan: a loan as its bank registered it — principal > 0 fen, IP share in (0, 1] (ppm), maturity
  after drawdown, pledge registered on or before the drawdown, one loan per (bank, reference); the terms
  never change: only extended_to moves (through loan_extension), and only later;
* loan_extension: each extension (展期), append-only;
* loan_receipt: interest and principal receipts, one per (bank, receipt reference), amount > 0,
  append-only.

The trigger text is written out here, frozen at this revision.

Revision ID: 0018_pledge_loans
Revises: 0016_round_settlement_mode
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0018_pledge_loans"
down_revision = "0016_round_settlement_mode"
branch_labels = None
depends_on = None

_APPEND_ONLY = ("bank_event", "loan_extension", "loan_receipt")
_LOAN_FIXED = ("id", "bank_id", "ref", "borrower_id", "principal_fen", "rate", "drawdown", "maturity", "pledged_ip",
               "pledge_reg_no", "pledge_reg_date", "ip_share_ppm", "cover_kind", "cover_party", "cover_share_ppm",
               "declared_first", "first_loan", "first_basis", "registered_by", "registered_at")
_MSG = "pledge_loan terms are fixed: only extended_to moves, and only later"


def _sqlite_guards() -> list[str]:
    out = []
    for t in _APPEND_ONLY:
        out.append(f"CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t} "
                   f"BEGIN SELECT RAISE(ABORT, '{t} is append-only: rows are never updated'); END")
        out.append(f"CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t} "
                   f"BEGIN SELECT RAISE(ABORT, '{t} is append-only: rows are never deleted'); END")
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _LOAN_FIXED)
    out.append("CREATE TRIGGER pledge_loan_no_delete BEFORE DELETE ON pledge_loan "
               "BEGIN SELECT RAISE(ABORT, 'pledge_loan is append-only: rows are never deleted'); END")
    out.append(f"CREATE TRIGGER pledge_loan_terms_fixed BEFORE UPDATE ON pledge_loan "
               f"WHEN {changed} OR NEW.extended_to IS NULL "
               f"OR (OLD.extended_to IS NOT NULL AND NEW.extended_to <= OLD.extended_to) "
               f"BEGIN SELECT RAISE(ABORT, '{_MSG}'); END")
    return out


def _pg_guards() -> list[str]:
    out = []
    for t in _APPEND_ONLY:
        out.append(f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {t} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION ipfund_append_only()")
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in _LOAN_FIXED)
    out.append(f"""CREATE OR REPLACE FUNCTION ipfund_loan_terms_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF {changed} OR NEW.extended_to IS NULL
            OR (OLD.extended_to IS NOT NULL AND NEW.extended_to <= OLD.extended_to) THEN
           RAISE EXCEPTION '{_MSG}';
         END IF;
         RETURN NEW;
       END $$""")
    out.append("CREATE TRIGGER pledge_loan_terms_fixed BEFORE UPDATE ON pledge_loan "
               "FOR EACH ROW EXECUTE FUNCTION ipfund_loan_terms_fixed()")
    out.append("CREATE TRIGGER pledge_loan_append_only BEFORE DELETE OR TRUNCATE ON pledge_loan "
               "FOR EACH STATEMENT EXECUTE FUNCTION ipfund_append_only()")
    return out


def upgrade() -> None:
    s = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "bank",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uscc", s(length=18), nullable=False),
        sa.Column("name", s(length=200), nullable=False),
        sa.Column("tier", s(length=16), nullable=False),
        sa.Column("state", s(length=16), nullable=False),
        sa.Column("created_at", s(length=32), nullable=False),
        sa.Column("state_at", s(length=32), nullable=False),
        sa.CheckConstraint("state IN ('active', 'suspended')", name="bank_state_valid"),
        sa.CheckConstraint("tier IN ('standard', 'assessed')", name="bank_tier_valid"),
        sa.CheckConstraint("length(uscc) = 18", name="bank_uscc_len"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bank_uscc", "bank", ["uscc"], unique=True)
    op.create_table(
        "bank_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("action", s(length=16), nullable=False),
        sa.Column("from_state", s(length=16), nullable=True),
        sa.Column("to_state", s(length=16), nullable=False),
        sa.Column("tier", s(length=16), nullable=False),
        sa.Column("actor", s(length=64), nullable=False),
        sa.Column("reason", s(length=1000), nullable=False),
        sa.Column("at", s(length=32), nullable=False),
        sa.CheckConstraint("to_state IN ('active', 'suspended')", name="bank_event_to_valid"),
        sa.CheckConstraint("tier IN ('standard', 'assessed')", name="bank_event_tier_valid"),
        sa.ForeignKeyConstraint(["bank_id"], ["bank.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bank_event_bank", "bank_event", ["bank_id", "id"])
    op.create_table(
        "pledge_loan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("ref", s(length=64), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("principal_fen", sa.BigInteger(), nullable=False),
        sa.Column("rate", s(length=16), nullable=False),
        sa.Column("drawdown", s(length=10), nullable=False),
        sa.Column("maturity", s(length=10), nullable=False),
        sa.Column("extended_to", s(length=10), nullable=True),
        sa.Column("pledged_ip", s(length=2000), nullable=False),
        sa.Column("pledge_reg_no", s(length=64), nullable=False),
        sa.Column("pledge_reg_date", s(length=10), nullable=False),
        sa.Column("ip_share_ppm", sa.Integer(), nullable=False),
        sa.Column("cover_kind", s(length=16), nullable=True),
        sa.Column("cover_party", s(length=200), nullable=True),
        sa.Column("cover_share_ppm", sa.Integer(), nullable=False),
        sa.Column("declared_first", sa.Boolean(), nullable=True),
        sa.Column("first_loan", sa.Boolean(), nullable=False),
        sa.Column("first_basis", s(length=300), nullable=False),
        sa.Column("registered_by", s(length=64), nullable=False),
        sa.Column("registered_at", s(length=32), nullable=False),
        sa.CheckConstraint("principal_fen > 0", name="pledge_loan_principal_positive"),
        sa.CheckConstraint("ip_share_ppm > 0 AND ip_share_ppm <= 1000000", name="pledge_loan_ip_share"),
        sa.CheckConstraint("cover_share_ppm >= 0 AND cover_share_ppm <= 1000000", name="pledge_loan_cover_share"),
        sa.CheckConstraint("(cover_kind IS NULL) = (cover_share_ppm = 0)", name="pledge_loan_cover_whole"),
        sa.CheckConstraint("cover_kind IS NULL OR cover_kind IN ('insurance', 'guarantee')",
                           name="pledge_loan_cover_kind"),
        sa.CheckConstraint("maturity > drawdown", name="pledge_loan_maturity_after_drawdown"),
        sa.CheckConstraint("pledge_reg_date <= drawdown", name="pledge_loan_pledge_before_drawdown"),
        sa.CheckConstraint("extended_to IS NULL OR extended_to > maturity", name="pledge_loan_extension_later"),
        sa.ForeignKeyConstraint(["bank_id"], ["bank.id"]),
        sa.ForeignKeyConstraint(["borrower_id"], ["applicant.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bank_id", "ref", name="pledge_loan_bank_ref"),
    )
    op.create_index("ix_pledge_loan_borrower", "pledge_loan", ["borrower_id", "drawdown"])
    op.create_table(
        "loan_extension",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("from_date", s(length=10), nullable=False),
        sa.Column("to_date", s(length=10), nullable=False),
        sa.Column("actor", s(length=64), nullable=False),
        sa.Column("at", s(length=32), nullable=False),
        sa.CheckConstraint("to_date > from_date", name="loan_extension_later"),
        sa.ForeignKeyConstraint(["loan_id"], ["pledge_loan.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_loan_extension_loan", "loan_extension", ["loan_id", "id"])
    op.create_table(
        "loan_receipt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("receipt", s(length=64), nullable=False),
        sa.Column("kind", s(length=16), nullable=False),
        sa.Column("period_start", s(length=10), nullable=True),
        sa.Column("period_end", s(length=10), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("recorded_by", s(length=64), nullable=False),
        sa.Column("at", s(length=32), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name="loan_receipt_amount_positive"),
        sa.CheckConstraint("kind IN ('normal', 'overdue', 'surcharge', 'penalty', 'principal')",
                           name="loan_receipt_kind_valid"),
        sa.CheckConstraint("(kind = 'principal') = (period_start IS NULL)", name="loan_receipt_period_for_interest"),
        sa.CheckConstraint("period_start IS NULL OR period_end > period_start", name="loan_receipt_period_order"),
        sa.ForeignKeyConstraint(["bank_id"], ["bank.id"]),
        sa.ForeignKeyConstraint(["loan_id"], ["pledge_loan.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bank_id", "receipt", name="loan_receipt_once_per_bank"),
    )
    op.create_index("ix_loan_receipt_loan", "loan_receipt", ["loan_id", "kind"])
    for stmt in (_pg_guards() if op.get_bind().dialect.name == "postgresql" else _sqlite_guards()):
        op.execute(stmt)


def downgrade() -> None:
    for t in ("loan_receipt", "loan_extension", "pledge_loan", "bank_event", "bank"):
        op.drop_table(t)  # their triggers go with them
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ipfund_loan_terms_fixed()")
