"""Bulk writes on hot paths: one prepared statement, rows as plain tuples, no per-row parameter
processing by SQLAlchemy (about half the cost of a Core ``insert()`` executemany on SQLite).

Both dialects: the statement is compiled once per table, column list and dialect, then handed to the
driver's ``executemany`` (sqlite3's ``?`` or psycopg's ``%s`` placeholders). Values must already be
what the column stores (``int`` fen, ``str`` timestamps, ``bool``); nothing is converted here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlmodel import Session

CHUNK = 5000


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


def insert_rows(session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """INSERT every row (tuples in ``columns`` order) in chunks; returns the number written. Pending ORM
    objects are flushed first, so rows may refer to them."""
    session.flush()
    conn = session.connection()
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
    return matched
