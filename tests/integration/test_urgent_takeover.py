"""A Celery worker killed (SIGKILL) in the middle of an urgent send, against the FCM stand-in
answering slowly: another worker takes the batch over within 30 s, with the production lease and
sweep interval, nothing is lost, and only the requests in flight at the kill are pushed again
(with the message id as collapse key, so the phone replaces rather than stacks them)."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import SystemClock
from kernel.settings import Settings
from notify.celery_waker import CeleryWaker
from notify.models import Delivery
from notify.outbox import Job, JobContext, sweep
from tests.conftest import BROKER_NAMESPACE
from tests.factories import Factory
from tests.integration.test_pipeline_workers import Workers, _count, _seed, _wait, broker, fcm  # noqa: F401
from tools.standins.faults import FaultPlan
from tools.standins.fcm import FcmEmulator

pytestmark = [pytest.mark.redis, pytest.mark.slow]

PEOPLE = 100
TAKEOVER_LIMIT_S = 30.0


@pytest.fixture
def workers(db_url: str, broker: str, fcm: FcmEmulator, tmp_path: Path) -> Iterator[Workers]:  # noqa: F811
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VILA_")},
        "VILA_DATABASE_URL": db_url,
        "VILA_BROKER_URL": broker,
        "VILA_BROKER_NAMESPACE": BROKER_NAMESPACE,
        "VILA_DATA_DIR": str(tmp_path),
        "VILA_FCM_ENDPOINT": fcm.url,
        "VILA_TEST_INSTALLATION": "true",  # the worker may start with the FCM stand-in
    }  # the production leases: VILA_URGENT_LEASE_S and VILA_JOB_LEASE_S at their defaults
    w = Workers(env, tmp_path)
    yield w
    w.stop_all()


def test_a_dead_workers_urgent_batch_is_taken_over_within_30_s(
    settings: Settings,
    session_factory: sessionmaker[Session],
    make: Factory,
    broker: str,  # noqa: F811
    workers: Workers,
    fcm: FcmEmulator,  # noqa: F811
) -> None:
    from fastapi.testclient import TestClient

    from api.main import create_app

    fcm.faults = FaultPlan(latency_s=1.0)  # slow, but inside the client's timeout: the worker is busy
    _, unit, boss = _seed(session_factory, make, PEOPLE)
    first = workers.start()
    app = create_app(settings.model_copy(update={"broker_url": broker}), clock=SystemClock())
    with TestClient(app) as client:
        r = client.post(
            "/api/v1/messages",
            headers=boss.headers,  # type: ignore[attr-defined]
            json={
                "title": "Larm",
                "body": "Kom nu.",
                "priority": "urgent",
                "audience": {"groups": [str(unit.id)]},  # type: ignore[attr-defined]
            },
        )
        assert r.status_code == 202, r.text
    message_id = uuid.UUID(r.json()["message_id"])
    assert _wait(lambda: len(fcm.recorder.received) >= 5, 60, poll=0.05), "the first worker sent nothing"
    workers.kill(first)  # SIGKILL, mid-send: pushes in flight, the batch's deliveries leased
    killed = time.monotonic()
    in_flight = len(fcm.recorder.received)
    workers.start()

    # What `vila beat` does, at the production interval.
    ctx = JobContext(settings=settings, session_factory=session_factory, clock=SystemClock())
    waker = CeleryWaker(broker, settings.model_copy(update={"broker_url": broker}).broker_transport_options)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(settings.sweep_interval_s):
            sweep(ctx, waker)

    ticker = threading.Thread(target=beat, daemon=True)
    ticker.start()
    reclaimed = select(func.count()).where(Job.name == "notify.send", Job.attempts > 1)
    sent = select(func.count()).where(Delivery.message_id == message_id, Delivery.state == "sent")
    try:
        assert _wait(lambda: _count(session_factory, reclaimed) >= 1, TAKEOVER_LIMIT_S + 5, poll=0.2)
        taken_over_s = time.monotonic() - killed
        assert _wait(lambda: _count(session_factory, sent) == PEOPLE, 60, poll=0.2)
        recovered_s = time.monotonic() - killed
    finally:
        stop.set()
        ticker.join()
        waker.close()
    per_device = Counter(r.token for r in fcm.recorder.accepted())
    twice = sum(1 for n in per_device.values() if n > 1)
    print(
        f"urgent batch of {PEOPLE}: killed with {in_flight} requests at the stand-in; taken over after "
        f"{taken_over_s:.1f} s, all sent after {recovered_s:.1f} s; lost {PEOPLE - len(per_device)}, "
        f"pushed twice {twice}"
    )
    assert taken_over_s <= TAKEOVER_LIMIT_S
    assert len(per_device) == PEOPLE  # nothing lost
    assert twice <= in_flight + 16  # only what was in flight at the kill (16 connections)
    collapse = {r.payload["message"]["android"]["collapse_key"] for r in fcm.recorder.accepted()}
    assert collapse == {str(message_id)}
