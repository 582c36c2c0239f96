"""Scheduled messages: nothing is decided or sent before the instant, and the decision taken at the
instant honours availability that changed after scheduling; a recall before it cancels it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.models import Message, Recipient
from notify.outbox import NullWaker
from notify.push import PushClient
from notify.transports.base import RecordingTransport
from tests.factories import Actor, Factory
from tests.messaging_helpers import Facts, recording_push, run_jobs, run_periodic, workday


@pytest.fixture
def push() -> Iterator[tuple[PushClient, RecordingTransport]]:
    client, transport = recording_push()
    yield client, transport
    client.close()


@pytest.fixture
def app(settings: Settings, clock: ManualClock, push: tuple[PushClient, RecordingTransport]) -> FastAPI:
    return create_app(settings, clock=clock, waker=NullWaker(), push=push[0])


class Ward:
    def __init__(self, make: Factory, facts: Facts, clock: ManualClock) -> None:
        self.unit = make.group("Avdelning 3")
        self.boss: Actor = make.actor(roles=["staff", "manager"], manages=[self.unit], name="Chef Chefsson")
        self.anna = make.actor(groups=[self.unit], name="Anna Andersson")  # on the day shift, until 15:00 UTC
        self.bo = make.actor(groups=[self.unit], name="Bo Berg")  # off today, as scheduled
        self.start, self.end = workday(clock)
        facts.shift(self.anna.person, self.start, self.end)
        self.tokens = {facts.device(a.person).token: a.person.name for a in (self.anna, self.bo)}


@pytest.fixture
def facts(session_factory: sessionmaker[Session], clock: ManualClock) -> Facts:
    return Facts(session_factory, clock)


@pytest.fixture
def ward(make: Factory, facts: Facts, clock: ManualClock) -> Ward:
    return Ward(make, facts, clock)


def _schedule(client: TestClient, ward: Ward, send_at: str, **extra: object) -> str:
    body = {
        "title": "Kvällsmöte",
        "body": "Kort möte för kvällspasset kl 16.",
        "audience": {"groups": [str(ward.unit.id)]},
        "send_at": send_at,
        **extra,
    }
    r = client.post("/api/v1/messages", headers=ward.boss.headers, json=body)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "scheduled"
    message_id: str = r.json()["message_id"]
    return message_id


def test_a_scheduled_message_is_decided_at_its_send_instant(
    client: TestClient,
    ward: Ward,
    facts: Facts,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    send_at = ward.end + timedelta(hours=1)  # 16:00 UTC: Anna's shift is over by then
    # Decided now, it would reach Anna (at work) and hold Bo (off): the preview for the instant
    # already says otherwise for Anna.
    preview = client.post(
        "/api/v1/messages/preview",
        headers=ward.boss.headers,
        json={"title": "x", "body": "y", "audience": {"groups": [str(ward.unit.id)]}, "send_at": send_at.isoformat()},
    ).json()
    assert {r["name"]: r["decision"] for r in preview["recipients"]} == {"Anna Andersson": "hold", "Bo Berg": "hold"}
    message_id = _schedule(client, ward, send_at.isoformat())
    # Bo takes an evening shift after the message was scheduled.
    facts.shift(ward.bo.person, ward.end, ward.end + timedelta(hours=8))
    for minutes in (0, 60, 6 * 60, 6 * 60 + 59):
        clock.set(ward.start + timedelta(hours=3, minutes=minutes))
        run_periodic("notify.send_scheduled", settings, session_factory, clock, push[0])
        run_jobs(settings, session_factory, clock, push[0])
    assert push[1].requests == []
    status = client.get(f"/api/v1/messages/{message_id}", headers=ward.boss.headers).json()
    assert status["message"]["state"] == "scheduled"
    assert status["message"]["send_at"].startswith(send_at.strftime("%Y-%m-%dT%H:%M"))
    assert status["recipients"] == []
    clock.set(send_at + timedelta(seconds=10))
    run_periodic("notify.send_scheduled", settings, session_factory, clock, push[0])
    run_jobs(settings, session_factory, clock, push[0])
    assert [ward.tokens[r.token] for r in push[1].requests] == ["Bo Berg"]
    status = client.get(f"/api/v1/messages/{message_id}", headers=ward.boss.headers).json()
    assert {r["name"]: r["decision"] for r in status["recipients"]} == {"Anna Andersson": "hold", "Bo Berg": "deliver"}
    assert status["message"]["state"] == "decided"
    with session_factory() as s:
        decided_at = {
            r.decided_at for r in s.scalars(select(Recipient).where(Recipient.message_id == uuid.UUID(message_id)))
        }
    assert decided_at == {send_at + timedelta(seconds=10)}
    # Running the job again sends nothing twice.
    run_periodic("notify.send_scheduled", settings, session_factory, clock, push[0])
    run_jobs(settings, session_factory, clock, push[0])
    assert len(push[1].requests) == 1


def test_scheduling_refuses_bad_instants_and_a_recall_cancels_it(
    client: TestClient,
    ward: Ward,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    base = {"title": "T", "body": "B", "audience": {"groups": [str(ward.unit.id)]}}
    now = clock.now()
    for extra, words in (
        ({"send_at": (now - timedelta(minutes=1)).isoformat()}, "send_at is in the past"),
        ({"send_at": (now + timedelta(days=400)).isoformat()}, "more than a year"),
        (
            {"send_at": (now + timedelta(hours=2)).isoformat(), "expires_at": (now + timedelta(hours=1)).isoformat()},
            "expire before it is sent",
        ),
    ):
        r = client.post("/api/v1/messages", headers=ward.boss.headers, json={**base, **extra})
        assert r.status_code == 422, r.text
        assert words in r.json()["message"]
    naive = client.post("/api/v1/messages", headers=ward.boss.headers, json={**base, "send_at": "2026-11-23T18:00:00"})
    assert naive.status_code == 422
    message_id = _schedule(client, ward, (now + timedelta(hours=1)).isoformat())
    assert client.post(f"/api/v1/messages/{message_id}/recall", headers=ward.boss.headers).status_code == 200
    clock.set(now + timedelta(hours=2))
    run_periodic("notify.send_scheduled", settings, session_factory, clock, push[0])
    run_jobs(settings, session_factory, clock, push[0])
    assert push[1].requests == []
    status = client.get(f"/api/v1/messages/{message_id}", headers=ward.boss.headers).json()
    assert status["message"]["state"] == "recalled" and status["recipients"] == []


def test_a_scheduled_message_fails_with_why_when_the_sender_lost_the_right_to_send(
    client: TestClient,
    ward: Ward,
    make: Factory,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    message_id = _schedule(client, ward, (clock.now() + timedelta(hours=1)).isoformat())
    admin = make.actor(roles=["staff", "admin"], name="Ada Admin")
    r = client.patch(f"/api/v1/people/{ward.boss.id}", headers=admin.headers, json={"roles": ["staff"]})
    assert r.status_code == 200, r.text
    clock.advance(timedelta(hours=1, seconds=1))
    run_periodic("notify.send_scheduled", settings, session_factory, clock, push[0])
    run_jobs(settings, session_factory, clock, push[0])
    assert push[1].requests == []
    with session_factory() as s:
        message = s.get(Message, uuid.UUID(message_id))
        assert message is not None
        assert message.state == "failed"
        assert "needs the role manager" in (message.send_error or "")
