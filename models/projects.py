"""Funded projects (二(一)1, 二(四)12, 三(三)) as records beside their case: the agreement, the report deadlines
and extensions, the progress reports with their evidence, the performance evaluations with their per-criterion
scores, the tranche decisions, the rectification periods, the clawback and its recoveries, and the bars from
calls. Each is written by one act of flows/services/projects.py in the act's unit of work, with its audit event.

Append-only (database triggers, migration 0025): the agreement, the deadlines, the reports and their evidence,
the evaluations and their scores, the tranche decisions, the recoveries, the bars. Decided once (a trigger
refuses a second decision or a change of the facts): an extension's decision, a rectification's close. Only a
clawback's ``recovered_fen`` moves, upward, within its amount (CHECK).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

PROJECT_STAGES = ("mid_term", "final")
TRANCHE_STAGES = ("agreement", "mid_term", "final")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ProjectAgreement(SQLModel, table=True):
    """The project's agreement (任务书): the grant, the KPI targets, the deliverables and the tranche plan, as
    canonical JSON fixed when the approver signed it. Once per case."""

    __tablename__ = "project_agreement"
    __table_args__ = (CheckConstraint("grant_fen > 0", name="project_agreement_grant_positive"),)
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", unique=True)
    grant_fen: int = Field(sa_type=BigInteger)
    kpis: str = Field(description="canonical JSON: code, name, unit, baseline, target, weight, formula, due")
    deliverables: str = Field(description="canonical JSON: code, name, due")
    tranches: str = Field(description="canonical JSON: key, share, on, banded, amount_fen")
    agreed_on: str = Field(max_length=10)
    signed_by: str = Field(max_length=64)
    file_sha256: str = Field(max_length=64)
    at: str = Field(max_length=32)


class ProjectDeadline(SQLModel, table=True):
    """A report's due date: set by the agreement, moved by an extension a reviewer granted. The latest row of
    a case and stage is in force."""

    __tablename__ = "project_deadline"
    __table_args__ = (CheckConstraint(_in("stage", PROJECT_STAGES), name="project_deadline_stage_valid"),
                      Index("ix_project_deadline_case", "application_id", "stage", "id"))
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id")
    stage: str = Field(max_length=16)
    due_on: str = Field(max_length=10)
    extension_id: int | None = Field(default=None, foreign_key="project_extension.id")
    at: str = Field(max_length=32)


class ProjectExtension(SQLModel, table=True):
    """An extension of a report's due date, asked by the project before the date, decided once by a reviewer."""

    __tablename__ = "project_extension"
    __table_args__ = (
        CheckConstraint(_in("stage", PROJECT_STAGES), name="project_extension_stage_valid"),
        CheckConstraint("decision IS NULL OR decision IN ('granted', 'refused')", name="project_extension_decision_valid"),
        Index("ix_project_extension_case", "application_id", "stage"),
    )
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id")
    stage: str = Field(max_length=16)
    due_on: str = Field(max_length=10, description="the due date in force when it was asked")
    new_due: str = Field(max_length=10)
    reason: str = Field(max_length=1000)
    asked_on: str = Field(max_length=10)
    asked_by: str = Field(max_length=64)
    at: str = Field(max_length=32)
    decision: str | None = Field(default=None, max_length=16)
    decided_by: str | None = Field(default=None, max_length=64)
    decision_reason: str | None = Field(default=None, max_length=1000)
    decided_at: str | None = Field(default=None, max_length=32)


class ProjectReport(SQLModel, table=True):
    """A progress report (mid-term or final) with the KPI actuals, filed by the project; ``late`` when filed after
    the due date in force."""

    __tablename__ = "project_report"
    __table_args__ = (CheckConstraint(_in("stage", PROJECT_STAGES), name="project_report_stage_valid"),
                      Index("ix_project_report_case", "application_id", "stage", "id"))
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id")
    stage: str = Field(max_length=16)
    due_on: str = Field(max_length=10)
    filed_on: str = Field(max_length=10)
    late: bool = False
    actuals: str = Field(description="canonical JSON: KPI code -> the actual, as an exact decimal")
    filed_by: str = Field(max_length=64)
    at: str = Field(max_length=32)


class ProjectEvidence(SQLModel, table=True):
    """One evidence file of a report, its content stored once by sha256 (evidence_blob)."""

    __tablename__ = "project_evidence"
    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="project_report.id", index=True)
    kind: str = Field(max_length=32)
    filename: str = Field(max_length=260)
    media_type: str = Field(max_length=16)
    size_bytes: int
    sha256: str = Field(foreign_key="evidence_blob.sha256", max_length=64)


class ProjectEvaluation(SQLModel, table=True):
    """A third-party evaluator's mid-term or final evaluation: the rubric score from the criterion scores, the
    KPI score from the report's actuals, the combined score and grade, with the trace (JSON steps)."""

    __tablename__ = "project_evaluation"
    __table_args__ = (CheckConstraint(_in("stage", PROJECT_STAGES), name="project_evaluation_stage_valid"),
                      Index("ix_project_evaluation_case", "application_id", "stage", "id"))
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id")
    stage: str = Field(max_length=16)
    report_id: int = Field(foreign_key="project_report.id")
    evaluator: str = Field(max_length=64)
    evaluator_org: str = Field(max_length=128)
    rubric_score: str = Field(max_length=32)
    kpi_score: str = Field(max_length=32)
    score: str = Field(max_length=32)
    grade: str = Field(max_length=8)
    grade_name: str = Field(max_length=16)
    trace: str
    evaluated_on: str = Field(max_length=10)
    at: str = Field(max_length=32)


class ProjectEvaluationScore(SQLModel, table=True):
    __tablename__ = "project_evaluation_score"
    __table_args__ = (CheckConstraint("score_tenths BETWEEN 0 AND 1000", name="project_score_range"),
                      UniqueConstraint("evaluation_id", "criterion", name="project_score_once"))
    id: int | None = Field(default=None, primary_key=True)
    evaluation_id: int = Field(foreign_key="project_evaluation.id")
    criterion: str = Field(max_length=64)
    score_tenths: int


class ProjectTranche(SQLModel, table=True):
    """A tranche decided: released (paid through the payment path) and cancelled (back to the line) sum to what
    the agreement planned for it. Once per case and tranche."""

    __tablename__ = "project_tranche"
    __table_args__ = (
        UniqueConstraint("application_id", "tranche", name="project_tranche_once"),
        CheckConstraint("released_fen >= 0 AND cancelled_fen >= 0 AND released_fen + cancelled_fen = planned_fen",
                        name="project_tranche_sums"),
        CheckConstraint(_in("stage", TRANCHE_STAGES), name="project_tranche_stage_valid"),
    )
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id")
    tranche: str = Field(max_length=32)
    stage: str = Field(max_length=16)
    planned_fen: int = Field(sa_type=BigInteger)
    released_fen: int = Field(sa_type=BigInteger)
    cancelled_fen: int = Field(sa_type=BigInteger)
    grade: str | None = Field(default=None, max_length=8)
    evaluation_id: int | None = Field(default=None, foreign_key="project_evaluation.id")
    posting_id: int | None = Field(default=None, foreign_key="posting.id", description="the release of the cancelled part")
    decided_by: str = Field(max_length=64)
    why: str = Field(max_length=32, description="agreement | release | unrectified")
    trace: str
    at: str = Field(max_length=32)


class ProjectRectification(SQLModel, table=True):
    """限期整改: opened by a bottom-band evaluation with its due date, closed once — rectified (a reviewer
    accepted it by the due date) or unrectified (the rectification stage, after the due date)."""

    __tablename__ = "project_rectification"
    __table_args__ = (
        CheckConstraint(_in("stage", PROJECT_STAGES), name="project_rectification_stage_valid"),
        CheckConstraint("result IS NULL OR result IN ('rectified', 'unrectified')", name="project_rectification_result_valid"),
        Index("ix_project_rectification_case", "application_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id")
    stage: str = Field(max_length=16)
    evaluation_id: int = Field(foreign_key="project_evaluation.id")
    opened_on: str = Field(max_length=10)
    due_on: str = Field(max_length=10)
    at: str = Field(max_length=32)
    result: str | None = Field(default=None, max_length=16)
    closed_on: str | None = Field(default=None, max_length=10)
    closed_by: str | None = Field(default=None, max_length=64)
    close_reason: str | None = Field(default=None, max_length=1000)
    closed_at: str | None = Field(default=None, max_length=32)


class ProjectClawback(SQLModel, table=True):
    """What an unrectified project owes back: ``amount_fen`` moved from the line's paid bucket to its receivable
    (posting ``posting_id``, kind clawback). Once per case; only ``recovered_fen`` moves, within the amount."""

    __tablename__ = "project_clawback"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="project_clawback_positive"),
        CheckConstraint("recovered_fen >= 0 AND recovered_fen <= amount_fen", name="project_clawback_recovered_within"),
    )
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", unique=True)
    rectification_id: int = Field(foreign_key="project_rectification.id")
    year: int
    line_code: str = Field(max_length=64)
    debtor_uscc: str = Field(max_length=18)
    amount_fen: int = Field(sa_type=BigInteger)
    recovered_fen: int = Field(default=0, sa_type=BigInteger)
    posting_id: int = Field(foreign_key="posting.id")
    trace: str
    opened_by: str = Field(max_length=64)
    at: str = Field(max_length=32)


class ProjectRecovery(SQLModel, table=True):
    """Money recovered on a project's clawback, with the bank's receipt reference (once), receivable → available."""

    __tablename__ = "project_recovery"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="project_recovery_positive"),)
    id: int | None = Field(default=None, primary_key=True)
    clawback_id: int = Field(foreign_key="project_clawback.id", index=True)
    amount_fen: int = Field(sa_type=BigInteger)
    receipt_ref: str = Field(max_length=64, unique=True)
    received_on: str = Field(max_length=10)
    recorded_by: str = Field(max_length=64)
    posting_id: int = Field(foreign_key="posting.id")
    at: str = Field(max_length=32)


class OrgBar(SQLModel, table=True):
    """An organisation barred from new calls (三(三)) from ``since`` to ``until`` after an unrectified project."""

    __tablename__ = "org_bar"
    id: int | None = Field(default=None, primary_key=True)
    applicant_id: int = Field(foreign_key="applicant.id", index=True)
    application_id: int = Field(foreign_key="application.id")
    since: str = Field(max_length=10)
    until: str = Field(max_length=10)
    reason: str = Field(max_length=400)
    at: str = Field(max_length=32)
