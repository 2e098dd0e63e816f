"""models.bulk.insert_rows, the hot paths' bulk insert: COPY on PostgreSQL, executemany on SQLite. Both write
what the same rows as plain INSERTs write (compared by content), with the same constraints and triggers, and a
bad row raises the SQLAlchemy exception an INSERT raises and leaves nothing written."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from models.bulk import insert_rows
from models.tables import Applicant, EvidenceBlob
from tests.conftest import Db

APPLICANT = Applicant.__table__  # type: ignore[attr-defined]
BLOB = EvidenceBlob.__table__  # type: ignore[attr-defined]
COLUMNS = ("name", "uscc", "kind", "district", "sme", "whitelist", "created_at")


def _rows(prefix: str, n: int) -> list[tuple[object, ...]]:
    return [(f"{prefix}公司{i}\t\\tab", f"{prefix}{i:016d}"[-18:].rjust(18, "9"), "enterprise", "370602", i % 2 == 0,
             False, "2021-03-01T01:00:00Z") for i in range(n)]


def test_bulk_rows_are_what_plain_inserts_write(db: Db) -> None:
    with Session(db.engine) as s:
        assert insert_rows(s, APPLICANT, COLUMNS, _rows("A", 50)) == 50
        s.execute(insert(APPLICANT), [dict(zip(COLUMNS, r, strict=True)) for r in _rows("B", 50)])
        blob = b"\x00\x01\\binary\tcontent\n" * 3
        insert_rows(s, BLOB, ("sha256", "size_bytes", "content"), [(hashlib.sha256(blob).hexdigest(), len(blob), blob)])
        s.commit()
        got = s.execute(select(APPLICANT.c.name, APPLICANT.c.uscc, APPLICANT.c.sme, APPLICANT.c.whitelist)
                        .order_by(APPLICANT.c.uscc)).all()
        assert s.execute(select(BLOB.c.content)).scalar_one() == blob
    a = [(n, u, sme, w) for n, u, sme, w in got if n.startswith("A")]
    b = [(n.replace("B", "A", 1), u, sme, w) for n, u, sme, w in got if n.startswith("B")]
    assert len(a) == 50 and [x[0] for x in a] == [x[0] for x in b] and [x[2:] for x in a] == [x[2:] for x in b]
    assert a[0][0] == "A公司0\t\\tab"


def test_a_bad_row_raises_the_inserts_exception_and_writes_nothing(db: Db) -> None:
    before = db.snapshot()
    rows = _rows("C", 10)
    rows.append(rows[3])  # the same credit code twice: the unique constraint
    with Session(db.engine) as s, pytest.raises(IntegrityError):
        insert_rows(s, APPLICANT, COLUMNS, rows)
    assert db.snapshot() == before
    with Session(db.engine) as s, pytest.raises(DBAPIError):  # a CHECK constraint (the credit code's length)
        insert_rows(s, APPLICANT, COLUMNS, [("短", "123", "enterprise", "370602", True, False, "2021-03-01T01:00:00Z")])
    assert db.snapshot() == before


def test_a_large_bulk_write_updates_the_planners_statistics_on_postgresql(db: Db, monkeypatch: pytest.MonkeyPatch
                                                                           ) -> None:
    """Once ANALYZE_MIN rows were bulk-written to a table never analyzed, it is ANALYZEd in the same transaction
    (pg_class.reltuples counts them); below it, it is not. SQLite has no such statistics: nothing to check."""
    from sqlalchemy import text

    import models.bulk

    if db.engine.dialect.name != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    monkeypatch.setattr(models.bulk, "ANALYZE_MIN", 30)
    monkeypatch.setattr(models.bulk, "_PENDING", {})

    def reltuples() -> float:
        return float(db.scalar("SELECT reltuples FROM pg_class WHERE relname = 'applicant'"))

    with Session(db.engine) as s:
        insert_rows(s, APPLICANT, COLUMNS, _rows("D", 20))
        s.commit()
    small = reltuples()
    with Session(db.engine) as s:
        insert_rows(s, APPLICANT, COLUMNS, _rows("E", 40))
        s.commit()
    with db.engine.connect() as c:
        count = c.execute(text("SELECT COUNT(*) FROM applicant")).scalar_one()
    assert small != count and reltuples() == count
