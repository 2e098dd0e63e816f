"""Time. Every timestamp is UTC text; IPFUND_NOW (ISO-8601) pins the clock for demos and tests."""

from __future__ import annotations

import datetime as dt
import os

FMT = "%Y-%m-%dT%H:%M:%S.%fZ"


def now() -> dt.datetime:
    pinned = os.environ.get("IPFUND_NOW")
    if pinned:
        value = dt.datetime.fromisoformat(pinned.replace("Z", "+00:00"))
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC)


def stamp(moment: dt.datetime | None = None) -> str:
    m = (moment or now()).astimezone(dt.UTC)
    return m.strftime(FMT)


def parse(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, FMT).replace(tzinfo=dt.UTC)
