"""iCalendar in and out, with the icalendar library and its recurrence expander.

Reading: `events()` expands a calendar over a window with recurring-ical-events, which applies
RRULE, RDATE, EXDATE and RECURRENCE-ID overrides and resolves times through the file's own
VTIMEZONE definitions (Outlook's "W. Europe Standard Time" included). Floating times and all-day
events are read in the zone given. Writing: `feed()` builds a person's subscribable calendar.
Both are pure: bytes in, values out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import icalendar
import pytz
import recurring_ical_events

from policies.core.wallclock import wall_instant

MAX_OCCURRENCES = 20_000


class CalendarError(ValueError):
    """The data is not a readable iCalendar file (the message says why)."""


@dataclass(frozen=True)
class CalEvent:
    uid: str
    key: str  # UID plus the occurrence's original start: stable across re-imports
    summary: str
    start: datetime
    end: datetime
    categories: tuple[str, ...]
    busy: bool
    all_day: bool
    attendees: tuple[str, ...]  # lower-case e-mail addresses


def _instant(value: Any, zone: str) -> tuple[datetime, bool]:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            tz = pytz.timezone(zone)
            return tz.normalize(tz.localize(value, is_dst=False)).astimezone(UTC), False
        return value.astimezone(UTC), False
    if isinstance(value, date):
        return wall_instant(zone, value, time(0, 0)), True
    raise CalendarError(f"unreadable date value {value!r}")


def _texts(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        cats = getattr(item, "cats", None)
        if cats is not None:
            out.extend(str(c) for c in cats)
        else:
            out.extend(part.strip() for part in str(item).split(","))
    return tuple(t for t in out if t)


def _emails(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else ([value] if value is not None else [])
    out = []
    for item in items:
        text = str(item)
        if text.lower().startswith("mailto:"):
            out.append(text[7:].strip().lower())
    return tuple(out)


def parse(data: bytes | str) -> icalendar.Calendar:
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except Exception as exc:  # the library raises ValueError, KeyError, IndexError on bad input
        raise CalendarError(f"not an iCalendar file: {exc}") from exc
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise CalendarError("not an iCalendar file: no VCALENDAR")
    return calendar


def events(data: bytes | str, *, start: datetime, end: datetime, zone: str) -> list[CalEvent]:
    """Every occurrence of every VEVENT that overlaps [start, end), ordered by start."""
    calendar = parse(data)
    out: list[CalEvent] = []
    try:
        # `after` yields lazily in start order, so an RRULE without an end (or FREQ=MINUTELY)
        # costs only what the window holds.
        for component in recurring_ical_events.of(calendar).after(start):
            event = _event(component, zone)
            if event is None:
                continue
            if event.start >= end:
                break
            if len(out) >= MAX_OCCURRENCES:
                raise CalendarError(f"more than {MAX_OCCURRENCES:,} occurrences in the window; narrow it")
            out.append(event)
    except CalendarError:
        raise
    except Exception as exc:  # malformed RRULE, unknown TZID, ...
        raise CalendarError(f"cannot expand the calendar's recurrences: {exc}") from exc
    out.sort(key=lambda e: (e.start, e.key))
    return out


def _event(component: Any, zone: str) -> CalEvent | None:
    if component.name != "VEVENT" or "DTSTART" not in component:
        return None
    begin, all_day = _instant(component.decoded("DTSTART"), zone)
    if "DTEND" in component:
        finish, _ = _instant(component.decoded("DTEND"), zone)
    elif "DURATION" in component:
        finish = begin + component.decoded("DURATION")
    else:
        finish = begin + (timedelta(days=1) if all_day else timedelta(0))
    if finish <= begin:
        return None
    status = str(component.get("STATUS", "")).upper()
    transparent = str(component.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT"
    ms_status = str(component.get("X-MICROSOFT-CDO-BUSYSTATUS", "BUSY")).upper()
    uid = str(component.get("UID", ""))
    recurrence = component.get("RECURRENCE-ID")
    original = _instant(recurrence.dt, zone)[0] if recurrence is not None else begin
    return CalEvent(
        uid=uid,
        key=f"{uid}/{original:%Y%m%dT%H%M%SZ}"[:300],
        summary=str(component.get("SUMMARY", "")),
        start=begin,
        end=finish,
        categories=_texts(component.get("CATEGORIES")),
        busy=status != "CANCELLED" and not transparent and ms_status not in {"FREE", "WORKINGELSEWHERE"},
        all_day=all_day,
        attendees=_emails(component.get("ATTENDEE")),
    )


# Export -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedItem:
    uid: str
    summary: str
    start: datetime
    end: datetime
    description: str = ""
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class WeeklyItem:
    """A recurring weekly window (quiet hours): wall times in a zone on ISO weekdays."""

    uid: str
    summary: str
    days: tuple[int, ...]
    start: time
    end: time
    zone: str
    first: date


_BYDAY = {1: "MO", 2: "TU", 3: "WE", 4: "TH", 5: "FR", 6: "SA", 7: "SU"}


def feed(*, name: str, items: Iterable[FeedItem], weekly: Iterable[WeeklyItem], stamp: datetime) -> bytes:
    """A subscribable calendar: one-off items in UTC, weekly windows as RRULEs in their zone
    (with VTIMEZONE), so Outlook and phones keep them at the same wall time across DST."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Vila//Vila schedule//SV")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    for item in items:
        event = icalendar.Event()
        event.add("uid", item.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", item.start.astimezone(UTC))
        event.add("dtend", item.end.astimezone(UTC))
        event.add("summary", item.summary)
        if item.description:
            event.add("description", item.description)
        if item.categories:
            event.add("categories", list(item.categories))
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    for window in weekly:
        tz = pytz.timezone(window.zone)
        start_day = window.first
        while start_day.isoweekday() not in window.days:
            start_day += timedelta(days=1)
        begin = tz.localize(datetime.combine(start_day, window.start))
        end_day = start_day + timedelta(days=1) if window.end <= window.start else start_day
        finish = tz.localize(datetime.combine(end_day, window.end))
        event = icalendar.Event()
        event.add("uid", window.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", begin)
        event.add("dtend", finish)
        event.add("summary", window.summary)
        event.add("rrule", {"FREQ": "WEEKLY", "BYDAY": [_BYDAY[d] for d in window.days]})
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())
