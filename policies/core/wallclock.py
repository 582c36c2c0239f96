"""Wall-clock calendars to UTC intervals: weekly windows, local days and morning instants.

Pure and cached: the same (zone, pattern, days) always gives the same intervals, so thousands of
people who share "Mon-Fri 22:00-07:00 in Europe/Stockholm" cost one expansion. pytz is used the
way it requires (`localize`, `normalize`), never through `tzinfo=`. The semantics match
`kernel.timezones.local_instant`; this copy keeps the engine free of imports outside the
standard library and pytz.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import pytz

from policies.core.types import Interval

WEEKDAYS = 7
ALL_DAYS = 0b1111111


def wall_instant(zone_name: str, day: date, at: time) -> datetime:
    """The UTC instant of wall time `at` on `day` in the zone.

    A wall time skipped by a spring-forward switch moves forward by the gap (02:30 -> 03:30);
    a repeated autumn wall time resolves to its first occurrence (summer time).
    """
    return _wall_instant(zone_name, day.toordinal(), at.hour, at.minute)


@lru_cache(maxsize=200_000)
def _wall_instant(zone_name: str, ordinal: int, hour: int, minute: int) -> datetime:
    tz = pytz.timezone(zone_name)
    naive = datetime.combine(date.fromordinal(ordinal), time(hour, minute))
    try:
        local = tz.localize(naive, is_dst=None)
    except pytz.NonExistentTimeError:
        local = tz.normalize(tz.localize(naive, is_dst=False))
    except pytz.AmbiguousTimeError:
        local = tz.localize(naive, is_dst=True)
    return local.astimezone(UTC)


def local_date(zone_name: str, instant: datetime) -> date:
    """The calendar date of an instant in the zone."""
    tz = pytz.timezone(zone_name)
    return tz.normalize(instant.astimezone(tz)).date()


def local_days(zone_name: str, start: datetime, end: datetime) -> list[date]:
    """Every local date that overlaps [start, end), plus the day before (for windows that
    begin the evening before and run past midnight)."""
    first = local_date(zone_name, start) - timedelta(days=1)
    last = local_date(zone_name, end)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def weekday_bit(day: date) -> int:
    """Bit of a date's weekday in a weekday mask (bit 0 is Monday)."""
    return 1 << day.weekday()


def expand_weekly(
    zone_name: str,
    weekdays: int,
    start: time,
    end: time,
    first: date,
    last: date,
    skip: frozenset[int] = frozenset(),
) -> tuple[Interval, ...]:
    """A weekly window (`weekdays` mask, wall times) as UTC intervals for each date in
    [first, last] whose weekday is in the mask and whose ordinal is not in `skip` (public
    holidays). `end <= start` means the window runs past midnight into the next day; it still
    belongs to the weekday it starts on."""
    return _expand_weekly(
        zone_name,
        weekdays,
        start.hour,
        start.minute,
        end.hour,
        end.minute,
        first.toordinal(),
        last.toordinal(),
        skip,
    )


# Float spans of the tuples `expand_weekly` returned, keyed by identity (the entry holds the
# tuple, so the id cannot be reused while the entry lives). Thousands of people share one
# expansion; the engine converts it to POSIX seconds once instead of once per person.
_SPANS: dict[int, tuple[tuple[Interval, ...], list[tuple[float, float]]]] = {}
_SPANS_LIMIT = 50_000


def spans_of(intervals: tuple[Interval, ...]) -> list[tuple[float, float]]:
    """The intervals as (start, end) POSIX seconds, skipping empty ones. Do not mutate."""
    known = _SPANS.get(id(intervals))
    if known is not None and known[0] is intervals:
        return known[1]
    return [(a.timestamp(), b.timestamp()) for a, b in intervals if b > a]


def _remember(intervals: tuple[Interval, ...]) -> tuple[Interval, ...]:
    if len(_SPANS) >= _SPANS_LIMIT:
        _SPANS.clear()
    _SPANS[id(intervals)] = (intervals, [(a.timestamp(), b.timestamp()) for a, b in intervals])
    return intervals


@lru_cache(maxsize=1024)
def day_edges(zone_name: str, first: int, last: int, hour: int, minute: int) -> tuple[tuple[float, float, float], ...]:
    """For each local date (ordinals first..last): its start, its end and the wall time
    hour:minute on it, as POSIX seconds."""
    out = []
    for ordinal in range(first, last + 1):
        out.append(
            (
                _wall_instant(zone_name, ordinal, 0, 0).timestamp(),
                _wall_instant(zone_name, ordinal + 1, 0, 0).timestamp(),
                _wall_instant(zone_name, ordinal, hour, minute).timestamp(),
            )
        )
    return tuple(out)


@lru_cache(maxsize=50_000)
def _expand_weekly(
    zone_name: str,
    weekdays: int,
    sh: int,
    sm: int,
    eh: int,
    em: int,
    first: int,
    last: int,
    skip: frozenset[int] = frozenset(),
) -> tuple[Interval, ...]:
    crosses = (eh, em) <= (sh, sm)
    out: list[Interval] = []
    for ordinal in range(first, last + 1):
        day = date.fromordinal(ordinal)
        if not weekdays & (1 << day.weekday()) or ordinal in skip:
            continue
        begin = _wall_instant(zone_name, ordinal, sh, sm)
        finish = _wall_instant(zone_name, ordinal + 1 if crosses else ordinal, eh, em)
        if finish > begin:
            out.append(Interval(begin, finish))
    return _remember(tuple(out))


def minutes_of_week(weekday: int, at: time) -> int:
    return weekday * 24 * 60 + at.hour * 60 + at.minute


def weekly_spans(weekdays: int, start: time, end: time) -> list[tuple[int, int]]:
    """A weekly window as spans of minutes of the week (Monday 00:00 is 0), for overlap checks.
    A span that runs past Sunday midnight is split at the week boundary."""
    week = WEEKDAYS * 24 * 60
    length = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    if length <= 0:
        length += 24 * 60
    spans: list[tuple[int, int]] = []
    for weekday in range(WEEKDAYS):
        if not weekdays & (1 << weekday):
            continue
        begin = minutes_of_week(weekday, start)
        finish = begin + length
        if finish <= week:
            spans.append((begin, finish))
        else:
            spans.append((begin, week))
            spans.append((0, finish - week))
    return spans


def weekly_overlaps(windows: list[tuple[int, time, time]]) -> tuple[int, int] | None:
    """The indexes of the first two weekly windows that overlap, or None."""
    spans: list[tuple[int, int, int]] = []
    for index, (weekdays, start, end) in enumerate(windows):
        spans.extend((a, b, index) for a, b in weekly_spans(weekdays, start, end))
    spans.sort()
    reach, owner = -1, -1
    for a, b, index in spans:
        if a < reach and index != owner:
            return (min(index, owner), max(index, owner))
        if b > reach:
            reach, owner = b, index
    return None
