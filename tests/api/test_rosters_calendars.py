"""Calendars through the API: roster turns and leave imported from iCalendar, the subscribable
feed, DND from a linked calendar served by a local HTTP server (failures visible to the person),
and working hours that skip Swedish public holidays."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel import logs
from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.push import PushClient
from policies.calendar_fetch import HttpCalendarFetcher
from policies.models import DndSession, Leave
from tests.conftest import BROKER_NAMESPACE
from tests.factories import Actor, Factory
from tests.messaging_helpers import recording_push, run_jobs, run_periodic

ICS = {"Content-Type": "text/calendar"}


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    # Linked calendars may use the plain-HTTP server on loopback that these tests start.
    return Settings(
        database_url=db_url,
        data_dir=tmp_path,
        broker_url="",
        broker_namespace=BROKER_NAMESPACE,
        load_demo=False,
        calendar_allow_http=True,
    )


@pytest.fixture
def push() -> Iterator[PushClient]:
    client, _ = recording_push()
    yield client
    client.close()


class CalendarServer:
    """A local HTTP server whose answers the test sets: path -> (status, body)."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, bytes]] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = pages.get(self.path, (404, b"not found"))
                self.send_response(status)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def calendar_server() -> Iterator[CalendarServer]:
    server = CalendarServer()
    yield server
    server.close()


def vcal(*events: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + "".join(events) + "END:VCALENDAR\r\n").encode()


def vevent(uid: str, summary: str, start: str, end: str, *extra: str) -> str:
    lines = [f"UID:{uid}", f"SUMMARY:{summary}", f"DTSTART:{start}", f"DTEND:{end}", *extra]
    return "BEGIN:VEVENT\r\n" + "".join(f"{line}\r\n" for line in lines) + "END:VEVENT\r\n"


class Unit:
    def __init__(self, make: Factory) -> None:
        self.group = make.group("Anestesi")
        self.boss: Actor = make.actor(roles=["staff", "manager"], manages=[self.group])
        self.anna = make.actor(groups=[self.group], name="Anna Andersson")
        self.bo = make.actor(groups=[self.group], name="Bo Berg")


@pytest.fixture
def unit(make: Factory) -> Unit:
    return Unit(make)


def test_roster_turns_from_ical_become_overrides_and_reimport_changes_nothing(client: TestClient, unit: Unit) -> None:
    roster = client.post(
        "/api/v1/rosters",
        headers=unit.boss.headers,
        json={"group_id": str(unit.group.id), "name": "Beredskap", "role": "Beredskap anestesi", "kind": "beredskap"},
    ).json()
    # Anna every weekday evening for two weeks, except Wednesday 25 Nov; Bo takes Thursday 26 Nov
    # (a moved occurrence); the summary names Bo by e-mail for a one-off weekend turn.
    anna_mail, bo_mail = unit.anna.person.email, unit.bo.person.email
    data = vcal(
        vevent(
            "kvall",
            "Beredskap kväll",
            "20261123T160000Z",
            "20261124T070000Z",
            f"ATTENDEE;CN=Anna:mailto:{anna_mail}",
            "RRULE:FREQ=DAILY;COUNT=4",
            "EXDATE:20261125T160000Z",
        ),
        vevent(
            "kvall",
            "Beredskap kväll (byte)",
            "20261126T160000Z",
            "20261127T070000Z",
            "RECURRENCE-ID:20261126T160000Z",
            f"ATTENDEE;CN=Bo:mailto:{bo_mail}",
        ),
        vevent("helg", bo_mail, "20261128T070000Z", "20261130T070000Z"),
    )
    params = {"start": "2026-11-23T00:00:00+00:00", "end": "2026-12-07T00:00:00+00:00"}
    r = client.post(
        f"/api/v1/rosters/{roster['id']}/ical", headers={**unit.boss.headers, **ICS}, content=data, params=params
    )
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["occurrences"]) == (4, 4)

    def holder(at: str) -> str | None:
        answer = client.get(
            "/api/v1/on-call", headers=unit.anna.headers, params={"role": "Beredskap anestesi", "at": at}
        )
        value: str | None = answer.json()["person_id"]
        return value

    assert holder("2026-11-23T20:00:00+00:00") == str(unit.anna.id)
    assert holder("2026-11-25T20:00:00+00:00") is None  # the excluded evening: a gap, shown as such
    assert holder("2026-11-26T20:00:00+00:00") == str(unit.bo.id)
    assert holder("2026-11-29T12:00:00+00:00") == str(unit.bo.id)
    again = client.post(
        f"/api/v1/rosters/{roster['id']}/ical", headers={**unit.boss.headers, **ICS}, content=data, params=params
    )
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 4)
    assert len(client.get(f"/api/v1/rosters/{roster['id']}", headers=unit.boss.headers).json()["overrides"]) == 4
    # A turn naming nobody Vila knows fails the whole import, and says which.
    bad = vcal(vevent("x", "okand@exempel.se", "20261201T070000Z", "20261202T070000Z"))
    r = client.post(
        f"/api/v1/rosters/{roster['id']}/ical", headers={**unit.boss.headers, **ICS}, content=bad, params=params
    )
    assert r.status_code == 422
    assert r.json()["details"]["rejected"][0]["reason"] == "names no person Vila knows"
    garbage = client.post(f"/api/v1/rosters/{roster['id']}/ical", headers={**unit.boss.headers, **ICS}, content=b"nope")
    assert garbage.status_code == 422


def test_leave_can_be_read_from_a_calendar_url(
    client: TestClient, unit: Unit, calendar_server: CalendarServer, session_factory: sessionmaker[Session]
) -> None:
    calendar_server.pages["/ledighet.ics"] = (200, vcal(vevent("kurs", "Kurs", "20261201T070000Z", "20261203T160000Z")))
    r = client.post(
        "/api/v1/people/me/leave/ical",
        headers=unit.anna.headers,
        params={"url": calendar_server.url("/ledighet.ics"), "kind": "other"},
    )
    assert r.status_code == 200, r.text
    with session_factory() as s:
        leave = s.scalars(select(Leave).where(Leave.person_id == unit.anna.id)).one()
        assert (leave.kind, leave.start_at) == ("other", datetime(2026, 12, 1, 7, tzinfo=UTC))
    missing = client.post(
        "/api/v1/people/me/leave/ical", headers=unit.anna.headers, params={"url": calendar_server.url("/nope.ics")}
    )
    assert missing.status_code == 422
    assert missing.json()["message"] == "the calendar server answered HTTP 404"


def test_leave_from_ical_with_all_day_events(
    client: TestClient, unit: Unit, session_factory: sessionmaker[Session]
) -> None:
    data = vcal(
        vevent("sem", "Semester", "20261221", "20261228"),
        vevent("fri", "Ledig?", "20261230T080000Z", "20261230T120000Z", "TRANSP:TRANSPARENT"),
    )
    data = data.replace(b"DTSTART:20261221", b"DTSTART;VALUE=DATE:20261221").replace(
        b"DTEND:20261228", b"DTEND;VALUE=DATE:20261228"
    )
    r = client.post("/api/v1/people/me/leave/ical", headers={**unit.anna.headers, **ICS}, content=data)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 1
    with session_factory() as s:
        leave = s.scalars(select(Leave).where(Leave.person_id == unit.anna.id)).one()
        # Local days in Stockholm: 21 Dec 00:00 CET to 28 Dec 00:00 CET.
        assert leave.start_at == datetime(2026, 12, 20, 23, tzinfo=UTC)
        assert leave.end_at == datetime(2026, 12, 27, 23, tzinfo=UTC)
    assert (
        client.post("/api/v1/people/me/leave/ical", headers={**unit.anna.headers, **ICS}, content=data).json()[
            "unchanged"
        ]
        == 1
    )


def test_the_feed_serves_shifts_and_on_call_by_secret_until_replaced(client: TestClient, unit: Unit) -> None:
    client.post(
        f"/api/v1/people/{unit.anna.id}/shifts",
        headers=unit.boss.headers,
        json={"planned_start": "2026-11-24T06:00:00+00:00", "planned_end": "2026-11-24T15:00:00+00:00"},
    )
    client.put(
        "/api/v1/people/me/quiet-hours",
        headers=unit.anna.headers,
        json={"windows": [{"days": [1, 2, 3, 4, 5], "start": "22:00", "end": "07:00"}]},
    )
    issued = client.post("/api/v1/people/me/calendar-feed", headers=unit.anna.headers)
    assert issued.status_code == 201
    path = issued.json()["url"].split("testserver", 1)[1]
    r = client.get(path)  # no bearer: the secret is the credential
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(r.content)
    summaries = sorted(str(e["SUMMARY"]) for e in cal.walk("VEVENT"))
    assert summaries == ["Arbetspass", "Tysta timmar"]
    assert client.get(f"/api/v1/people/{unit.anna.id}/calendar.ics", headers=unit.bo.headers).status_code == 403
    # A new link revokes the old one.
    client.post("/api/v1/people/me/calendar-feed", headers=unit.anna.headers)
    assert client.get(path).status_code == 404


def test_patient_meetings_in_a_linked_calendar_become_dnd_and_failures_show(
    client: TestClient,
    unit: Unit,
    calendar_server: CalendarServer,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: PushClient,
) -> None:
    # Now is Monday 23 Nov 09:00 UTC. A patient meeting at 10:00-11:00 UTC, a lunch that is not.
    calendar_server.pages["/anna.ics"] = (
        200,
        vcal(
            vevent("m1", "Samtal", "20261123T100000Z", "20261123T110000Z", "CATEGORIES:Patientmöte"),
            vevent("m2", "Lunch", "20261123T113000Z", "20261123T120000Z"),
            vevent("m3", "Patientbesök hemma", "20261124T080000Z", "20261124T090000Z"),
        ),
    )
    r = client.put(
        "/api/v1/people/me/calendar-link", headers=unit.anna.headers, json={"url": calendar_server.url("/anna.ics")}
    )
    assert r.status_code == 200, r.text
    run_jobs(settings, session_factory, clock, push)
    status = client.get("/api/v1/people/me/calendar-link", headers=unit.anna.headers).json()
    assert (status["sessions"], status["last_error"]) == (2, None)
    with session_factory() as s:
        spans = [
            (d.start_at, d.source)
            for d in s.scalars(
                select(DndSession).where(DndSession.person_id == unit.anna.id).order_by(DndSession.start_at)
            )
        ]
    assert spans == [
        (datetime(2026, 11, 23, 10, tzinfo=UTC), "calendar"),
        (datetime(2026, 11, 24, 8, tzinfo=UTC), "calendar"),
    ]
    # During the meeting a normal message waits.
    clock.advance(timedelta(hours=1, minutes=10))
    explain = client.post(
        f"/api/v1/people/{unit.anna.id}/explain", headers=unit.boss.headers, json={"priority": "normal"}
    )
    assert explain.json()["kind"] == "hold", explain.text
    # The link breaks: the sessions stay, and Anna sees why.
    calendar_server.pages["/anna.ics"] = (500, b"oops")
    run_periodic("policies.refresh_calendars", settings, session_factory, clock, push)
    status = client.get("/api/v1/people/me/calendar-link", headers=unit.anna.headers).json()
    assert status["failures"] == 1
    assert status["last_error"] == "the calendar server answered HTTP 500"
    with session_factory() as s:
        assert len(s.scalars(select(DndSession).where(DndSession.person_id == unit.anna.id)).all()) == 2
    # Unlinking ends calendar DND: the running meeting ends now, tomorrow's is gone.
    assert client.delete("/api/v1/people/me/calendar-link", headers=unit.anna.headers).status_code == 204
    assert client.get(f"/api/v1/people/{unit.anna.id}/dnd", headers=unit.anna.headers).json() is None
    with session_factory() as s:
        left = s.scalars(select(DndSession).where(DndSession.person_id == unit.anna.id)).all()
        assert [(d.start_at, d.ended_at) for d in left] == [(datetime(2026, 11, 23, 10, tzinfo=UTC), clock.now())]


def test_a_unit_rule_decides_what_counts_as_a_patient_meeting(
    client: TestClient,
    unit: Unit,
    calendar_server: CalendarServer,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: PushClient,
) -> None:
    r = client.put(
        f"/api/v1/groups/{unit.group.id}/calendar-rule",
        headers=unit.boss.headers,
        json={"categories": ["Klinik"], "keywords": ["op-planering"]},
    )
    assert r.status_code == 200, r.text
    calendar_server.pages["/bo.ics"] = (
        200,
        vcal(
            vevent("a", "Patientmöte", "20261123T100000Z", "20261123T110000Z"),
            vevent("b", "OP-planering sal 3", "20261123T120000Z", "20261123T130000Z"),
            vevent("c", "Mottagning", "20261123T140000Z", "20261123T150000Z", "CATEGORIES:Klinik"),
        ),
    )
    client.put("/api/v1/people/me/calendar-link", headers=unit.bo.headers, json={"url": calendar_server.url("/bo.ics")})
    run_jobs(settings, session_factory, clock, push)
    with session_factory() as s:
        notes = sorted(d.note or "" for d in s.scalars(select(DndSession).where(DndSession.person_id == unit.bo.id)))
    assert notes == ["Mottagning", "OP-planering sal 3"]
    assert (
        client.put(
            f"/api/v1/groups/{unit.group.id}/calendar-rule", headers=unit.bo.headers, json={"keywords": ["samtal"]}
        ).status_code
        == 403
    )


def test_links_must_be_https_in_production(client: TestClient, make: Factory) -> None:
    nurse = make.actor()
    client.app.state.settings = client.app.state.settings.model_copy(update={"calendar_allow_http": False})  # type: ignore[attr-defined]
    for url, reason in (
        ("http://kalender.exempel.se/a.ics", "https://"),
        ("https://127.0.0.1/a.ics", "private network"),
        ("ftp://x/y", "https://"),
    ):
        r = client.put("/api/v1/people/me/calendar-link", headers=nurse.headers, json={"url": url})
        assert r.status_code == 422
        assert reason in r.json()["message"]


def test_working_hours_skip_swedish_public_holidays(client: TestClient, unit: Unit) -> None:
    r = client.put(
        f"/api/v1/people/{unit.anna.id}/working-hours",
        headers=unit.boss.headers,
        json={"windows": [{"days": [1, 2, 3, 4, 5], "start": "08:00", "end": "16:30"}], "except_holidays": True},
    )
    assert r.status_code == 200, r.text
    assert r.json()["windows"][0]["holidays"] == "SE"

    def normal_at(at: str) -> str:
        answer = client.post(
            f"/api/v1/people/{unit.anna.id}/explain", headers=unit.boss.headers, json={"priority": "normal", "at": at}
        )
        kind: str = answer.json()["kind"]
        return kind

    assert normal_at("2026-12-25T10:00:00+00:00") == "hold"  # juldagen, a Friday
    assert normal_at("2026-12-28T10:00:00+00:00") == "deliver"  # an ordinary Monday
    holidays = client.get("/api/v1/holidays", headers=unit.anna.headers, params={"year": 2026}).json()
    assert {"date": "2026-06-19", "name": "Midsommarafton"} not in holidays
    assert {"date": "2026-06-20", "name": "Midsommardagen"} in holidays
    norway = client.get("/api/v1/holidays", headers=unit.anna.headers, params={"year": 2026, "calendar": "NO"})
    assert "2026-05-17" in {h["date"] for h in norway.json()}
    bad = client.put(
        f"/api/v1/people/{unit.anna.id}/working-hours",
        headers=unit.boss.headers,
        json={"windows": [{"days": [1], "start": "08:00", "end": "16:00"}], "except_holidays": True, "holidays": "XX"},
    )
    assert bad.status_code == 422
    assert "unknown holiday calendar" in bad.text


def test_a_linked_calendars_address_is_not_logged(calendar_server: CalendarServer, settings: Settings) -> None:
    """A published calendar's address often holds its secret: the fetch logs nothing of it, even at
    INFO (httpx would log every request's URL)."""
    root, httpx_logger = logging.getLogger(), logging.getLogger("httpx")
    saved = (root.handlers[:], root.level, httpx_logger.level)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    try:
        logs.configure(settings.model_copy(update={"log_level": "INFO"}))
        root.addHandler(Keep())
        calendar_server.pages["/owa/calendar/s3cr3t-part/calendar.ics"] = (200, vcal())
        HttpCalendarFetcher(allow_http=True).fetch(calendar_server.url("/owa/calendar/s3cr3t-part/calendar.ics"))
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        httpx_logger.setLevel(saved[2])
    assert not [r for r in records if "s3cr3t-part" in r.getMessage()]
