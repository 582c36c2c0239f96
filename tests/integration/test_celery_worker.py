"""A real Celery worker process consumes jobs from the real Redis broker; a flushed broker loses nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from kernel.auth.models import ApiToken
from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.celery_waker import CeleryWaker
from tests.conftest import BROKER_NAMESPACE, BROKER_URL, flush_broker
from tests.factories import Factory

pytestmark = pytest.mark.redis


@pytest.fixture
def broker() -> Iterator[str]:
    flush_broker()
    yield BROKER_URL
    flush_broker()


@pytest.fixture
def worker(db_url: str, broker: str, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "VILA_DATABASE_URL": db_url,
        "VILA_BROKER_URL": broker,
        "VILA_BROKER_NAMESPACE": BROKER_NAMESPACE,
        "VILA_DATA_DIR": str(tmp_path),
        "VILA_LOG_LEVEL": "INFO",
        "VILA_TEST_INSTALLATION": "true",  # the providers are stand-ins
    }
    log = (tmp_path / "worker.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "vila.cli", "worker", "-Q", "urgent,default,bulk", "-c", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _wait_for(predicate: object, timeout: float = 45.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.25)
    return False


def _revoked(session_factory: sessionmaker[Session], person_id: uuid.UUID) -> bool:
    with session_factory() as s:
        tokens = s.scalars(select(ApiToken).where(ApiToken.person_id == person_id)).all()
        return bool(tokens) and all(t.revoked_at is not None for t in tokens)


def test_worker_runs_a_job_handed_over_by_the_api(
    settings: Settings,
    clock: ManualClock,
    make: Factory,
    session_factory: sessionmaker[Session],
    broker: str,
    worker: subprocess.Popen[bytes],
) -> None:
    admin = make.actor(roles=["staff", "admin"])
    leaver = make.actor()
    app = create_app(settings.model_copy(update={"broker_url": broker}), clock=clock)
    with TestClient(app) as client:
        r = client.post(f"/api/v1/people/{leaver.id}/deactivate", headers=admin.headers)
        assert r.status_code == 200
    assert _wait_for(lambda: _revoked(session_factory, leaver.id)), "the worker did not revoke the tokens"
    assert worker.poll() is None


def test_a_flushed_broker_loses_nothing(
    settings: Settings,
    make: Factory,
    session_factory: sessionmaker[Session],
    broker: str,
    worker: subprocess.Popen[bytes],
) -> None:
    from kernel.clock import SystemClock
    from kernel.db import unit_of_work
    from kernel.directory import service as directory

    leaver = make.actor()
    # The deactivation's follow-up job commits with it, but its broker message is gone before any
    # worker sees it.
    with unit_of_work(session_factory) as s:
        person = directory.require_person(session=s, person_id=leaver.id)
        directory.deactivate_person(session=s, person=person, now=SystemClock().now())
    flush_broker()
    time.sleep(1.0)
    assert not _revoked(session_factory, leaver.id)
    # Beat's sweeper (here with a zero grace period) finds the job and wakes the worker.
    waker = CeleryWaker(broker, settings.model_copy(update={"broker_url": broker}).broker_transport_options)
    try:
        from notify.outbox import JobContext, sweep

        ctx = JobContext(
            settings=settings.model_copy(update={"job_redispatch_after_s": 0.001}),
            session_factory=session_factory,
            clock=SystemClock(),
        )
        time.sleep(0.01)
        assert sweep(ctx, waker).redispatched == 1
    finally:
        waker.close()
    assert _wait_for(lambda: _revoked(session_factory, leaver.id)), "the swept job never ran"
