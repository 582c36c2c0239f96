"""The transactional outbox: work is a row first and a broker message second.

A route or job calls `enqueue()` inside its unit of work; the job row commits with the state
change that caused it. After the commit a `Waker` (the embedded runner, or Celery through the
broker) is told the job's id. A worker `claim`s the row with a lease, runs the registered
handler, and marks it done; the lease is short for urgent work and renewed while the handler
runs (`notify.leases`). If the broker loses the wake-up, or a worker dies holding a lease,
`sweep()` finds the row again. Handlers must therefore be idempotent: a job may run twice.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Index, Integer, String, Text, and_, delete, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from kernel.clock import Clock
from kernel.db import Base, UTCDateTime, json_type, new_id, unit_of_work
from kernel.settings import Queue, Settings
from notify.leases import LeaseKeeper, lease_for

log = logging.getLogger("vila.jobs")

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (Index("ix_job_state_available", "state", "available_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(json_type())
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime())
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TransientJobError(Exception):
    """Raise from a handler when trying again later may succeed (a provider outage, a lock)."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Waker(Protocol):
    """Tells a worker that a committed job is ready. Losing a wake-up is allowed; the sweeper repairs it."""

    def wake(self, job_id: uuid.UUID, queue: str) -> None: ...


class NullWaker:
    """Wakes nobody: jobs wait for the sweeper (or a test that runs them by hand)."""

    def wake(self, job_id: uuid.UUID, queue: str) -> None:
        return None


@dataclass
class JobContext:
    """What a job handler gets: the means to open units of work, the time, and shared resources;
    inside a job, `lease` is that job's lease (rows the handler claims take the same)."""

    settings: Settings
    session_factory: sessionmaker[Session]
    clock: Clock
    resources: Mapping[str, Any] = field(default_factory=dict)
    lease: timedelta | None = None


Handler = Callable[[JobContext, dict[str, Any]], None]


@dataclass(frozen=True)
class JobSpec:
    name: str
    handler: Handler
    queue: Queue = "default"
    every_s: float | None = None  # periodic jobs run on this interval (beat, or the embedded scheduler)


class JobRegistry:
    def __init__(self) -> None:
        self._specs: dict[str, JobSpec] = {}

    def register(self, spec: JobSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"job {spec.name!r} is registered twice")
        self._specs[spec.name] = spec

    def job(self, name: str, *, queue: Queue = "default", every_s: float | None = None) -> Callable[[Handler], Handler]:
        def decorate(fn: Handler) -> Handler:
            self.register(JobSpec(name=name, handler=fn, queue=queue, every_s=every_s))
            return fn

        return decorate

    def get(self, name: str) -> JobSpec | None:
        return self._specs.get(name)

    def periodic(self) -> list[JobSpec]:
        return [s for s in self._specs.values() if s.every_s]

    def names(self) -> list[str]:
        return sorted(self._specs)


_WAKE_KEY = "vila.wake"


def enqueue(
    session: Session,
    *,
    name: str,
    payload: dict[str, Any],
    queue: Queue,
    now: datetime,
    not_before: datetime | None = None,
) -> Job:
    """Add a job row to the caller's transaction; its wake-up is sent only after that commits."""
    job = Job(
        name=name,
        queue=queue,
        payload=payload,
        state=PENDING,
        available_at=not_before or now,
        dispatched_at=now if not_before is None or not_before <= now else None,
        attempts=0,
        created_at=now,
    )
    session.add(job)
    if job.dispatched_at is not None:
        session.info.setdefault(_WAKE_KEY, []).append((job, queue))
    return job


def install_waker(factory: sessionmaker[Session], waker: Waker) -> None:
    """Send the wake-ups of jobs enqueued in a session once, and only if, it commits."""
    from sqlalchemy import event

    def after_commit(session: Session) -> None:
        pending = session.info.pop(_WAKE_KEY, [])
        for job, queue in pending:
            try:
                waker.wake(job.id, queue)
            except Exception:  # a lost wake-up is repaired by the sweeper
                log.warning("could not wake job %s; the sweeper will", job.id, exc_info=True)

    def after_rollback(session: Session) -> None:
        session.info.pop(_WAKE_KEY, None)

    event.listen(factory, "after_commit", after_commit)
    event.listen(factory, "after_soft_rollback", lambda s, _t: after_rollback(s))


def claim(session: Session, job_id: uuid.UUID, *, now: datetime, lease: timedelta) -> Job | None:
    """Take the job if it is due and nobody holds a live lease on it. Atomic on every database."""
    result = session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            or_(
                and_(Job.state == PENDING, Job.available_at <= now),
                and_(Job.state == RUNNING, Job.lease_until < now),
            ),
        )
        .values(state=RUNNING, lease_until=now + lease, attempts=Job.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    return session.get(Job, job_id, populate_existing=True)


def renew(ctx: JobContext, job_id: uuid.UUID, lease: timedelta) -> None:
    """Extend a running job's lease from now (a job no longer running is left alone)."""
    with unit_of_work(ctx.session_factory) as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == RUNNING)
            .values(lease_until=ctx.clock.now() + lease)
            .execution_options(synchronize_session=False)
        )


def backoff(attempt: int, *, base_s: float = 2.0, cap_s: float = 600.0) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(0, min(cap_s, base_s * 2 ** max(0, attempt - 1)))  # noqa: S311


def run_job(ctx: JobContext, registry: JobRegistry, job_id: uuid.UUID) -> str:
    """Claim, run and settle one job. Returns the state it ended in ("skipped" if not claimed)."""
    with unit_of_work(ctx.session_factory) as session:
        queue = session.scalar(select(Job.queue).where(Job.id == job_id))
        lease = lease_for(ctx.settings, queue or "default")
        job = claim(session, job_id, now=ctx.clock.now(), lease=lease)
        if job is None:
            return "skipped"
        name, payload, attempts = job.name, dict(job.payload), job.attempts
    spec = registry.get(name)
    error: str | None = None
    retry_after: float | None = None
    state = DONE
    if spec is None:
        state, error = FAILED, f"no handler registered for job {name!r}"
    else:
        try:
            with LeaseKeeper(lease, lambda: renew(ctx, job_id, lease), name="job"):
                spec.handler(replace(ctx, lease=lease), payload)
        except TransientJobError as exc:
            error, retry_after = str(exc), exc.retry_after_s
            state = PENDING if attempts < ctx.settings.job_max_attempts else FAILED
        except Exception as exc:
            log.exception("job %s (%s) failed", job_id, name)
            state, error = FAILED, f"{type(exc).__name__}: {exc}"
    now = ctx.clock.now()
    with unit_of_work(ctx.session_factory) as session:
        values: dict[str, Any] = {"state": state, "lease_until": None, "last_error": error}
        if state == PENDING:
            delay = max(retry_after or 0.0, backoff(attempts))
            values.update(available_at=now + timedelta(seconds=delay), dispatched_at=None)
        else:
            values["finished_at"] = now
        session.execute(update(Job).where(Job.id == job_id).values(**values))
    if state == FAILED:
        log.error("job %s (%s) failed for good: %s", job_id, name, error)
    return state


@dataclass(frozen=True)
class SweepReport:
    redispatched: int
    expired_leases: int
    purged: int


def sweep(ctx: JobContext, waker: Waker, *, limit: int = 1000) -> SweepReport:
    """Find jobs whose wake-up was lost or whose worker died, and wake them again."""
    now = ctx.clock.now()
    stale = now - timedelta(seconds=ctx.settings.job_redispatch_after_s)
    with unit_of_work(ctx.session_factory) as session:
        expired = session.execute(
            update(Job)
            .where(Job.state == RUNNING, Job.lease_until < now)
            .values(state=PENDING, lease_until=None, dispatched_at=None)
            .execution_options(synchronize_session=False)
        )
        expired_count = int(getattr(expired, "rowcount", 0) or 0)
        rows = session.execute(
            select(Job.id, Job.queue)
            .where(
                Job.state == PENDING,
                Job.available_at <= now,
                or_(Job.dispatched_at.is_(None), Job.dispatched_at < stale),
            )
            .order_by(Job.available_at)
            .limit(limit)
        ).all()
        if rows:
            session.execute(
                update(Job)
                .where(Job.id.in_([r.id for r in rows]))
                .values(dispatched_at=now)
                .execution_options(synchronize_session=False)
            )
        purged = session.execute(
            delete(Job)
            .where(Job.state == DONE, Job.finished_at < now - timedelta(days=7))
            .execution_options(synchronize_session=False)
        )
    for row in rows:
        try:
            waker.wake(row.id, row.queue)
        except Exception:
            log.warning("could not wake job %s", row.id, exc_info=True)
    if rows or expired_count:
        log.info("sweep: woke %d job(s), %d expired lease(s)", len(rows), expired_count)
    return SweepReport(
        redispatched=len(rows),
        expired_leases=expired_count,
        purged=int(getattr(purged, "rowcount", 0) or 0),
    )


def run_due(ctx: JobContext, registry: JobRegistry, *, limit: int = 10_000) -> int:
    """Run every job that is due now, in this thread, until none is left. For tests and tools."""
    ran = 0
    while ran < limit:
        with unit_of_work(ctx.session_factory) as session:
            ids = session.scalars(
                select(Job.id)
                .where(Job.state == PENDING, Job.available_at <= ctx.clock.now())
                .order_by(Job.created_at)
                .limit(100)
            ).all()
        if not ids:
            break
        for job_id in ids:
            if run_job(ctx, registry, job_id) != "skipped":
                ran += 1
    return ran
