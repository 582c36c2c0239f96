"""Shifts and on-call slots: the employer's schedule of a person (their managers, HR, admin), one
by one or imported from a CSV file.

`{person}` is a person id or `me`.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from api.deps import AuditDep, ClockDep, CurrentPerson, SessionDep, UowDep
from api.permissions import (
    ActsOnPerson,
    Keeper,
    SchedulesPerson,
    keeps_schedule_of,
    manages_group,
    may_schedule,
)
from kernel.errors import InvalidInput, PayloadTooLarge
from kernel.timezones import validate_timezone
from policies import availability, shift_import
from policies.schemas.availability import (
    OnCallSlotCreate,
    OnCallSlotRead,
    ShiftCreate,
    ShiftImportRead,
    ShiftRead,
    ShiftUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["availability"])
MAX_IMPORT_BYTES = 5_000_000


# Shifts -----------------------------------------------------------------------------------------


@router.post("/people/{person}/shifts", status_code=status.HTTP_201_CREATED, response_model=ShiftRead)
def create_shift(
    person_id: SchedulesPerson,
    body: ShiftCreate,
    session: SessionDep,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> ShiftRead:
    shift = availability.create_shift(session=session, person_id=person_id, data=body, now=clock.now())
    read = ShiftRead.model_validate(shift)
    audit.log(
        session, action="shift.create", target_type="shift", target_id=shift.id, after=read.model_dump(mode="json")
    )
    uow.commit()
    return read


@router.get("/people/{person}/shifts", response_model=list[ShiftRead])
def list_shifts(
    person_id: ActsOnPerson,
    session: SessionDep,
    clock: ClockDep,
    days: Annotated[int, Query(ge=1, le=62, description="From now, this many days ahead.")] = 14,
) -> list[ShiftRead]:
    now = clock.now()
    rows = availability.list_shifts(session=session, person_id=person_id, start=now, end=now + timedelta(days=days))
    return [ShiftRead.model_validate(r) for r in rows]


async def _csv_body(request: Request) -> str:
    raw = await request.body()
    if len(raw) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(f"a shift import is at most {MAX_IMPORT_BYTES // 1_000_000} MB; split the file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")  # what older Swedish Excel exports write
        except UnicodeDecodeError as exc:
            raise InvalidInput("the file is neither UTF-8 nor Windows-1252 text") from exc


CsvBody = Annotated[str, Depends(_csv_body)]


@router.post(
    "/shifts/import",
    response_model=ShiftImportRead,
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}},
)
def import_shifts(
    body: CsvBody,
    session: SessionDep,
    me: Keeper,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
    timezone: Annotated[str, Query(description="Zone of times given without an offset.")] = "Europe/Stockholm",
    dry_run: Annotated[bool, Query(description="Validate and report, write nothing.")] = False,
) -> ShiftImportRead:
    """Import a schedule as CSV (`person,start,end,unit,shift_type`). All rows or none: any rejected
    row fails the import with 422 and a report of every rejected row and why. Re-importing the same
    file changes nothing."""
    try:
        zone = validate_timezone(timezone)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc

    allowed: dict[uuid.UUID, bool] = {}

    def allowed_row(person_id: uuid.UUID) -> bool:
        if person_id not in allowed:
            allowed[person_id] = may_schedule(session, me, person_id)
        return allowed[person_id]

    try:
        report = shift_import.import_shifts(
            session=session, data=body, zone=zone, now=clock.now(), may_schedule=allowed_row, dry_run=dry_run
        )
    except shift_import.MalformedFile as exc:
        raise InvalidInput(str(exc)) from exc
    read = ShiftImportRead.model_validate(report.as_dict())
    if report.rejected:
        raise InvalidInput(
            f"{len(report.rejected)} of {report.rows} rows were rejected; nothing was imported",
            details=read.model_dump(mode="json"),
        )
    if report.written:
        summary = read.model_dump(mode="json", exclude={"rejected"})
        audit.log(session, action="shift.import", target_type="shift", target_id=None, after=summary)
        uow.commit()
    else:
        audit.exempt()  # a dry run changes nothing
    return read


@router.patch("/shifts/{shift_id}", response_model=ShiftRead)
def update_shift(
    shift_id: uuid.UUID,
    body: ShiftUpdate,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> ShiftRead:
    """Record the actual end of a shift (overtime or a call-out ends work later)."""
    shift = availability.require_shift(session=session, shift_id=shift_id)
    keeps_schedule_of(session, me, shift.person_id)
    before = ShiftRead.model_validate(shift).model_dump(mode="json")
    availability.update_shift(session=session, shift=shift, data=body, now=clock.now())
    read = ShiftRead.model_validate(shift)
    audit.log(
        session,
        action="shift.update",
        target_type="shift",
        target_id=shift.id,
        before=before,
        after=read.model_dump(mode="json"),
    )
    uow.commit()
    return read


@router.delete("/shifts/{shift_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_shift(shift_id: uuid.UUID, session: SessionDep, me: CurrentPerson, audit: AuditDep, uow: UowDep) -> None:
    shift = availability.require_shift(session=session, shift_id=shift_id)
    keeps_schedule_of(session, me, shift.person_id)
    before = ShiftRead.model_validate(shift).model_dump(mode="json")
    availability.delete_shift(session=session, shift=shift, now=uow.clock.now())
    audit.log(session, action="shift.delete", target_type="shift", target_id=shift_id, before=before)
    uow.commit()


# On-call slots ----------------------------------------------------------------------------------


@router.post("/on-call-slots", status_code=status.HTTP_201_CREATED, response_model=OnCallSlotRead)
def create_on_call_slot(
    body: OnCallSlotCreate, session: SessionDep, me: CurrentPerson, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> OnCallSlotRead:
    keeps_schedule_of(session, me, body.person_id)
    if body.group_id is not None:  # the slot's group owns its role: only that group's keepers name it
        manages_group(session, me, body.group_id)
    slot = availability.create_on_call_slot(session=session, data=body, now=clock.now())
    read = OnCallSlotRead.model_validate(slot)
    audit.log(
        session,
        action="on_call.create",
        target_type="on_call_slot",
        target_id=slot.id,
        after=read.model_dump(mode="json"),
    )
    uow.commit()
    return read


@router.get("/people/{person}/on-call", response_model=list[OnCallSlotRead])
def list_on_call(person_id: ActsOnPerson, session: SessionDep, clock: ClockDep) -> list[OnCallSlotRead]:
    return [
        OnCallSlotRead.model_validate(r)
        for r in availability.list_on_call(session=session, person_id=person_id, since=clock.now())
    ]
