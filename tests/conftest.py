"""Shared fixtures. The database is SQLite by default; set IPFUND_TEST_DATABASE_URL (e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/test) to run the same suite on PostgreSQL."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="ipfund-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

ROOT = Path(__file__).resolve().parents[1]
FEATURES = ROOT / "features"
EXAMPLES = ROOT / "examples"

PG_URL = os.environ.get("IPFUND_TEST_DATABASE_URL")


def _reset_postgres(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@dataclass
class Db:
    url: str
    engine: Engine

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def snapshot(self) -> dict[str, int]:
        """Row counts of every table: "nothing was written" means this is unchanged."""
        from sqlmodel import SQLModel

        out = {}
        with self.engine.connect() as conn:
            for name in sorted(SQLModel.metadata.tables):
                out[name] = conn.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar_one()
            out["balances"] = conn.execute(text("SELECT COALESCE(SUM(ABS(balance_fen)),0) FROM account")).scalar_one()
        return out


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Db]:
    """An initialised, empty ipfund database (policy yantai-2020, admin user `admin`)."""
    from flows.services.setup import init
    from models.db import get_engine, make_engine

    if PG_URL:
        url = PG_URL
        engine = make_engine(url)
        _reset_postgres(engine)
    else:
        url = f"sqlite:///{tmp_path / 'ipfund.db'}"
        engine = make_engine(url)
    monkeypatch.setenv("IPFUND_DATABASE_URL", url)
    monkeypatch.delenv("IPFUND_USER", raising=False)
    get_engine.cache_clear()
    with Session(engine, expire_on_commit=False) as s:
        init(engine, s, "admin", "yantai-2020")
        s.commit()
    yield Db(url, engine)
    get_engine.cache_clear()
    engine.dispose()


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(db: Db) -> Any:
    """Run `ipfund ...` in-process against the test database."""
    from typer.testing import CliRunner

    from flows.cli.main import app

    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None) -> CliResult:
        r = runner.invoke(app, list(args), env={"IPFUND_DATABASE_URL": db.url, **(env or {})},
                          catch_exceptions=False)
        return CliResult(r.exit_code, r.stdout, r.stderr)

    return run
