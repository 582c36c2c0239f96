"""Rest records over HTTP: a person's own record ("Min vilotid", JSON and CSV) and the check a
manager runs before saving a roster or an override (the weekly-rest and jour findings it would
cause)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import AuditDep, ClockDep, CurrentPerson, PageDep, SessionDep, UowDep
from api.permissions import HrOrAdmin, SelfOrHr, manages_group, reads_rest_records
from kernel.directory import service as directory
from kernel.directory.service import names_of
from kernel.errors import InvalidInput, NotFound
from policies import decisions, rest_records
from policies import rosters as roster_service
from policies.core.wallclock import local_date
from policies.findings import finding_key, finding_rows, findings_for
from policies.models import OnCallSlotRow, RestLedgerEntry, RestPeriodRecord, Roster
from policies.record import own_record, record_csv, record_years
from policies.schemas.ledger import GrantCreate
from policies.schemas.rosters import OverrideCreate, RosterCreate, RosterUpdate

router = APIRouter(prefix="/api/v1", tags=["rest records"])

Year = Annotated[int | None, Query(ge=2000, le=2100, description="Calendar year; the current one by default.")]


def _year(session: Session, person_id: uuid.UUID, now: datetime, year: int | None) -> tuple[str, int]:
    tz = directory.require_person(session=session, person_id=person_id).timezone
    current = local_date(tz, now).year
    chosen = current if year is None else year
    if chosen not in record_years(current):
        raise InvalidInput(f"the record is kept for {current - 2}-{current}; {chosen} is outside it")
    return tz, chosen


@router.get("/people/me/rest-record")
def my_rest_record(session: SessionDep, me: CurrentPerson, clock: ClockDep, year: Year = None) -> dict[str, Any]:
    """My rest periods in a calendar year, the contacts that broke them, compensatory rest owed
    and granted, and the weekly-rest and jour findings (ATL gives everyone the right to see this)."""
    tz, chosen = _year(session, me.person_id, clock.now(), year)
    return own_record(session=session, person_id=me.person_id, year=chosen, zone=tz, now=clock.now())


@router.get("/people/{person_id}/rest-record")
def rest_record_of(person_id: SelfOrHr, session: SessionDep, clock: ClockDep, year: Year = None) -> dict[str, Any]:
    """A person's rest record, for the person and for HR (who keeps the working-time records)."""
    tz, chosen = _year(session, person_id, clock.now(), year)
    return own_record(session=session, person_id=person_id, year=chosen, zone=tz, now=clock.now())


@router.get("/people/me/rest-record.csv", response_class=Response)
def my_rest_record_csv(session: SessionDep, me: CurrentPerson, clock: ClockDep, year: Year = None) -> Response:
    tz, chosen = _year(session, me.person_id, clock.now(), year)
    record = own_record(session=session, person_id=me.person_id, year=chosen, zone=tz, now=clock.now())
    return Response(
        record_csv(record),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="min-vilotid-{chosen}.csv"'},
    )


# Rest periods, for HR ----------------------------------------------------------------------------


def _period_json(row: RestPeriodRecord, entries: list[RestLedgerEntry]) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "person_id": str(row.person_id),
        "start": row.start_at.isoformat(),
        "end": row.end_at.isoformat() if row.end_at else None,
        "kind": row.kind,
        "required_minutes": row.required_minutes,
        "last_contact": row.last_contact_at.isoformat() if row.last_contact_at else None,
        "rest_minutes": row.rest_minutes,
        "compensatory_minutes": row.compensatory_minutes,
        "granted_minutes": sum(e.granted_minutes for e in entries),
        "compensatory_due": row.compensatory_due.isoformat() if row.compensatory_due else None,
        "entries": [
            {"id": str(e.id), "at": e.at.isoformat(), "kind": e.kind, "compensatory_minutes": e.compensatory_minutes}
            for e in entries
        ],
    }


@router.get("/rest-periods")
def read_periods(
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    page: PageDep,
    person_id: Annotated[uuid.UUID | None, Query(description="One person's periods.")] = None,
    group_id: Annotated[uuid.UUID | None, Query(description="Members of the group and its subgroups.")] = None,
    since: Annotated[datetime | None, Query(description="Began from (aware); default 30 days ago.")] = None,
    until: Annotated[datetime | None, Query(description="... until (aware); default now.")] = None,
) -> dict[str, Any]:
    """Rest periods that contacts broke, with the rest they lost and their ledger entries. HR and
    admin read any; a person reads their own."""
    now = clock.now()
    start, end = since or now - timedelta(days=30), until or now + timedelta(seconds=1)
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("since and until need a time zone offset, e.g. 2026-03-29T00:00:00+01:00")
    if end <= start:
        raise InvalidInput("until must be after since")
    reads_rest_records(session, me, person_id=person_id, group_id=group_id)
    people: set[uuid.UUID] | None = None
    if group_id is not None:
        directory.require_group(session=session, group_id=group_id)
        groups = directory.descendant_ids(session=session, group_ids=[group_id])
        people = decisions.member_ids(session=session, group_ids=groups)
    if person_id is not None:
        people = {person_id} if people is None else people & {person_id}
    rows, total = rest_records.list_periods(
        session=session, person_ids=people, since=start, until=end, limit=page.limit, offset=page.offset
    )
    return {
        "items": [_period_json(row, entries) for row, entries in rows],
        "total": total,
        "owed_minutes": sum(row.compensatory_minutes for row, _ in rows),
    }


@router.post("/rest-periods/{period_id}/grant")
def grant_period(
    period_id: uuid.UUID,
    body: GrantCreate,
    session: SessionDep,
    me: HrOrAdmin,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> dict[str, Any]:
    """Record compensatory rest granted for a whole rest period (spread over its entries' shares)."""
    period = session.get(RestPeriodRecord, period_id)
    if period is None:
        raise NotFound("no such rest period")
    entries = rest_records.grant_period(
        session=session, period=period, minutes=body.minutes, by=me.person_id, now=clock.now()
    )
    read = _period_json(period, entries)
    audit.log(
        session,
        action="ledger.grant",
        target_type="rest_period",
        target_id=period.id,
        after={"minutes": body.minutes, "granted_minutes": read["granted_minutes"]},
    )
    uow.commit()
    return read


# Checks before saving a roster -------------------------------------------------------------------


def _people_of(session: Session, roster_id: uuid.UUID | None, now: datetime) -> set[uuid.UUID]:
    if roster_id is None:
        return set()
    stmt = select(OnCallSlotRow.person_id).where(OnCallSlotRow.roster_id == roster_id, OnCallSlotRow.end_at > now)
    return set(session.scalars(stmt))


def _caused(
    session: Session, people: set[uuid.UUID], roster_id: uuid.UUID | None, now: datetime, change: Callable[[], Roster]
) -> dict[str, Any]:
    """The findings that `change` (which returns the roster it changed) would add, computed in a
    transaction that is rolled back."""
    since, until = now, now + roster_service.HORIZON
    people = people | _people_of(session, roster_id, now)
    before = finding_rows(findings_for(session=session, person_ids=people, since=since, until=until))
    try:
        changed = change()
        session.flush()
        people |= _people_of(session, changed.id, now)
        after = finding_rows(findings_for(session=session, person_ids=people, since=since, until=until))
    finally:
        session.rollback()  # a check writes nothing
    known = {finding_key(row) for row in before}
    new = [row for row in after if finding_key(row) not in known]
    names = names_of(session=session, person_ids=[uuid.UUID(str(r["person_id"])) for r in new])
    for row in new:
        row["name"] = names.get(uuid.UUID(str(row["person_id"])), "")
    return {"ok": not new, "findings": new}


@router.post("/rosters/check")
def check_new_roster(body: RosterCreate, session: SessionDep, me: CurrentPerson, clock: ClockDep) -> dict[str, Any]:
    """What saving this roster would cause: weekly rest lost to stand-by, jour above 48 hours in
    four weeks or 50 in a calendar month. Nothing is saved."""
    manages_group(session, me, body.group_id)
    now = clock.now()
    people = {p for layer in body.layers for p in layer.participants}
    return _caused(
        session, people, None, now, lambda: roster_service.create_roster(session=session, data=body, now=now)
    )


@router.post("/rosters/{roster_id}/check")
def check_roster_change(
    roster_id: uuid.UUID, body: RosterUpdate, session: SessionDep, me: CurrentPerson, clock: ClockDep
) -> dict[str, Any]:
    """As `POST /rosters/check`, for a change to an existing roster (the body of its PATCH)."""
    roster = roster_service.require_roster(session=session, roster_id=roster_id)
    manages_group(session, me, roster.group_id)
    now = clock.now()
    people = {p for layer in body.layers or () for p in layer.participants}
    return _caused(
        session,
        people,
        roster_id,
        now,
        lambda: roster_service.update_roster(session=session, roster=roster, data=body, now=now),
    )


@router.post("/rosters/{roster_id}/overrides/check")
def check_override(
    roster_id: uuid.UUID, body: OverrideCreate, session: SessionDep, me: CurrentPerson, clock: ClockDep
) -> dict[str, Any]:
    """As `POST /rosters/check`, for an override (someone covering the role for a span)."""
    roster = roster_service.require_roster(session=session, roster_id=roster_id)
    manages_group(session, me, roster.group_id)
    now = clock.now()
    if body.end <= now - timedelta(days=1):
        raise InvalidInput("the override ends in the past")

    def change() -> Roster:
        roster_service.add_override(session=session, roster=roster, data=body, by=me.person_id, now=now)
        return roster

    return _caused(session, {body.person_id}, roster_id, now, change)
