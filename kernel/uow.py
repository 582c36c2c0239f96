"""The unit of work: one transaction, the domain events stated in it, and the one table that turns
those events into follow-up jobs when it commits.

A use case (a route, a job, a command) does its work on `uow.session`, services emit events
(`kernel.events.emit`), and `uow.commit()` writes one outbox job row per distinct event through
`FOLLOW_UPS`, then commits once. The same publishing runs in the session's `before_commit` hook
(every session factory has it, `kernel.db.make_session_factory`), so a job or tool that commits
its session directly gets the same follow-ups: no way in can forget them.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, sessionmaker

from kernel import events
from kernel.clock import Clock
from kernel.events import AvailabilityChanged, CalendarLinked, Event, PersonDeactivated
from kernel.jobs import Offboard, RedecideHolds, RefreshCalendar
from kernel.outbox import JobPayload, enqueue

# When X happens, do Y: the one table. Every event type has exactly one row; a test proves each
# job named here is registered with the workers. The job's queue is its declared one (kernel.jobs).
FOLLOW_UPS: Mapping[type[Event], Callable[[Any], JobPayload]] = {
    AvailabilityChanged: lambda e: RedecideHolds(person_id=e.person_id),
    PersonDeactivated: lambda e: Offboard(person_id=e.person_id),
    CalendarLinked: lambda e: RefreshCalendar(person_id=e.person_id),
}


def publish(session: Session) -> int:
    """Turn the session's collected events into job rows in its transaction; returns how many."""
    written = 0
    for happened, at in events.take(session):
        follow = FOLLOW_UPS.get(type(happened))
        if follow is None:
            raise LookupError(f"no follow-up is declared for {type(happened).__name__} (kernel/uow.py)")
        enqueue(session, follow(happened), now=at)
        written += 1
    return written


_PUBLISHING: weakref.WeakSet[type[Session]] = weakref.WeakSet()  # the session classes that publish


def install_publisher(factory: sessionmaker[Session]) -> None:
    """Publish events at every commit of the factory's sessions; forget them at a rollback.

    Installing twice is harmless. Whether it is installed is remembered with the factory's own
    session class, not asked of `sqlalchemy.event.contains`: that answers by the id() of the
    target, so a new factory at the address of a collected one looked installed and published
    nothing."""
    if factory.class_ in _PUBLISHING:
        return
    sa_event.listen(factory, "before_commit", publish)
    sa_event.listen(factory, "after_soft_rollback", _forget)
    _PUBLISHING.add(factory.class_)


def _forget(session: Session, _transaction: object) -> None:
    events.forget(session)


class UnitOfWork:
    """A request's or job's transaction: the session, the events stated in it, and one commit."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    @property
    def events(self) -> list[Event]:
        """The events stated so far, each once."""
        return events.pending(self.session)

    def emit(self, event: Event) -> None:
        events.emit(self.session, event, at=self.clock.now())

    def commit(self) -> None:
        """Write the follow-up jobs of the collected events, then commit everything at once."""
        publish(self.session)
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
        events.forget(self.session)
