"""Calendars: iCalendar import of rosters and leave, each person's subscribable feed, the linked
calendar that drives do-not-disturb, units' patient-meeting rules, and public holidays.

The feed is read by calendar apps that cannot send a bearer token, so it is also served at a
URL holding a secret (`/api/v1/calendar-feeds/{secret}.ics`); a new secret revokes the old one.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, Field, StringConstraints

from api.deps import AuditDep, ClockDep, CurrentPerson, SessionDep, SettingsDep, UowDep
from api.permissions import ActsOnPerson, KeepsGroup, manages_group
from kernel.errors import InvalidInput, NotFound, PayloadTooLarge
from kernel.inputs import InputModel
from policies import calendar_dnd, calendar_feed, calendar_fetch, calendar_import, rosters
from policies.core.holidays import holidays_between, validate_calendar
from policies.core.ical import CalendarError
from policies.models import CalendarLink
from policies.schemas.availability import LeaveKind

router = APIRouter(prefix="/api/v1", tags=["calendars"])
MAX_BYTES = calendar_fetch.MAX_CALENDAR_BYTES
ICS = "text/calendar; charset=utf-8"


class RejectedEventRead(BaseModel):
    event: str
    start: datetime
    reason: str


class CalendarImportRead(BaseModel):
    occurrences: int
    created: int
    unchanged: int
    removed: int
    written: bool
    rejected: list[RejectedEventRead]


class FeedRead(BaseModel):
    url: str
    secret: str


class CalendarLinkIn(InputModel):
    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=2000)]


class CalendarLinkRead(BaseModel):
    url: str
    last_checked_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    failures: int
    sessions: int


class CalendarRuleIn(InputModel):
    categories: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]] = Field(
        default_factory=list, max_length=20
    )
    keywords: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=60)]] = Field(
        default_factory=list, max_length=20
    )
    all_busy: bool = False


class CalendarRuleRead(CalendarRuleIn):
    group_id: uuid.UUID


class HolidayRead(BaseModel):
    date: date
    name: str


async def _ics_raw(request: Request) -> bytes:
    raw = await request.body()
    if len(raw) > MAX_BYTES:
        raise PayloadTooLarge("an iCalendar import is at most 5 MB")
    return raw


def _ics_body(
    request: Request,
    settings: SettingsDep,
    raw: Annotated[bytes, Depends(_ics_raw)],
    url: Annotated[str | None, Query(max_length=2000, description="Read the calendar from this URL instead.")] = None,
) -> bytes:
    """The file in the body, or (with `url`) the calendar at that address, read now."""
    if url is not None:
        if raw.strip():
            raise InvalidInput("send either a file or a url, not both")
        fetcher: calendar_fetch.CalendarFetcher = getattr(request.app.state, "calendar_fetcher", None) or (
            calendar_fetch.HttpCalendarFetcher(allow_http=settings.calendar_allow_http)
        )
        try:
            return fetcher.fetch(url)
        except CalendarError as exc:
            raise InvalidInput(str(exc)) from exc
    if not raw.strip():
        raise InvalidInput("send the iCalendar file as the request body (Content-Type: text/calendar), or a url")
    return raw


IcsBody = Annotated[bytes, Depends(_ics_body)]
_BODY = {"requestBody": {"content": {"text/calendar": {"schema": {"type": "string"}}}, "required": True}}


def _window(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    for name, value in (("start", start), ("end", end)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(f"{name} needs a UTC offset")
    first = rosters.check_instant("start", start or now)
    return first, rosters.check_instant("end", end or first + rosters.HORIZON)


def _report(report: calendar_import.CalendarImport) -> CalendarImportRead:
    read = CalendarImportRead(
        occurrences=report.occurrences,
        created=report.created,
        unchanged=report.unchanged,
        removed=report.removed,
        written=report.written,
        rejected=[RejectedEventRead(event=r.event, start=r.start, reason=r.reason) for r in report.rejected],
    )
    if report.rejected:
        raise InvalidInput(
            f"{len(report.rejected)} of {report.occurrences} occurrences were rejected; nothing was imported",
            details=read.model_dump(mode="json"),
        )
    return read


# Import -----------------------------------------------------------------------------------------


@router.post("/rosters/{roster_id}/ical", response_model=CalendarImportRead, openapi_extra=_BODY)
def import_roster_ical(
    roster_id: uuid.UUID,
    body: IcsBody,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
    start: Annotated[datetime | None, Query(description="Window start (default now).")] = None,
    end: Annotated[datetime | None, Query(description="Window end (default 90 days after start).")] = None,
) -> CalendarImportRead:
    """Turns of the roster from an iCalendar file (RRULE, EXDATE, RECURRENCE-ID, VTIMEZONE): each
    occurrence becomes an override for the person it names (attendee e-mail, or the summary as
    e-mail or external id). Re-importing replaces what the previous import made in the window."""
    roster = rosters.require_roster(session=session, roster_id=roster_id)
    manages_group(session, me, roster.group_id)
    now = clock.now()
    first, last = _window(start, end, now)
    report = calendar_import.import_roster(
        session=session, roster=roster, data=body, start=first, end=last, by=me.person_id, now=now
    )
    read = _report(report)
    audit.log(
        session,
        action="roster.ical_import",
        target_type="roster",
        target_id=roster.id,
        after=read.model_dump(mode="json", exclude={"rejected"}),
    )
    uow.commit()
    return read


@router.post("/people/{person}/leave/ical", response_model=CalendarImportRead, openapi_extra=_BODY)
def import_leave_ical(
    person_id: ActsOnPerson,
    body: IcsBody,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
    kind: LeaveKind = "vacation",
    start: Annotated[datetime | None, Query(description="Window start (default now).")] = None,
    end: Annotated[datetime | None, Query(description="Window end (default 90 days after start).")] = None,
) -> CalendarImportRead:
    """Leave from an iCalendar file: every busy occurrence in the window becomes leave of `kind`."""
    now = clock.now()
    first, last = _window(start, end, now)
    report = calendar_import.import_leave(
        session=session, person_id=person_id, data=body, kind=kind, start=first, end=last, by=me.person_id, now=now
    )
    read = _report(report)
    audit.log(
        session,
        action="leave.ical_import",
        target_type="person",
        target_id=person_id,
        after=read.model_dump(mode="json", exclude={"rejected"}),
    )
    uow.commit()
    return read


# The person's feed ------------------------------------------------------------------------------


@router.post("/people/me/calendar-feed", status_code=status.HTTP_201_CREATED, response_model=FeedRead)
def issue_feed(
    request: Request,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    settings: SettingsDep,
    uow: UowDep,
) -> FeedRead:
    """A subscription URL for your shifts, on-call slots and quiet hours; any earlier URL stops working."""
    secret = calendar_feed.issue_feed(session=session, person_id=me.person_id, now=clock.now())
    base = settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    audit.log(session, action="calendar.feed_issue", target_type="person", target_id=me.person_id)
    uow.commit()
    return FeedRead(url=f"{base}/api/v1/calendar-feeds/{secret}.ics", secret=secret)


@router.delete("/people/me/calendar-feed", status_code=status.HTTP_204_NO_CONTENT)
def revoke_feed(session: SessionDep, me: CurrentPerson, audit: AuditDep, uow: UowDep) -> None:
    if not calendar_feed.revoke_feed(session=session, person_id=me.person_id):
        raise NotFound("you have no calendar feed")
    audit.log(session, action="calendar.feed_revoke", target_type="person", target_id=me.person_id)
    uow.commit()


@router.get("/calendar-feeds/{secret}.ics", response_class=Response, include_in_schema=True)
def read_feed_by_secret(secret: str, session: SessionDep, clock: ClockDep) -> Response:
    """The feed for calendar apps: the secret in the URL is the credential."""
    person_id = calendar_feed.person_of_feed(session=session, secret=secret)
    if person_id is None:
        raise NotFound("no such calendar feed (it may have been replaced by a newer link)")
    data = calendar_feed.person_feed(session=session, person_id=person_id, now=clock.now())
    return Response(content=data, media_type=ICS, headers={"Cache-Control": "private, max-age=300"})


@router.get("/people/{person}/calendar.ics", response_class=Response)
def read_feed(person_id: ActsOnPerson, session: SessionDep, clock: ClockDep) -> Response:
    data = calendar_feed.person_feed(session=session, person_id=person_id, now=clock.now())
    return Response(content=data, media_type=ICS)


# The linked calendar (DND) ----------------------------------------------------------------------


def _link_read(link: CalendarLink) -> CalendarLinkRead:
    return CalendarLinkRead(
        url=link.url,
        last_checked_at=link.last_checked_at,
        last_success_at=link.last_success_at,
        last_error=link.last_error,
        failures=link.failures,
        sessions=link.sessions,
    )


@router.put("/people/me/calendar-link", response_model=CalendarLinkRead)
def link_calendar(
    body: CalendarLinkIn,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    settings: SettingsDep,
    uow: UowDep,
) -> CalendarLinkRead:
    """Link your calendar: patient meetings in it (by your unit's rule) become do-not-disturb.
    It is read at once in the background and then every 15 minutes."""
    now = clock.now()
    link = calendar_dnd.link_calendar(
        session=session, person_id=me.person_id, url=body.url, allow_http=settings.calendar_allow_http, now=now
    )
    read = _link_read(link)
    # The URL may itself hold a secret of the person's calendar service: the audit keeps only the host.
    audit.log(
        session,
        action="calendar.link",
        target_type="person",
        target_id=me.person_id,
        after={"host": body.url.split("/")[2] if "//" in body.url else ""},
    )
    uow.commit()
    return read


@router.get("/people/me/calendar-link", response_model=CalendarLinkRead)
def read_calendar_link(session: SessionDep, me: CurrentPerson) -> CalendarLinkRead:
    """The link and how its last reads went (`last_error` says why a read failed)."""
    link = session.get(CalendarLink, me.person_id)
    if link is None:
        raise NotFound("you have not linked a calendar")
    return _link_read(link)


@router.delete("/people/me/calendar-link", status_code=status.HTTP_204_NO_CONTENT)
def unlink_calendar(session: SessionDep, me: CurrentPerson, clock: ClockDep, audit: AuditDep, uow: UowDep) -> None:
    """Unlink: do-not-disturb that came from the calendar ends now."""
    if not calendar_dnd.unlink_calendar(session=session, person_id=me.person_id, now=clock.now()):
        raise NotFound("you have not linked a calendar")
    audit.log(session, action="calendar.unlink", target_type="person", target_id=me.person_id)
    uow.commit()


@router.put("/groups/{group_id}/calendar-rule", response_model=CalendarRuleRead)
def set_calendar_rule(
    group_id: KeepsGroup,
    body: CalendarRuleIn,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> CalendarRuleRead:
    """Which calendar events count as patient meetings in this unit (and its subgroups)."""
    if not (body.categories or body.keywords or body.all_busy):
        raise InvalidInput("give at least one category or keyword, or all_busy: true")
    calendar_dnd.set_rule(
        session=session,
        group_id=group_id,
        categories=body.categories,
        keywords=body.keywords,
        all_busy=body.all_busy,
        now=clock.now(),
    )
    read = CalendarRuleRead(group_id=group_id, **body.model_dump())
    audit.log(
        session, action="calendar.rule", target_type="group", target_id=group_id, after=read.model_dump(mode="json")
    )
    uow.commit()
    return read


# Public holidays --------------------------------------------------------------------------------


@router.get("/holidays", response_model=list[HolidayRead])
def list_holidays(
    me: CurrentPerson,
    settings: SettingsDep,
    year: Annotated[int, Query(ge=1970, le=2100)],
    calendar: Annotated[str | None, Query(description="SE, NO, DE-BY, ... (default: the installation's)")] = None,
) -> list[HolidayRead]:
    try:
        name = validate_calendar(calendar or settings.holiday_calendar)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    days = holidays_between(name, date(year, 1, 1), date(year, 12, 31))
    return [HolidayRead(date=d, name=n) for d, n in days]
