"""Schema changes go through Alembic: from an empty database to head, and head matches the models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from models.db import make_engine
from models.migrate import current, upgrade
from tests.conftest import PG_URL, _pg_admin_url, recreate_pg_database


def _empty_database(tmp_path: Path) -> str:
    if not PG_URL:
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return recreate_pg_database(f"{_pg_admin_url(PG_URL)[1]}_ipfund_mig")


def test_an_empty_database_migrates_to_head_and_matches_the_models(tmp_path: Path) -> None:
    engine = make_engine(_empty_database(tmp_path))
    assert current(engine) is None
    upgrade(engine)
    assert current(engine) == "0025_projects"
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
    assert set(SQLModel.metadata.tables) <= set(inspect(engine).get_table_names())
    upgrade(engine)  # idempotent: already at head
    engine.dispose()


def test_init_records_the_schema_revision(db: Any) -> None:
    assert current(db.engine) == "0025_projects"


def test_dropping_the_hash_indexes_keeps_the_chain_and_the_append_only_guard(tmp_path: Path) -> None:
    """0006 rebuilds audit_event on SQLite: rows survive byte for byte and UPDATE is still refused."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError
    from sqlmodel import Session

    from models import audit

    engine = make_engine(_empty_database(tmp_path))
    upgrade(engine, "0005_redundant_indexes")
    with Session(engine) as s:
        for i in range(3):
            audit.append(s, actor="admin", action="test.event", subject=f"t:{i}", payload={"n": i, "文": "字"})
        s.commit()
    with engine.connect() as c:
        before = c.execute(text("SELECT * FROM audit_event ORDER BY seq")).all()
    upgrade(engine)
    with engine.connect() as c:
        assert c.execute(text("SELECT * FROM audit_event ORDER BY seq")).all() == before
    with Session(engine) as s:
        assert audit.verify(s) == (3, None)
        audit.append(s, actor="admin", action="test.event", subject="t:3", payload={})
        s.commit()
        assert audit.verify(s) == (4, None)
    with engine.begin() as c, pytest.raises(DBAPIError, match="append-only"):
        c.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE seq = 1"))
    engine.dispose()
