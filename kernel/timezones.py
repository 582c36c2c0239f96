"""IANA time zones through pytz, used the way pytz requires (`localize` and `normalize`)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytz


def validate_timezone(name: str) -> str:
    """Return the canonical zone name, or raise ValueError with a readable message."""
    try:
        return pytz.timezone(name).zone or name
    except (pytz.UnknownTimeZoneError, AttributeError, TypeError) as exc:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as 'Europe/Stockholm'") from exc


def zone(name: str) -> pytz.BaseTzInfo:
    return pytz.timezone(name)


def local_instant(zone_name: str, day: date, at: time) -> datetime:
    """The instant of wall-clock time `at` on `day` in the zone, in that zone.

    A wall time skipped by a spring-forward switch moves forward by the gap (02:30 -> 03:30);
    a repeated autumn wall time resolves to its first occurrence (summer time).
    """
    tz = pytz.timezone(zone_name)
    naive = datetime.combine(day, at)
    try:
        return tz.localize(naive, is_dst=None)
    except pytz.NonExistentTimeError:
        return tz.normalize(tz.localize(naive, is_dst=False))
    except pytz.AmbiguousTimeError:
        return tz.localize(naive, is_dst=True)
