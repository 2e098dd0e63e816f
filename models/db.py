"""The database engine: SQLite file by default, anything SQLAlchemy speaks via IPFUND_DATABASE_URL."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import create_engine

DEFAULT_DB_FILE = "ipfund.db"


def database_url() -> str:
    """``IPFUND_DATABASE_URL`` if set, else the SQLite file ``./ipfund.db`` (or ``$IPFUND_HOME/ipfund.db``)."""
    url = os.environ.get("IPFUND_DATABASE_URL")
    if url:
        return url
    home = Path(os.environ.get("IPFUND_HOME", "."))
    return f"sqlite:///{(home / DEFAULT_DB_FILE).resolve()}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    # A round touches tables of millions of rows and their indexes: a 32 MiB page cache (default 2 MiB)
    # keeps hot B-tree pages out of read() syscalls (bounded: memory stays flat as the database grows);
    # temporary B-trees (sorts, IN lists) stay in memory.
    cur.execute("PRAGMA cache_size=-32768")
    cur.execute("PRAGMA temp_store=MEMORY")
    # Checkpoint the write-ahead log every 64 MiB instead of 4 MiB: index pages a stage rewrites chunk
    # after chunk are copied back to the database file once, not at every commit.
    cur.execute("PRAGMA wal_autocheckpoint=16384")
    cur.close()


def make_engine(url: str | None = None) -> Engine:
    url = url or database_url()
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let SQLite's own transaction handling be explicit: BEGIN IMMEDIATE per unit of work.
        return engine
    return create_engine(url, pool_pre_ping=True)


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    return make_engine(url)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
