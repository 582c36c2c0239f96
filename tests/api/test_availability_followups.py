"""Every way availability is written re-decides held messages alike: a shift through the REST route
or the CSV import, leave through the REST route or an iCal file, on-call time from a roster."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.models import Delivery, Recipient
from notify.outbox import NullWaker
from notify.push import PushClient
from notify.transports.base import RecordingTransport
from tests.factories import Actor, Factory
from tests.messaging_helpers import Facts, recording_push, run_jobs, workday

ICS = {"Content-Type": "text/calendar"}
CSV = {"Content-Type": "text/csv"}


@pytest.fixture
def push() -> Iterator[tuple[PushClient, RecordingTransport]]:
    client, transport = recording_push()
    yield client, transport
    client.close()


@pytest.fixture
def app(settings: Settings, clock: ManualClock, push: tuple[PushClient, RecordingTransport]) -> FastAPI:
    return create_app(settings, clock=clock, waker=NullWaker(), push=push[0])


class Ward:
    """A manager and Bo, who works tomorrow and the day after and has one message held."""

    def __init__(self, make: Factory, facts: Facts, clock: ManualClock) -> None:
        self.unit = make.group("Avdelning 12")
        self.boss: Actor = make.actor(roles=["staff", "manager"], manages=[self.unit], name="Chef Chefsson")
        self.bo = make.actor(groups=[self.unit], name="Bo Berg")
        start, end = workday(clock)
        self.tomorrow = start + timedelta(days=1)
        self.day_after = start + timedelta(days=2)
        facts.shift(self.bo.person, self.tomorrow, end + timedelta(days=1))
        facts.shift(self.bo.person, self.day_after, end + timedelta(days=2))
        facts.device(self.bo.person, platform="android")


@pytest.fixture
def ward(make: Factory, session_factory: sessionmaker[Session], clock: ManualClock) -> Ward:
    return Ward(make, Facts(session_factory, clock), clock)


def _hold_one(client: TestClient, ward: Ward) -> None:
    body = {"title": "Nytt schema", "body": "Se intranätet.", "audience": {"people": [str(ward.bo.id)]}}
    r = client.post("/api/v1/messages", headers=ward.boss.headers, json=body)
    assert r.status_code == 202, r.text
    assert r.json()["counts"]["hold"] == 1


def _iso(at: datetime) -> str:
    return at.isoformat()


def _outcome(session_factory: sessionmaker[Session]) -> tuple[str, str, datetime | None]:
    with session_factory() as s:
        delivery = s.scalars(select(Delivery)).one()
        recipient = s.scalars(select(Recipient)).one()
        return delivery.state, recipient.decision, recipient.release_at


@pytest.mark.parametrize("way", ["rest", "csv"])
def test_a_shift_that_starts_now_releases_the_held_message_whichever_way_it_comes(
    way: str,
    client: TestClient,
    ward: Ward,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    _hold_one(client, ward)
    run_jobs(settings, session_factory, clock, push[0])
    assert push[1].requests == [] and _outcome(session_factory)[0] == "held"

    start, end = clock.now() - timedelta(hours=1), clock.now() + timedelta(hours=3)  # called in today
    if way == "rest":
        r = client.post(
            f"/api/v1/people/{ward.bo.id}/shifts",
            headers=ward.boss.headers,
            json={"planned_start": _iso(start), "planned_end": _iso(end)},
        )
        assert r.status_code == 201, r.text
    else:
        data = f"person,start,end,unit,shift_type\n{ward.bo.person.email},{_iso(start)},{_iso(end)},,\n"
        r = client.post("/api/v1/shifts/import", headers={**ward.boss.headers, **CSV}, content=data.encode())
        assert r.status_code == 200, r.text
        assert r.json()["created"] == 1

    run_jobs(settings, session_factory, clock, push[0])  # the clock has not moved: no periodic release
    assert [req.token for req in push[1].requests] == [f"fcm-{ward.bo.id.hex}-android"]
    state, decision, _ = _outcome(session_factory)
    assert (state, decision) == ("sent", "deliver"), "released: decided again, and delivered now"


def _vevent(uid: str, start: datetime, end: datetime) -> str:
    fmt = "%Y%m%dT%H%M%SZ"
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nSUMMARY:Semester\r\nDTSTART:{start.strftime(fmt)}\r\n"
        f"DTEND:{end.strftime(fmt)}\r\nEND:VEVENT\r\n"
    )


@pytest.mark.parametrize("way", ["rest", "ical"])
def test_leave_over_tomorrow_moves_the_hold_to_the_day_after_whichever_way_it_comes(
    way: str,
    client: TestClient,
    ward: Ward,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    _hold_one(client, ward)
    run_jobs(settings, session_factory, clock, push[0])
    release = _outcome(session_factory)[2]
    assert release is not None and release.date() == ward.tomorrow.date()

    start = ward.tomorrow.replace(hour=0)
    end = start + timedelta(hours=23)
    if way == "rest":
        r = client.post(
            f"/api/v1/people/{ward.bo.id}/leave",
            headers=ward.boss.headers,
            json={"kind": "vacation", "start": _iso(start), "end": _iso(end)},
        )
        assert r.status_code == 201, r.text
    else:
        head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        data = head + _vevent("v1", start, end) + "END:VCALENDAR\r\n"
        r = client.post(f"/api/v1/people/{ward.bo.id}/leave/ical", headers={**ward.boss.headers, **ICS}, content=data)
        assert r.status_code == 200, r.text
        assert r.json()["created"] == 1

    run_jobs(settings, session_factory, clock, push[0])
    state, decision, release = _outcome(session_factory)
    assert (state, decision) == ("held", "hold")
    assert release == ward.day_after, "on leave tomorrow: the message waits for the day after's shift"
    assert push[1].requests == []


@pytest.mark.parametrize("way", ["rest", "ical"])
def test_a_turn_on_call_releases_a_held_urgent_message_whichever_way_the_turn_comes(
    way: str,
    client: TestClient,
    ward: Ward,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    roster = client.post(
        "/api/v1/rosters",
        headers=ward.boss.headers,
        json={"group_id": str(ward.unit.id), "name": "Bakjour", "role": "Bakjour avd 12", "kind": "beredskap"},
    )
    assert roster.status_code == 201, roster.text
    body = {
        "title": "Larm",
        "body": "Ring avdelningen.",
        "audience": {"people": [str(ward.bo.id)]},
        "priority": "urgent",
    }
    r = client.post("/api/v1/messages", headers=ward.boss.headers, json=body)
    assert r.status_code == 202, r.text
    assert r.json()["counts"]["hold"] == 1, "urgent to someone off duty and not on call waits"
    run_jobs(settings, session_factory, clock, push[0])
    assert push[1].requests == []

    start, end = clock.now() - timedelta(minutes=30), clock.now() + timedelta(hours=8)  # Bo takes tonight's turn
    if way == "rest":
        turn = {"person_id": str(ward.bo.id), "start": _iso(start), "end": _iso(end)}
        r = client.post(f"/api/v1/rosters/{roster.json()['id']}/overrides", headers=ward.boss.headers, json=turn)
        assert r.status_code == 201, r.text
    else:
        head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        event = _vevent("turn", start, end).replace("SUMMARY:Semester", f"SUMMARY:{ward.bo.person.email}")
        window = {"start": _iso(start - timedelta(days=1)), "end": _iso(end + timedelta(days=1))}
        r = client.post(
            f"/api/v1/rosters/{roster.json()['id']}/ical",
            headers={**ward.boss.headers, **ICS},
            content=head + event + "END:VCALENDAR\r\n",
            params=window,
        )
        assert r.status_code == 200, r.text
        assert r.json()["created"] == 1

    run_jobs(settings, session_factory, clock, push[0])
    assert [req.token for req in push[1].requests] == [f"fcm-{ward.bo.id.hex}-android"], "on call now: released"
    assert _outcome(session_factory)[0] == "sent"
