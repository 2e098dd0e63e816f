"""The unit of work: the only place that commits (cosmicpython).

Services take a ``Session`` and never commit; a command opens one unit of work, calls services, and
commits once. On any exception everything is rolled back, so bad input writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import checkpoints
from models.db import get_engine

T = TypeVar("T")


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    checkpoints.after_commit(session)  # the signed head of what this unit appended (models/checkpoints.py)


@contextmanager
def read_only(engine: Engine | None = None) -> Iterator[Session]:
    """A session for reads: always rolled back, so nothing a read path does can persist."""
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
    finally:
        session.rollback()
        session.close()


RETRYABLE_SQLSTATES = ("40001", "40P01")  # serialization failure, deadlock detected


def retrying(fn: Callable[[Session], T], *, attempts: int = 5, engine: Engine | None = None) -> T:
    """Run ``fn`` in a unit of work, retrying the *whole* unit on a serialization failure or deadlock
    (PostgreSQL 40001/40P01), a bounded number of times with a short backoff."""
    from sqlalchemy.exc import DBAPIError

    for attempt in range(1, attempts + 1):
        try:
            with unit_of_work(engine) as s:
                return fn(s)
        except DBAPIError as exc:
            code = getattr(exc.orig, "sqlstate", None) or getattr(getattr(exc.orig, "diag", None), "sqlstate", None)
            if code not in RETRYABLE_SQLSTATES or attempt == attempts:
                raise
            time.sleep(0.01 * 2**attempt)
    raise AssertionError("unreachable")
