"""The going-on-call reminder: opt-in, at the lead time, as `info`, once, and never outside
working time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.outbox import NullWaker
from notify.push import PushClient
from notify.transports.base import RecordingTransport
from tests.factories import Factory
from tests.messaging_helpers import Facts, recording_push, run_jobs, run_periodic


@pytest.fixture
def push() -> Iterator[tuple[PushClient, RecordingTransport]]:
    client, transport = recording_push()
    yield client, transport
    client.close()


@pytest.fixture
def app(settings: Settings, clock: ManualClock, push: tuple[PushClient, RecordingTransport]) -> FastAPI:
    return create_app(settings, clock=clock, waker=NullWaker(), push=push[0])


def test_reminder_comes_once_before_the_slot_and_only_inside_working_time(
    client: TestClient,
    make: Factory,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    unit = make.group("Medicin")
    boss = make.actor(roles=["staff", "manager"], manages=[unit])
    anna = make.actor(groups=[unit], name="Anna Andersson")
    bo = make.actor(groups=[unit], name="Bo Berg")
    facts = Facts(session_factory, clock)
    facts.device(anna.person)
    facts.device(bo.person)
    # Anna works today 07:00-16:30 Stockholm; the roster hands off daily at 16:00: Anna Monday, Bo Tuesday.
    facts.shift(anna.person, datetime(2026, 11, 23, 6, tzinfo=UTC), datetime(2026, 11, 23, 15, 30, tzinfo=UTC))
    roster = {
        "group_id": str(unit.id),
        "name": "Jour",
        "role": "Jour medicin",
        "kind": "jour",
        "layers": [
            {
                "rotation": "daily",
                "start_date": "2026-11-23",
                "handoff_time": "16:00",
                "participants": [str(anna.id), str(bo.id)],
            }
        ],
    }
    assert client.post("/api/v1/rosters", headers=boss.headers, json=roster).status_code == 201
    for person in (anna, bo):
        r = client.put("/api/v1/people/me/on-call-reminder", headers=person.headers, json={"lead_minutes": 60})
        assert r.status_code == 200, r.text
    assert (
        client.put("/api/v1/people/me/on-call-reminder", headers=anna.headers, json={"lead_minutes": 1}).status_code
        == 422
    )

    def tick() -> list[str]:
        push[1].requests.clear()
        run_periodic("notify.on_call_reminders", settings, session_factory, clock, push[0])
        run_jobs(settings, session_factory, clock, push[0])
        return [r.title for r in push[1].requests]

    assert tick() == []  # 10:00: the slot starts at 16:00, too early
    clock.set(datetime(2026, 11, 23, 14, 10, tzinfo=UTC))  # 15:10 in Stockholm, Anna at work
    inbox_before = client.get("/api/v1/inbox", headers=anna.headers).json()["total"]
    tick()
    inbox = client.get("/api/v1/inbox", headers=anna.headers).json()
    assert inbox["total"] == inbox_before + 1
    reminder = inbox["items"][0]
    assert reminder["title"] == "Du går på jour: Jour medicin"
    assert reminder["priority"] == "info"
    tick()
    assert client.get("/api/v1/inbox", headers=anna.headers).json()["total"] == inbox_before + 1  # once
    # Bo's slot starts Tuesday 16:00; he has no working time, so no reminder ever reaches him.
    clock.set(datetime(2026, 11, 24, 14, 10, tzinfo=UTC))
    assert tick() == []
    assert client.get("/api/v1/inbox", headers=bo.headers).json()["total"] == 0
    clock.advance(timedelta(minutes=40))
    assert tick() == []
    assert client.delete("/api/v1/people/me/on-call-reminder", headers=bo.headers).status_code == 204
    assert client.get("/api/v1/people/me/on-call-reminder", headers=bo.headers).json()["enabled"] is False
