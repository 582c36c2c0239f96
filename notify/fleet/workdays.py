"""Working days for the fleet's deadlines: Monday to Friday, not a public holiday (Sweden by default)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytz

from kernel.timezones import local_instant
from policies.core.holidays import holiday_ordinals

CALENDAR = "SE"


def is_working_day(day: date, calendar: str = CALENDAR) -> bool:
    return day.weekday() < 5 and day.toordinal() not in holiday_ordinals(calendar, day, day)


def _next_working_day(day: date, calendar: str) -> date:
    day += timedelta(days=1)
    while not is_working_day(day, calendar):
        day += timedelta(days=1)
    return day


def add_working_days(instant: datetime, zone: str, days: int, calendar: str = CALENDAR) -> datetime:
    """`days` working days after `instant`: the same local time on the working day that many working
    days later; from a day off, the end of that many working days after it."""
    tz = pytz.timezone(zone)
    local = tz.normalize(instant.astimezone(tz))
    day = local.date()
    for _ in range(days):
        day = _next_working_day(day, calendar)
    if is_working_day(local.date(), calendar):
        return local_instant(zone, day, local.time().replace(tzinfo=None))
    return local_instant(zone, day + timedelta(days=1), time(0))
