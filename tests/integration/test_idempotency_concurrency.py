"""An Idempotency-Key under concurrency, on PostgreSQL: ten sends at once with one key make one
message, sent now or scheduled for later; the others get the first answer or a 409, never a
second message."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.models import Delivery, IdempotencyRecord, Message
from notify.outbox import NullWaker
from notify.push import PushClient
from notify.transports.base import RecordingTransport
from tests.factories import Actor, Factory
from tests.messaging_helpers import Facts, run_periodic

SENDERS = 10


@pytest.fixture
def db_url(pg_url: str) -> str:
    """Only PostgreSQL runs requests truly side by side; SQLite has one writer at a time."""
    return pg_url


@pytest.fixture
def app(settings: Settings, clock: ManualClock) -> FastAPI:
    return create_app(settings, clock=clock, waker=NullWaker())


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


class Unit:
    def __init__(self, make: Factory, facts: Facts) -> None:
        self.group = make.group("Akuten")
        self.boss: Actor = make.actor(roles=["staff", "manager"], manages=[self.group])
        for n in range(5):
            person = make.person(groups=[self.group], name=f"Sköterska {n}")
            facts.device(person, platform="android")


@pytest.fixture
def unit(make: Factory, session_factory: sessionmaker[Session], clock: ManualClock) -> Unit:
    return Unit(make, Facts(session_factory, clock))


def _body(unit: Unit, title: str = "Personalmöte") -> dict[str, object]:
    return {"title": title, "body": "Kl 14.", "audience": {"groups": [str(unit.group.id)]}}


def _all_at_once(client: TestClient, unit: Unit, bodies: list[dict[str, object]], key: str) -> list[Response]:
    gate = threading.Barrier(len(bodies))
    headers = {**unit.boss.headers, "Idempotency-Key": key}

    def send(body: dict[str, object]) -> Response:
        gate.wait()
        return client.post("/api/v1/messages", headers=headers, json=body)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(send, bodies))


def _count(session_factory: sessionmaker[Session], what: type) -> int:
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(what)) or 0


def test_ten_concurrent_sends_with_one_key_make_one_message(
    client: TestClient, unit: Unit, session_factory: sessionmaker[Session]
) -> None:
    answers = _all_at_once(client, unit, [_body(unit)] * SENDERS, key="broadcast-7")
    assert _count(session_factory, Message) == 1
    assert _count(session_factory, Delivery) == 5  # one per device, not one per request
    statuses = sorted(a.status_code for a in answers)
    replayed = sum(1 for a in answers if a.headers.get("idempotent-replayed") == "true")
    print(f"{SENDERS} concurrent sends, one key: statuses {statuses}, {replayed} replayed the first answer")
    assert set(statuses) <= {202, 409}, [a.text for a in answers]
    first = {a.json()["message_id"] for a in answers if a.status_code == 202}
    assert len(first) == 1  # every 202 is the first answer
    for a in answers:
        if a.status_code == 409:
            assert "Idempotency-Key" in a.json()["message"]
    assert _count(session_factory, IdempotencyRecord) == 1


def test_ten_concurrent_scheduled_sends_with_one_key_schedule_one_message(
    client: TestClient,
    unit: Unit,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
) -> None:
    send_at = clock.now() + timedelta(hours=2)
    body = {**_body(unit), "send_at": send_at.isoformat()}
    answers = _all_at_once(client, unit, [body] * SENDERS, key="scheduled-7")
    statuses = sorted(a.status_code for a in answers)
    replayed = sum(1 for a in answers if a.headers.get("idempotent-replayed") == "true")
    print(f"{SENDERS} concurrent scheduled sends, one key: statuses {statuses}, {replayed} replayed the first answer")
    assert set(statuses) <= {202, 409}, [a.text for a in answers]
    first = {(a.json()["message_id"], a.json()["status"]) for a in answers if a.status_code == 202}
    assert len(first) == 1 and next(iter(first))[1] == "scheduled", first  # every 202 is the first answer
    for a in answers:
        if a.status_code == 409:
            assert "Idempotency-Key" in a.json()["message"]
    with session_factory() as s:
        scheduled = s.scalars(select(Message)).all()
    assert [(str(m.id), m.send_at) for m in scheduled] == [(next(iter(first))[0], send_at)]
    assert _count(session_factory, IdempotencyRecord) == 1
    assert _count(session_factory, Delivery) == 0, "nothing goes out before its instant"
    clock.set(send_at + timedelta(seconds=1))
    run_periodic("notify.send_scheduled", settings, session_factory, clock, PushClient(RecordingTransport))
    assert _count(session_factory, Delivery) == 5, "at its instant it goes out once: one delivery per device"


def test_one_key_with_different_bodies_at_once_makes_one_message_and_409s(
    client: TestClient, unit: Unit, session_factory: sessionmaker[Session]
) -> None:
    bodies = [_body(unit, title=f"Meddelande {n}") for n in range(SENDERS)]
    answers = _all_at_once(client, unit, bodies, key="same-key")
    assert _count(session_factory, Message) == 1
    assert sorted(a.status_code for a in answers) == [202] + [409] * (SENDERS - 1), [a.text for a in answers]
    refused = [a.json()["message"] for a in answers if a.status_code == 409]
    assert all("different message" in m or "in progress" in m for m in refused), refused


def test_a_key_older_than_a_day_is_free_again(
    client: TestClient, unit: Unit, clock: ManualClock, session_factory: sessionmaker[Session]
) -> None:
    headers = {**unit.boss.headers, "Idempotency-Key": "daily"}
    first = client.post("/api/v1/messages", headers=headers, json=_body(unit))
    assert first.status_code == 202
    clock.advance(timedelta(hours=25))
    again = client.post("/api/v1/messages", headers=headers, json=_body(unit, title="I morgon"))
    assert again.status_code == 202, again.text
    assert again.json()["message_id"] != first.json()["message_id"]
    assert _count(session_factory, IdempotencyRecord) == 1
