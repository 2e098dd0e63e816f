"""Time. Every timestamp is UTC text with microseconds (so text order is time order).

IPFUND_NOW (ISO-8601) moves the clock for demos and tests: time then runs on from that instant, so
stamps stay strictly increasing within a process.
"""

from __future__ import annotations

import datetime as dt
import os

FMT = "%Y-%m-%dT%H:%M:%S.%fZ"
_offsets: dict[str, dt.timedelta] = {}


def now() -> dt.datetime:
    real = dt.datetime.now(dt.UTC)
    pinned = os.environ.get("IPFUND_NOW")
    if not pinned:
        return real
    if pinned not in _offsets:
        value = dt.datetime.fromisoformat(pinned.replace("Z", "+00:00"))
        value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        _offsets[pinned] = value - real
    return real + _offsets[pinned]


def pin(iso: str) -> None:
    """Pin the clock to ``iso`` from now on (IPFUND_NOW), even when the same instant was pinned before:
    time runs on from this call, not from the first time that value was seen."""
    os.environ["IPFUND_NOW"] = iso
    _offsets.pop(iso, None)


def stamp(moment: dt.datetime | None = None) -> str:
    m = (moment or now()).astimezone(dt.UTC)
    return m.strftime(FMT)


def parse(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, FMT).replace(tzinfo=dt.UTC)
