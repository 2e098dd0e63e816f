"""Bulk writes on hot paths: one prepared statement, rows as plain tuples, no per-row parameter
processing by SQLAlchemy (about half the cost of a Core ``insert()`` executemany on SQLite).

Inserts: on SQLite one prepared statement handed to the driver's ``executemany``; on PostgreSQL
(psycopg 3) ``COPY … FROM STDIN``, the server's bulk load (rows streamed, each one checked by the same
constraints and row triggers as an INSERT; a failure raises the same SQLAlchemy exception an INSERT
would). Updates: a prepared statement and ``executemany`` on both. Values must already be what the column
stores (``int`` fen, ``str`` timestamps and JSON, ``bool``, ``bytes``); nothing is converted here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlmodel import Session

CHUNK = 5000
# On PostgreSQL a table is ANALYZEd, in the writing transaction, once the rows this process bulk-wrote to it
# since its last ANALYZE reach ANALYZE_MIN and ANALYZE_SHARE of what the planner believes it holds (or it was
# never analyzed): autovacuum's rule, applied at once. Otherwise the statistics of a table just filled, or
# whose states just moved, are those of before — an application table planned as empty turns every lookup
# of the next stage into a scan per row (measured: the 100,000-application bench's intake, 163 s, and a
# review queue query of over 36 s). Without the owner's rights (the ipfund_app role) PostgreSQL skips the
# ANALYZE with a warning; autovacuum then does it later.
ANALYZE_MIN = 2_000
ANALYZE_SHARE = 0.2
_PENDING: dict[str, int] = {}  # table -> rows bulk-written since this process last analyzed it


@lru_cache(maxsize=256)
def _insert_sql(table: Table, columns: tuple[str, ...], paramstyle: str) -> str:
    mark = "?" if paramstyle == "qmark" else "%s"
    cols = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table.name}" ({cols}) VALUES ({", ".join([mark] * len(columns))})'


@lru_cache(maxsize=256)
def _update_sql(table: Table, columns: tuple[str, ...], keys: tuple[str, ...], paramstyle: str) -> str:
    mark = "?" if paramstyle == "qmark" else "%s"
    sets = ", ".join(f'"{c}" = {mark}' for c in columns)
    return f'UPDATE "{table.name}" SET {sets} WHERE ' + " AND ".join(f'"{k}" = {mark}' for k in keys)


@lru_cache(maxsize=256)
def _copy_sql(table: Table, columns: tuple[str, ...]) -> str:
    cols = ", ".join(f'"{c}"' for c in columns)
    return f'COPY "{table.name}" ({cols}) FROM STDIN'


def _copy_rows(conn: Any, table: Table, columns: tuple[str, ...], rows: Iterable[Sequence[Any]]) -> int:
    """COPY the rows in through the session's own connection (so inside its transaction)."""
    from sqlalchemy.exc import DBAPIError

    raw = conn.connection.driver_connection
    sql = _copy_sql(table, columns)
    written = 0
    try:
        with raw.cursor() as cur, cur.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
    except raw.Error as exc:  # the exception an INSERT of the same rows would have raised through SQLAlchemy
        raise DBAPIError.instance(sql, None, exc, type(raw).Error, dialect=conn.dialect) from exc
    return written


def insert_rows(session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """INSERT every row (tuples in ``columns`` order) — COPY on PostgreSQL, chunked executemany elsewhere;
    returns the number written. Pending ORM objects are flushed first, so rows may refer to them."""
    session.flush()
    conn = session.connection()
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        written = _copy_rows(conn, table, tuple(columns), rows)
        _analyze_if_large(conn, table, written)
        return written
    sql = _insert_sql(table, tuple(columns), conn.dialect.paramstyle)
    written = 0
    batch: list[Sequence[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            conn.exec_driver_sql(sql, batch)
            written += len(batch)
            batch = []
    if batch:
        conn.exec_driver_sql(sql, batch)
        written += len(batch)
    return written


def update_rows(session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                keys: Sequence[str] = ("id",)) -> int:
    """UPDATE where every one of ``keys`` equals the row's value: each row is (value for each of
    ``columns``..., value for each of ``keys``...). Returns the rows matched in all (both drivers sum an
    executemany's row counts), so a caller can tell when a guard column no longer matched."""
    session.flush()
    conn = session.connection()
    sql = _update_sql(table, tuple(columns), tuple(keys), conn.dialect.paramstyle)
    batch = list(rows)
    matched = 0
    for i in range(0, len(batch), CHUNK):
        res = conn.exec_driver_sql(sql, batch[i:i + CHUNK])
        matched += res.rowcount
    _analyze_if_large(conn, table, matched)
    return matched


def _analyze_if_large(conn: Any, table: Table, rows: int) -> None:
    """Count a bulk write and ANALYZE the PostgreSQL table when the count says so (see ANALYZE_MIN)."""
    if rows <= 0 or conn.dialect.name != "postgresql":
        return
    pending = _PENDING.get(table.name, 0) + rows
    _PENDING[table.name] = pending
    if pending < ANALYZE_MIN:
        return
    believed = conn.exec_driver_sql(f"SELECT reltuples FROM pg_class WHERE oid = '\"{table.name}\"'::regclass").scalar()
    if believed is None or believed < 0 or pending >= ANALYZE_SHARE * believed:
        conn.exec_driver_sql(f'ANALYZE "{table.name}"')
        _PENDING[table.name] = 0
