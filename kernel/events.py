"""Domain events: facts a write path states ("this person's availability changed"), collected in
the transaction that caused them and turned into follow-up jobs when it commits (`kernel.uow`).

A service emits an event wherever the change happens, whoever called it (a REST route, a CSV or
iCal import, the roster's materialisation, the calendar's DND), so every way in gets the same
follow-up. Events are frozen dataclasses of ids: equal events of one transaction are one event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

_KEY = "vila.events"


@dataclass(frozen=True)
class Event:
    """A fact about the domain, stated by the code that made it true."""


@dataclass(frozen=True)
class AvailabilityChanged(Event):
    """A person's working time, rest, quiet hours, DND, leave or on-call slots changed: their held
    messages must be decided again."""

    person_id: uuid.UUID


@dataclass(frozen=True)
class PersonDeactivated(Event):
    """A person was deactivated: they keep no live credentials or devices."""

    person_id: uuid.UUID


@dataclass(frozen=True)
class CalendarLinked(Event):
    """A person linked (or re-linked) a calendar: read it now rather than at the next round."""

    person_id: uuid.UUID


def emit(session: Session, event: Event, *, at: datetime) -> None:
    """State that `event` happened at `at` inside the session's transaction. It becomes a job only
    if, and when, the transaction commits; a rollback forgets it."""
    collected: dict[Event, datetime] = session.info.setdefault(_KEY, {})
    first = collected.get(event)
    collected[event] = at if first is None else min(first, at)


def pending(session: Session) -> list[Event]:
    """The events the session's transaction has stated so far, in order, each once."""
    return list(session.info.get(_KEY, {}))


def take(session: Session) -> list[tuple[Event, datetime]]:
    """Remove and return the session's events with the instant each first happened."""
    collected: dict[Event, datetime] = session.info.pop(_KEY, {})
    return list(collected.items())


def forget(session: Session) -> None:
    """Drop the session's events (its transaction rolled back)."""
    session.info.pop(_KEY, None)
