"""Calendars: rosters and leave imported from iCalendar, each person's subscribable feed, and
do-not-disturb from a person's linked calendar.

Imports validate every occurrence first and write all or nothing, like the CSV import of shifts;
re-importing the same file changes nothing. Fetching a linked calendar goes through the small
`CalendarFetcher` protocol (`HttpCalendarFetcher` in production, a fake or a local server in
tests). Services flush; the caller commits.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import SplitResult, urlsplit

import httpx
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from kernel.directory import service as directory
from kernel.directory.models import Person
from kernel.errors import InvalidInput
from kernel.events import AvailabilityChanged, CalendarLinked, emit
from policies import rosters
from policies.core.ical import CalendarError, CalEvent, FeedItem, WeeklyItem, events, feed
from policies.models import (
    CalendarFeed,
    CalendarLink,
    CalendarRule,
    DndSession,
    Leave,
    OnCallSlotRow,
    QuietHours,
    Roster,
    RosterOverride,
    Shift,
)

IMPORT_WINDOW = timedelta(days=400)
FEED_PAST = timedelta(days=30)
FEED_AHEAD = timedelta(days=120)
DND_AHEAD = timedelta(days=7)
MAX_DND = timedelta(hours=12)
MAX_CALENDAR_BYTES = 5_000_000
DEFAULT_RULE = ("Patientmöte", "Patient"), ("patient",), False


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


# The person's feed ------------------------------------------------------------------------------


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_feed(*, session: Session, person_id: uuid.UUID, now: datetime) -> str:
    """A new feed secret for the person; the previous one stops working."""
    secret = "cal_" + secrets.token_urlsafe(32)
    row = session.get(CalendarFeed, person_id)
    if row is None:
        session.add(CalendarFeed(person_id=person_id, digest=_digest(secret), created_at=now))
    else:
        row.digest, row.created_at = _digest(secret), now
    session.flush()
    return secret


def revoke_feed(*, session: Session, person_id: uuid.UUID) -> bool:
    result = session.execute(delete(CalendarFeed).where(CalendarFeed.person_id == person_id))
    return bool(getattr(result, "rowcount", 0))


def person_of_feed(*, session: Session, secret: str) -> uuid.UUID | None:
    return session.scalar(
        select(CalendarFeed.person_id)
        .join(Person, Person.id == CalendarFeed.person_id)
        .where(CalendarFeed.digest == _digest(secret), Person.active.is_(True))
    )


def person_feed(*, session: Session, person_id: uuid.UUID, now: datetime) -> bytes:
    """Shifts, on-call slots and quiet hours of the person, 30 days back and 120 ahead."""
    person = directory.require_person(session=session, person_id=person_id)
    lo, hi = now - FEED_PAST, now + FEED_AHEAD
    items: list[FeedItem] = []
    for shift in session.scalars(
        select(Shift)
        .where(Shift.person_id == person_id, Shift.planned_start < hi, Shift.planned_end > lo)
        .order_by(Shift.planned_start)
    ):
        label = "Arbetspass" + (f" ({shift.shift_type})" if shift.shift_type else "")
        if shift.kind == "callout":
            label = "Inkallad"
        items.append(FeedItem(f"shift-{shift.id}@vila", label, _utc(shift.planned_start), _utc(shift.end)))
    for slot in session.scalars(
        select(OnCallSlotRow)
        .where(OnCallSlotRow.person_id == person_id, OnCallSlotRow.start_at < hi, OnCallSlotRow.end_at > lo)
        .order_by(OnCallSlotRow.start_at)
    ):
        word = "Jour" if slot.kind == "jour" else "Beredskap"
        items.append(
            FeedItem(
                f"oncall-{slot.person_id}-{_utc(slot.start_at):%Y%m%dT%H%M}-{slot.role}@vila"[:250],
                f"{word}: {slot.role}",
                _utc(slot.start_at),
                _utc(slot.end_at),
                categories=(word,),
            )
        )
    weekly = [
        WeeklyItem(
            uid=f"quiet-{q.id}@vila",
            summary="Tysta timmar",
            days=tuple(day + 1 for day in range(7) if q.weekdays & (1 << day)),
            start=q.start_time,
            end=q.end_time,
            zone=q.timezone,
            first=(lo.date()),
        )
        for q in session.scalars(select(QuietHours).where(QuietHours.person_id == person_id))
    ]
    return feed(name=f"Vila – {person.name}", items=items, weekly=weekly, stamp=now)


# Calendar-driven DND ----------------------------------------------------------------------------


class CalendarFetcher(Protocol):
    def fetch(self, url: str) -> bytes:
        """The calendar at the URL; raises CalendarError with a readable reason."""
        ...


class HttpCalendarFetcher:
    """Fetches over HTTPS (plain HTTP only when allowed, for a local test server), refusing
    addresses inside the installation's own network by name: a linked calendar must not become
    a way to probe internal services."""

    def __init__(self, *, allow_http: bool = False, timeout_s: float = 10.0) -> None:
        self.allow_http = allow_http
        self.timeout_s = timeout_s

    def fetch(self, url: str) -> bytes:
        clean = check_url(url, allow_http=self.allow_http)
        if not self.allow_http:
            _refuse_private(urlsplit(clean))
        try:
            with httpx.Client(timeout=self.timeout_s, follow_redirects=False) as client:
                with client.stream("GET", url, headers={"Accept": "text/calendar"}) as response:
                    if response.status_code != 200:
                        raise CalendarError(f"the calendar server answered HTTP {response.status_code}")
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > MAX_CALENDAR_BYTES:
                            raise CalendarError("the calendar is larger than 5 MB")
                        chunks.append(chunk)
                    return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise CalendarError(f"the calendar could not be fetched: {type(exc).__name__}") from exc


def _refuse_private(parts: SplitResult) -> None:
    """A name that resolves into a private network is refused like a private address."""
    try:
        infos = socket.getaddrinfo(parts.hostname or "", parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise CalendarError(f"the calendar's host {parts.hostname} cannot be found") from exc
    for info in infos:
        if not ipaddress.ip_address(info[4][0]).is_global:
            raise CalendarError("the calendar link points into a private network")


def check_url(url: str, *, allow_http: bool) -> str:
    parts = urlsplit(url)
    if parts.scheme == "webcal":
        parts = parts._replace(scheme="https")
    if parts.scheme not in ({"https", "http"} if allow_http else {"https"}):
        raise CalendarError("the calendar link must start with https:// (or webcal://)")
    host = parts.hostname or ""
    if not host:
        raise CalendarError("the calendar link names no host")
    if not allow_http:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if host == "localhost" or (address is not None and not address.is_global):
            raise CalendarError("the calendar link points into a private network")
    return parts.geturl()


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
