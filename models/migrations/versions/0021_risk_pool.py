"""The risk-compensation pool (风险补偿资金池, 二(三)7): its records beside its ledger accounts.

* pool_contribution: a fund source's contribution (amount > 0, reference once), append-only;
* pool_filing: a loan filed into the pool (covered amount > 0), append-only;
* pool_revocation: a filing's revocation with a reason, once per filing, append-only;
* pool_claim: a bank's claim on a covered loan; its facts never change, the decision, the provisional
  payment and the settlement are each written once, in order (claimed → approved | rejected → paid →
  settled), and a claim is never deleted; one live (not rejected) claim per filing.

The pool balance itself is the ledger account ``pool:balance`` (year 0, the standing fund), whose
``account_not_negative`` CHECK refuses it below zero. The trigger text is written out here, frozen at
this revision.

Revision ID: 0021_risk_pool
Revises: 0019_desk_sessions
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0021_risk_pool"
down_revision = "0020_subsidy_claims"
branch_labels = None
depends_on = None

_APPEND_ONLY = ("pool_contribution", "pool_filing", "pool_revocation")
_FIXED = ("id", "ref", "filing_id", "loan_id", "bank_id", "defaulted_on", "claimed_on", "outstanding_fen",
          "loss_fen", "pool_due_fen", "parts", "claimed_by", "claimed_at")
_ONCE = (("decided_by", "decided_at", "decision_reason"),
         ("paid_fen", "bound", "borne", "trace", "paid_by", "paid_at", "paid_posting_id"),
         ("recovered_fen", "pool_recovered_fen", "recovery_parts", "recovery_receipt", "settled_by", "settled_at",
          "settled_posting_id"))
_MOVES = (("claimed", "approved"), ("claimed", "rejected"), ("approved", "paid"), ("paid", "settled"))
_MSG = "pool_claim moves only forward (claimed, approved or rejected, paid, settled); its facts are fixed"


def _bad(new: str, old: str, distinct: str) -> str:
    fixed = " OR ".join(f"{new}.{c} {distinct} {old}.{c}" for c in _FIXED)
    once = " OR ".join(f"({old}.{c} IS NOT NULL AND {new}.{c} {distinct} {old}.{c})" for group in _ONCE for c in group)
    moves = " OR ".join(f"({old}.status = '{a}' AND {new}.status = '{b}')" for a, b in _MOVES)
    return f"{fixed} OR {once} OR ({new}.status {distinct} {old}.status AND NOT ({moves}))"


def _sqlite_guards() -> list[str]:
    out = []
    for t in _APPEND_ONLY:
        out.append(f"CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t} "
                   f"BEGIN SELECT RAISE(ABORT, '{t} is append-only: rows are never updated'); END")
        out.append(f"CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t} "
                   f"BEGIN SELECT RAISE(ABORT, '{t} is append-only: rows are never deleted'); END")
    out.append("CREATE TRIGGER pool_claim_no_delete BEFORE DELETE ON pool_claim "
               "BEGIN SELECT RAISE(ABORT, 'pool_claim is append-only: rows are never deleted'); END")
    out.append(f"CREATE TRIGGER pool_claim_forward BEFORE UPDATE ON pool_claim WHEN {_bad('NEW', 'OLD', 'IS NOT')} "
               f"BEGIN SELECT RAISE(ABORT, '{_MSG}'); END")
    return out


def _pg_guards() -> list[str]:
    out = []
    for t in _APPEND_ONLY:
        out.append(f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {t} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION ipfund_append_only()")
    out.append(f"""CREATE OR REPLACE FUNCTION ipfund_pool_claim_forward() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF {_bad('NEW', 'OLD', 'IS DISTINCT FROM')} THEN
           RAISE EXCEPTION '{_MSG}';
         END IF;
         RETURN NEW;
       END $$""")
    out.append("CREATE TRIGGER pool_claim_forward BEFORE UPDATE ON pool_claim "
               "FOR EACH ROW EXECUTE FUNCTION ipfund_pool_claim_forward()")
    out.append("CREATE TRIGGER pool_claim_append_only BEFORE DELETE OR TRUNCATE ON pool_claim "
               "FOR EACH STATEMENT EXECUTE FUNCTION ipfund_append_only()")
    return out


def upgrade() -> None:
    s = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "pool_contribution",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", s(length=16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("received_on", s(length=10), nullable=False),
        sa.Column("reference", s(length=64), nullable=False),
        sa.Column("posting_id", sa.Integer(), nullable=False),
        sa.Column("actor", s(length=64), nullable=False),
        sa.Column("at", s(length=32), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name="pool_contribution_positive"),
        sa.CheckConstraint("source IN ('central', 'municipal', 'district', 'social')",
                           name="pool_contribution_source_valid"),
        sa.ForeignKeyConstraint(["posting_id"], ["posting.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference", name="pool_contribution_reference_once"),
    )
    op.create_table(
        "pool_filing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("filed_on", s(length=10), nullable=False),
        sa.Column("covered_fen", sa.BigInteger(), nullable=False),
        sa.Column("filed_by", s(length=64), nullable=False),
        sa.Column("at", s(length=32), nullable=False),
        sa.CheckConstraint("covered_fen > 0", name="pool_filing_covered_positive"),
        sa.ForeignKeyConstraint(["bank_id"], ["bank.id"]),
        sa.ForeignKeyConstraint(["loan_id"], ["pledge_loan.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pool_filing_loan", "pool_filing", ["loan_id", "id"])
    op.create_table(
        "pool_revocation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filing_id", sa.Integer(), nullable=False),
        sa.Column("revoked_on", s(length=10), nullable=False),
        sa.Column("reason", s(length=1000), nullable=False),
        sa.Column("actor", s(length=64), nullable=False),
        sa.Column("at", s(length=32), nullable=False),
        sa.ForeignKeyConstraint(["filing_id"], ["pool_filing.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("filing_id", name="pool_revocation_once"),
    )
    op.create_table(
        "pool_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", s(length=32), nullable=False),
        sa.Column("filing_id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("defaulted_on", s(length=10), nullable=False),
        sa.Column("claimed_on", s(length=10), nullable=False),
        sa.Column("outstanding_fen", sa.BigInteger(), nullable=False),
        sa.Column("loss_fen", sa.BigInteger(), nullable=False),
        sa.Column("pool_due_fen", sa.BigInteger(), nullable=False),
        sa.Column("parts", s(length=2000), nullable=False),
        sa.Column("status", s(length=16), nullable=False),
        sa.Column("claimed_by", s(length=64), nullable=False),
        sa.Column("claimed_at", s(length=32), nullable=False),
        sa.Column("decided_by", s(length=64), nullable=True),
        sa.Column("decided_at", s(length=32), nullable=True),
        sa.Column("decision_reason", s(length=1000), nullable=True),
        sa.Column("paid_fen", sa.BigInteger(), nullable=True),
        sa.Column("bound", s(length=16), nullable=True),
        sa.Column("borne", s(length=2000), nullable=True),
        sa.Column("trace", s(length=8000), nullable=True),
        sa.Column("paid_by", s(length=64), nullable=True),
        sa.Column("paid_at", s(length=32), nullable=True),
        sa.Column("paid_posting_id", sa.Integer(), nullable=True),
        sa.Column("recovered_fen", sa.BigInteger(), nullable=True),
        sa.Column("pool_recovered_fen", sa.BigInteger(), nullable=True),
        sa.Column("recovery_parts", s(length=2000), nullable=True),
        sa.Column("recovery_receipt", s(length=64), nullable=True),
        sa.Column("settled_by", s(length=64), nullable=True),
        sa.Column("settled_at", s(length=32), nullable=True),
        sa.Column("settled_posting_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('claimed', 'approved', 'rejected', 'paid', 'settled')",
                           name="pool_claim_status_valid"),
        sa.CheckConstraint("loss_fen > 0 AND outstanding_fen >= loss_fen", name="pool_claim_loss"),
        sa.CheckConstraint("pool_due_fen >= 0 AND pool_due_fen <= loss_fen", name="pool_claim_due"),
        sa.CheckConstraint("claimed_on >= defaulted_on", name="pool_claim_after_default"),
        sa.CheckConstraint("(status IN ('paid', 'settled')) = (paid_fen IS NOT NULL)", name="pool_claim_paid_when"),
        sa.CheckConstraint("paid_fen IS NULL OR (paid_fen > 0 AND paid_fen <= pool_due_fen)", name="pool_claim_paid"),
        sa.CheckConstraint("(status = 'settled') = (recovered_fen IS NOT NULL)", name="pool_claim_settled_when"),
        sa.CheckConstraint("recovered_fen IS NULL OR (recovered_fen >= 0 AND recovered_fen <= loss_fen "
                           "AND pool_recovered_fen >= 0 AND pool_recovered_fen <= paid_fen)",
                           name="pool_claim_recovery"),
        sa.CheckConstraint("(status = 'claimed') = (decided_by IS NULL)", name="pool_claim_decided_when"),
        sa.ForeignKeyConstraint(["bank_id"], ["bank.id"]),
        sa.ForeignKeyConstraint(["filing_id"], ["pool_filing.id"]),
        sa.ForeignKeyConstraint(["loan_id"], ["pledge_loan.id"]),
        sa.ForeignKeyConstraint(["paid_posting_id"], ["posting.id"]),
        sa.ForeignKeyConstraint(["settled_posting_id"], ["posting.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ref", name="pool_claim_ref_once"),
    )
    op.create_index("ix_pool_claim_bank", "pool_claim", ["bank_id", "status"])
    op.create_index("ux_pool_claim_live", "pool_claim", ["filing_id"], unique=True,
                    sqlite_where=sa.text("status <> 'rejected'"), postgresql_where=sa.text("status <> 'rejected'"))
    for stmt in (_pg_guards() if op.get_bind().dialect.name == "postgresql" else _sqlite_guards()):
        op.execute(stmt)


def downgrade() -> None:
    for t in ("pool_claim", "pool_revocation", "pool_filing", "pool_contribution"):
        op.drop_table(t)  # their triggers go with them
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ipfund_pool_claim_forward()")
