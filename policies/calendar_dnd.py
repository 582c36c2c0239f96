"""Do-not-disturb from a person's linked calendar: the link, the patient-meeting rule of their
groups, and the refresh that turns the coming week's meetings into calendar DND sessions.

Services flush; the caller commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kernel.directory import service as directory
from kernel.errors import InvalidInput
from kernel.events import AvailabilityChanged, CalendarLinked, emit
from policies.calendar_fetch import CalendarFetcher, check_url
from policies.core.ical import CalendarError, CalEvent, events
from policies.models import CalendarLink, CalendarRule, DndSession

DND_AHEAD = timedelta(days=7)
MAX_DND = timedelta(hours=12)
DEFAULT_RULE = ("Patientmöte", "Patient"), ("patient",), False


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def link_calendar(*, session: Session, person_id: uuid.UUID, url: str, allow_http: bool, now: datetime) -> CalendarLink:
    try:
        clean = check_url(url.strip(), allow_http=allow_http)
    except CalendarError as exc:
        raise InvalidInput(str(exc)) from exc
    link = session.get(CalendarLink, person_id)
    if link is None:
        link = CalendarLink(person_id=person_id, url=clean, failures=0, sessions=0, created_at=now)
        session.add(link)
    else:
        link.url, link.failures, link.last_error, link.created_at = clean, 0, None, now
    session.flush()
    emit(session, CalendarLinked(person_id), at=now)
    return link


def unlink_calendar(*, session: Session, person_id: uuid.UUID, now: datetime) -> bool:
    link = session.get(CalendarLink, person_id)
    if link is None:
        return False
    if _calendar_dnd(session, person_id, now):
        emit(session, AvailabilityChanged(person_id), at=now)
    _clear_calendar_dnd(session, person_id, now)
    session.delete(link)
    session.flush()
    return True


def rule_for(*, session: Session, person_id: uuid.UUID) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    """The patient-meeting rule of the nearest of the person's groups that has one (else the default)."""
    rules = {r.group_id: r for r in session.scalars(select(CalendarRule))}
    if rules:
        for group_id in directory.group_ids_of(session=session, person_id=person_id):
            for gid in [group_id, *directory.ancestor_ids(session=session, group_id=group_id)]:
                rule = rules.get(gid)
                if rule is not None:
                    return tuple(rule.categories), tuple(rule.keywords), rule.all_busy
    return DEFAULT_RULE


def set_rule(
    *,
    session: Session,
    group_id: uuid.UUID,
    categories: Sequence[str],
    keywords: Sequence[str],
    all_busy: bool,
    now: datetime,
) -> CalendarRule:
    directory.require_group(session=session, group_id=group_id)
    rule = session.get(CalendarRule, group_id)
    if rule is None:
        rule = CalendarRule(group_id=group_id, categories=[], keywords=[], all_busy=False, updated_at=now)
        session.add(rule)
    rule.categories, rule.keywords, rule.all_busy, rule.updated_at = list(categories), list(keywords), all_busy, now
    session.flush()
    return rule


def is_patient_meeting(event: CalEvent, rule: tuple[tuple[str, ...], tuple[str, ...], bool]) -> bool:
    categories, keywords, all_busy = rule
    if not event.busy or event.all_day:
        return False
    if all_busy:
        return True
    wanted = {c.casefold() for c in categories}
    if wanted & {c.casefold() for c in event.categories}:
        return True
    summary = event.summary.casefold()
    return any(k.casefold() in summary for k in keywords if k)


def _calendar_dnd(session: Session, person_id: uuid.UUID, now: datetime) -> set[tuple[datetime, datetime]]:
    """The spans of the person's calendar DND sessions that are running or still to come."""
    rows = session.execute(
        select(DndSession.start_at, DndSession.end_at).where(
            DndSession.person_id == person_id,
            DndSession.source == "calendar",
            DndSession.end_at > now,
            DndSession.ended_at.is_(None),
        )
    )
    return {(_utc(start), _utc(end)) for start, end in rows}


def _clear_calendar_dnd(session: Session, person_id: uuid.UUID, now: datetime) -> None:
    """Calendar sessions not yet begun go; a running one ends now (a past one stays as the record)."""
    session.execute(
        delete(DndSession).where(
            DndSession.person_id == person_id, DndSession.source == "calendar", DndSession.start_at >= now
        )
    )
    for running in session.scalars(
        select(DndSession).where(
            DndSession.person_id == person_id,
            DndSession.source == "calendar",
            DndSession.end_at > now,
            DndSession.ended_at.is_(None),
        )
    ):
        running.ended_at = now


def refresh_link(*, session: Session, link: CalendarLink, fetcher: CalendarFetcher, now: datetime) -> int:
    """Read the linked calendar and rewrite the person's calendar DND for the next week. On
    failure the sessions already made stay and the error is recorded for the person to see."""
    link.last_checked_at = now
    person = directory.require_person(session=session, person_id=link.person_id)
    try:
        data = fetcher.fetch(link.url)
        found = events(data, start=now, end=now + DND_AHEAD, zone=person.timezone)
    except CalendarError as exc:
        link.failures += 1
        link.last_error = str(exc)[:1000]
        session.flush()
        return 0
    rule = rule_for(session=session, person_id=link.person_id)
    meetings = [e for e in found if is_patient_meeting(e, rule)]
    before = _calendar_dnd(session, link.person_id, now)
    _clear_calendar_dnd(session, link.person_id, now)
    session.flush()
    running = session.scalars(
        select(DndSession).where(
            DndSession.person_id == link.person_id,
            DndSession.source == "calendar",
            DndSession.end_at > now,
            DndSession.ended_at == now,
        )
    ).all()
    made = 0
    for meeting in meetings:
        end = min(meeting.end, meeting.start + MAX_DND)
        resumed = next((r for r in running if _utc(r.start_at) == meeting.start and _utc(r.end_at) == end), None)
        if resumed is not None:
            resumed.ended_at = None  # the same meeting as before: keep its session running
        else:
            session.add(
                DndSession(
                    person_id=link.person_id,
                    start_at=meeting.start,
                    end_at=end,
                    source="calendar",
                    note=meeting.summary[:200] or None,
                    created_at=now,
                )
            )
        made += 1
    session.flush()
    if _calendar_dnd(session, link.person_id, now) != before:
        emit(session, AvailabilityChanged(link.person_id), at=now)
    link.sessions = made
    link.failures = 0
    link.last_error = None
    link.last_success_at = now
    session.flush()
    return made


def links(*, session: Session) -> list[uuid.UUID]:
    return list(session.scalars(select(CalendarLink.person_id).order_by(CalendarLink.person_id)))
