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

from api.deps import ClockDep, CurrentPerson, SessionDep
from kernel.auth.service import require_group_rights, require_role
from kernel.directory import service as directory
from kernel.directory.service import names_of
from kernel.errors import InvalidInput
from policies import rest_records
from policies import rosters as roster_service
from policies.calendar import local_date
from policies.models import OnCallSlotRow
from policies.record import own_record, record_csv, record_years
from policies.schemas import OverrideCreate, RosterCreate, RosterUpdate

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
def rest_record_of(
    person_id: uuid.UUID, session: SessionDep, me: CurrentPerson, clock: ClockDep, year: Year = None
) -> dict[str, Any]:
    """A person's rest record, for the person and for HR (who keeps the working-time records)."""
    if person_id != me.person_id:
        require_role(me, "hr", "admin")
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


# Checks before saving a roster -------------------------------------------------------------------


def _people_of(session: Session, roster_id: uuid.UUID | None, now: datetime) -> set[uuid.UUID]:
    if roster_id is None:
        return set()
    stmt = select(OnCallSlotRow.person_id).where(OnCallSlotRow.roster_id == roster_id, OnCallSlotRow.end_at > now)
    return set(session.scalars(stmt))


def _caused(
    session: Session, people: set[uuid.UUID], roster_id: uuid.UUID | None, now: datetime, change: Callable[[], Any]
) -> dict[str, Any]:
    """The findings that `change` would add, computed in a transaction that is rolled back."""
    since, until = now, now + roster_service.HORIZON
    people = people | _people_of(session, roster_id, now)
    before = rest_records.finding_rows(
        rest_records.findings_for(session=session, person_ids=people, since=since, until=until)
    )
    try:
        changed = change()
        session.flush()
        people |= _people_of(session, getattr(changed, "id", roster_id), now)
        after = rest_records.finding_rows(
            rest_records.findings_for(session=session, person_ids=people, since=since, until=until)
        )
    finally:
        session.rollback()  # a check writes nothing
    known = {rest_records.finding_key(row) for row in before}
    new = [row for row in after if rest_records.finding_key(row) not in known]
    names = names_of(session=session, person_ids=[uuid.UUID(str(r["person_id"])) for r in new])
    for row in new:
        row["name"] = names.get(uuid.UUID(str(row["person_id"])), "")
    return {"ok": not new, "findings": new}


@router.post("/rosters/check")
def check_new_roster(body: RosterCreate, session: SessionDep, me: CurrentPerson, clock: ClockDep) -> dict[str, Any]:
    """What saving this roster would cause: weekly rest lost to stand-by, jour above 48 hours in
    four weeks or 50 in a calendar month. Nothing is saved."""
    require_group_rights(session=session, principal=me, group_id=body.group_id)
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
    require_group_rights(session=session, principal=me, group_id=roster.group_id)
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
    require_group_rights(session=session, principal=me, group_id=roster.group_id)
    now = clock.now()
    if body.end <= now - timedelta(days=1):
        raise InvalidInput("the override ends in the past")
    return _caused(
        session,
        {body.person_id},
        roster_id,
        now,
        lambda: roster_service.add_override(session=session, roster=roster, data=body, by=me.person_id, now=now),
    )
