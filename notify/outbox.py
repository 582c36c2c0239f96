"""Running the outbox's jobs: claim a job row with a lease, run its handler, settle it, and sweep.

A route or job writes job rows through the unit of work (`kernel.uow`, rows in `kernel.outbox`);
the row commits with the state change that caused it. After the commit a `Waker` (the embedded
runner, or Celery through the broker) is told the job's id. A worker `claim`s the row with a
lease (short for urgent work and renewed while the handler runs: `notify.leases`), runs the
registered handler on the row's payload decoded (`kernel.outbox.decode`), and marks it done. If
the broker loses the wake-up, or a worker dies holding a lease, `sweep()` finds the row again.
Handlers must therefore be idempotent: a job may run twice.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Generic

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import Clock
from kernel.db import unit_of_work
from kernel.outbox import (
    DONE,
    FAILED,
    PENDING,
    RUNNING,
    Job,
    JobPayload,
    MalformedJob,
    NullWaker,
    P,
    Waker,
    decode,
    enqueue,
    install_waker,
)
from kernel.settings import Queue, Settings
from notify.leases import LeaseKeeper, lease_for

__all__ = [
    "DONE",
    "FAILED",
    "PENDING",
    "RUNNING",
    "Job",
    "JobContext",
    "JobPayload",
    "JobRegistry",
    "JobSpec",
    "MalformedJob",
    "NullWaker",
    "TransientJobError",
    "Waker",
    "enqueue",
    "install_waker",
]

log = logging.getLogger("vila.jobs")


class TransientJobError(Exception):
    """Raise from a handler when trying again later may succeed (a provider outage, a lock)."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


# Errors after which the same job may well succeed later: retried with backoff, up to
# VILA_JOB_MAX_ATTEMPTS. Everything else fails the job for good at once (never retry on any
# Exception: a bug would run again and again). A database connection that dropped, timed out or
# was invalidated is the common case: a failover, a restarted server, a network blip.
RETRYABLE: tuple[type[BaseException], ...] = (
    TransientJobError,
    sa_exc.OperationalError,  # the server closed the connection, a deadlock, "database is locked"
    sa_exc.InterfaceError,  # the driver's connection is unusable
    sa_exc.DisconnectionError,  # the pool could not get a live connection
    sa_exc.TimeoutError,  # the pool had no connection to give in time
)


def is_retryable(exc: BaseException) -> bool:
    """True when trying the job again later may succeed (see RETRYABLE)."""
    if isinstance(exc, RETRYABLE):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated


@dataclass
class JobContext:
    """What a job handler gets: the means to open units of work, the time, and shared resources;
    inside a job, `lease` is that job's lease (rows the handler claims take the same)."""

    settings: Settings
    session_factory: sessionmaker[Session]
    clock: Clock
    resources: Mapping[str, Any] = field(default_factory=dict)
    lease: timedelta | None = None


@dataclass(frozen=True)
class JobSpec(Generic[P]):
    """A declared job (`kernel.jobs`) and the handler that runs it; name, queue and interval come
    from the payload's declaration."""

    payload: type[P]
    handler: Callable[[JobContext, P], None]

    @property
    def name(self) -> str:
        return self.payload.job_name

    @property
    def queue(self) -> Queue:
        return self.payload.job_queue

    @property
    def every_s(self) -> float | None:
        """Periodic jobs run on this interval (beat, or the embedded scheduler)."""
        return self.payload.job_every_s

    def run(self, ctx: JobContext, raw: Mapping[str, Any]) -> None:
        """Run the handler on a job row's JSON payload (`MalformedJob` if it does not fit)."""
        self.handler(ctx, decode(self.payload, raw))

    def tick(self, ctx: JobContext) -> None:
        """Run a periodic job now, outside the outbox (beat's tick, the embedded scheduler)."""
        self.run(ctx, {})


class JobRegistry:
    """The handlers workers run, one per declared job."""

    def __init__(self) -> None:
        self._specs: dict[str, JobSpec[Any]] = {}

    def register(self, payload: type[P], handler: Callable[[JobContext, P], None]) -> None:
        if payload.job_name in self._specs:
            raise ValueError(f"job {payload.job_name!r} is registered twice")
        self._specs[payload.job_name] = JobSpec(payload, handler)

    def job(self, payload: type[P]) -> Callable[[Callable[[JobContext, P], None]], Callable[[JobContext, P], None]]:
        """Register the decorated function as the handler of `payload`'s job."""

        def decorate(fn: Callable[[JobContext, P], None]) -> Callable[[JobContext, P], None]:
            self.register(payload, fn)
            return fn

        return decorate

    def get(self, name: str) -> JobSpec[Any] | None:
        return self._specs.get(name)

    def periodic(self) -> list[JobSpec[Any]]:
        return [s for s in self._specs.values() if s.every_s]

    def names(self) -> list[str]:
        return sorted(self._specs)


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
    return run_claimed(ctx, registry, job_id, name=name, payload=payload, attempts=attempts, lease=lease)


def run_claimed(
    ctx: JobContext,
    registry: JobRegistry,
    job_id: uuid.UUID,
    *,
    name: str,
    payload: dict[str, Any],
    attempts: int,
    lease: timedelta | None = None,
) -> str:
    """Run and settle a job this worker already holds the lease of (`run_job` after its claim, or
    a job written RUNNING by the transaction that claimed its work), renewing that lease while it
    runs. Returns the state it ended in."""
    lease = lease or timedelta(seconds=ctx.settings.job_lease_s)
    spec = registry.get(name)
    error: str | None = None
    retry_after: float | None = None
    state = DONE
    if spec is None:
        state, error = FAILED, f"no handler registered for job {name!r}"
    else:
        try:
            with LeaseKeeper(lease, lambda: renew(ctx, job_id, lease), name="job"):
                spec.run(replace(ctx, lease=lease), payload)
        except Exception as exc:
            if is_retryable(exc):
                error = str(exc) if isinstance(exc, TransientJobError) else f"{type(exc).__name__}: {exc}"
                retry_after = exc.retry_after_s if isinstance(exc, TransientJobError) else None
                state = PENDING if attempts < ctx.settings.job_max_attempts else FAILED
                log.warning("job %s (%s) attempt %d: %s", job_id, name, attempts, error)
            else:
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


def failed(session: Session, *, limit: int = 100) -> list[Job]:
    """Jobs that failed for good, the latest first, with the error each ended in."""
    stmt = select(Job).where(Job.state == FAILED).order_by(Job.finished_at.desc(), Job.id).limit(limit)
    return list(session.scalars(stmt))


def retry_failed(session: Session, *, now: datetime, job_ids: list[uuid.UUID] | None = None) -> list[Job]:
    """Give failed jobs (these, or all when None) a fresh set of attempts, due now. The last error
    stays on the row until the job runs again. Returns the jobs made pending."""
    stmt = select(Job).where(Job.state == FAILED)
    if job_ids is not None:
        stmt = stmt.where(Job.id.in_(job_ids))
    jobs = list(session.scalars(stmt.with_for_update()))
    for job in jobs:
        job.state, job.attempts, job.available_at = PENDING, 0, now
        job.dispatched_at, job.lease_until, job.finished_at = None, None, None
    session.flush()
    return jobs
