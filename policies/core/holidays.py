"""Public holidays from the maintained `holidays` library, for working hours that skip them.

A holiday calendar is named by an ISO country code, optionally with a subdivision: "SE" (the
default), "NO", "DE-BY". Only the public holidays count (in Sweden: the allmänna helgdagar, not
Sundays, which the library would otherwise list, nor eves such as julafton).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays as holiday_data
from holidays import HolidayBase
from holidays.countries.sweden import Sweden


def validate_calendar(name: str) -> str:
    """The canonical name ("se-ab" -> "SE-AB"), or ValueError naming what is wrong."""
    country, _, subdiv = name.strip().upper().partition("-")
    supported = holiday_data.list_supported_countries()
    if country not in supported:
        raise ValueError(f"unknown holiday calendar {name!r}; use an ISO country code such as SE, NO, DK, FI")
    if subdiv and subdiv not in supported[country]:
        raise ValueError(f"{country} has no subdivision {subdiv!r}; known: {', '.join(supported[country][:20])}")
    return f"{country}-{subdiv}" if subdiv else country


@lru_cache(maxsize=256)
def _year(name: str, year: int) -> frozenset[int]:
    country, _, subdiv = name.partition("-")
    days: HolidayBase
    if country == "SE":
        days = Sweden(years=year, include_sundays=False)
    else:
        days = holiday_data.country_holidays(country, subdiv=subdiv or None, years=year)
    return frozenset(day.toordinal() for day in days)


@lru_cache(maxsize=1024)
def holiday_ordinals(name: str, first: date, last: date) -> frozenset[int]:
    """Ordinals of the calendar's public holidays from `first` to `last` (both included)."""
    out: set[int] = set()
    for year in range(first.year, last.year + 1):
        out |= {o for o in _year(name, year) if first.toordinal() <= o <= last.toordinal()}
    return frozenset(out)


def holidays_between(name: str, first: date, last: date) -> list[tuple[date, str]]:
    """The holidays with their names, for showing them to people."""
    country, _, subdiv = name.partition("-")
    years = list(range(first.year, last.year + 1))
    days: HolidayBase
    if country == "SE":
        days = Sweden(years=years, include_sundays=False, language="sv")
    else:
        days = holiday_data.country_holidays(country, subdiv=subdiv or None, years=years)
    return sorted((d, str(n)) for d, n in days.items() if first <= d <= last)
