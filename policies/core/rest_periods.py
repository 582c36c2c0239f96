"""Rest periods and working-time findings: lost rest per rest period, weekly rest, jour limits.

Pure: the functions take work, stand-by, jour and contacts as aware instants and return value
objects; nothing here reads a clock or a database.

* A **rest period** is the gap between the end of one piece of work and the start of the next.
  Every contact that broke rest inside it is listed under it, and the rest it lost is counted
  once, for the period as a whole: `required - (next start of work - last contact)`, where
  `required` is the policy's weekly rest when the period holds the weekly rest, otherwise its
  daily rest. Two calls at 01:00 and 03:00 before a 10:00 shift under an 11-hour daily rest
  owe 11 h - 7 h = 240 minutes, not 120 + 240.
* Each contact carries its *share* of the period's figure (what the period owed after it minus
  what it owed before it), so the shares of a period always add up to the period's figure.
* **Weekly rest** (ATL § 14): each local calendar week (Monday 00:00 to Monday 00:00) needs a
  stretch of `weekly_rest_hours` free of work, stand-by and contacts that broke rest.
* **Jour limits** (ATL § 6 as the agreement sets it): at most 48 hours of jour in any period of
  four weeks, and at most 50 hours in a calendar month.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from policies.core.types import Interval, PolicyParams
from policies.core.wallclock import local_date, wall_instant

PeriodKind = Literal["daily", "weekly"]
WeeklyCause = Literal["stand_by", "contacts", "schedule"]
JourBasis = Literal["four_weeks", "month"]

JOUR_FOUR_WEEK_HOURS = 48.0
JOUR_MONTH_HOURS = 50.0
FOUR_WEEKS = timedelta(weeks=4)


@dataclass(frozen=True, slots=True)
class Contact:
    """A contact recorded in the rest ledger: when, and whether it broke rest (`restarts_rest`).

    `ref` identifies the ledger entry (any hashable); it is passed through untouched.
    """

    at: datetime
    restarts_rest: bool = True
    ref: Hashable = None


@dataclass(frozen=True, slots=True)
class RestPeriod:
    """One rest period with the contacts during it and the rest it lost.

    `start` is the end of work before it (None when no earlier work is known), `end` the next
    start of work (None while it is not known: the period is still open and owes nothing yet).
    `rest_minutes` is the rest after the last contact that broke it, `owed_minutes` what that
    falls short of `required_minutes`; `shares[i]` is the part of it due to `contacts[i]`.
    """

    start: datetime | None
    end: datetime | None
    kind: PeriodKind
    required_minutes: int
    contacts: tuple[Contact, ...]
    last_contact: datetime | None
    rest_minutes: int | None
    owed_minutes: int
    shares: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class WeeklyRestFinding:
    """A local calendar week without `required_minutes` of consecutive rest.

    `cause` says what broke it: `stand_by` (the rest would have been long enough without the
    stand-by in it), `contacts` (without the contacts), or `schedule` (work alone left none).
    """

    week: str
    start: datetime
    end: datetime
    longest_rest_minutes: int
    required_minutes: int
    cause: WeeklyCause


@dataclass(frozen=True, slots=True)
class JourFinding:
    """Jour above the limit in a period: four weeks from `start`, or a calendar month."""

    basis: JourBasis
    start: datetime
    end: datetime
    hours: float
    limit_hours: float


def _ts(instant: datetime) -> float:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("instants must be timezone-aware")
    return instant.timestamp()


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _merge(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for a, b in sorted(s for s in spans if s[1] >= s[0]):
        if merged and a <= merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _owed(required: float, end: float, last: float) -> int:
    """Minutes by which the rest from `last` to `end` falls short of `required` seconds."""
    return max(0, math.ceil((required - (end - last)) / 60 - 1e-9))


def _longest_free(gap: tuple[float, float], breakers: list[tuple[float, float]]) -> float:
    """The longest stretch of `gap` not covered by any of `breakers` (merged, sorted)."""
    a, b = gap
    longest = 0.0
    cursor = a
    for s, e in breakers:
        if e <= cursor or s >= b:
            continue
        longest = max(longest, min(s, b) - cursor)
        cursor = max(cursor, e)
        if cursor >= b:
            break
    return max(longest, b - cursor)


def rest_periods(
    *,
    work: Sequence[Interval],
    standby: Sequence[Interval] = (),
    contacts: Sequence[Contact],
    policy: PolicyParams,
) -> list[RestPeriod]:
    """The rest periods that hold at least one contact, oldest first.

    `work` is working time as the policy counts it (shifts with their actual end, weekly hours,
    jour); `standby` is `beredskap`, which is rest for the daily count but not weekly rest.
    Contacts inside work belong to no period and are left out.
    """
    spans = _merge((_ts(i.start), _ts(i.end)) for i in work)
    stand = _merge((_ts(i.start), _ts(i.end)) for i in standby)
    daily = policy.daily_rest_hours * 3600
    weekly = policy.weekly_rest_hours * 3600
    groups: dict[int, list[Contact]] = {}
    for contact in sorted(contacts, key=lambda c: (_ts(c.at), str(c.ref))):  # ties: a stable order
        t = _ts(contact.at)
        # k: index of the first work span starting after t; the gap runs from spans[k-1] to it.
        k = 0
        while k < len(spans) and spans[k][0] <= t:
            k += 1
        if k and spans[k - 1][1] > t:
            continue  # at work
        groups.setdefault(k, []).append(contact)
    periods: list[RestPeriod] = []
    for k in sorted(groups):
        listed = groups[k]
        start = spans[k - 1][1] if k else None
        end = spans[k][0] if k < len(spans) else None
        restarting = [c for c in listed if c.restarts_rest]
        first = _ts(restarting[0].at) if restarting else _ts(listed[0].at)
        # The period holds the weekly rest when its stretch free of stand-by around the first
        # contact is at least the weekly rest long (both ends must be known).
        kind: PeriodKind = "daily"
        if start is not None and end is not None and weekly > 0:
            lo, hi = start, end
            for s, e in stand:
                if s <= first < e:
                    lo = hi = first
                    break
                if e <= first:
                    lo = max(lo, e)
                elif s > first:
                    hi = min(hi, s)
            if hi - lo >= weekly:
                kind = "weekly"
        required = weekly if kind == "weekly" else daily
        shares: list[int] = []
        owed_so_far = 0
        for contact in listed:
            if end is None or not contact.restarts_rest:
                shares.append(0)
                continue
            owed = _owed(required, end, _ts(contact.at))
            owed = max(owed, owed_so_far)
            shares.append(owed - owed_so_far)
            owed_so_far = owed
        last = _ts(restarting[-1].at) if restarting else None
        periods.append(
            RestPeriod(
                start=_utc(start) if start is not None else None,
                end=_utc(end) if end is not None else None,
                kind=kind,
                required_minutes=round(required / 60),
                contacts=tuple(listed),
                last_contact=_utc(last) if last is not None else None,
                rest_minutes=math.floor((end - last) / 60) if end is not None and last is not None else None,
                owed_minutes=owed_so_far,
                shares=tuple(shares),
            )
        )
    return periods


def weekly_rest_findings(
    *,
    work: Sequence[Interval],
    standby: Sequence[Interval] = (),
    contacts: Sequence[Contact] = (),
    zone: str,
    first_day: date,
    last_day: date,
    weekly_rest_hours: float = 36.0,
) -> list[WeeklyRestFinding]:
    """Local calendar weeks touching [first_day, last_day] without the weekly rest.

    Rest is time free of work, stand-by and contacts that broke rest; it must lie inside the week.
    """
    required = weekly_rest_hours * 3600
    if required <= 0:
        return []
    spans = _merge((_ts(i.start), _ts(i.end)) for i in work)
    stand = _merge((_ts(i.start), _ts(i.end)) for i in standby)
    points = _merge((_ts(c.at), _ts(c.at)) for c in contacts if c.restarts_rest)
    everything = _merge([*spans, *stand, *points])
    without_standby = _merge([*spans, *points])
    without_contacts = _merge([*spans, *stand])
    findings: list[WeeklyRestFinding] = []
    monday = first_day - timedelta(days=first_day.weekday())
    while monday <= last_day:
        a = _ts(wall_instant(zone, monday, time(0, 0)))
        b = _ts(wall_instant(zone, monday + timedelta(days=7), time(0, 0)))
        longest = _longest_free((a, b), everything)
        if longest < required:
            cause: WeeklyCause = "schedule"
            if _longest_free((a, b), without_standby) >= required:
                cause = "stand_by"
            elif _longest_free((a, b), without_contacts) >= required:
                cause = "contacts"
            year, week, _ = monday.isocalendar()
            findings.append(
                WeeklyRestFinding(
                    week=f"{year}-W{week:02d}",
                    start=_utc(a),
                    end=_utc(b),
                    longest_rest_minutes=math.floor(longest / 60),
                    required_minutes=round(required / 60),
                    cause=cause,
                )
            )
        monday += timedelta(days=7)
    return findings


def _hours_in(spans: list[tuple[float, float]], a: float, b: float) -> float:
    return sum(max(0.0, min(e, b) - max(s, a)) for s, e in spans) / 3600


def jour_findings(
    *,
    jour: Sequence[Interval],
    zone: str,
    four_week_hours: float = JOUR_FOUR_WEEK_HOURS,
    month_hours: float = JOUR_MONTH_HOURS,
) -> list[JourFinding]:
    """Periods in which jour exceeds the limits: any four weeks (48 h) or a calendar month (50 h).

    Four-week periods are looked at from the start of each jour slot (the worst window starts at
    one); a finding's window is reported once, and the next one is looked for after it ends.
    """
    spans = _merge((_ts(i.start), _ts(i.end)) for i in jour)
    findings: list[JourFinding] = []
    window = FOUR_WEEKS.total_seconds()
    after = -math.inf
    for s, _e in spans:
        if s < after:
            continue
        hours = _hours_in(spans, s, s + window)
        if hours > four_week_hours + 1e-9:
            findings.append(JourFinding("four_weeks", _utc(s), _utc(s + window), round(hours, 2), four_week_hours))
            after = s + window
    months = sorted(
        {local_date(zone, _utc(s)).replace(day=1) for s, _ in spans}
        | {local_date(zone, _utc(e - 1)).replace(day=1) for _, e in spans}
    )
    for first in months:
        following = (first + timedelta(days=32)).replace(day=1)
        a = _ts(wall_instant(zone, first, time(0, 0)))
        b = _ts(wall_instant(zone, following, time(0, 0)))
        hours = _hours_in(spans, a, b)
        if hours > month_hours + 1e-9:
            findings.append(JourFinding("month", _utc(a), _utc(b), round(hours, 2), month_hours))
    findings.sort(key=lambda f: (f.start, f.basis))
    return findings
