"""Reading iCalendar: RRULE with EXDATE and a moved occurrence (RECURRENCE-ID) in an Outlook
VTIMEZONE across the spring switch; all-day events; and the feed a person subscribes to."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import icalendar
import pytest
import recurring_ical_events

from policies.calendar_dnd import DEFAULT_RULE, is_patient_meeting
from policies.core.ical import CalendarError, FeedItem, WeeklyItem, events, feed

ZONE = "Europe/Stockholm"

OUTLOOK = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN
BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:rond-1
SUMMARY:Patientmöte rond
DTSTART;TZID=W. Europe Standard Time:20260323T100000
DTEND;TZID=W. Europe Standard Time:20260323T110000
RRULE:FREQ=WEEKLY;COUNT=4
EXDATE;TZID=W. Europe Standard Time:20260406T100000
CATEGORIES:Patient
END:VEVENT
BEGIN:VEVENT
UID:rond-1
RECURRENCE-ID;TZID=W. Europe Standard Time:20260330T100000
SUMMARY:Patientmöte rond (flyttat)
DTSTART;TZID=W. Europe Standard Time:20260330T130000
DTEND;TZID=W. Europe Standard Time:20260330T140000
CATEGORIES:Patient
END:VEVENT
BEGIN:VEVENT
UID:fri-1
SUMMARY:Lunch
DTSTART:20260324T110000Z
DTEND:20260324T120000Z
TRANSP:TRANSPARENT
END:VEVENT
BEGIN:VEVENT
UID:semester
SUMMARY:Semester
DTSTART;VALUE=DATE:20260325
DTEND;VALUE=DATE:20260327
END:VEVENT
END:VCALENDAR
""".encode()
MARCH = {"start": datetime(2026, 3, 1, tzinfo=UTC), "end": datetime(2026, 5, 1, tzinfo=UTC), "zone": ZONE}


def test_rrule_with_exdate_and_moved_occurrence_keeps_wall_time_across_the_spring_switch() -> None:
    found = [e for e in events(OUTLOOK, **MARCH) if e.uid == "rond-1"]
    assert [(e.start, e.summary) for e in found] == [
        (datetime(2026, 3, 23, 9, tzinfo=UTC), "Patientmöte rond"),  # 10:00 CET
        (datetime(2026, 3, 30, 11, tzinfo=UTC), "Patientmöte rond (flyttat)"),  # moved to 13:00 CEST
        (datetime(2026, 4, 13, 8, tzinfo=UTC), "Patientmöte rond"),  # 10:00 CEST; 6 April excluded
    ]
    # The moved occurrence keeps the key of the slot it replaced, so re-imports recognise it.
    assert found[1].key == "rond-1/20260330T080000Z"


def test_transparent_events_are_free_and_all_day_events_span_local_days() -> None:
    found = {e.uid: e for e in events(OUTLOOK, **MARCH)}
    assert found["fri-1"].busy is False
    leave = found["semester"]
    assert (leave.all_day, leave.start, leave.end) == (
        True,
        datetime(2026, 3, 24, 23, tzinfo=UTC),
        datetime(2026, 3, 26, 23, tzinfo=UTC),
    )
    # Only the patient meeting counts for DND under the default rule, not lunch or leave.
    assert [e.uid for e in found.values() if is_patient_meeting(e, DEFAULT_RULE)] == ["rond-1"]


def test_garbage_is_refused_with_a_reason() -> None:
    with pytest.raises(CalendarError, match="not an iCalendar file"):
        events(b"hello", start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2026, 2, 1, tzinfo=UTC), zone=ZONE)


NIGHT = (datetime(2026, 3, 28, 20, tzinfo=UTC), datetime(2026, 3, 29, 6, tzinfo=UTC))


def test_the_feed_holds_shifts_in_utc_and_quiet_hours_as_a_weekly_rule_in_the_zone() -> None:
    data = feed(
        name="Vila – Anna",
        items=[FeedItem("shift-1@vila", "Arbetspass (Natt)", NIGHT[0], NIGHT[1])],
        weekly=[
            WeeklyItem(
                "quiet-1@vila", "Tysta timmar", (1, 2, 3, 4, 5), time(22, 0), time(7, 0), ZONE, date(2026, 3, 23)
            )
        ],
        stamp=datetime(2026, 3, 23, tzinfo=UTC),
    )
    cal = icalendar.Calendar.from_ical(data)
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == [ZONE]
    # A subscriber sees quiet hours start at 22:00 local on both sides of the switch.
    quiet = [
        e.decoded("DTSTART")
        for e in recurring_ical_events.of(cal).between(
            datetime(2026, 3, 26, tzinfo=UTC), datetime(2026, 4, 1, 12, tzinfo=UTC)
        )
        if str(e["SUMMARY"]) == "Tysta timmar"
    ]
    assert [q.astimezone(UTC).hour for q in quiet] == [21, 21, 21, 20, 20]  # Wed-Fri CET; Mon, Tue CEST
    shift = next(iter(cal.walk("VEVENT")))
    assert shift.decoded("DTSTART") == datetime(2026, 3, 28, 20, tzinfo=UTC)


def test_an_endless_rule_costs_only_what_the_window_holds() -> None:
    data = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:tick\r\nSUMMARY:Tick\r\n"
        b"DTSTART:20260101T000000Z\r\nDTEND:20260101T000500Z\r\nRRULE:FREQ=HOURLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    found = events(data, start=datetime(2026, 6, 1, tzinfo=UTC), end=datetime(2026, 6, 3, tzinfo=UTC), zone=ZONE)
    assert len(found) == 48
    assert found[0].start == datetime(2026, 6, 1, tzinfo=UTC)
