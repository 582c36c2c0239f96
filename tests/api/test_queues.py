"""The queue a message's fan-out and sends go on: urgent ones on `urgent` always, audiences larger
than `VILA_BULK_THRESHOLD` on `bulk`, the rest on `default`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.outbox import Job, NullWaker
from notify.push import PushClient
from notify.transports.base import RecordingTransport
from tests.factories import Actor, Factory
from tests.messaging_helpers import Facts, recording_push, run_jobs, workday


@pytest.fixture
def push() -> Iterator[tuple[PushClient, RecordingTransport]]:
    client, transport = recording_push()
    yield client, transport
    client.close()


def _settings(base: Settings, monkeypatch: pytest.MonkeyPatch, *, threshold: str | None) -> Settings:
    """Settings as an installation reads them, with VILA_BULK_THRESHOLD set or left out; one
    recipient per send request decided inline, so three recipients make fan-out jobs."""
    if threshold is None:
        monkeypatch.delenv("VILA_BULK_THRESHOLD", raising=False)
    else:
        monkeypatch.setenv("VILA_BULK_THRESHOLD", threshold)
    return Settings(
        database_url=base.database_url,
        data_dir=base.data_dir,
        broker_url="",
        broker_namespace=base.broker_namespace,
        load_demo=False,
        fanout_inline_max=1,
    )


def _three_on_shift(make: Factory, session_factory: sessionmaker[Session], clock: ManualClock) -> tuple[Actor, str]:
    facts = Facts(session_factory, clock)
    unit = make.group("Avdelning 12")
    boss = make.actor(roles=["staff", "manager"], manages=[unit], name="Chef Chefsson")
    start, end = workday(clock)
    for name in ("Anna", "Bo", "Cecilia"):
        nurse = make.actor(groups=[unit], name=name)
        facts.shift(nurse.person, start, end)
        facts.device(nurse.person)
    return boss, str(unit.id)


def _send(
    settings: Settings,
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
    session_factory: sessionmaker[Session],
    boss: Actor,
    unit_id: str,
    priority: str,
) -> dict[str, set[str]]:
    """Send to the unit, run every job, and return the queues each kind of job went on."""
    app = create_app(settings, clock=clock, waker=NullWaker(), push=push[0])
    with TestClient(app) as client:
        r = client.post(
            "/api/v1/messages",
            headers=boss.headers,
            json={"title": "Möte", "body": "Kl 14.", "priority": priority, "audience": {"groups": [unit_id]}},
        )
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "deciding"  # more than VILA_FANOUT_INLINE_MAX: fan-out jobs
    run_jobs(settings, session_factory, clock, push[0])
    queues: dict[str, set[str]] = {}
    with session_factory() as s:
        for name, queue in s.execute(
            select(Job.name, Job.queue).where(Job.name.in_(("notify.fan_out", "notify.send")))
        ):
            queues.setdefault(name, set()).add(queue)
    return queues


def test_a_small_broadcast_goes_on_bulk_when_the_bulk_threshold_is_lowered(
    settings: Settings,
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
    session_factory: sessionmaker[Session],
    make: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    boss, unit_id = _three_on_shift(make, session_factory, clock)
    lowered = _settings(settings, monkeypatch, threshold="2")
    assert _send(lowered, clock, push, session_factory, boss, unit_id, "normal") == {
        "notify.fan_out": {"bulk"},
        "notify.send": {"bulk"},
    }
    assert len(push[1].requests) == 3  # and everyone on shift got it


def test_the_same_broadcast_goes_on_default_under_the_default_threshold(
    settings: Settings,
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
    session_factory: sessionmaker[Session],
    make: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    boss, unit_id = _three_on_shift(make, session_factory, clock)
    assert _send(
        _settings(settings, monkeypatch, threshold=None), clock, push, session_factory, boss, unit_id, "normal"
    ) == {
        "notify.fan_out": {"default"},
        "notify.send": {"default"},
    }
    assert len(push[1].requests) == 3


def test_an_urgent_broadcast_goes_on_urgent_whatever_the_threshold(
    settings: Settings,
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
    session_factory: sessionmaker[Session],
    make: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    boss, unit_id = _three_on_shift(make, session_factory, clock)
    lowered = _settings(settings, monkeypatch, threshold="1")
    assert _send(lowered, clock, push, session_factory, boss, unit_id, "urgent") == {
        "notify.fan_out": {"urgent"},
        "notify.send": {"urgent"},
    }
    assert len(push[1].requests) == 3
