"""Lost rest per rest period, weekly rest and jour limits, with figures worked out by hand."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.core.rest_periods import Contact, jour_findings, rest_periods, weekly_rest_findings
from policies.core.types import Interval, PolicyParams
from policies.core.wallclock import wall_instant

ZONE = "Europe/Stockholm"
POLICY = PolicyParams()  # 11 h daily rest, 36 h weekly rest


def at(day: str, clock: str) -> datetime:
    """A Stockholm wall time as a UTC instant."""
    hour, minute = (int(x) for x in clock.split(":"))
    return wall_instant(ZONE, date.fromisoformat(day), time(hour, minute))


def shift(day: str, start: str, end_day: str, end: str) -> Interval:
    return Interval(at(day, start), at(end_day, end))


def test_two_stand_by_calls_in_one_daily_rest_owe_what_the_period_lost() -> None:
    # Shift ends 21:00; stand-by calls at 01:00 and 03:00; next shift 10:00. After the last call
    # 7 h of rest remain: 11 h - 7 h = 240 minutes, not 120 + 240 = 360.
    work = [shift("2026-05-11", "13:00", "2026-05-11", "21:00"), shift("2026-05-12", "10:00", "2026-05-12", "18:00")]
    calls = [Contact(at("2026-05-12", "01:00"), ref="a"), Contact(at("2026-05-12", "03:00"), ref="b")]
    (period,) = rest_periods(work=work, contacts=calls, policy=POLICY)
    assert period.kind == "daily"
    assert period.start == at("2026-05-11", "21:00") and period.end == at("2026-05-12", "10:00")
    assert period.last_contact == at("2026-05-12", "03:00")
    assert period.rest_minutes == 420
    assert period.owed_minutes == 240
    # 01:00 alone would owe 11 h - 9 h = 120; the 03:00 call adds the other 120.
    assert period.shares == (120, 120)
    assert [c.ref for c in period.contacts] == ["a", "b"]


def test_two_overrides_ten_minutes_apart_owe_130_not_250() -> None:
    # Overrides at 23:00 and 23:10 before an 08:00 shift: 8 h 50 min of rest, 130 minutes short.
    work = [shift("2026-05-11", "07:00", "2026-05-11", "16:00"), shift("2026-05-12", "08:00", "2026-05-12", "16:00")]
    calls = [Contact(at("2026-05-11", "23:00")), Contact(at("2026-05-11", "23:10"))]
    (period,) = rest_periods(work=work, contacts=calls, policy=POLICY)
    assert period.owed_minutes == 130
    assert period.shares == (120, 10)
    assert sum(period.shares) == period.owed_minutes


def test_three_contacts_across_midnight() -> None:
    # Shift ends 21:30, next starts 07:00. Calls at 22:30, 00:15 and 02:45: after the last one
    # 4 h 15 min = 255 minutes of rest remain, so 660 - 255 = 405 minutes are owed.
    # Shares: 22:30 alone owes 660 - 510 = 150; 00:15 owes 660 - 405 = 255 (+105); 02:45 +150.
    work = [shift("2026-05-11", "13:00", "2026-05-11", "21:30"), shift("2026-05-12", "07:00", "2026-05-12", "15:00")]
    calls = [
        Contact(at("2026-05-12", "02:45")),
        Contact(at("2026-05-11", "22:30")),
        Contact(at("2026-05-12", "00:15")),
    ]
    (period,) = rest_periods(work=work, contacts=calls, policy=POLICY)
    assert [c.at for c in period.contacts] == sorted(c.at for c in calls)
    assert period.owed_minutes == 405
    assert period.shares == (150, 105, 150)


def test_contact_across_the_spring_clock_change() -> None:
    # 29 March 2026: 02:00 CET becomes 03:00 CEST. Call at 01:30 (00:30 UTC), next shift 09:00
    # CEST (07:00 UTC): 6 h 30 min of rest, not the 7 h 30 min the wall clock shows -> 270 owed.
    work = [shift("2026-03-28", "14:00", "2026-03-28", "22:00"), shift("2026-03-29", "09:00", "2026-03-29", "17:00")]
    (period,) = rest_periods(work=work, contacts=[Contact(at("2026-03-29", "01:30"))], policy=POLICY)
    assert period.last_contact == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert period.end == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    assert period.rest_minutes == 390
    assert period.owed_minutes == 270


def test_contact_across_the_autumn_clock_change() -> None:
    # 25 October 2026: 03:00 CEST becomes 02:00 CET. Call at 01:30 CEST (23:30 UTC the day
    # before), next shift 09:00 CET (08:00 UTC): 8 h 30 min of rest -> 150 owed (the wall clock
    # would say 7 h 30 min and 210).
    work = [shift("2026-10-24", "14:00", "2026-10-24", "22:00"), shift("2026-10-25", "09:00", "2026-10-25", "17:00")]
    (period,) = rest_periods(work=work, contacts=[Contact(at("2026-10-25", "01:30"))], policy=POLICY)
    assert period.last_contact == datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
    assert period.rest_minutes == 510
    assert period.owed_minutes == 150


def test_contacts_in_two_periods_are_counted_per_period() -> None:
    work = [
        shift("2026-05-11", "07:00", "2026-05-11", "16:00"),
        shift("2026-05-12", "08:00", "2026-05-12", "16:00"),
        shift("2026-05-13", "08:00", "2026-05-13", "16:00"),
    ]
    calls = [Contact(at("2026-05-11", "23:00")), Contact(at("2026-05-13", "02:00"))]
    first, second = rest_periods(work=work, contacts=calls, policy=POLICY)
    assert first.owed_minutes == 120  # 23:00 -> 08:00 is 9 h
    assert second.owed_minutes == 300  # 02:00 -> 08:00 is 6 h
    assert first.end == at("2026-05-12", "08:00")
    assert second.start == at("2026-05-12", "16:00")


def test_weekly_rest_period_owes_against_36_hours() -> None:
    # Friday 17:00 to Monday 07:00 (62 h) holds the weekly rest. A call on Saturday 12:00 leaves
    # 43 h (nothing owed); one on Sunday 12:00 leaves 19 h: 36 h - 19 h = 1,020 minutes.
    work = [shift("2026-05-15", "08:00", "2026-05-15", "17:00"), shift("2026-05-18", "07:00", "2026-05-18", "16:00")]
    (saturday,) = rest_periods(work=work, contacts=[Contact(at("2026-05-16", "12:00"))], policy=POLICY)
    assert saturday.kind == "weekly" and saturday.required_minutes == 2160 and saturday.owed_minutes == 0
    calls = [Contact(at("2026-05-16", "12:00")), Contact(at("2026-05-17", "12:00"))]
    (both,) = rest_periods(work=work, contacts=calls, policy=POLICY)
    assert both.owed_minutes == 1020
    assert both.shares == (0, 1020)


def test_contacts_that_did_not_break_rest_are_listed_but_owe_nothing() -> None:
    work = [shift("2026-05-11", "07:00", "2026-05-11", "16:00"), shift("2026-05-12", "08:00", "2026-05-12", "16:00")]
    calls = [Contact(at("2026-05-11", "23:00")), Contact(at("2026-05-12", "01:00"), restarts_rest=False)]
    (period,) = rest_periods(work=work, contacts=calls, policy=POLICY)
    assert len(period.contacts) == 2
    assert period.last_contact == at("2026-05-11", "23:00")
    assert period.owed_minutes == 120 and period.shares == (120, 0)


def test_open_period_owes_nothing_until_the_next_start_is_known() -> None:
    work = [shift("2026-05-11", "07:00", "2026-05-11", "16:00")]
    (period,) = rest_periods(work=work, contacts=[Contact(at("2026-05-11", "23:00"))], policy=POLICY)
    assert period.end is None and period.owed_minutes == 0


def test_contact_at_work_belongs_to_no_period() -> None:
    work = [shift("2026-05-11", "07:00", "2026-05-11", "16:00")]
    assert rest_periods(work=work, contacts=[Contact(at("2026-05-11", "10:00"))], policy=POLICY) == []


def _weekdays(monday: str, days: int = 5) -> list[Interval]:
    first = date.fromisoformat(monday)
    out = []
    for n in range(days):
        day = first.fromordinal(first.toordinal() + n).isoformat()
        out.append(shift(day, "07:00", day, "16:00"))
    return out


def test_weekly_rest_broken_by_stand_by() -> None:
    # Mon-Fri 07:00-16:00 and stand-by Saturday 08:00 to Sunday 20:00: the longest rest in the
    # week is Friday 16:00 -> Saturday 08:00 = 16 h (960 min), short of 36 h. Without the
    # stand-by it would be Friday 16:00 -> Monday 00:00 = 56 h: stand-by broke it.
    work = _weekdays("2026-05-11")
    standby = [Interval(at("2026-05-16", "08:00"), at("2026-05-17", "20:00"))]
    (finding,) = weekly_rest_findings(
        work=work, standby=standby, zone=ZONE, first_day=date(2026, 5, 11), last_day=date(2026, 5, 17)
    )
    assert finding.week == "2026-W20"
    assert finding.longest_rest_minutes == 960 and finding.required_minutes == 2160
    assert finding.cause == "stand_by"
    assert weekly_rest_findings(work=work, zone=ZONE, first_day=date(2026, 5, 11), last_day=date(2026, 5, 17)) == []


def test_weekly_rest_broken_by_contacts() -> None:
    # Calls Saturday 10:00 and Sunday 06:00 split the 56 h into 18 h, 20 h and 18 h.
    work = _weekdays("2026-05-11")
    calls = [Contact(at("2026-05-16", "10:00")), Contact(at("2026-05-17", "06:00"))]
    (finding,) = weekly_rest_findings(
        work=work, contacts=calls, zone=ZONE, first_day=date(2026, 5, 11), last_day=date(2026, 5, 17)
    )
    assert finding.cause == "contacts" and finding.longest_rest_minutes == 20 * 60


def test_weekly_rest_week_of_the_spring_clock_change_has_167_hours() -> None:
    # Work every day 08:00-20:00 (12 h rest each night): the week is broken by the schedule.
    work = [shift(f"2026-03-{d}", "08:00", f"2026-03-{d}", "20:00") for d in range(23, 30)]
    (finding,) = weekly_rest_findings(work=work, zone=ZONE, first_day=date(2026, 3, 23), last_day=date(2026, 3, 29))
    assert finding.start == datetime(2026, 3, 22, 23, 0, tzinfo=UTC)
    assert finding.end == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    # The night of 28-29 March is one hour shorter: 11 h; the other nights 12 h.
    assert finding.longest_rest_minutes == 12 * 60
    assert finding.cause == "schedule"


def test_jour_over_48_hours_in_four_weeks() -> None:
    # Four 16-hour jour slots within two weeks: 64 h in the four weeks from the first.
    slots = [
        shift("2026-05-04", "16:00", "2026-05-05", "08:00"),
        shift("2026-05-06", "16:00", "2026-05-07", "08:00"),
        shift("2026-05-11", "16:00", "2026-05-12", "08:00"),
        shift("2026-05-13", "16:00", "2026-05-14", "08:00"),
    ]
    month, four_weeks = jour_findings(jour=slots, zone=ZONE)  # by start: 1 May, then 4 May
    assert four_weeks.basis == "four_weeks" and four_weeks.hours == 64 and four_weeks.limit_hours == 48
    assert four_weeks.start == at("2026-05-04", "16:00")
    # May holds the same 64 h, over its 50 h too.
    assert month.basis == "month" and month.hours == 64 and month.start == at("2026-05-01", "00:00")
    # Three of them are exactly 48 h: at the limit, not over it.
    assert jour_findings(jour=slots[:3], zone=ZONE) == []


def test_jour_over_50_hours_in_a_calendar_month() -> None:
    # 13-hour slots on 1, 2, 30 and 31 October 2026: no four weeks hold more than 26 h, but
    # October holds 52 h. The month runs 1 Oct 00:00 CEST to 1 Nov 00:00 CET (745 hours).
    slots = [shift(f"2026-10-{d:02d}", "08:00", f"2026-10-{d:02d}", "21:00") for d in (1, 2, 30, 31)]
    (finding,) = jour_findings(jour=slots, zone=ZONE)
    assert finding.basis == "month" and finding.hours == 52 and finding.limit_hours == 50
    assert finding.start == datetime(2026, 9, 30, 22, 0, tzinfo=UTC)
    assert finding.end == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        rest_periods(work=[], contacts=[Contact(datetime(2026, 5, 1, 1, 0))], policy=POLICY)  # noqa: DTZ001


_BASE = datetime(2026, 3, 23, tzinfo=UTC)  # the week of the spring clock change


@settings(max_examples=200, deadline=None)
@given(
    shifts=st.lists(st.tuples(st.integers(0, 14 * 24 * 4), st.integers(4, 14 * 4)), min_size=1, max_size=12),
    calls=st.lists(st.integers(0, 15 * 24 * 60), min_size=1, max_size=8),
)
def test_a_period_owes_what_its_last_contact_left_and_its_shares_add_up(
    shifts: list[tuple[int, int]], calls: list[int]
) -> None:
    work = [
        Interval(_BASE + timedelta(minutes=15 * start), _BASE + timedelta(minutes=15 * (start + length)))
        for start, length in shifts
    ]
    contacts = [Contact(_BASE + timedelta(minutes=m), ref=n) for n, m in enumerate(calls)]
    periods = rest_periods(work=work, contacts=contacts, policy=POLICY)
    listed = [c.ref for p in periods for c in p.contacts]
    assert len(listed) == len(set(listed))  # a contact is in one period at most
    for period in periods:
        assert sum(period.shares) == period.owed_minutes and min(period.shares) >= 0
        assert 0 <= period.owed_minutes <= period.required_minutes
        if period.end is not None and period.last_contact is not None:
            rest = (period.end - period.last_contact).total_seconds() / 60
            assert period.owed_minutes == max(0, math.ceil(period.required_minutes - rest - 1e-9))
            # The period owes what its last contact would owe alone: no more, however many came before.
            alone = [rest_periods(work=work, contacts=[c], policy=POLICY)[0].owed_minutes for c in period.contacts]
            assert period.owed_minutes == max(alone)
    # The order in which the contacts are given does not matter.
    assert rest_periods(work=work, contacts=list(reversed(contacts)), policy=POLICY) == periods
