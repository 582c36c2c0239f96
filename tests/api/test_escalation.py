"""Escalation of unacknowledged urgent role messages: each step reaches someone new, never someone
already tried, and the new delivery goes out (the night-time repro: 1-minute timeout, no ack)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.models import Recipient
from notify.outbox import NullWaker
from notify.push import PushClient
from notify.transports.base import RecordingTransport
from tests.factories import Actor, Factory
from tests.messaging_helpers import Facts, recording_push, run_jobs, run_periodic

ROLE = "Bakjour akuten"
NIGHT = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # Tuesday 02:00 in Stockholm


@pytest.fixture
def push() -> Iterator[tuple[PushClient, RecordingTransport]]:
    client, transport = recording_push()
    yield client, transport
    client.close()


@pytest.fixture
def app(settings: Settings, clock: ManualClock, push: tuple[PushClient, RecordingTransport]) -> FastAPI:
    return create_app(settings, clock=clock, waker=NullWaker(), push=push[0])


class Night:
    """A stand-by line handing off daily at 08:00: Anna holds it tonight, Bo tomorrow, Cia after.
    Bo works a night shift (so he can be reached now); Cia is off and at rest."""

    def __init__(self, client: TestClient, make: Factory, facts: Facts, clock: ManualClock) -> None:
        self.unit = make.group("Akuten")
        self.boss: Actor = make.actor(roles=["staff", "manager"], manages=[self.unit], name="Chef Chefsson")
        self.anna = make.actor(groups=[self.unit], name="Anna Andersson")
        self.bo = make.actor(groups=[self.unit], name="Bo Berg")
        self.cia = make.actor(groups=[self.unit], name="Cia Carlsson")
        self.phones = {a.id: facts.device(a.person).token for a in (self.anna, self.bo, self.cia, self.boss)}
        roster = {
            "group_id": str(self.unit.id),
            "name": "Bakjourslinjen",
            "role": ROLE,
            "kind": "beredskap",
            "layers": [
                {
                    "rotation": "daily",
                    "start_date": "2026-11-23",
                    "handoff_time": "08:00",
                    "participants": [str(self.anna.id), str(self.bo.id), str(self.cia.id)],
                }
            ],
        }
        r = client.post("/api/v1/rosters", headers=self.boss.headers, json=roster)
        assert r.status_code == 201, r.text
        facts.shift(self.bo.person, NIGHT - timedelta(hours=3), NIGHT + timedelta(hours=5))
        clock.set(NIGHT)

    def name_of_token(self, token: str) -> str:
        by_token = {t: pid for pid, t in self.phones.items()}
        return {self.anna.id: "anna", self.bo.id: "bo", self.cia.id: "cia", self.boss.id: "boss"}[by_token[token]]


@pytest.fixture
def night(client: TestClient, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock) -> Night:
    return Night(client, make, Facts(session_factory, clock), clock)


def _page(client: TestClient, night: Night) -> str:
    body = {
        "title": "Akut: ring akuten",
        "body": "Patient behöver bakjour.",
        "priority": "urgent",
        "requires_ack": True,
        "ack_timeout_minutes": 1,
        "audience": {"roles": [ROLE]},
    }
    r = client.post("/api/v1/messages", headers=night.boss.headers, json=body)
    assert r.status_code == 202, r.text
    message_id: str = r.json()["message_id"]
    return message_id


def test_unacknowledged_role_message_goes_to_the_next_step_and_never_back(
    client: TestClient,
    night: Night,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    message_id = _page(client, night)
    run_jobs(settings, session_factory, clock, push[0])
    assert [night.name_of_token(r.token) for r in push[1].requests] == ["anna"]
    pushed: list[str] = []
    for _ in range(4):  # the repro: wait, minute by minute, and nobody acknowledges
        push[1].requests.clear()
        clock.advance(timedelta(minutes=1, seconds=5))
        run_periodic("notify.escalate", settings, session_factory, clock, push[0])
        run_jobs(settings, session_factory, clock, push[0])
        pushed += [night.name_of_token(r.token) for r in push[1].requests]
    # Bo (next on the line, at work tonight) is alerted at once; Anna is never alerted again.
    assert pushed[0] == "bo"
    assert "anna" not in pushed
    status = client.get(f"/api/v1/messages/{message_id}", headers=night.boss.headers).json()
    rows = {x["name"]: x for x in status["recipients"]}
    assert rows["Bo Berg"]["decision"] == "deliver"
    assert rows["Bo Berg"]["deliveries"] == {"sent": 1}
    assert rows["Bo Berg"]["reasons"][0]["rule"] == "escalation"
    assert "Anna Andersson" in rows["Bo Berg"]["reasons"][0]["sv"]
    # Each step is someone new: nobody is a recipient twice, and the chain went on past Bo.
    with session_factory() as s:
        people = s.scalars(select(Recipient.person_id).where(Recipient.message_id == uuid.UUID(message_id))).all()
    assert len(people) == len(set(people))
    assert len(people) >= 3


def test_an_acknowledgement_stops_the_escalation(
    client: TestClient,
    night: Night,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    message_id = _page(client, night)
    run_jobs(settings, session_factory, clock, push[0])
    clock.advance(timedelta(minutes=1, seconds=5))
    run_periodic("notify.escalate", settings, session_factory, clock, push[0])
    run_jobs(settings, session_factory, clock, push[0])
    assert client.post(f"/api/v1/inbox/{message_id}/ack", headers=night.bo.headers).status_code == 204
    push[1].requests.clear()
    clock.advance(timedelta(minutes=5))
    run_periodic("notify.escalate", settings, session_factory, clock, push[0])
    run_jobs(settings, session_factory, clock, push[0])
    assert push[1].requests == []
    with session_factory() as s:
        people = s.scalars(select(Recipient.person_id).where(Recipient.message_id == uuid.UUID(message_id))).all()
    assert sorted(map(str, people)) == sorted([str(night.anna.id), str(night.bo.id)])


def test_a_staff_member_pages_the_on_call_role_and_the_holder_acknowledges(
    client: TestClient,
    night: Night,
    make: Factory,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    nurse = make.actor(groups=[night.unit], name="Sara Sjuksköterska")  # staff only, no manager role
    page = {
        "title": "Akut: bakjouren behövs på akuten",
        "body": "Ring 1234.",
        "priority": "urgent",
        "requires_ack": True,
        "ack_timeout_minutes": 5,
        "audience": {"roles": [ROLE]},
    }
    preview = client.post("/api/v1/messages/preview", headers=nurse.headers, json=page)
    assert preview.status_code == 200, preview.text
    assert [(r["name"], r["decision"]) for r in preview.json()["recipients"]] == [("Anna Andersson", "deliver")]
    r = client.post("/api/v1/messages", headers=nurse.headers, json=page)
    assert r.status_code == 202, r.text
    message_id = r.json()["message_id"]
    run_jobs(settings, session_factory, clock, push[0])
    [alert] = push[1].requests
    assert night.name_of_token(alert.token) == "anna"
    assert alert.requires_ack and alert.interruption_level == "time_sensitive"
    # The holder acknowledges (the staff app's "Kvittera" posts here too): nobody else is woken.
    assert client.post(f"/api/v1/inbox/{message_id}/ack", headers=night.anna.headers).status_code == 204
    clock.advance(timedelta(minutes=10))
    push[1].requests.clear()
    run_periodic("notify.escalate", settings, session_factory, clock, push[0])
    run_jobs(settings, session_factory, clock, push[0])
    assert push[1].requests == []
    status = client.get(f"/api/v1/messages/{message_id}", headers=nurse.headers).json()
    assert [(x["name"], x["acknowledged"]) for x in status["recipients"]] == [("Anna Andersson", True)]
    # Only urgent messages to on-call roles: no groups, people, broadcasts or emergencies.
    for change in (
        {"priority": "normal", "requires_ack": False},
        {"priority": "emergency", "override_reason": "Larm"},
        {"audience": {"groups": [str(night.unit.id)]}},
        {"audience": {"roles": [ROLE], "people": [str(night.cia.id)]}},
    ):
        refused = client.post("/api/v1/messages", headers=nurse.headers, json={**page, **change})
        assert refused.status_code == 403, change
        assert "on-call roles" in refused.json()["message"]
