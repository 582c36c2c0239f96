"""The transactional outbox's rows: a job is a row written in the transaction that caused it,
and a broker message (a wake-up) only after that transaction commits.

This is infrastructure beside the database code: the unit of work (`kernel.uow`) writes job rows
here; workers claim and run them (`notify.outbox`), and a sweeper re-finds what a lost wake-up
or a dead worker left behind.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from kernel.checks import one_of
from kernel.db import Base, UTCDateTime, json_type, new_id
from kernel.settings import Queue

log = logging.getLogger("vila.jobs")

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_state_available", "state", "available_at"),
        one_of("state", (PENDING, RUNNING, DONE, FAILED)),
    )

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


class Waker(Protocol):
    """Tells a worker that a committed job is ready. Losing a wake-up is allowed; the sweeper repairs it.

    A waker may also offer `wake_at(job_id, queue, at)`: run the job at a later instant (a release
    at the next due hold). One that does not leaves such jobs to the sweeper."""

    def wake(self, job_id: uuid.UUID, queue: str) -> None: ...


class NullWaker:
    """Wakes nobody: jobs wait for the sweeper (or a test that runs them by hand)."""

    def wake(self, job_id: uuid.UUID, queue: str) -> None:
        return None


_WAKE_KEY = "vila.wake"


def enqueue(
    session: Session,
    *,
    name: str,
    payload: dict[str, Any],
    queue: Queue,
    now: datetime,
    not_before: datetime | None = None,
    wake: bool = False,
) -> Job:
    """Add a job row to the caller's transaction; its wake-up is sent only after that commits.

    A job for later is left to the sweeper, unless `wake`: then the waker is asked to run it at
    `not_before` (and the sweeper looks at it only if it has not run a while after that)."""
    due = not_before is None or not_before <= now
    job = Job(
        name=name,
        queue=queue,
        payload=payload,
        state=PENDING,
        available_at=not_before or now,
        dispatched_at=now if due else (not_before if wake else None),
        attempts=0,
        created_at=now,
    )
    session.add(job)
    if due:
        session.info.setdefault(_WAKE_KEY, []).append((job, queue, None))
    elif wake:
        session.info.setdefault(_WAKE_KEY, []).append((job, queue, not_before))
    return job


def install_waker(factory: sessionmaker[Session], waker: Waker) -> None:
    """Send the wake-ups of jobs enqueued in a session once, and only if, it commits."""
    from sqlalchemy import event

    def after_commit(session: Session) -> None:
        pending = session.info.pop(_WAKE_KEY, [])
        for job, queue, at in pending:
            try:
                if at is None:
                    waker.wake(job.id, queue)
                elif (wake_at := getattr(waker, "wake_at", None)) is not None:
                    wake_at(job.id, queue, at)
            except Exception:  # a lost wake-up is repaired by the sweeper
                log.warning("could not wake job %s; the sweeper will", job.id, exc_info=True)

    def after_rollback(session: Session) -> None:
        session.info.pop(_WAKE_KEY, None)

    event.listen(factory, "after_commit", after_commit)
    event.listen(factory, "after_soft_rollback", lambda s, _t: after_rollback(s))
