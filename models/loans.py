"""The IP-pledge loan registry (二(三)7): banks, their loans, extensions and receipts.

Amounts are integer fen, shares integer millionths (ppm), rates exact decimal text, dates ISO text. The
database itself refuses what cannot be right: a principal of 0 fen or less, an IP share outside (0, 1],
maturity on or before the drawdown, a pledge registered after the drawdown, two loans under one (bank,
reference), a receipt reference used twice by one bank. Events, extensions and receipts are append-only,
and a loan's terms never change (only its extension date moves, through loan_extension).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from rules.loans import BANK_STATES, BANK_TIERS, COVER_KINDS, RECEIPT_KINDS


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN ({', '.join(repr(v) for v in values)})"


class Bank(SQLModel, table=True):
    """A lending bank (a kind of organisation, like an agency): its staff hold the role ``bank`` with the
    bank's credit code as their affiliation. ``state`` and ``tier`` are those of its last bank_event."""

    __tablename__ = "bank"
    __table_args__ = (
        CheckConstraint(_in("state", BANK_STATES), name="bank_state_valid"),
        CheckConstraint(_in("tier", BANK_TIERS), name="bank_tier_valid"),
        CheckConstraint("length(uscc) = 18", name="bank_uscc_len"),
    )
    id: int | None = Field(default=None, primary_key=True)
    uscc: str = Field(max_length=18, unique=True, index=True)
    name: str = Field(max_length=200)
    tier: str = Field(max_length=16)
    state: str = Field(max_length=16)
    created_at: str = Field(max_length=32)
    state_at: str = Field(max_length=32)
    # Where the bank itself is paid (the 首贷 reward, 二(三)7): recorded by an admin (`ipfund bank account`).
    bank_name: str | None = Field(default=None, max_length=100)
    bank_account: str | None = Field(default=None, max_length=32)


class BankEvent(SQLModel, table=True):
    """Every change of a bank (added, suspended, reinstated, tier), append-only."""

    __tablename__ = "bank_event"
    __table_args__ = (
        CheckConstraint(_in("to_state", BANK_STATES), name="bank_event_to_valid"),
        CheckConstraint(_in("tier", BANK_TIERS), name="bank_event_tier_valid"),
        Index("ix_bank_event_bank", "bank_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    bank_id: int = Field(foreign_key="bank.id")
    action: str = Field(max_length=16)
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str = Field(max_length=16)
    tier: str = Field(max_length=16)
    actor: str = Field(max_length=64)
    reason: str = Field(max_length=1000)
    at: str = Field(max_length=32)


class PledgeLoan(SQLModel, table=True):
    """An IP-pledge loan as its bank registered it, with how its first-loan (首贷) flag was decided."""

    __tablename__ = "pledge_loan"
    __table_args__ = (
        UniqueConstraint("bank_id", "ref", name="pledge_loan_bank_ref"),
        CheckConstraint("principal_fen > 0", name="pledge_loan_principal_positive"),
        CheckConstraint("ip_share_ppm > 0 AND ip_share_ppm <= 1000000", name="pledge_loan_ip_share"),
        CheckConstraint("cover_share_ppm >= 0 AND cover_share_ppm <= 1000000", name="pledge_loan_cover_share"),
        CheckConstraint("(cover_kind IS NULL) = (cover_share_ppm = 0)", name="pledge_loan_cover_whole"),
        CheckConstraint(f"cover_kind IS NULL OR {_in('cover_kind', COVER_KINDS)}", name="pledge_loan_cover_kind"),
        CheckConstraint("maturity > drawdown", name="pledge_loan_maturity_after_drawdown"),
        CheckConstraint("pledge_reg_date <= drawdown", name="pledge_loan_pledge_before_drawdown"),
        CheckConstraint("extended_to IS NULL OR extended_to > maturity", name="pledge_loan_extension_later"),
        Index("ix_pledge_loan_borrower", "borrower_id", "drawdown"),
    )
    id: int | None = Field(default=None, primary_key=True)
    bank_id: int = Field(foreign_key="bank.id")
    ref: str = Field(max_length=64)
    borrower_id: int = Field(foreign_key="applicant.id")
    principal_fen: int = Field(sa_type=BigInteger)
    rate: str = Field(max_length=16)
    drawdown: str = Field(max_length=10)
    maturity: str = Field(max_length=10)
    extended_to: str | None = Field(default=None, max_length=10)
    pledged_ip: str = Field(max_length=2000)
    pledge_reg_no: str = Field(max_length=64)
    pledge_reg_date: str = Field(max_length=10)
    ip_share_ppm: int
    cover_kind: str | None = Field(default=None, max_length=16)
    cover_party: str | None = Field(default=None, max_length=200)
    cover_share_ppm: int = 0
    declared_first: bool | None = None
    first_loan: bool
    first_basis: str = Field(max_length=300)
    registered_by: str = Field(max_length=64)
    registered_at: str = Field(max_length=32)


class LoanExtension(SQLModel, table=True):
    """An extension (展期) of a loan's maturity, append-only."""

    __tablename__ = "loan_extension"
    __table_args__ = (
        CheckConstraint("to_date > from_date", name="loan_extension_later"),
        Index("ix_loan_extension_loan", "loan_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="pledge_loan.id")
    from_date: str = Field(max_length=10)
    to_date: str = Field(max_length=10)
    actor: str = Field(max_length=64)
    at: str = Field(max_length=32)


class LoanReceipt(SQLModel, table=True):
    """A receipt of the bank: interest for a period (kind normal, overdue, surcharge or penalty: start
    inclusive, end exclusive — 算头不算尾) or principal repaid on a day (kind principal), append-only."""

    __tablename__ = "loan_receipt"
    __table_args__ = (
        UniqueConstraint("bank_id", "receipt", name="loan_receipt_once_per_bank"),
        CheckConstraint("amount_fen > 0", name="loan_receipt_amount_positive"),
        CheckConstraint(_in("kind", RECEIPT_KINDS), name="loan_receipt_kind_valid"),
        CheckConstraint("(kind = 'principal') = (period_start IS NULL)", name="loan_receipt_period_for_interest"),
        CheckConstraint("period_start IS NULL OR period_end > period_start", name="loan_receipt_period_order"),
        Index("ix_loan_receipt_loan", "loan_id", "kind"),
    )
    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="pledge_loan.id")
    bank_id: int = Field(foreign_key="bank.id")
    receipt: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    period_start: str | None = Field(default=None, max_length=10)
    period_end: str = Field(max_length=10)  # interest: the period's end; principal: the day it was repaid
    amount_fen: int = Field(sa_type=BigInteger)
    recorded_by: str = Field(max_length=64)
    at: str = Field(max_length=32)
