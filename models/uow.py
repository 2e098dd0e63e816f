"""The unit of work: the only place that commits (cosmicpython).

Services take a ``Session`` and never commit; a command opens one unit of work, calls services, and
commits once. On any exception everything is rolled back, so bad input writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.db import get_engine


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


@contextmanager
def read_only(engine: Engine | None = None) -> Iterator[Session]:
    """A session for reads: always rolled back, so nothing a read path does can persist."""
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
    finally:
        session.rollback()
        session.close()
