"""Working days (工作日) in a policy's calendar: deadlines of approval tiers are counted in them.

A calendar is data in the policy file: the weekdays that are rest days, the public holidays (法定节假日)
and the weekend days worked instead (调休上班日), each list keyed by year so a new year's notice from the
State Council is a new dated entry, not code. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class WorkCalendar:
    rest_weekdays: frozenset[int] = frozenset({5, 6})  # Monday = 0: Saturday and Sunday
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    workdays: frozenset[dt.date] = field(default_factory=frozenset)  # weekend days worked (调休)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() not in self.rest_weekdays

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date ``days`` working days after ``start`` (the start day itself is not counted: a task
        received on Friday with a 1-working-day deadline is due on Monday)."""
        if days < 0:
            raise ValueError(f"days {days} must not be negative")
        day, left = start, days
        guard = 0
        while left:
            day += dt.timedelta(days=1)
            guard += 1
            if guard > 3660:
                raise ValueError("the calendar has no working day in ten years; check its holidays")
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when ``end`` <= ``start``)."""
        n, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                n += 1
        return n


def calendar_of(rest_weekdays: Iterable[int] = (5, 6), holidays: Iterable[dt.date] = (),
                workdays: Iterable[dt.date] = ()) -> WorkCalendar:
    return WorkCalendar(frozenset(rest_weekdays), frozenset(holidays), frozenset(workdays))


# --- settlement calendars (定期兑付): days of the year on which a scheme's payments are released ----------

def settlement_dates_problems(values: object, where: str) -> list[str]:
    """Why a value of a settlement calendar is refused: it is a non-empty list of distinct days of the year
    written ``MM-DD`` (29 February is refused: it is not a day of every year)."""
    if not isinstance(values, list) or not values:
        return [f"{where}: {values!r} must be a non-empty list of days of the year, MM-DD (e.g. [\"06-30\", \"12-20\"])"]
    out = []
    for i, v in enumerate(values):
        try:
            ok = isinstance(v, str) and len(v) == 5 and v[2] == "-" and bool(dt.date.fromisoformat(f"2021-{v}"))
        except ValueError:
            ok = False
        if not ok:
            out.append(f"{where}[{i}]: {v!r} is not a day of every year written MM-DD (e.g. \"06-30\")")
        elif v in values[:i]:
            out.append(f"{where}[{i}]: {v!r} is listed twice")
    return out


def settlement_days(values: Iterable[str], year: int) -> list[dt.date]:
    """The settlement dates of ``year``, in order."""
    return sorted(dt.date.fromisoformat(f"{year:04d}-{v}") for v in values)


def settlement_cutoff(values: Iterable[str], on: dt.date) -> dt.date | None:
    """The latest settlement date of ``on``'s year reached on ``on`` (the day itself counts), or None
    before the year's first one. A release on ``on`` takes what became payable on or before it."""
    reached = [d for d in settlement_days(values, on.year) if d <= on]
    return reached[-1] if reached else None


def next_settlement(values: Iterable[str], on: dt.date) -> dt.date:
    """The first settlement date after ``on`` (the next year's first one after the year's last)."""
    values = list(values)
    later = [d for d in settlement_days(values, on.year) if d > on]
    return later[0] if later else settlement_days(values, on.year + 1)[0]
