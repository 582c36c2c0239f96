"""The outbox: a job commits with the change that caused it, runs once, and is found again when
its wake-up is lost or its worker dies."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import ManualClock
from kernel.db import unit_of_work
from kernel.settings import Settings
from notify.outbox import (
    DONE,
    FAILED,
    PENDING,
    RUNNING,
    Job,
    JobContext,
    JobPayload,
    JobRegistry,
    TransientJobError,
    claim,
    enqueue,
    install_waker,
    run_due,
    run_job,
    sweep,
)
from notify.runner import EmbeddedRunner


class RecordingWaker:
    def __init__(self) -> None:
        self.woken: list[tuple[uuid.UUID, str]] = []

    def wake(self, job_id: uuid.UUID, queue: str) -> None:
        self.woken.append((job_id, queue))


@pytest.fixture
def ctx(settings: Settings, session_factory: sessionmaker[Session], clock: ManualClock) -> JobContext:
    return JobContext(settings=settings, session_factory=session_factory, clock=clock)


@dataclass(frozen=True)
class Record(JobPayload, job="test.record", queue="urgent"):
    n: int | None = None


def _registry(calls: list[Record], *, fail: type[Exception] | None = None) -> JobRegistry:
    reg = JobRegistry()

    @reg.job(Record)
    def record(_ctx: JobContext, payload: Record) -> None:
        calls.append(payload)
        if fail is not None:
            raise fail("provider unavailable")

    return reg


def _job(session_factory: sessionmaker[Session], job_id: uuid.UUID) -> Job:
    with session_factory() as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job


def test_wake_up_is_sent_only_after_commit(ctx: JobContext, session_factory: sessionmaker[Session]) -> None:
    waker = RecordingWaker()
    install_waker(session_factory, waker)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError), unit_of_work(session_factory) as s:
        enqueue(s, Record(), now=ctx.clock.now())
        raise RuntimeError("the request failed")
    assert waker.woken == []
    with unit_of_work(session_factory) as s:
        job = enqueue(s, Record(n=1), now=ctx.clock.now())
    assert waker.woken == [(job.id, "urgent")]
    with session_factory() as s:
        assert s.scalars(select(Job)).all() and len(s.scalars(select(Job)).all()) == 1


def test_a_job_runs_once_even_if_woken_twice(ctx: JobContext, session_factory: sessionmaker[Session]) -> None:
    calls: list[Record] = []
    reg = _registry(calls)
    with unit_of_work(session_factory) as s:
        job = enqueue(s, Record(n=1), now=ctx.clock.now())
    assert run_job(ctx, reg, job.id) == DONE
    assert run_job(ctx, reg, job.id) == "skipped"
    assert calls == [Record(n=1)]


def test_a_dead_workers_lease_expires_and_the_sweeper_wakes_the_job(
    ctx: JobContext, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    calls: list[Record] = []
    reg = _registry(calls)
    with unit_of_work(session_factory) as s:
        job = enqueue(s, Record(n=2), now=clock.now())
    with unit_of_work(session_factory) as s:  # a worker claims it, then dies
        assert claim(s, job.id, now=clock.now(), lease=timedelta(minutes=5)) is not None
    assert _job(session_factory, job.id).state == RUNNING
    waker = RecordingWaker()
    assert sweep(ctx, waker).redispatched == 0  # the lease is still live
    clock.advance(timedelta(minutes=6))
    report = sweep(ctx, waker)
    assert report.expired_leases == 1
    assert waker.woken == [(job.id, "urgent")]
    assert run_job(ctx, reg, job.id) == DONE
    assert calls == [Record(n=2)]


def test_a_lost_wake_up_is_repaired_by_the_sweeper(
    ctx: JobContext, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    with unit_of_work(session_factory) as s:
        job = enqueue(s, Record(), queue="bulk", now=clock.now())
    waker = RecordingWaker()
    assert sweep(ctx, waker).redispatched == 0  # just queued: give the broker time
    clock.advance(timedelta(seconds=ctx.settings.job_redispatch_after_s + 1))
    assert sweep(ctx, waker).redispatched == 1
    assert waker.woken == [(job.id, "bulk")]
    assert sweep(ctx, waker).redispatched == 0  # not again straight away


def test_transient_failures_back_off_then_fail_for_good(
    ctx: JobContext, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    calls: list[Record] = []
    reg = _registry(calls, fail=TransientJobError)
    ctx.settings = ctx.settings.model_copy(update={"job_max_attempts": 3})
    with unit_of_work(session_factory) as s:
        job = enqueue(s, Record(), now=clock.now())
    states = []
    for _ in range(3):
        states.append(run_job(ctx, reg, job.id))
        clock.advance(timedelta(hours=1))
    assert states == [PENDING, PENDING, FAILED]
    stored = _job(session_factory, job.id)
    assert stored.attempts == 3
    assert stored.last_error == "provider unavailable"


def test_a_bug_fails_the_job_without_retrying(ctx: JobContext, session_factory: sessionmaker[Session]) -> None:
    calls: list[Record] = []
    reg = _registry(calls, fail=KeyError)
    with unit_of_work(session_factory) as s:
        job = enqueue(s, Record(), now=ctx.clock.now())
    assert run_job(ctx, reg, job.id) == FAILED
    assert "KeyError" in (_job(session_factory, job.id).last_error or "")


def test_delayed_job_waits_for_its_instant(
    ctx: JobContext, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    calls: list[Record] = []
    reg = _registry(calls)
    with unit_of_work(session_factory) as s:
        enqueue(
            s,
            Record(),
            now=clock.now(),
            not_before=clock.now() + timedelta(hours=2),
        )
    assert run_due(ctx, reg) == 0
    clock.advance(timedelta(hours=2))
    assert run_due(ctx, reg) == 1
    assert len(calls) == 1


def test_embedded_runner_runs_jobs_in_process(settings: Settings, session_factory: sessionmaker[Session]) -> None:
    from kernel.clock import SystemClock

    calls: list[Record] = []
    reg = _registry(calls)
    ctx = JobContext(settings=settings, session_factory=session_factory, clock=SystemClock())
    runner = EmbeddedRunner(ctx, reg)
    install_waker(session_factory, runner)
    runner.start()
    try:
        with unit_of_work(session_factory) as s:
            for n in range(5):
                enqueue(s, Record(n=n), now=ctx.clock.now())
        deadline = time.monotonic() + 15
        while len(calls) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        runner.stop()
    assert sorted(c.n for c in calls if c.n is not None) == [0, 1, 2, 3, 4]
    with session_factory() as s:
        assert {j.state for j in s.scalars(select(Job))} == {DONE}


def test_a_row_that_does_not_fit_its_job_fails_for_good_saying_why(
    ctx: JobContext, session_factory: sessionmaker[Session]
) -> None:
    calls: list[Record] = []
    reg = _registry(calls)
    with unit_of_work(session_factory) as s:
        job = enqueue(s, Record(n=1), now=ctx.clock.now())
        job.payload = {"n": "one"}  # a row written by hand, or by an older release
    assert run_job(ctx, reg, job.id) == FAILED, "not retried: it would not fit the next time either"
    assert calls == [], "the handler never sees a payload that does not fit"
    stored = _job(session_factory, job.id)
    assert stored.attempts == 1
    assert stored.last_error and "MalformedJob" in stored.last_error and "'n'" in stored.last_error
