"""When the release runs: a wake-up at the next instant a hold falls due, not only beat's tick.

Whoever writes a hold (the send, a fan-out job, a release that holds again) and every release run
call `schedule_wake` with the earliest instant they know of. It adds one `PlanRelease`
job for that instant, unless one is already due by then, and asks the waker to run it at that
instant (Celery's countdown, the embedded runner's timer). A lost wake-up costs only timeliness:
the job row stays, the sweeper runs it, and beat's tick releases whatever is due anyway. Instants
further away than `WAKE_HORIZON` are left to a later run, which is nearer: a broker holds a
delayed message only so long (Redis hands it out again after its visibility timeout).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel.jobs import PlanRelease
from notify.models import Delivery
from notify.outbox import PENDING, Job, enqueue

WAKE_HORIZON: Final = timedelta(minutes=30)


def schedule_wake(session: Session, *, at: datetime | None, now: datetime) -> None:
    """Make sure a release runs at `at` (in the caller's transaction)."""
    if at is None or at > now + WAKE_HORIZON:
        return
    at = max(at, now)
    planned = session.scalar(
        select(Job.id)
        .where(
            Job.state == PENDING,
            Job.name == PlanRelease.job_name,
            Job.available_at <= at,
            Job.dispatched_at.is_not(None),
        )
        .limit(1)
    )
    if planned is None:
        enqueue(session, PlanRelease(), now=now, not_before=at, wake=True)


def next_due(session: Session, *, after: datetime) -> datetime | None:
    """The earliest release instant of a hold after `after` (the held rows' own index)."""
    return session.scalar(
        select(func.min(Delivery.not_before)).where(Delivery.state == "held", Delivery.not_before > after)
    )
