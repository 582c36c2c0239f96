"""Dates, times, numbers and plurals as the reader's language writes them, in the reader's zone.

One place for every format a person reads: the web pages (through Jinja filters and the patterns
the page script is given), the digest texts and the preview summary. Babel's CLDR data decides
the words and the order ("tors 3 dec. 06:45", "Thu 3 Dec 06:45"); nothing here prints ISO or UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal

from kernel.timezones import zone

LANGUAGES = ("sv", "en")
_LOCALES = {"sv": "sv_SE", "en": "en_GB"}


def locale(language: str | None) -> str:
    return _LOCALES.get(language or "sv", "sv_SE")


def language_of(language: str | None) -> str:
    return language if language in LANGUAGES else "sv"


def clock(value: datetime, tz: str, language: str) -> str:
    """The wall-clock time: 06:45."""
    return format_time(value, format="HH:mm", tzinfo=zone(tz), locale=locale(language))


def day(value: date | datetime, language: str, tz: str | None = None) -> str:
    """A day with its weekday: "tors 3 dec." / "Thu 3 Dec"."""
    if isinstance(value, datetime):
        value = value.astimezone(zone(tz or "Europe/Stockholm")).date()
    return format_date(value, format="EEE d MMM", locale=locale(language))


def instant(value: datetime, tz: str, language: str, *, today: date | None = None) -> str:
    """An instant as a person reads it: only the time when it falls on `today` (in the zone),
    otherwise the weekday, the day and the time: "07:00", "tors 3 dec. 06:45"."""
    local = value.astimezone(zone(tz))
    if today is not None and local.date() == today:
        return clock(value, tz, language)
    return format_datetime(value, format="EEE d MMM HH:mm", tzinfo=zone(tz), locale=locale(language))


def full(value: datetime, tz: str, language: str) -> str:
    """A date and time with the year, for records: "3 december 2026 06:45"."""
    return format_datetime(value, format="d MMMM y HH:mm", tzinfo=zone(tz), locale=locale(language))


def number(value: float | Decimal | int, language: str, digits: int = 0) -> str:
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=locale(language))


def plural(n: int, language: str, one: str, other: str) -> str:
    """The form of a counted word the language's CLDR plural rule asks for, with the number:
    "1 person", "3 personer". `one` and `other` may contain `{n}`; otherwise the number leads."""
    form = Locale.parse(locale(language)).plural_form(n)
    text = one if form == "one" else other
    shown = number(n, language)
    return text.replace("{n}", shown) if "{n}" in text else f"{shown} {text}"
