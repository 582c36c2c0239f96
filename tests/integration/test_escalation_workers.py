"""Escalation under two workers, on PostgreSQL: two escalation runs at once over many unacknowledged
urgent messages escalate each recipient exactly once, page each message's next step once, and
neither run fails."""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import notify.escalation
from api.main import create_app
from kernel.clock import ManualClock
from kernel.directory.models import Person
from kernel.jobs import Escalate
from kernel.settings import Settings
from notify.chains import EscalationStep
from notify.escalation import escalate
from notify.models import Message, Recipient
from notify.outbox import JobContext, NullWaker
from tests.factories import Factory
from tests.messaging_helpers import Facts, together

MESSAGES = 60
PER_MESSAGE = 2  # the second recipient of a message finds its next step already paged


@pytest.fixture
def db_url(pg_url: str) -> str:
    """Only PostgreSQL runs two escalations truly side by side; SQLite has one writer at a time."""
    return pg_url


@pytest.fixture
def app(settings: Settings, clock: ManualClock) -> FastAPI:
    return create_app(settings, clock=clock, waker=NullWaker())


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


class Ward:
    """A manager and many nurses, everyone at work with a phone: every page goes out at once."""

    def __init__(self, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock, nurses: int) -> None:
        facts = Facts(session_factory, clock)
        unit = make.group("Akuten")
        self.boss = make.actor(roles=["staff", "manager"], manages=[unit], name="Chef Chefsson")
        self.nurses = [make.person(groups=[unit], name=f"Sköterska {n}") for n in range(nurses)]
        for person in [self.boss.person, *self.nurses]:
            facts.device(person)
            facts.shift(person, clock.now() - timedelta(hours=1), clock.now() + timedelta(hours=7))

    def page(self, client: TestClient, people: list[Person], **extra: object) -> None:
        body = {
            "title": "Akut",
            "body": "Ring akuten.",
            "priority": "urgent",
            "requires_ack": True,
            "audience": {"people": [str(p.id) for p in people]},
            **extra,
        }
        r = client.post("/api/v1/messages", headers=self.boss.headers, json=body)
        assert r.status_code == 202, r.text
        assert r.json()["counts"]["deliver"] == len(people)


def _twice_at_once(ctx: JobContext) -> None:
    """Two workers run the periodic escalation at the same instant, each on its own sessions."""
    together(lambda: escalate(ctx, Escalate()), lambda: escalate(ctx, Escalate()))


def _pause_paging(
    monkeypatch: pytest.MonkeyPatch, message_id: uuid.UUID | None = None
) -> tuple[threading.Event, threading.Event]:
    """Hold a run where it has claimed its rows and is about to page (for `message_id`, or any):
    the first event tells the test it got there, the second lets it go on."""
    inside, go_on = threading.Event(), threading.Event()
    paging = notify.escalation.escalate_one

    def paused(session: Session, message: Message, **kwargs: Any) -> Any:
        if message_id is None or message.id == message_id:
            inside.set()
            assert go_on.wait(30), "the test never let the run finish"
        return paging(session, message, **kwargs)

    monkeypatch.setattr(notify.escalation, "escalate_one", paused)
    return inside, go_on


def test_two_escalation_runs_at_once_escalate_each_recipient_once(
    client: TestClient,
    make: Factory,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ward = Ward(make, session_factory, clock, nurses=MESSAGES * PER_MESSAGE)
    boss, nurses = ward.boss, ward.nurses
    for n in range(MESSAGES):
        ward.page(client, nurses[n * PER_MESSAGE : (n + 1) * PER_MESSAGE], ack_timeout_minutes=1)
    clock.advance(timedelta(minutes=2))  # nobody acknowledged
    ctx = JobContext(settings=settings, session_factory=session_factory, clock=clock)

    with caplog.at_level(logging.INFO, logger="vila.escalation"):
        _twice_at_once(ctx)

    handled = Counter(
        r.getMessage().split(" from ")[1].split(" ")[0]
        for r in caplog.records
        if r.name == "vila.escalation" and " from " in r.getMessage()
    )
    assert set(handled) == {str(p.id) for p in nurses}, "every unacknowledged recipient escalates"
    assert set(handled.values()) == {1}, f"escalated twice: {[p for p, n in handled.items() if n > 1]}"
    with session_factory() as s:
        escalated = s.scalar(select(func.count()).where(Recipient.escalated_at.is_not(None))) or 0
        steps = Counter(s.scalars(select(EscalationStep.message_id)))
        boss_rows = Counter(s.scalars(select(Recipient.message_id).where(Recipient.person_id == boss.id)))
    assert escalated == MESSAGES * PER_MESSAGE
    assert len(steps) == MESSAGES and set(steps.values()) == {1}, "each message pages its next step once"
    assert len(boss_rows) == MESSAGES and set(boss_rows.values()) == {1}, "the sender is paged once per message"


def test_two_escalation_runs_at_once_fire_each_chain_step_once(
    client: TestClient,
    make: Factory,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
) -> None:
    ward = Ward(make, session_factory, clock, nurses=MESSAGES + 1)
    on_call, nurses = ward.nurses[0], ward.nurses[1:]
    chain = {"name": "Natt", "steps": [{"who": "person", "person_id": str(on_call.id), "after_minutes": 1}]}
    r = client.post("/api/v1/escalation-chains", headers=ward.boss.headers, json=chain)
    assert r.status_code == 201, r.text
    for nurse in nurses:
        ward.page(client, [nurse], escalation_chain_id=r.json()["id"])
    clock.advance(timedelta(minutes=2))  # nobody acknowledged

    _twice_at_once(JobContext(settings=settings, session_factory=session_factory, clock=clock))

    with session_factory() as s:
        steps = Counter(s.scalars(select(EscalationStep.message_id)))
        paged = Counter(s.scalars(select(Recipient.message_id).where(Recipient.person_id == on_call.id)))
        fired = Counter(s.scalars(select(Message.chain_step).where(Message.escalation_chain_id.is_not(None))))
    assert len(steps) == MESSAGES and set(steps.values()) == {1}, "each message's step fires once"
    assert len(paged) == MESSAGES and set(paged.values()) == {1}, "the on-call nurse is paged once per message"
    assert fired == {1: MESSAGES}


def test_an_acknowledgement_does_not_wait_for_an_escalation_run_it_is_not_part_of(
    client: TestClient,
    make: Factory,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run holds the rows it escalates until it commits; a recipient still inside their timeout is
    not among them, so their "Kvittera" goes through while the run is paging someone else."""
    ward = Ward(make, session_factory, clock, nurses=2)
    late, reading = ward.nurses
    ward.page(client, [late], ack_timeout_minutes=1)
    ward.page(client, [reading], ack_timeout_minutes=30)
    reading_token = make.token(reading)
    with session_factory() as s:
        message_of_reading = s.scalar(select(Recipient.message_id).where(Recipient.person_id == reading.id))
    clock.advance(timedelta(minutes=2))  # the first page is due, the second is not

    inside, go_on = _pause_paging(monkeypatch)
    run = threading.Thread(
        target=escalate, args=(JobContext(settings=settings, session_factory=session_factory, clock=clock), Escalate())
    )
    run.start()
    try:
        assert inside.wait(30), "the escalation run did not reach the due recipient"
        acked: list[int] = []
        ack = threading.Thread(
            target=lambda: acked.append(
                client.post(
                    f"/api/v1/inbox/{message_of_reading}/ack", headers={"Authorization": f"Bearer {reading_token}"}
                ).status_code
            )
        )
        ack.start()
        ack.join(10)
        assert acked == [204], "the acknowledgement waited for an escalation run that does not concern it"
    finally:
        go_on.set()
        run.join(60)
        ack.join(60)

    with session_factory() as s:
        rows = {
            r.person_id: r for r in s.scalars(select(Recipient).where(Recipient.person_id.in_([late.id, reading.id])))
        }
    assert rows[late.id].escalated_at is not None, "the due recipient was escalated"
    assert rows[reading.id].acked_at is not None and rows[reading.id].escalated_at is None


def test_a_message_skipped_by_a_busy_run_escalates_at_the_next_run(
    client: TestClient,
    make: Factory,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run skips a message another transaction holds, and keeps nothing of it: while that run is
    still paging, the next run escalates the message's recipients as soon as the message is free.
    (A run that locked the recipient before finding its message busy kept the recipient locked
    until it committed, so runs at once each skipped the other's half and left recipients waiting
    a whole round.)"""
    ward = Ward(make, session_factory, clock, nurses=2)
    first, second = ward.nurses
    ward.page(client, [first], ack_timeout_minutes=1)
    ward.page(client, [second], ack_timeout_minutes=1)
    with session_factory() as s:
        message_of = {r.person_id: r.message_id for r in s.scalars(select(Recipient))}
    clock.advance(timedelta(minutes=2))  # both are due
    ctx = JobContext(settings=settings, session_factory=session_factory, clock=clock)

    inside, go_on = _pause_paging(monkeypatch, message_id=message_of[second.id])
    busy = session_factory()
    slow = threading.Thread(target=escalate, args=(ctx, Escalate()))
    try:
        # Another transaction holds the first message while the slow run starts: it must skip it.
        busy.execute(select(Message.id).where(Message.id == message_of[first.id]).with_for_update(key_share=True)).all()
        slow.start()
        assert inside.wait(30), "the slow run did not reach the second message"
        busy.rollback()  # the first message is free again; the slow run is still paging

        escalate(ctx, Escalate())  # the next run

        with session_factory() as s:
            escalated = s.scalar(select(Recipient.escalated_at).where(Recipient.person_id == first.id))
        assert escalated is not None, "the next run left the first message's recipient to a later round"
    finally:
        busy.close()
        go_on.set()
        slow.join(60)
    with session_factory() as s:
        rows = {r.person_id: r for r in s.scalars(select(Recipient).where(Recipient.person_id != ward.boss.id))}
        paged = Counter(s.scalars(select(Recipient.message_id).where(Recipient.person_id == ward.boss.id)))
    assert rows[first.id].escalated_at is not None and rows[second.id].escalated_at is not None
    assert paged == {message_of[first.id]: 1, message_of[second.id]: 1}, "the sender is paged once per message"
