"""Leases of urgent work: short, renewed while a worker works, so a dead worker's urgent batch is
taken over within 30 s while a live worker's batch is never taken from under it."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import ManualClock, SystemClock
from kernel.db import unit_of_work
from kernel.settings import Settings
from notify.jobs import registry as pipeline_jobs
from notify.leases import lease_for
from notify.models import Delivery, Message
from notify.outbox import DONE, Job, JobContext, JobPayload, JobRegistry, claim, enqueue, run_due, run_job, sweep
from notify.outbox import NullWaker as _NullWaker
from notify.pipeline import _claim_deliveries
from notify.push import PushClient
from notify.transports.base import RecordingTransport
from tests.factories import Factory
from tests.messaging_helpers import Facts, workday

TAKEOVER_LIMIT = timedelta(seconds=30)


@dataclass(frozen=True)
class Slow(JobPayload, job="test.slow", queue="urgent"):
    pass


class RecordingWaker(_NullWaker):
    def __init__(self) -> None:
        self.woken: list[uuid.UUID] = []

    def wake(self, job_id: uuid.UUID, queue: str) -> None:
        self.woken.append(job_id)


def test_the_defaults_bound_an_urgent_takeover_by_30_s(settings: Settings) -> None:
    worst = lease_for(settings, "urgent") + timedelta(seconds=settings.sweep_interval_s)
    assert worst <= TAKEOVER_LIMIT
    assert lease_for(settings, "default") == timedelta(seconds=settings.job_lease_s)


class TestDeadWorkerOfAnUrgentSend:
    """Through the pipeline: an urgent message's send job and its deliveries are claimed by a
    worker that dies (it renews nothing); another worker sends them, each device once."""

    @pytest.fixture
    def push(self) -> Iterator[tuple[PushClient, RecordingTransport]]:
        transport = RecordingTransport()
        client = PushClient(lambda: transport)
        yield client, transport
        client.close()

    def test_another_worker_takes_over_within_30_s(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        clock: ManualClock,
        make: Factory,
        push: tuple[PushClient, RecordingTransport],
    ) -> None:
        from notify import sending
        from notify.schemas import MessageCreate

        unit = make.group("Akuten")
        boss = make.person(roles=["staff", "manager"], manages=[unit])
        facts = Facts(session_factory, clock)
        start, end = workday(clock)
        tokens = []
        for n in range(4):
            nurse = make.person(groups=[unit], name=f"Sköterska {n}")
            facts.shift(nurse, start, end)
            tokens.append(facts.device(nurse).token)
        from kernel.auth.service import Principal

        sender = Principal(person_id=boss.id, name=boss.name, email=boss.email, roles=frozenset(boss.roles))
        body = MessageCreate.model_validate(
            {"title": "Larm", "body": "Kom nu.", "priority": "urgent", "audience": {"groups": [str(unit.id)]}}
        )
        with unit_of_work(session_factory) as s:
            sending.accept(session=s, body=body, sender=sender, now=clock.now(), settings=settings)
        with session_factory() as s:
            [job] = s.scalars(select(Job).where(Job.name == "notify.send")).all()
            assert job.queue == "urgent"
            job_id, ids = job.id, [uuid.UUID(d) for d in job.payload["delivery_ids"]]

        # Worker 1 claims the job and its deliveries, as `run_job` and `send` do, and dies.
        died_at = clock.now()
        lease = lease_for(settings, "urgent")
        with unit_of_work(session_factory) as s:
            assert claim(s, job_id, now=died_at, lease=lease) is not None
            assert len(_claim_deliveries(s, ids, now=died_at, lease=lease)) == 4

        ctx = JobContext(settings=settings, session_factory=session_factory, clock=clock, resources={"push": push[0]})
        waker = RecordingWaker()
        taken_over_at = None
        while clock.now() - died_at <= TAKEOVER_LIMIT:
            clock.advance(timedelta(seconds=settings.sweep_interval_s))  # the sweeper's rhythm
            sweep(ctx, waker)
            if job_id in waker.woken:
                assert run_job(ctx, pipeline_jobs, job_id) == DONE
                taken_over_at = clock.now()
                break
        assert taken_over_at is not None, "the dead worker's urgent batch waited longer than 30 s"
        assert taken_over_at - died_at <= TAKEOVER_LIMIT
        assert Counter(r.token for r in push[1].requests) == dict.fromkeys(tokens, 1)
        with session_factory() as s:
            assert set(s.scalars(select(Delivery.state)).all()) == {"sent"}
            assert s.scalar(select(Message.state)) == "decided"


class TestRenewal:
    """In real time, with a one-second urgent lease: a live worker's job outlasts its lease and
    nobody takes it; a claim that is not renewed is taken over after the lease."""

    @pytest.fixture
    def ctx(self, settings: Settings, session_factory: sessionmaker[Session]) -> JobContext:
        quick = settings.model_copy(update={"urgent_lease_s": 1.0})
        return JobContext(settings=quick, session_factory=session_factory, clock=SystemClock())

    @staticmethod
    def _registry(runs: list[float], seconds: float) -> JobRegistry:
        reg = JobRegistry()

        @reg.job(Slow)
        def slow(_ctx: JobContext, _payload: Slow) -> None:
            runs.append(time.monotonic())
            time.sleep(seconds)

        return reg

    def _enqueue(self, ctx: JobContext) -> uuid.UUID:
        with unit_of_work(ctx.session_factory) as s:
            job = enqueue(s, Slow(), now=ctx.clock.now())
            s.flush()
            return job.id

    def test_renewal_keeps_a_live_workers_job(self, ctx: JobContext) -> None:
        runs: list[float] = []
        reg = self._registry(runs, seconds=3.0)  # three leases long
        job_id = self._enqueue(ctx)
        first = threading.Thread(target=run_job, args=(ctx, reg, job_id))
        first.start()
        seen: list[str] = []
        for _ in range(5):  # another worker tries, past the first lease and the next ones
            time.sleep(0.5)
            sweep(ctx, RecordingWaker())
            seen.append(run_job(ctx, reg, job_id))
        first.join()
        assert len(runs) == 1, "the job ran twice: its lease was taken from a live worker"
        assert set(seen) == {"skipped"}
        with ctx.session_factory() as s:
            assert s.get(Job, job_id).state == DONE  # type: ignore[union-attr]

    def test_a_claim_that_is_not_renewed_is_taken_over_after_the_lease(self, ctx: JobContext) -> None:
        runs: list[float] = []
        reg = self._registry(runs, seconds=0.0)
        job_id = self._enqueue(ctx)
        with unit_of_work(ctx.session_factory) as s:  # a worker claims and dies
            assert claim(s, job_id, now=ctx.clock.now(), lease=lease_for(ctx.settings, "urgent")) is not None
        claimed = time.monotonic()
        assert run_job(ctx, reg, job_id) == "skipped"  # still leased
        while run_due(ctx, reg) == 0:
            sweep(ctx, RecordingWaker())
            time.sleep(0.1)
            assert time.monotonic() - claimed < 10, "never taken over"
        assert len(runs) == 1
        assert 1.0 <= runs[0] - claimed < 3.0
