"""Shared fixtures. The database is SQLite by default; set IPFUND_TEST_DATABASE_URL (e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/test) to run the same suite on PostgreSQL."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="ipfund-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# Audit checkpoints (models/checkpoints.py): no signing key unless a test creates one, whatever the shell says.
os.environ["IPFUND_AUDIT_KEY"] = os.path.join(tempfile.mkdtemp(prefix="ipfund-nokey-"), "audit-key.pem")
os.environ.pop("IPFUND_AUDIT_PUBKEY", None)
os.environ.pop("IPFUND_CHECKPOINTS", None)

ROOT = Path(__file__).resolve().parents[1]
FEATURES = ROOT / "features"
EXAMPLES = ROOT / "examples"

PG_URL = os.environ.get("IPFUND_TEST_DATABASE_URL")


def _pg_admin_url(url: str) -> tuple[str, str]:
    """(url of the server's maintenance connection, base database name) for a PostgreSQL test URL."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return u.set(database="postgres").render_as_string(hide_password=False), u.database or "test"


def recreate_pg_database(name: str, template: str | None = None) -> str:
    """Drop and create database ``name`` on the test server (from ``template`` if given); its URL."""
    from sqlalchemy.engine import make_url

    from models.db import make_engine

    admin_url, _ = _pg_admin_url(PG_URL or "")
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    admin.dispose()
    return make_url(PG_URL or "").set(database=name).render_as_string(hide_password=False)


def _initialise(engine: Engine) -> None:
    from flows.services.setup import init

    with Session(engine, expire_on_commit=False) as s:
        init(engine, s, "admin", "yantai-2020")
        s.commit()


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, initialised database built once per session; each test gets a fresh copy of it
    (a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL)."""
    from models.db import make_engine

    if PG_URL:
        tpl = f"{_pg_admin_url(PG_URL)[1]}_ipfund_tpl"
        engine = make_engine(recreate_pg_database(tpl))
        _initialise(engine)
        engine.dispose()
        yield tpl
    else:
        path = tmp_path_factory.mktemp("template") / "ipfund.db"
        engine = make_engine(f"sqlite:///{path}")
        _initialise(engine)
        with engine.connect() as c:
            c.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        engine.dispose()
        yield str(path)


@dataclass
class Db:
    url: str
    engine: Engine

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def snapshot(self) -> dict[str, TableDigest]:
        """Every table's content: row count and the sha256 of its rows (every column, in primary-key
        order, in a canonical text form that is the same on SQLite and PostgreSQL). "Nothing was
        written" means this is unchanged: an UPDATE in place changes it as surely as an INSERT."""
        return content_snapshot(self.engine)


class TableDigest(NamedTuple):
    rows: int
    sha256: str


def _canonical(value: Any) -> Any:
    """One text form per value whatever the driver returns: SQLite stores booleans as 0/1 where
    PostgreSQL returns True/False; bytes as hex; anything else (Decimal, dates) as its str."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def content_snapshot(engine: Engine) -> dict[str, TableDigest]:
    """Table name -> (rows, sha256 of the rows) for every table of the database (those of the models and
    any other, e.g. alembic_version): each row is canonical JSON keyed by column name, rows ordered by
    the primary key (by every column when a table has none), so the same content hashes the same on
    SQLite and PostgreSQL."""
    import hashlib
    import json

    from sqlalchemy import inspect

    out: dict[str, TableDigest] = {}
    with engine.connect() as conn:
        insp = inspect(conn)
        for name in sorted(insp.get_table_names()):
            columns = [c["name"] for c in insp.get_columns(name)]
            pk = insp.get_pk_constraint(name).get("constrained_columns") or columns
            q = conn.dialect.identifier_preparer.quote
            records = [{c: _canonical(v) for c, v in zip(columns, row, strict=True)} for row in conn.execute(
                text(f"SELECT {', '.join(q(c) for c in columns)} FROM {q(name)}"))]
            # Sorted here, not by ORDER BY: text keys collate differently on the two databases.
            records.sort(key=lambda r, pk=pk: [(r[c] is None, type(r[c]).__name__, 0 if r[c] is None else r[c])
                                               for c in pk])
            digest = hashlib.sha256()
            for record in records:
                digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                              .encode("utf-8") + b"\n")
            out[name] = TableDigest(len(records), digest.hexdigest())
    return out


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _template: str) -> Iterator[Db]:
    """An initialised, empty ipfund database (policy yantai-2020, admin user `admin`)."""
    import shutil

    from models.db import get_engine, make_engine

    if PG_URL:
        url = recreate_pg_database(f"{_pg_admin_url(PG_URL)[1]}_ipfund_run", template=_template)
    else:
        shutil.copyfile(_template, tmp_path / "ipfund.db")
        url = f"sqlite:///{tmp_path / 'ipfund.db'}"
    engine = make_engine(url)
    monkeypatch.setenv("IPFUND_DATABASE_URL", url)
    monkeypatch.delenv("IPFUND_USER", raising=False)
    monkeypatch.delenv("IPFUND_NOW", raising=False)
    get_engine.cache_clear()
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


from tests.prefect_harness import prefect_api  # noqa: E402,F401 - one Prefect harness for the session, every package
