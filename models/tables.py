"""SQLModel tables. Amounts are integer fen with CHECK constraints; timestamps are UTC ISO-8601 text
(so the audit chain hashes exactly what is stored, on every database)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from rules.agencies import STATES as AGENCY_STATES  # the one list of agency states
from rules.funds import SOURCES as FUND_SOURCES  # the one list of fund sources

APPLICANT_KINDS = ("enterprise", "university", "institute")
# Settlement modes a round of a scheme with payment.payee_mode records (二(二)5): 通兑 pays the agency, 通用
# reimburses the enterprise. The policy's choice parameter offers a subset of these.
SETTLEMENT_MODES = ("agency", "enterprise")


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN ({', '.join(repr(v) for v in values)})"


class Setting(SQLModel, table=True):
    __tablename__ = "setting"
    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=400)


class User(SQLModel, table=True):
    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True, index=True)
    display_name: str = Field(max_length=128)
    roles: str = Field(max_length=200, description="comma-separated role names")
    affiliation: str | None = Field(default=None, max_length=128,
                                    description="organisation: an applicant's credit code or a firm/bureau name")
    created_at: str = Field(max_length=32)

    def role_set(self) -> set[str]:
        return {r for r in self.roles.split(",") if r}


class Applicant(SQLModel, table=True):
    __tablename__ = "applicant"
    __table_args__ = (
        CheckConstraint(_in("kind", APPLICANT_KINDS), name="applicant_kind_valid"),
        CheckConstraint("length(uscc) = 18", name="applicant_uscc_len"),
    )
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    uscc: str = Field(max_length=18, unique=True, index=True)
    kind: str = Field(max_length=16)
    district: str = Field(max_length=6)
    sme: bool = False
    whitelist: bool = False
    created_at: str = Field(max_length=32)
    # The payee's bank (开户银行) and account (账号) for transfers; changes are audited (applicant.bank).
    bank_name: str | None = Field(default=None, max_length=100)
    bank_account: str | None = Field(default=None, max_length=32)


class AuditEvent(SQLModel, table=True):
    """Append-only, hash-chained. No code path updates or deletes a row (triggers refuse it too)."""

    __tablename__ = "audit_event"
    seq: int = Field(primary_key=True)
    at: str = Field(max_length=32)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64)
    subject: str = Field(max_length=128, index=True)
    payload: str
    # No UNIQUE index on the hashes: their keys are random, so at a million events every append dirtied
    # two random B-tree pages (measured: 110 s vs 8 s for 1M events in 1,000-row commits). The chain is
    # proven by verification instead (`ipfund check` after every flow run, `ipfund audit verify`).
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


# --- the fund ledger -------------------------------------------------------------------------

class Receipt(SQLModel, table=True):
    __tablename__ = "receipt"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="receipt_amount_positive"),
        CheckConstraint(_in("source", FUND_SOURCES), name="receipt_source_valid"),
    )
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    source: str = Field(max_length=16)
    amount_fen: int = Field(sa_type=BigInteger)
    reference: str = Field(max_length=200)
    posting_id: int = Field(foreign_key="posting.id")


class BudgetLine(SQLModel, table=True):
    __tablename__ = "budget_line"
    __table_args__ = (UniqueConstraint("year", "code", name="budget_line_year_code"),)
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    tags: str = Field(default="", max_length=200, description="comma-separated: cluster_zone, market_oriented")
    scheme: str | None = Field(default=None, max_length=64)

    def tag_set(self) -> set[str]:
        return {t for t in self.tags.split(",") if t}


class Account(SQLModel, table=True):
    """A ledger account of one fiscal year. ``balance_fen`` is kept by every posting (and re-derived by
    the checker); the CHECK makes the database itself refuse a negative line or source balance."""

    __tablename__ = "account"
    __table_args__ = (
        UniqueConstraint("year", "name", name="account_year_name"),
        CheckConstraint("balance_fen >= 0 OR name LIKE 'external:%'", name="account_not_negative"),
    )
    id: int | None = Field(default=None, primary_key=True)
    year: int
    name: str = Field(max_length=160)
    balance_fen: int = Field(default=0, sa_type=BigInteger)


class Posting(SQLModel, table=True):
    __tablename__ = "posting"
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    kind: str = Field(max_length=32)
    memo: str = Field(max_length=400)
    actor: str = Field(max_length=64)
    at: str = Field(max_length=32)
    subject: str | None = Field(default=None, max_length=128, index=True)
    reverses_id: int | None = Field(default=None, foreign_key="posting.id")


class PostingEntry(SQLModel, table=True):
    __tablename__ = "posting_entry"
    __table_args__ = (CheckConstraint("amount_fen <> 0", name="entry_nonzero"),)
    id: int | None = Field(default=None, primary_key=True)
    posting_id: int = Field(foreign_key="posting.id", index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    amount_fen: int = Field(sa_type=BigInteger)


class BudgetAdjustment(SQLModel, table=True):
    __tablename__ = "budget_adjustment"
    __table_args__ = (CheckConstraint("delta_fen <> 0", name="adjustment_nonzero"),)
    id: int | None = Field(default=None, primary_key=True)
    year: int
    line_code: str = Field(max_length=64)
    source: str = Field(max_length=16)
    delta_fen: int = Field(sa_type=BigInteger)
    reason: str = Field(max_length=400)
    approved_by: str = Field(max_length=64)
    at: str = Field(max_length=32)
    posting_id: int = Field(foreign_key="posting.id")


# --- applications ------------------------------------------------------------------------------

class SchemeState(SQLModel, table=True):
    """Every state a scheme's policy section declares: a case's (scheme, status) must be one of these (a
    foreign key), so the database itself refuses a state the scheme does not declare. Kept in step with
    the policy file by `ipfund init`, every application and advance run, and `ipfund policy sync`."""

    __tablename__ = "scheme_state"
    scheme: str = Field(primary_key=True, max_length=64)
    state: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=64)
    tags: str = Field(default="", max_length=200, description="comma-separated tags (rules.stages.TAGS)")


class Application(SQLModel, table=True):
    __tablename__ = "application"
    __table_args__ = (
        CheckConstraint("award_fen IS NULL OR award_fen > 0", name="application_award_positive"),
        ForeignKeyConstraint(["scheme", "status"], ["scheme_state.scheme", "scheme_state.state"],
                             name="application_state_declared"),
        # Double claims are found by (scheme, claim key): an index lookup, never a scan.
        Index("ix_application_claim", "scheme", "claim_key"),
        # Stage queries read "cases of a scheme in a state, by id" in chunks; the queue reads
        # "cases in a state, oldest first": both are index scans, never sorts of the whole state.
        Index("ix_application_scheme_status", "scheme", "status", "id"),
        Index("ix_application_status_age", "status", "status_at", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=32, unique=True, index=True)
    scheme: str = Field(max_length=64)
    year: int
    applicant_id: int = Field(foreign_key="applicant.id", index=True)
    status: str = Field(max_length=32)
    data: str = Field(description="canonical JSON of what was submitted")
    claim_key: str | None = Field(default=None, max_length=200, description=(
        "the claim-key fields of the form joined (e.g. the certificate number): no double claim"))
    submitted_by: str = Field(max_length=64)
    submitted_at: str = Field(max_length=32)
    status_at: str = Field(max_length=32)
    final_score: str | None = Field(default=None, max_length=16)
    final_score_exact: str | None = Field(default=None, description=(
        "JSON written when the case is scored: the exact final score and criterion sums ranking uses"))
    rank: int | None = None
    outcome: str | None = Field(default=None, max_length=32)
    outcome_reason: str | None = Field(default=None, max_length=400)
    award_fen: int | None = Field(default=None, sa_type=BigInteger)
    line_code: str | None = Field(default=None, max_length=64)
    round_id: int | None = Field(default=None, foreign_key="award_round.id")
    notice_ends: str | None = Field(default=None, max_length=32)
    # The date a review tier's deadline falls on (working days of the policy's calendar), set when the
    # case enters a tier that has one; NULL otherwise.
    review_due: str | None = Field(default=None, max_length=10)


class IntakeCheck(SQLModel, table=True):
    __tablename__ = "intake_check"
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    run: int = 1
    check: str = Field(max_length=64)
    passed: bool
    rule: str = Field(max_length=200)
    clause: str = Field(max_length=32)
    parameter: str | None = Field(default=None, max_length=400)
    detail: str = Field(max_length=400)
    # The computation behind a check that computed an amount (JSON list of trace steps: what, value,
    # parameter, clause, in_force, reference), printed in the case dossier; NULL for a plain check.
    trace: str | None = Field(default=None, sa_type=Text)
    at: str = Field(max_length=32)


class ReviewDecision(SQLModel, table=True):
    __tablename__ = "review_decision"
    __table_args__ = (CheckConstraint(_in("decision", ("approve", "return", "reject")), name="decision_valid"),)
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    stage: str = Field(max_length=32)
    reviewer: str = Field(max_length=64, index=True)
    decision: str = Field(max_length=16)
    reason: str = Field(max_length=1000)
    at: str = Field(max_length=32)
    # A return sends the case back; the approvals before it stay, marked superseded (never deleted).
    superseded_at: str | None = Field(default=None, max_length=32)


class Escalation(SQLModel, table=True):
    """A review task past its deadline (working days of the policy's calendar): recorded once per case,
    tier and entry into the tier, and shown to the role the tier escalates to."""

    __tablename__ = "escalation"
    __table_args__ = (UniqueConstraint("application_id", "tier", "since", name="escalation_once"),)
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id")
    tier: str = Field(max_length=32)
    since: str = Field(max_length=32, description="when the case entered the tier")
    due: str = Field(max_length=10, description="the deadline (a date)")
    to_role: str = Field(max_length=16)
    at: str = Field(max_length=32)


class EvaluatorConflict(SQLModel, table=True):
    __tablename__ = "evaluator_conflict"
    __table_args__ = (UniqueConstraint("evaluator", "applicant_id", name="conflict_once"),)
    id: int | None = Field(default=None, primary_key=True)
    evaluator: str = Field(max_length=64, index=True)
    applicant_id: int = Field(foreign_key="applicant.id")
    reason: str = Field(max_length=400)
    at: str = Field(max_length=32)


class Assignment(SQLModel, table=True):
    __tablename__ = "assignment"
    __table_args__ = (UniqueConstraint("application_id", "evaluator", name="assignment_once"),)
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id")  # indexed first in assignment_once
    evaluator: str = Field(max_length=64, index=True)
    evaluator_org: str = Field(max_length=128)
    at: str = Field(max_length=32)


class ScoreUpload(SQLModel, table=True):
    __tablename__ = "score_upload"
    id: int | None = Field(default=None, primary_key=True)
    evaluator: str = Field(max_length=64, index=True)
    filename: str = Field(max_length=260)
    file_sha256: str = Field(max_length=64)
    rows: int
    changed: int
    at: str = Field(max_length=32)


class Score(SQLModel, table=True):
    """One evaluator's score for one criterion. A corrected upload supersedes (``active=False``) the
    old row and adds a new one: history is kept."""

    __tablename__ = "score"
    __table_args__ = (
        CheckConstraint("score_tenths BETWEEN 0 AND 1000", name="score_range"),
        Index("ix_score_active", "application_id", "evaluator", "active"),
        # One active score per case, evaluator and criterion: a concurrent double upload cannot leave two.
        Index("ux_score_active_once", "application_id", "evaluator", "criterion", unique=True,
              sqlite_where=text("active"), postgresql_where=text("active")),
    )
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id")  # indexed first in ix_score_active
    evaluator: str = Field(max_length=64)
    criterion: str = Field(max_length=64)
    score_tenths: int
    comment: str = Field(default="", max_length=1000)
    upload_id: int = Field(foreign_key="score_upload.id")
    active: bool = True


class AwardRound(SQLModel, table=True):
    __tablename__ = "award_round"
    __table_args__ = (UniqueConstraint("scheme", "year", "seq", name="round_once"),
                      CheckConstraint("settlement_mode IS NULL OR " + _in("settlement_mode", SETTLEMENT_MODES),
                                      name="award_round_settlement_mode_valid"))
    id: int | None = Field(default=None, primary_key=True)
    scheme: str = Field(max_length=64)
    year: int
    seq: int = 1
    line_code: str = Field(max_length=64)
    approver: str = Field(max_length=64)
    finalized_at: str = Field(max_length=32)
    report: str = Field(description="canonical JSON of the allocation report")
    total_fen: int = Field(sa_type=BigInteger)
    # who its cases settle to (schemes with payment.payee_mode; NULL for the others and for rounds finalized
    # before rounds recorded it: the mode in force on the finalize day applies to those)
    settlement_mode: str | None = Field(default=None, max_length=16)


class RoundOpening(SQLModel, table=True):
    """A round opened before it is finalized, with the terms it records then (its settlement mode, 二(二)5);
    ``round_id`` is filled once, by the finalize that closes it. One opening per scheme, year and seq."""

    __tablename__ = "round_opening"
    __table_args__ = (UniqueConstraint("scheme", "year", "seq", name="round_opening_once"),
                      CheckConstraint(_in("settlement_mode", SETTLEMENT_MODES), name="round_opening_mode_valid"))
    id: int | None = Field(default=None, primary_key=True)
    scheme: str = Field(max_length=64)
    year: int
    seq: int
    settlement_mode: str = Field(max_length=16)
    mode_source: str = Field(max_length=200, description="chosen by the opener, or the parameter in force that day")
    opened_by: str = Field(max_length=64)
    opened_at: str = Field(max_length=32)
    round_id: int | None = Field(default=None, foreign_key="award_round.id", unique=True)


class Objection(SQLModel, table=True):
    __tablename__ = "objection"
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    raised_by: str = Field(max_length=64)
    reason: str = Field(max_length=1000)
    at: str = Field(max_length=32)
    resolution: str | None = Field(default=None, max_length=16)
    resolved_by: str | None = Field(default=None, max_length=64)
    resolution_reason: str | None = Field(default=None, max_length=1000)
    resolved_at: str | None = Field(default=None, max_length=32)


class PaymentBatch(SQLModel, table=True):
    __tablename__ = "payment_batch"
    id: int | None = Field(default=None, primary_key=True)
    scheme: str = Field(max_length=64)
    created_by: str = Field(max_length=64)
    at: str = Field(max_length=32)
    file_name: str = Field(max_length=260)
    file_sha256: str = Field(default="", max_length=64)
    total_fen: int = Field(sa_type=BigInteger)
    count: int
    # Set once the bank file is on disk (after the batch commits); NULL means a crash came between the
    # commit and the file, and `ipfund pay file N` must write it.
    file_written_at: str | None = Field(default=None, max_length=32)


class PaymentRelease(SQLModel, table=True):
    """A finance officer's release of one payable case for payment (the payment authority). The payment
    stage pays only released cases, as the officer who released them; attempt n releases the payment
    with idempotency key REF:award:n, so a case cannot be released twice for one attempt."""

    __tablename__ = "payment_release"
    __table_args__ = (
        UniqueConstraint("application_id", "purpose", "attempt", name="release_once_per_attempt"),
        CheckConstraint("amount_fen > 0", name="release_amount_positive"),
        CheckConstraint("attempt >= 1", name="release_attempt_positive"),
    )
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id")  # indexed first in release_once_per_attempt
    purpose: str = Field(default="award", max_length=32)
    attempt: int
    released_by: str = Field(max_length=64)
    amount_fen: int = Field(sa_type=BigInteger)
    at: str = Field(max_length=32)


class ReviewClaim(SQLModel, table=True):
    """Who is working on a case in review: `review next` leases it to one reviewer until ``expires_at``,
    so two reviewers are never handed the same case (a lease, not a decision: no audit event)."""

    __tablename__ = "review_claim"
    application_id: int = Field(primary_key=True, foreign_key="application.id")
    holder: str = Field(max_length=64)
    claimed_at: str = Field(max_length=32)
    expires_at: str = Field(max_length=32)


class Payment(SQLModel, table=True):
    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="payment_amount_positive"),
        CheckConstraint(_in("status", ("pending", "paid", "failed")), name="payment_status_valid"),
        # At most one live (not failed) payment per award and purpose (a tranche): the database itself
        # refuses paying twice.
        Index("ux_payment_live_once", "application_id", "purpose", unique=True,
              sqlite_where=text("status <> 'failed'"), postgresql_where=text("status <> 'failed'")),
    )
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=128, unique=True)
    purpose: str = Field(default="award", max_length=32)
    batch_id: int = Field(foreign_key="payment_batch.id", index=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    line_code: str = Field(max_length=64)
    payee: str = Field(max_length=200)
    uscc: str = Field(max_length=18)
    bank_account: str = Field(default="", max_length=64)
    bank_name: str = Field(default="", max_length=100)
    amount_fen: int = Field(sa_type=BigInteger)
    status: str = Field(max_length=16)
    approver: str = Field(max_length=64)
    payer: str = Field(max_length=64)
    release_id: int | None = Field(default=None, foreign_key="payment_release.id")
    bank_ref: str | None = Field(default=None, max_length=64)
    failure_reason: str | None = Field(default=None, max_length=400)
    confirmed_at: str | None = Field(default=None, max_length=32)
    confirmed_by: str | None = Field(default=None, max_length=64)
    created_at: str = Field(max_length=32)


# --- the service-agency registry (二(四)10, 13) ------------------------------------------------------



SPOT_CHECK_RESULTS = ("pass", "fail", "fraud")


class Agency(SQLModel, table=True):
    """A service agency (知识产权服务机构) and its current state; ``state`` is always the ``to_state`` of
    its last agency_event (checked by `ipfund check`). The facts are what it declared when it applied."""

    __tablename__ = "agency"
    __table_args__ = (
        CheckConstraint(_in("state", AGENCY_STATES), name="agency_state_valid"),
        CheckConstraint("length(uscc) = 18", name="agency_uscc_len"),
        CheckConstraint("staff_count >= 0", name="agency_staff_not_negative"),
    )
    id: int | None = Field(default=None, primary_key=True)
    uscc: str = Field(max_length=18, unique=True, index=True)
    name: str = Field(max_length=200)
    state: str = Field(max_length=16)
    office_address: str = Field(max_length=200)
    staff_count: int
    independent_liability: bool
    applied_at: str = Field(max_length=32)
    state_at: str = Field(max_length=32)
    # The payee's bank (开户银行) and account (账号) for voucher settlements (通兑); changes are audited
    # (agency.bank), as an applicant's are.
    bank_name: str | None = Field(default=None, max_length=100)
    bank_account: str | None = Field(default=None, max_length=32)


class AgencyEvent(SQLModel, table=True):
    """Every change of an agency's state, append-only (triggers refuse UPDATE and DELETE)."""

    __tablename__ = "agency_event"
    __table_args__ = (
        CheckConstraint(_in("to_state", AGENCY_STATES), name="agency_event_to_valid"),
        CheckConstraint(f"from_state IS NULL OR {_in('from_state', AGENCY_STATES)}", name="agency_event_from_valid"),
        Index("ix_agency_event_agency", "agency_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id")  # indexed first in ix_agency_event_agency
    action: str = Field(max_length=16)
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str = Field(max_length=16)
    actor: str = Field(max_length=64)
    reason: str = Field(default="", max_length=1000)
    clause: str = Field(max_length=32)
    detail: str = Field(default="{}", description="canonical JSON: checks, services, thresholds met, vouchers rule")
    at: str = Field(max_length=32)


class AgencyService(SQLModel, table=True):
    """One line of an accredited agency's price schedule (服务定价机制): a service and its price from a
    date. Append-only: a new price is a new line with a later date."""

    __tablename__ = "agency_service"
    __table_args__ = (
        CheckConstraint("price_fen >= 0", name="agency_service_price_not_negative"),
        UniqueConstraint("agency_id", "service", "effective_from", name="agency_service_once"),
    )
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id")  # indexed first in agency_service_once
    service: str = Field(max_length=32)
    price_fen: int = Field(sa_type=BigInteger)
    effective_from: str = Field(max_length=10)
    event_id: int = Field(foreign_key="agency_event.id", description="the accreditation that set it")


class AgencyComplaint(SQLModel, table=True):
    """A complaint the bureau received about an agency (append-only)."""

    __tablename__ = "agency_complaint"
    __table_args__ = (Index("ix_agency_complaint_agency", "agency_id", "received_on"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id")
    received_on: str = Field(max_length=10)
    complainant: str = Field(max_length=200)
    summary: str = Field(max_length=1000)
    recorded_by: str = Field(max_length=64)
    at: str = Field(max_length=32)


class AgencySpotCheck(SQLModel, table=True):
    """A spot check (抽查) of an agency's service: pass, fail or fraud, with the evaluation grade given
    (0–100.0 as tenths) where one was. Append-only."""

    __tablename__ = "agency_spot_check"
    __table_args__ = (
        CheckConstraint(_in("result", SPOT_CHECK_RESULTS), name="agency_spot_check_result_valid"),
        CheckConstraint("grade_tenths IS NULL OR grade_tenths BETWEEN 0 AND 1000", name="agency_spot_check_grade"),
        Index("ix_agency_spot_check_agency", "agency_id", "checked_on"),
    )
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id")
    checked_on: str = Field(max_length=10)
    result: str = Field(max_length=8)
    grade_tenths: int | None = None
    finding: str = Field(max_length=1000)
    checked_by: str = Field(max_length=64)
    at: str = Field(max_length=32)


class AgencyReward(SQLModel, table=True):
    """The yearly reward to the best agency (二(四)10): once a year."""

    __tablename__ = "agency_reward"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="agency_reward_positive"),)
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(unique=True)
    agency_id: int = Field(foreign_key="agency.id")
    amount_fen: int = Field(sa_type=BigInteger)
    ranking: str = Field(description="canonical JSON: the ranked agencies and those excluded, with why")
    decided_by: str = Field(max_length=64)
    at: str = Field(max_length=32)


class Notification(SQLModel, table=True):
    """The outbox: a message to a person or an organisation, written in the unit of work of the event that
    causes it; an adapter (e-mail, SMS) sends it and marks it sent. Rows are never deleted, and only
    ``sent_at``/``sent_by`` change, once (triggers)."""

    __tablename__ = "notification"
    __table_args__ = (
        CheckConstraint("(sent_at IS NULL) = (sent_by IS NULL)", name="notification_sent_by_whom"),
        Index("ix_notification_unsent", "sent_at", "id"),
        # an expiry reminder (voucher_reminder:<ref>:<deadline>:<days>) is written once per recipient
        Index("ux_notification_reminder_once", "cause", "recipient", unique=True,
              sqlite_where=text("cause LIKE 'voucher_reminder:%'"),
              postgresql_where=text("cause LIKE 'voucher_reminder:%'")),
    )
    id: int | None = Field(default=None, primary_key=True)
    recipient: str = Field(max_length=128, index=True, description="a user name or an organisation's credit code")
    subject: str = Field(max_length=200)
    body: str = Field(max_length=2000)
    cause: str = Field(max_length=128, description="what caused it, e.g. agency_event:12")
    created_at: str = Field(max_length=32)
    sent_at: str | None = Field(default=None, max_length=32)
    sent_by: str | None = Field(default=None, max_length=64)


# --- custody service vouchers (托管服务券, 二(二)5) ------------------------------------------------------------

class VoucherContract(SQLModel, table=True):
    """A voucher's service contract with an accredited agency: the agency, the contract amount and the cover
    the voucher pays for it (min(share × contract, face), fixed when it is signed). A contract ends (its
    agency suspended or expelled: returned to the holder or void) by setting ``ended_*`` once; at most one
    live contract per voucher."""

    __tablename__ = "voucher_contract"
    __table_args__ = (
        CheckConstraint("contract_fen > 0", name="voucher_contract_positive"),
        CheckConstraint("cover_fen > 0 AND cover_fen <= contract_fen", name="voucher_cover_within_contract"),
        CheckConstraint("(ended_at IS NULL) = (ended_by IS NULL)", name="voucher_contract_ended_by_whom"),
        Index("ux_voucher_contract_live", "application_id", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
        Index("ix_voucher_contract_agency", "agency_id", "ended_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id")
    agency_id: int = Field(foreign_key="agency.id")
    service: str = Field(max_length=32)
    contract_fen: int = Field(sa_type=BigInteger)
    cover_fen: int = Field(sa_type=BigInteger)
    contracted_on: str = Field(max_length=10)
    contracted_by: str = Field(max_length=64)
    at: str = Field(max_length=32)
    ended_at: str | None = Field(default=None, max_length=32)
    ended_by: str | None = Field(default=None, max_length=64)
    ended_reason: str | None = Field(default=None, max_length=400)


class VoucherRedemption(SQLModel, table=True):
    """The agency's redemption of a voucher (兑付申请) with its evidence, for at most the contract's cover:
    at most one live redemption per voucher (a partial unique index). A reviewer's return or an upheld
    dispute supersedes it (``ended_as`` returned | upheld), a refusal ends it (refused): its end is
    recorded once, by setting ``ended_*``; nothing else of the row ever changes (triggers)."""

    __tablename__ = "voucher_redemption"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="voucher_redemption_positive"),
        CheckConstraint("(ended_at IS NULL) = (ended_by IS NULL) AND (ended_at IS NULL) = (ended_as IS NULL)",
                        name="voucher_redemption_ended_by_whom"),
        CheckConstraint("ended_as IS NULL OR ended_as IN ('returned', 'refused', 'upheld')",
                        name="voucher_redemption_ended_as"),
        Index("ux_voucher_redemption_live", "application_id", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
        Index("ix_voucher_redemption_agency", "agency_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id")
    contract_id: int = Field(foreign_key="voucher_contract.id")
    agency_id: int = Field(foreign_key="agency.id")
    amount_fen: int = Field(sa_type=BigInteger)
    redeemed_on: str = Field(max_length=10)
    redeemed_by: str = Field(max_length=64)
    at: str = Field(max_length=32)
    ended_at: str | None = Field(default=None, max_length=32)
    ended_by: str | None = Field(default=None, max_length=64)
    ended_as: str | None = Field(default=None, max_length=16)  # returned | refused | upheld
    ended_reason: str | None = Field(default=None, max_length=400)


class EvidenceBlob(SQLModel, table=True):
    """Evidence files, content-addressed: the sha256 of the bytes is the key (a file sent twice is kept
    once). Append-only."""

    __tablename__ = "evidence_blob"
    __table_args__ = (CheckConstraint("size_bytes > 0", name="evidence_not_empty"),)
    sha256: str = Field(primary_key=True, max_length=64)
    size_bytes: int = Field(sa_type=BigInteger)
    content: bytes = Field(sa_type=LargeBinary)


class VoucherEvidence(SQLModel, table=True):
    """One evidence file of a redemption: its kind (contract, receipt, deliverable), name, type and hash.
    Append-only."""

    __tablename__ = "voucher_evidence"
    id: int | None = Field(default=None, primary_key=True)
    redemption_id: int = Field(foreign_key="voucher_redemption.id", index=True)
    kind: str = Field(max_length=16)
    filename: str = Field(max_length=260)
    media_type: str = Field(max_length=16)
    size_bytes: int = Field(sa_type=BigInteger)
    sha256: str = Field(foreign_key="evidence_blob.sha256", max_length=64)


# --- fraud found after settlement: findings, clawbacks, recoveries (追回, 二(四)13; 三(三)) -----------------------

class FraudFinding(SQLModel, table=True):
    """A fraud finding against an agency (恶意串通、弄虚作假, 二(四)13): what was found, by whom, the
    expulsion it caused (its agency_event, None when the agency was already expelled) and, in ``detail``,
    the vouchers it named, voided and clawed back. Append-only."""

    __tablename__ = "fraud_finding"
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    finding: str = Field(max_length=1000)
    clause: str = Field(max_length=32)
    found_by: str = Field(max_length=64)
    found_on: str = Field(max_length=10)
    agency_event_id: int | None = Field(default=None, foreign_key="agency_event.id")
    detail: str = Field(default="{}", description="canonical JSON: vouchers named, voided, clawed back, evidence")
    at: str = Field(max_length=32)


class VoucherClawback(SQLModel, table=True):
    """A receivable opened on a settled voucher by a fraud finding: ``amount_fen`` moved from the line's
    paid bucket to its receivable (posting ``posting_id``, kind clawback), owed by the payee the settlement
    paid. Once per voucher. Only ``recovered_fen`` changes, upward, and never above the amount (CHECK and
    trigger); each recovery is a voucher_recovery row."""

    __tablename__ = "voucher_clawback"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="voucher_clawback_positive"),
        CheckConstraint("recovered_fen >= 0 AND recovered_fen <= amount_fen", name="voucher_clawback_recovered_within"),
    )
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", unique=True)
    finding_id: int = Field(foreign_key="fraud_finding.id", index=True)
    payment_id: int = Field(foreign_key="payment.id")
    year: int
    line_code: str = Field(max_length=64)
    debtor_uscc: str = Field(max_length=18)
    debtor_name: str = Field(max_length=200)
    amount_fen: int = Field(sa_type=BigInteger)
    recovered_fen: int = Field(default=0, sa_type=BigInteger)
    posting_id: int = Field(foreign_key="posting.id")
    opened_by: str = Field(max_length=64)
    at: str = Field(max_length=32)


class VoucherRecovery(SQLModel, table=True):
    """Money recovered on a clawback, with the bank's receipt reference (once: UNIQUE), moved from the
    line's receivable back to its available bucket (posting ``posting_id``, kind recovery). Append-only."""

    __tablename__ = "voucher_recovery"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="voucher_recovery_positive"),)
    id: int | None = Field(default=None, primary_key=True)
    clawback_id: int = Field(foreign_key="voucher_clawback.id", index=True)
    amount_fen: int = Field(sa_type=BigInteger)
    receipt_ref: str = Field(max_length=64, unique=True)
    received_on: str = Field(max_length=10)
    recorded_by: str = Field(max_length=64)
    posting_id: int = Field(foreign_key="posting.id")
    at: str = Field(max_length=32)




# --- the web desk (flows/desk): passwords, server-side sessions, sign-in attempts ------------------

DESK_SIGN_IN_OUTCOMES = ("ok", "bad_password", "unknown_user", "no_password", "locked_out", "locked")


class UserPassword(SQLModel, table=True):
    """A user's desk password: its argon2id hash only (PHC string, parameters and salt inside it)."""

    __tablename__ = "user_password"
    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    hash: str = Field(max_length=255)
    set_at: str = Field(max_length=32)
    set_by: str = Field(max_length=64)


class DeskSession(SQLModel, table=True):
    """A signed-in browser: the sha256 of its cookie token (never the token), its CSRF token, when it was
    created, expires, was last seen and ended (sign-out). A session is live while not ended and not expired."""

    __tablename__ = "desk_session"
    __table_args__ = (
        CheckConstraint("expires_at > created_at", name="desk_session_expires_after_created"),
        CheckConstraint("(ended_at IS NULL) = (ended_why IS NULL)", name="desk_session_ended_with_why"),
    )
    id: int | None = Field(default=None, primary_key=True)
    token_sha256: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: str = Field(max_length=32)
    expires_at: str = Field(max_length=32)
    last_seen_at: str = Field(max_length=32)
    ended_at: str | None = Field(default=None, max_length=32)
    ended_why: str | None = Field(default=None, max_length=16)


class DeskSignIn(SQLModel, table=True):
    """Every sign-in attempt at the desk, with its outcome (the lock-out counts the failures here, and a
    lock-out is logged as the failure that caused it, ``locked_out``, then each refused try, ``locked``)."""

    __tablename__ = "desk_sign_in"
    __table_args__ = (
        CheckConstraint(_in("outcome", DESK_SIGN_IN_OUTCOMES), name="desk_sign_in_outcome_valid"),
        Index("ix_desk_sign_in_name_at", "name", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    at: str = Field(max_length=32)
    outcome: str = Field(max_length=16)
    remote: str | None = Field(default=None, max_length=64)


import models.kpi_figures  # noqa: E402  (KPI figures measured outside ipfund, imported: kpi_figure)
import models.loans  # noqa: E402  (the IP-pledge loan registry: bank, pledge_loan, loan_receipt ...)
import models.pool  # noqa: E402  (the risk-compensation pool: pool_contribution, pool_filing, pool_claim ...)
import models.projects  # noqa: E402,F401  (funded projects: project_agreement, project_report, project_tranche ...)
