"""Rosters and leave imported from iCalendar files: every occurrence validated first, then all
written or none, like the CSV import of shifts; re-importing the same file changes nothing.

Services flush; the caller commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from kernel.directory import service as directory
from kernel.directory.models import Person
from kernel.errors import InvalidInput
from kernel.events import AvailabilityChanged, emit
from policies import rosters
from policies.core.ical import CalendarError, CalEvent, events
from policies.models import Leave, Roster, RosterOverride

IMPORT_WINDOW = timedelta(days=400)


@dataclass(frozen=True)
class Rejected:
    event: str
    start: datetime
    reason: str


@dataclass
class CalendarImport:
    occurrences: int = 0
    created: int = 0
    unchanged: int = 0
    removed: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    written: bool = False


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _events(data: bytes, start: datetime, end: datetime, zone: str) -> list[CalEvent]:
    if end <= start or end - start > IMPORT_WINDOW:
        raise InvalidInput(f"the import window must end after it starts and span at most {IMPORT_WINDOW.days} days")
    try:
        return events(data, start=start, end=end, zone=zone)
    except CalendarError as exc:
        raise InvalidInput(str(exc)) from exc


# Roster import ----------------------------------------------------------------------------------


def _people_by_ref(session: Session, found: Sequence[CalEvent]) -> dict[str, uuid.UUID]:
    refs = {a for e in found for a in e.attendees} | {e.summary.strip().lower() for e in found if e.summary.strip()}
    if not refs:
        return {}
    out: dict[str, uuid.UUID] = {}
    for pid, email, external in session.execute(
        select(Person.id, Person.email, Person.external_id).where(
            Person.active.is_(True),
            or_(func.lower(Person.email).in_(refs), func.lower(Person.external_id).in_(refs)),
        )
    ):
        out[email.lower()] = pid
        if external:
            out[external.lower()] = pid
    return out


def import_roster(
    *,
    session: Session,
    roster: Roster,
    data: bytes,
    start: datetime,
    end: datetime,
    by: uuid.UUID | None,
    now: datetime,
) -> CalendarImport:
    """Each busy occurrence is an override: the person is its first attendee Vila knows, or the
    event's summary when that is an e-mail address or external id. Overrides imported before
    inside the window are replaced; hand-made overrides are kept, and an occurrence that overlaps
    one is rejected."""
    found = [e for e in _events(data, start, end, roster.timezone) if e.busy]
    report = CalendarImport(occurrences=len(found))
    people = _people_by_ref(session, found)
    manual = [
        o
        for o in rosters.overrides_of(session=session, roster_id=roster.id)
        if o.ical_uid is None and _utc(o.start_at) < end and _utc(o.end_at) > start
    ]
    previous = {
        (o.ical_uid, o.person_id, _utc(o.start_at), _utc(o.end_at))
        for o in rosters.overrides_of(session=session, roster_id=roster.id)
        if o.ical_uid is not None and _utc(o.start_at) < end and _utc(o.end_at) > start
    }
    accepted: list[tuple[CalEvent, uuid.UUID]] = []
    for event in found:
        person = next((people[a] for a in event.attendees if a in people), None)
        person = person or people.get(event.summary.strip().lower())
        if person is None:
            report.rejected.append(Rejected(event.summary or event.uid, event.start, "names no person Vila knows"))
            continue
        if any(_utc(o.start_at) < event.end and _utc(o.end_at) > event.start for o in manual):
            report.rejected.append(Rejected(event.summary, event.start, "overlaps an override made by hand"))
            continue
        clash = next((e for e, _ in accepted if e.start < event.end and e.end > event.start), None)
        if clash is not None:
            report.rejected.append(
                Rejected(event.summary, event.start, f"overlaps {clash.summary!r} at {clash.start:%Y-%m-%d %H:%M} UTC")
            )
            continue
        accepted.append((event, person))
    wanted = {(e.key, p, e.start, e.end) for e, p in accepted}
    report.unchanged = len(wanted & previous)
    report.created = len(wanted - previous)
    report.removed = len(previous - wanted)
    if report.rejected:
        return report
    session.execute(
        delete(RosterOverride).where(
            RosterOverride.roster_id == roster.id,
            RosterOverride.ical_uid.is_not(None),
            RosterOverride.start_at < end,
            RosterOverride.end_at > start,
        )
    )
    for event, person in accepted:
        session.add(
            RosterOverride(
                roster_id=roster.id,
                person_id=person,
                start_at=event.start,
                end_at=event.end,
                note=event.summary[:500] or None,
                ical_uid=event.key,
                created_by=by,
                created_at=now,
            )
        )
    roster.updated_at = now
    session.flush()
    rosters.materialise(session=session, roster=roster, now=now)
    report.written = True
    return report


# Leave import -----------------------------------------------------------------------------------


def import_leave(
    *,
    session: Session,
    person_id: uuid.UUID,
    data: bytes,
    kind: str,
    start: datetime,
    end: datetime,
    by: uuid.UUID | None,
    now: datetime,
) -> CalendarImport:
    """Each busy occurrence is leave of `kind`; leave already stored with the same span is left
    as it is, and an occurrence overlapping other leave is rejected."""
    person = directory.require_person(session=session, person_id=person_id)
    found = [e for e in _events(data, start, end, person.timezone) if e.busy]
    report = CalendarImport(occurrences=len(found))
    stored = list(
        session.scalars(select(Leave).where(Leave.person_id == person_id, Leave.end_at > start, Leave.start_at < end))
    )
    spans = {(_utc(leave.start_at), _utc(leave.end_at)) for leave in stored}
    accepted: list[CalEvent] = []
    for event in found:
        if (event.start, event.end) in spans:
            report.unchanged += 1
            continue
        if any(_utc(x.start_at) < event.end and _utc(x.end_at) > event.start for x in stored):
            report.rejected.append(Rejected(event.summary, event.start, "overlaps leave already registered"))
            continue
        if any(a.start < event.end and a.end > event.start for a in accepted):
            report.rejected.append(Rejected(event.summary, event.start, "overlaps another event in the file"))
            continue
        accepted.append(event)
    report.created = len(accepted)
    if report.rejected:
        return report
    for event in accepted:
        session.add(
            Leave(
                person_id=person_id,
                kind=kind,
                start_at=event.start,
                end_at=event.end,
                note=(event.summary or None) and event.summary[:500],
                created_by=by,
                created_at=now,
            )
        )
    session.flush()
    if accepted:
        emit(session, AvailabilityChanged(person_id), at=now)
    report.written = True
    return report
