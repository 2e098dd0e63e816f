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
    assert current(engine) == "0005_redundant_indexes"
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
    assert set(SQLModel.metadata.tables) <= set(inspect(engine).get_table_names())
    upgrade(engine)  # idempotent: already at head
    engine.dispose()


def test_init_records_the_schema_revision(db: Any) -> None:
    assert current(db.engine) == "0005_redundant_indexes"
