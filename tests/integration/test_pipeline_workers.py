"""The pipeline with real Celery workers on Redis: a broadcast is decided, persisted and pushed to
the FCM stand-in; a worker killed (SIGKILL) in the middle of a fan-out loses nothing and sends
nothing twice beyond its in-flight batch; a flushed broker loses nothing either."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from kernel.auth.service import issue_token
from kernel.clock import SystemClock
from kernel.db import unit_of_work
from kernel.directory.models import GroupMember, Person
from kernel.settings import Settings
from notify.celery_waker import CeleryWaker
from notify.fleet.models import Assignment
from notify.loop import BackgroundLoop
from notify.models import AudienceChunk, Delivery, Device, Message, Recipient
from notify.outbox import JobContext, sweep
from policies.models import Shift
from tests.conftest import BROKER_NAMESPACE, BROKER_URL, flush_broker
from tests.factories import Factory
from tools.standins.fcm import FcmEmulator

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def fcm() -> Iterator[FcmEmulator]:
    loop = BackgroundLoop()
    emulator = FcmEmulator()
    loop.run(emulator.start(), timeout=10)
    yield emulator
    loop.run(emulator.stop(), timeout=10)
    loop.close()


@pytest.fixture
def broker() -> Iterator[str]:
    flush_broker()
    yield BROKER_URL
    flush_broker()


class Workers:
    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env, self.tmp = env, tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[BinaryIO] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"worker{len(self.procs)}.log").open("wb")
        self.logs.append(log)
        proc = subprocess.Popen(
            [sys.executable, "-m", "vila.cli", "worker", "-Q", "urgent,default,bulk", "-c", "2"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
        for log in self.logs:
            log.close()


@pytest.fixture
def workers(db_url: str, broker: str, fcm: FcmEmulator, tmp_path: Path) -> Iterator[Workers]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VILA_")},
        "VILA_DATABASE_URL": db_url,
        "VILA_BROKER_URL": broker,
        "VILA_BROKER_NAMESPACE": BROKER_NAMESPACE,
        "VILA_DATA_DIR": str(tmp_path),
        "VILA_FCM_ENDPOINT": fcm.url,
        "VILA_FANOUT_INLINE_MAX": "100",
        "VILA_FANOUT_CHUNK": "100",
        "VILA_JOB_LEASE_S": "4",
        "VILA_TEST_INSTALLATION": "true",  # the providers are stand-ins
    }
    w = Workers(env, tmp_path)
    yield w
    w.stop_all()


def _seed(session_factory: sessionmaker[Session], make: Factory, n: int) -> tuple[Factory, object, object]:
    """A unit of n people on shift now, each with one Android work phone."""
    unit = make.group("Storenheten")
    boss = make.actor(roles=["staff", "manager"], manages=[unit])
    now = datetime.now(UTC)
    people = [
        {
            "id": uuid.uuid4(),
            "name": f"Person {i}",
            "email": f"p{i}.{uuid.uuid4().hex[:6]}@exempel.se",
            "timezone": "Europe/Stockholm",
            "profession": "undersköterska",
            "language": "sv",
            "roles": ["staff"],
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(n)
    ]
    with unit_of_work(session_factory) as s:
        s.execute(insert(Person), people)
        s.execute(insert(GroupMember), [{"group_id": unit.id, "person_id": p["id"]} for p in people])
        s.execute(
            insert(Shift),
            [
                {
                    "id": uuid.uuid4(),
                    "person_id": p["id"],
                    "planned_start": now - timedelta(hours=2),
                    "planned_end": now + timedelta(hours=6),
                    "kind": "planned",
                    "created_at": now,
                    "updated_at": now,
                }
                for p in people
            ],
        )
        s.execute(
            insert(Device),
            [
                {
                    "id": uuid.uuid4(),
                    "person_id": p["id"],
                    "name": "Arbetstelefon",
                    "platform": "android",
                    "provider": "fcm",
                    "token": f"tok-{p['id'].hex}",
                    "ownership": "work",
                    "state": "active",
                    "last_seen_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for p in people
            ],
        )
    return make, unit, boss


def _wait(
    predicate: Callable[[], bool], timeout: float, tick: Callable[[], None] | None = None, poll: float = 0.5
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if tick:
            tick()
        time.sleep(poll)
    return False


def _count(session_factory: sessionmaker[Session], stmt: object) -> int:
    with session_factory() as s:
        return int(s.scalar(stmt) or 0)  # type: ignore[call-overload]


def _send(settings: Settings, broker: str, unit: object, boss: object) -> str:
    app = create_app(
        settings.model_copy(update={"broker_url": broker, "fanout_inline_max": 100, "fanout_chunk": 100}),
        clock=SystemClock(),
    )
    with TestClient(app) as client:
        r = client.post(
            "/api/v1/messages",
            headers=boss.headers,  # type: ignore[attr-defined]
            json={"title": "Viktigt", "body": "Läs detta.", "audience": {"groups": [str(unit.id)]}},
        )  # type: ignore[attr-defined]
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "deciding"
        return str(r.json()["message_id"])


@pytest.fixture
def sweeper(settings: Settings, session_factory: sessionmaker[Session], broker: str) -> Iterator[Callable[[], None]]:
    """What `vila beat` does in production: wake jobs whose broker message was lost or whose worker died."""
    ctx = JobContext(
        settings=settings.model_copy(update={"job_redispatch_after_s": 2.0}),
        session_factory=session_factory,
        clock=SystemClock(),
    )
    waker = CeleryWaker(broker, settings.model_copy(update={"broker_url": broker}).broker_transport_options)
    yield lambda: (sweep(ctx, waker), None)[1]
    waker.close()


def test_killed_worker_mid_fan_out_loses_nothing(
    settings: Settings,
    session_factory: sessionmaker[Session],
    make: Factory,
    broker: str,
    workers: Workers,
    fcm: FcmEmulator,
    sweeper: Callable[[], None],
) -> None:
    n = 3000
    _, unit, boss = _seed(session_factory, make, n)
    first = workers.start()
    message_id = uuid.UUID(_send(settings, broker, unit, boss))
    done_chunks = select(func.count()).where(AudienceChunk.message_id == message_id, AudienceChunk.done.is_(True))
    assert _wait(lambda: _count(session_factory, done_chunks) >= 1, 90, poll=0.05), "the first worker made no progress"
    workers.kill(first)  # SIGKILL, mid-fan-out: some chunks done, some claimed, some not started
    assert _count(session_factory, done_chunks) < 30, "the fan-out finished before the kill; nothing was tested"
    workers.start()
    sent = select(func.count()).where(Delivery.message_id == message_id, Delivery.state == "sent")
    assert _wait(lambda: _count(session_factory, sent) == n, 180, sweeper), (
        f"only {_count(session_factory, sent)} of {n} sent"
    )
    with session_factory() as s:
        assert s.scalar(select(func.count()).where(Recipient.message_id == message_id)) == n
        assert s.scalar(select(func.count()).where(Delivery.message_id == message_id)) == n
        assert s.scalar(select(Message.state).where(Message.id == message_id)) == "decided"
        resent = s.scalar(select(func.count()).where(Delivery.message_id == message_id, Delivery.attempts > 1)) or 0
    received = Counter(r.token for r in fcm.recorder.accepted())
    assert set(received) == {f"tok-{pid.hex}" for pid in _people(session_factory, message_id)}
    twice = sum(1 for c in received.values() if c > 1)
    assert twice <= 500, f"{twice} phones got the message twice; at most the in-flight batch may"
    assert twice <= resent


def _people(session_factory: sessionmaker[Session], message_id: uuid.UUID) -> list[uuid.UUID]:
    with session_factory() as s:
        return list(s.scalars(select(Recipient.person_id).where(Recipient.message_id == message_id)))


def test_flushed_broker_loses_no_broadcast(
    settings: Settings,
    session_factory: sessionmaker[Session],
    make: Factory,
    broker: str,
    workers: Workers,
    fcm: FcmEmulator,
    sweeper: Callable[[], None],
) -> None:
    n = 600
    _, unit, boss = _seed(session_factory, make, n)
    message_id = uuid.UUID(_send(settings, broker, unit, boss))  # no worker yet: the wake-ups wait in Redis
    flush_broker()  # ... and are lost
    workers.start()
    sent = select(func.count()).where(Delivery.message_id == message_id, Delivery.state == "sent")
    time.sleep(3)
    assert _count(session_factory, sent) == 0
    assert _wait(lambda: _count(session_factory, sent) == n, 120, sweeper)
    assert len(fcm.recorder.accepted()) == n


@pytest.fixture
def emulators(tmp_path: Path) -> Iterator[Any]:
    from tools.standins.server import serve_emulators

    loop = BackgroundLoop()
    running = loop.run(serve_emulators(control_port=None, state_dir=tmp_path / "emulators"), timeout=30)
    yield running
    loop.run(running.stop(), timeout=30)
    loop.close()


def test_broadcast_to_a_demo_unit(
    settings: Settings,
    session_factory: sessionmaker[Session],
    broker: str,
    workers: Workers,
    emulators: Any,
    sweeper: Callable[[], None],
) -> None:
    """The demo region's emergency department gets a broadcast: everyone on shift is pushed on
    every device (iOS and Android), everyone else is held, and nothing else happens."""
    from kernel.directory.models import Group
    from notify.models import Digest
    from vila import demo

    now = datetime.now(UTC)
    with unit_of_work(session_factory) as s:
        people = demo.load(session=s, now=now)
        manager = s.get(Person, people["manager"].id)
        assert manager is not None
        _, token = issue_token(session=s, person=manager, now=now)
        unit = s.scalars(select(Group).where(Group.code == "akuten")).one()
    workers.env.update(
        VILA_FCM_ENDPOINT=emulators.fcm_url,
        VILA_APNS_HOST=emulators.apns_host,
        VILA_APNS_PORT=str(emulators.apns_port),
        VILA_APNS_CA_FILE=str(emulators.ca.ca_file),
    )
    workers.start()
    app = create_app(settings.model_copy(update={"broker_url": broker}), clock=SystemClock())
    with TestClient(app) as client:
        r = client.post(
            "/api/v1/messages",
            headers={"Authorization": f"Bearer {token}"},
            json={"title": "Brandövning kl 14", "body": "Alla på plats.", "audience": {"groups": [str(unit.id)]}},
        )
        assert r.status_code == 202, r.text
        accepted = r.json()
    message_id = uuid.UUID(accepted["message_id"])
    with session_factory() as s:
        decisions = dict(
            s.execute(select(Recipient.person_id, Recipient.decision).where(Recipient.message_id == message_id)).all()
        )
        members = set(
            s.scalars(
                select(GroupMember.person_id).where(
                    GroupMember.group_id.in_(
                        select(Group.id).where((Group.id == unit.id) | (Group.parent_id == unit.id))
                    )
                )
            )
        )
        devices = dict(s.execute(select(Device.person_id, func.count()).group_by(Device.person_id)).all())
        # The unit's shared ward tablet (demo fleet) gets the unit's message too, as nobody's device.
        tablets = s.scalar(
            select(func.count())
            .select_from(Device)
            .join(Assignment, Assignment.asset_id == Device.asset_id)
            .where(Device.person_id.is_(None), Assignment.group_id == unit.id, Assignment.ended_at.is_(None))
        )
    assert tablets == 1
    assert set(decisions) == members
    assert accepted["counts"]["deliver"] == sum(1 for d in decisions.values() if d == "deliver") > 0
    assert accepted["counts"]["hold"] == sum(1 for d in decisions.values() if d == "hold") > 0
    expected = sum(devices.get(p, 0) for p, d in decisions.items() if d == "deliver") + tablets
    sent = select(func.count()).where(Delivery.message_id == message_id, Delivery.state == "sent")
    assert _wait(lambda: _count(session_factory, sent) == expected, 90, sweeper)
    with session_factory() as s:
        held = s.scalar(select(func.count()).where(Delivery.message_id == message_id, Delivery.state == "held"))
        assert held == sum(devices.get(p, 0) for p, d in decisions.items() if d == "hold")
        assert s.scalar(select(func.count()).select_from(Digest)) == 0
    pushed = len(emulators.fcm.recorder.accepted()) + len(emulators.apns.recorder.accepted())
    assert pushed == expected
    assert emulators.apns.recorder.accepted() and emulators.fcm.recorder.accepted(), "both platforms were pushed"
