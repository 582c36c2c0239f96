"""A job that meets a lost database connection is tried again later and completes; a job with a
bug fails at once. The connection is really dropped: PostgreSQL terminates the job's backend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import ManualClock
from kernel.db import make_engine, make_session_factory, unit_of_work
from kernel.settings import Settings
from notify.outbox import DONE, FAILED, PENDING, Job, JobContext, JobPayload, JobRegistry, enqueue, run_job


@dataclass(frozen=True)
class WriteNote(JobPayload, job="test.write_note", queue="default"):
    pass


@dataclass(frozen=True)
class Bug(JobPayload, job="test.bug", queue="default"):
    pass


def _registry(killer: Any, seen: list[int]) -> JobRegistry:
    reg = JobRegistry()

    @reg.job(WriteNote)
    def write_note(ctx: JobContext, payload: WriteNote) -> None:
        with unit_of_work(ctx.session_factory) as session:
            pid = session.scalar(text("SELECT pg_backend_pid()"))
            seen.append(int(pid or 0))
            if len(seen) == 1:
                killer(pid)  # the server goes away under the job, mid-transaction
            session.execute(text("CREATE TABLE IF NOT EXISTS retry_note (n int)"))
            session.execute(text("INSERT INTO retry_note VALUES (1)"))

    @reg.job(Bug)
    def bug(ctx: JobContext, payload: Bug) -> None:
        raise KeyError("person_id")

    return reg


def test_a_job_whose_database_connection_drops_is_retried_and_completes(
    pg_url: str, tmp_path: Any, clock: ManualClock
) -> None:
    settings = Settings(database_url=pg_url, data_dir=tmp_path, load_demo=False)
    engine = make_engine(pg_url)
    factory: sessionmaker[Session] = make_session_factory(engine)
    admin = make_engine(pg_url).execution_options(isolation_level="AUTOCOMMIT")

    def kill(pid: int) -> None:
        with admin.connect() as conn:
            assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    seen: list[int] = []
    registry = _registry(kill, seen)
    ctx = JobContext(settings=settings, session_factory=factory, clock=clock)
    try:
        with unit_of_work(factory) as s:
            job = enqueue(s, WriteNote(), now=clock.now())
            bugged = enqueue(s, Bug(), now=clock.now())
        job_id, bug_id = job.id, bugged.id

        assert run_job(ctx, registry, job_id) == PENDING, "a dropped connection is worth another try"
        with factory() as s:
            job = s.get(Job, job_id)
            assert job is not None
            assert job.state == PENDING and job.attempts == 1
            assert job.last_error and "OperationalError" in job.last_error
            assert job.available_at >= clock.now(), "tried again after a backoff, not in a tight loop"

        clock.advance(timedelta(minutes=11))  # past the longest first backoff
        assert run_job(ctx, registry, job_id) == DONE
        assert len(seen) == 2 and seen[0] != seen[1], "the second try ran on a new connection"
        with factory() as s:
            job = s.get(Job, job_id)
            assert job is not None and job.state == DONE and job.attempts == 2
            assert s.scalar(text("SELECT count(*) FROM retry_note")) == 1, "the work was done exactly once"

        assert run_job(ctx, registry, bug_id) == FAILED, "a bug is not retried"
        with factory() as s:
            failed = s.get(Job, bug_id)
            assert failed is not None and failed.attempts == 1 and "KeyError" in (failed.last_error or "")
    finally:
        with factory() as s:
            s.execute(text("DROP TABLE IF EXISTS retry_note"))
            s.commit()
        admin.dispose()
        engine.dispose()


def test_a_job_that_keeps_meeting_lost_connections_fails_after_the_last_attempt(
    pg_url: str, tmp_path: Any, clock: ManualClock
) -> None:
    settings = Settings(database_url=pg_url, data_dir=tmp_path, load_demo=False, job_max_attempts=1)
    engine = make_engine(pg_url)
    factory = make_session_factory(engine)
    admin = make_engine(pg_url).execution_options(isolation_level="AUTOCOMMIT")

    def kill(pid: int) -> None:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    registry = _registry(kill, [])
    ctx = JobContext(settings=settings, session_factory=factory, clock=clock)
    try:
        with unit_of_work(factory) as s:
            job = enqueue(s, WriteNote(), now=clock.now())
        job_id = job.id
        assert run_job(ctx, registry, job_id) == FAILED, "VILA_JOB_MAX_ATTEMPTS=1: no second try"
    finally:
        admin.dispose()
        engine.dispose()
