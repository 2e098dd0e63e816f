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
