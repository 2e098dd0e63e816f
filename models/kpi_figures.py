"""The programme's KPI figures measured outside ipfund (一(二); 绩效考核, 三(二)), as imported.

* kpi_figure: one year's figure of one KPI (a count, or money in fen), with its source, reference and the
  date it was reported as of; append-only. A changed figure for the same KPI and year is a new row naming
  the row it supersedes (``supersedes_id``, once: a figure is superseded at most once, so each KPI-year has
  one line of history and one current figure, the row no other row supersedes).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

FIGURE_UNITS = ("count", "fen")


class KpiFigure(SQLModel, table=True):
    __tablename__ = "kpi_figure"
    __table_args__ = (
        CheckConstraint("value >= 0", name="kpi_figure_value_not_negative"),
        CheckConstraint("unit IN ('count', 'fen')", name="kpi_figure_unit_valid"),
        UniqueConstraint("supersedes_id", name="kpi_figure_superseded_once"),
        Index("ix_kpi_figure_kpi_year", "kpi", "year", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kpi: str = Field(max_length=64)
    year: int
    value: int = Field(sa_type=BigInteger)
    unit: str = Field(max_length=8)
    source: str = Field(max_length=200)
    reference: str = Field(default="", max_length=200)
    as_of: str = Field(max_length=10)
    supersedes_id: int | None = Field(default=None, foreign_key="kpi_figure.id")
    file: str = Field(default="", max_length=200)
    line: int
    actor: str = Field(max_length=64)
    at: str = Field(max_length=32)
