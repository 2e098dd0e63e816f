"""The risk-compensation pool (风险补偿资金池, 二(三)7) as records beside its ledger accounts.

The pool's money is on the ledger (models/ledger.py), in the standing fund's own ledger year
:data:`POOL_YEAR` (the pool rolls over from year to year; it is no year's appropriation): the account
``pool:balance`` (the database's CHECK refuses it below zero, like any line), with its counterparts
``external:pool:<source>`` (what each fund source contributed) and ``external:pool:bank:<credit code>``
(what the pool paid each bank, less the pool's part of recoveries returned). These tables say why each
posting was made:

* pool_contribution: a contribution of one fund source, with its reference (once), append-only;
* pool_filing: a loan filed into the pool on a date with the amount it covers (the principal on the IP
  share), append-only; pool_revocation: its revocation with a reason (once per filing), append-only;
* pool_claim: a bank's claim on a covered loan that defaulted — its facts (default and claim dates, the
  outstanding principal, the loss and each party's part) never change; the decision, the provisional payment
  and the settlement after disposal are filled in once each, in that order, and never undone.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from rules.funds import SOURCES

POOL_YEAR = 0  # the ledger year of the standing fund (not a fiscal year: the pool rolls over)
POOL_ACCOUNT = "pool:balance"
CLAIM_STATES = ("claimed", "approved", "rejected", "paid", "settled")
CLAIM_FIXED = ("id", "ref", "filing_id", "loan_id", "bank_id", "defaulted_on", "claimed_on", "outstanding_fen",
               "loss_fen", "pool_due_fen", "parts", "claimed_by", "claimed_at")


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN ({', '.join(repr(v) for v in values)})"


class PoolContribution(SQLModel, table=True):
    __tablename__ = "pool_contribution"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="pool_contribution_positive"),
        CheckConstraint(_in("source", SOURCES), name="pool_contribution_source_valid"),
        UniqueConstraint("reference", name="pool_contribution_reference_once"),
    )
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16)
    amount_fen: int = Field(sa_type=BigInteger)
    received_on: str = Field(max_length=10)
    reference: str = Field(max_length=64)
    posting_id: int = Field(foreign_key="posting.id")
    actor: str = Field(max_length=64)
    at: str = Field(max_length=32)


class PoolFiling(SQLModel, table=True):
    __tablename__ = "pool_filing"
    __table_args__ = (
        CheckConstraint("covered_fen > 0", name="pool_filing_covered_positive"),
        Index("ix_pool_filing_loan", "loan_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="pledge_loan.id")
    bank_id: int = Field(foreign_key="bank.id")
    filed_on: str = Field(max_length=10)
    covered_fen: int = Field(sa_type=BigInteger)
    filed_by: str = Field(max_length=64)
    at: str = Field(max_length=32)


class PoolRevocation(SQLModel, table=True):
    __tablename__ = "pool_revocation"
    __table_args__ = (UniqueConstraint("filing_id", name="pool_revocation_once"),)
    id: int | None = Field(default=None, primary_key=True)
    filing_id: int = Field(foreign_key="pool_filing.id")
    revoked_on: str = Field(max_length=10)
    reason: str = Field(max_length=1000)
    actor: str = Field(max_length=64)
    at: str = Field(max_length=32)


class PoolClaim(SQLModel, table=True):
    __tablename__ = "pool_claim"
    __table_args__ = (
        UniqueConstraint("ref", name="pool_claim_ref_once"),
        CheckConstraint(_in("status", CLAIM_STATES), name="pool_claim_status_valid"),
        CheckConstraint("loss_fen > 0 AND outstanding_fen >= loss_fen", name="pool_claim_loss"),
        CheckConstraint("pool_due_fen >= 0 AND pool_due_fen <= loss_fen", name="pool_claim_due"),
        CheckConstraint("claimed_on >= defaulted_on", name="pool_claim_after_default"),
        CheckConstraint("(status IN ('paid', 'settled')) = (paid_fen IS NOT NULL)", name="pool_claim_paid_when"),
        CheckConstraint("paid_fen IS NULL OR (paid_fen > 0 AND paid_fen <= pool_due_fen)", name="pool_claim_paid"),
        CheckConstraint("(status = 'settled') = (recovered_fen IS NOT NULL)", name="pool_claim_settled_when"),
        CheckConstraint("recovered_fen IS NULL OR (recovered_fen >= 0 AND recovered_fen <= loss_fen "
                        "AND pool_recovered_fen >= 0 AND pool_recovered_fen <= paid_fen)", name="pool_claim_recovery"),
        CheckConstraint("(status = 'claimed') = (decided_by IS NULL)", name="pool_claim_decided_when"),
        Index("ux_pool_claim_live", "filing_id", unique=True,
              sqlite_where=text("status <> 'rejected'"), postgresql_where=text("status <> 'rejected'")),
        Index("ix_pool_claim_bank", "bank_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=32)
    filing_id: int = Field(foreign_key="pool_filing.id")
    loan_id: int = Field(foreign_key="pledge_loan.id")
    bank_id: int = Field(foreign_key="bank.id")
    defaulted_on: str = Field(max_length=10)
    claimed_on: str = Field(max_length=10)
    outstanding_fen: int = Field(sa_type=BigInteger)
    loss_fen: int = Field(sa_type=BigInteger)
    pool_due_fen: int = Field(sa_type=BigInteger)  # the pool parties' parts, within the per-loan cap
    parts: str = Field(max_length=2000)  # JSON: party -> fen, summing to loss_fen
    status: str = Field(max_length=16)
    claimed_by: str = Field(max_length=64)
    claimed_at: str = Field(max_length=32)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: str | None = Field(default=None, max_length=32)
    decision_reason: str | None = Field(default=None, max_length=1000)
    paid_fen: int | None = Field(default=None, sa_type=BigInteger)
    bound: str | None = Field(default=None, max_length=16)  # share | cap | balance
    borne: str | None = Field(default=None, max_length=2000)  # JSON: party -> fen finally borne (sums to loss_fen)
    trace: str | None = Field(default=None, max_length=8000)  # JSON: the computation's steps at payment
    paid_by: str | None = Field(default=None, max_length=64)
    paid_at: str | None = Field(default=None, max_length=32)
    paid_posting_id: int | None = Field(default=None, foreign_key="posting.id")
    recovered_fen: int | None = Field(default=None, sa_type=BigInteger)
    pool_recovered_fen: int | None = Field(default=None, sa_type=BigInteger)
    recovery_parts: str | None = Field(default=None, max_length=2000)
    recovery_receipt: str | None = Field(default=None, max_length=64)
    settled_by: str | None = Field(default=None, max_length=64)
    settled_at: str | None = Field(default=None, max_length=32)
    settled_posting_id: int | None = Field(default=None, foreign_key="posting.id")
