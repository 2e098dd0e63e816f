"""Custody service vouchers (托管服务券, 二(二)5).

* voucher_contract: a voucher's contract with an accredited agency, its amount and the cover fixed when
  signed (cover <= contract, > 0); one live contract per voucher (a partial unique index); a contract
  ends once (ended_at/ended_by together);
* voucher_redemption: the agency's redemption, once per voucher (UNIQUE), append-only;
* evidence_blob: evidence files keyed by their sha256 (content-addressed, not empty), append-only;
* voucher_evidence: each file of a redemption (kind, name, type, size, hash), append-only;
* agency.bank_name / agency.bank_account: the agency's bank for settlements it is paid (通兑).

The trigger text is written out here, frozen at this revision.

Revision ID: 0011_custody_vouchers
Revises: 0010_agency_registry
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011_custody_vouchers"
down_revision = "0010_agency_registry"
branch_labels = None
depends_on = None

_APPEND_ONLY = ("voucher_redemption", "evidence_blob", "voucher_evidence")
_CONTRACT_FIXED = ("id", "application_id", "agency_id", "service", "contract_fen", "cover_fen", "contracted_on",
                   "contracted_by", "at")


def _sqlite_guards() -> list[str]:
    out = []
    for t in _APPEND_ONLY:
        out.append(f"CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t} "
                   f"BEGIN SELECT RAISE(ABORT, '{t} is append-only: rows are never updated'); END")
        out.append(f"CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t} "
                   f"BEGIN SELECT RAISE(ABORT, '{t} is append-only: rows are never deleted'); END")
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _CONTRACT_FIXED)
    out.append("CREATE TRIGGER voucher_contract_no_delete BEFORE DELETE ON voucher_contract "
               "BEGIN SELECT RAISE(ABORT, 'voucher_contract is append-only: rows are never deleted'); END")
    out.append(f"CREATE TRIGGER voucher_contract_ends_once BEFORE UPDATE ON voucher_contract "
               f"WHEN OLD.ended_at IS NOT NULL OR {changed} "
               "BEGIN SELECT RAISE(ABORT, 'voucher_contract is append-only: only its end is recorded, once'); END")
    return out


def _pg_guards() -> list[str]:
    out = []
    for t in _APPEND_ONLY:
        out.append(f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {t} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION ipfund_append_only()")
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in _CONTRACT_FIXED)
    out.append(f"""CREATE OR REPLACE FUNCTION ipfund_contract_ends_once() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF OLD.ended_at IS NOT NULL OR {changed} THEN
           RAISE EXCEPTION 'voucher_contract is append-only: only its end is recorded, once';
         END IF;
         RETURN NEW;
       END $$""")
    out.append("CREATE TRIGGER voucher_contract_ends_once BEFORE UPDATE ON voucher_contract "
               "FOR EACH ROW EXECUTE FUNCTION ipfund_contract_ends_once()")
    out.append("CREATE TRIGGER voucher_contract_append_only BEFORE DELETE OR TRUNCATE ON voucher_contract "
               "FOR EACH STATEMENT EXECUTE FUNCTION ipfund_append_only()")
    return out


def upgrade() -> None:
    s = sqlmodel.sql.sqltypes.AutoString
    with op.batch_alter_table("agency") as b:
        b.add_column(sa.Column("bank_name", s(length=100), nullable=True))
        b.add_column(sa.Column("bank_account", s(length=32), nullable=True))
    op.create_table(
        "voucher_contract",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("service", s(length=32), nullable=False),
        sa.Column("contract_fen", sa.BigInteger(), nullable=False),
        sa.Column("cover_fen", sa.BigInteger(), nullable=False),
        sa.Column("contracted_on", s(length=10), nullable=False),
        sa.Column("contracted_by", s(length=64), nullable=False),
        sa.Column("at", s(length=32), nullable=False),
        sa.Column("ended_at", s(length=32), nullable=True),
        sa.Column("ended_by", s(length=64), nullable=True),
        sa.Column("ended_reason", s(length=400), nullable=True),
        sa.CheckConstraint("contract_fen > 0", name="voucher_contract_positive"),
        sa.CheckConstraint("cover_fen > 0 AND cover_fen <= contract_fen", name="voucher_cover_within_contract"),
        sa.CheckConstraint("(ended_at IS NULL) = (ended_by IS NULL)", name="voucher_contract_ended_by_whom"),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ux_voucher_contract_live", "voucher_contract", ["application_id"], unique=True,
                    sqlite_where=sa.text("ended_at IS NULL"), postgresql_where=sa.text("ended_at IS NULL"))
    op.create_index("ix_voucher_contract_agency", "voucher_contract", ["agency_id", "ended_at"])
    op.create_table(
        "voucher_redemption",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("redeemed_on", s(length=10), nullable=False),
        sa.Column("redeemed_by", s(length=64), nullable=False),
        sa.Column("at", s(length=32), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name="voucher_redemption_positive"),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.ForeignKeyConstraint(["contract_id"], ["voucher_contract.id"]),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("application_id"),
    )
    op.create_table(
        "evidence_blob",
        sa.Column("sha256", s(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("size_bytes > 0", name="evidence_not_empty"),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "voucher_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("redemption_id", sa.Integer(), nullable=False),
        sa.Column("kind", s(length=16), nullable=False),
        sa.Column("filename", s(length=260), nullable=False),
        sa.Column("media_type", s(length=16), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", s(length=64), nullable=False),
        sa.ForeignKeyConstraint(["redemption_id"], ["voucher_redemption.id"]),
        sa.ForeignKeyConstraint(["sha256"], ["evidence_blob.sha256"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_voucher_evidence_redemption_id", "voucher_evidence", ["redemption_id"])
    for stmt in (_pg_guards() if op.get_bind().dialect.name == "postgresql" else _sqlite_guards()):
        op.execute(stmt)


def downgrade() -> None:
    for t in ("voucher_evidence", "evidence_blob", "voucher_redemption", "voucher_contract"):
        op.drop_table(t)  # their triggers go with them
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ipfund_contract_ends_once()")
    with op.batch_alter_table("agency") as b:
        b.drop_column("bank_account")
        b.drop_column("bank_name")
