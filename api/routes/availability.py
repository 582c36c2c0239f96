"""Availability: quiet hours, DND, leave, schedules, on-call slots, "my availability" and explain.

`{person}` is a person id or `me`. Staff change their own quiet hours, DND and leave; schedules
and on-call slots are the employer's (managers of the person, HR, admin).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, status

from api.deps import AuditDep, ClockDep, CurrentPerson, SessionDep, SettingsDep, UowDep
from kernel.auth.service import Principal, can_act_on_person, require_group_rights, require_person_rights
from kernel.errors import InvalidInput, NotFound, PayloadTooLarge, PermissionDenied
from kernel.timezones import validate_timezone
from policies import availability, decisions, shift_import
from policies.core.engine import AvailabilityInterval
from policies.core.types import MessageFacts
from policies.models import QuietHours, WorkingHours
from policies.schemas.availability import (
    AvailabilityIntervalRead,
    AvailabilityRead,
    DndRead,
    DndStart,
    LeaveCreate,
    LeaveRead,
    OnCallSlotCreate,
    OnCallSlotRead,
    ShiftCreate,
    ShiftImportRead,
    ShiftRead,
    ShiftUpdate,
    WeeklyWindowRead,
    WeeklyWindowsRead,
    WeeklyWindowsUpdate,
)
from policies.schemas.decisions import DecisionRead, ExplainRequest, LedgerNoteRead, ReasonRead

router = APIRouter(prefix="/api/v1", tags=["availability"])
MAX_IMPORT_BYTES = 5_000_000

PersonRef = Annotated[str, Path(description="A person id, or `me`.")]


def _target(ref: str, me: Principal) -> uuid.UUID:
    if ref == "me":
        return me.person_id
    try:
        return uuid.UUID(ref)
    except ValueError as exc:
        raise NotFound("no such person; use a person id or 'me'") from exc


def _readable(session: Any, me: Principal, ref: str) -> uuid.UUID:
    person_id = _target(ref, me)
    require_person_rights(session=session, principal=me, person_id=person_id)
    return person_id


def _self_only(me: Principal, ref: str, what: str) -> uuid.UUID:
    person_id = _target(ref, me)
    if person_id != me.person_id:
        raise PermissionDenied(f"only the person themselves may change their {what}")
    return person_id


def _employer(session: Any, me: Principal, person_id: uuid.UUID) -> None:
    """Schedules and rosters: a manager of the person, HR or admin."""
    if not me.has("manager", "hr", "admin"):
        raise PermissionDenied("schedules and on-call slots are kept by managers, HR and admin")
    require_person_rights(session=session, principal=me, person_id=person_id)
    if person_id == me.person_id and not me.has("hr", "admin"):
        raise PermissionDenied("a manager's own schedule is kept by their manager, HR or admin")


def _windows(person_id: uuid.UUID, rows: list[QuietHours] | list[WorkingHours]) -> WeeklyWindowsRead:
    return WeeklyWindowsRead(
        person_id=person_id,
        windows=[
            WeeklyWindowRead(
                id=r.id,
                days=availability.days_of(r.weekdays),
                start=r.start_time,
                end=r.end_time,
                timezone=r.timezone,
                holidays=getattr(r, "holidays", None),
            )
            for r in rows
        ],
    )


# Quiet hours and working hours ------------------------------------------------------------------


@router.get("/people/{person}/quiet-hours", response_model=WeeklyWindowsRead)
def read_quiet_hours(person: PersonRef, session: SessionDep, me: CurrentPerson) -> WeeklyWindowsRead:
    person_id = _readable(session, me, person)
    return _windows(person_id, availability.list_quiet_hours(session=session, person_id=person_id))


@router.put("/people/{person}/quiet-hours", response_model=WeeklyWindowsRead)
def replace_quiet_hours(
    person: PersonRef,
    body: WeeklyWindowsUpdate,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> WeeklyWindowsRead:
    person_id = _self_only(me, person, "quiet hours")
    before = _windows(person_id, availability.list_quiet_hours(session=session, person_id=person_id))
    if body.except_holidays or body.holidays is not None:
        raise InvalidInput("public holidays apply to working hours only")
    rows = availability.replace_quiet_hours(
        session=session, person_id=person_id, windows=body.windows, timezone=body.timezone, now=clock.now()
    )
    after = _windows(person_id, rows)
    audit.log(
        session,
        action="availability.quiet_hours",
        target_type="person",
        target_id=person_id,
        before=before.model_dump(mode="json"),
        after=after.model_dump(mode="json"),
    )
    uow.commit()
    return after


@router.get("/people/{person}/working-hours", response_model=WeeklyWindowsRead)
def read_working_hours(person: PersonRef, session: SessionDep, me: CurrentPerson) -> WeeklyWindowsRead:
    person_id = _readable(session, me, person)
    return _windows(person_id, availability.list_working_hours(session=session, person_id=person_id))


@router.put("/people/{person}/working-hours", response_model=WeeklyWindowsRead)
def replace_working_hours(
    person: PersonRef,
    body: WeeklyWindowsUpdate,
    session: SessionDep,
    settings: SettingsDep,
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> WeeklyWindowsRead:
    person_id = _target(person, me)
    _employer(session, me, person_id)
    before = _windows(person_id, availability.list_working_hours(session=session, person_id=person_id))
    calendar = (body.holidays or settings.holiday_calendar) if body.except_holidays else None
    if body.holidays is not None and not body.except_holidays:
        raise InvalidInput("a holiday calendar needs except_holidays: true")
    rows = availability.replace_working_hours(
        session=session,
        person_id=person_id,
        windows=body.windows,
        timezone=body.timezone,
        now=clock.now(),
        holidays=calendar,
    )
    after = _windows(person_id, rows)
    audit.log(
        session,
        action="availability.working_hours",
        target_type="person",
        target_id=person_id,
        before=before.model_dump(mode="json"),
        after=after.model_dump(mode="json"),
    )
    uow.commit()
    return after


# Shifts -----------------------------------------------------------------------------------------


@router.post("/people/{person}/shifts", status_code=status.HTTP_201_CREATED, response_model=ShiftRead)
def create_shift(
    person: PersonRef,
    body: ShiftCreate,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> ShiftRead:
    person_id = _target(person, me)
    _employer(session, me, person_id)
    shift = availability.create_shift(session=session, person_id=person_id, data=body, now=clock.now())
    read = ShiftRead.model_validate(shift)
    audit.log(
        session, action="shift.create", target_type="shift", target_id=shift.id, after=read.model_dump(mode="json")
    )
    uow.commit()
    return read


@router.get("/people/{person}/shifts", response_model=list[ShiftRead])
def list_shifts(
    person: PersonRef,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    days: Annotated[int, Query(ge=1, le=62, description="From now, this many days ahead.")] = 14,
) -> list[ShiftRead]:
    person_id = _readable(session, me, person)
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
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
    timezone: Annotated[str, Query(description="Zone of times given without an offset.")] = "Europe/Stockholm",
    dry_run: Annotated[bool, Query(description="Validate and report, write nothing.")] = False,
) -> ShiftImportRead:
    """Import a schedule as CSV (`person,start,end,unit,shift_type`). All rows or none: any rejected
    row fails the import with 422 and a report of every rejected row and why. Re-importing the same
    file changes nothing."""
    if not me.has("manager", "hr", "admin"):
        raise PermissionDenied("schedules are kept by managers, HR and admin")
    try:
        zone = validate_timezone(timezone)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc

    allowed: dict[uuid.UUID, bool] = {}

    def may_schedule(person_id: uuid.UUID) -> bool:
        if person_id not in allowed:
            own = person_id == me.person_id and not me.has("hr", "admin")
            allowed[person_id] = not own and can_act_on_person(session=session, principal=me, person_id=person_id)
        return allowed[person_id]

    try:
        report = shift_import.import_shifts(
            session=session, data=body, zone=zone, now=clock.now(), may_schedule=may_schedule, dry_run=dry_run
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
    _employer(session, me, shift.person_id)
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
    _employer(session, me, shift.person_id)
    before = ShiftRead.model_validate(shift).model_dump(mode="json")
    availability.delete_shift(session=session, shift=shift, now=uow.clock.now())
    audit.log(session, action="shift.delete", target_type="shift", target_id=shift_id, before=before)
    uow.commit()


# DND --------------------------------------------------------------------------------------------


@router.get("/people/{person}/dnd", response_model=DndRead | None)
def read_dnd(person: PersonRef, session: SessionDep, me: CurrentPerson, clock: ClockDep) -> DndRead | None:
    person_id = _readable(session, me, person)
    dnd = availability.active_dnd(session=session, person_id=person_id, at=clock.now())
    return DndRead.model_validate(dnd) if dnd else None


@router.post("/people/{person}/dnd", status_code=status.HTTP_201_CREATED, response_model=DndRead)
def start_dnd(
    person: PersonRef,
    body: DndStart,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> DndRead:
    """Start "with a patient" for N minutes or until a time; it ends by itself."""
    person_id = _self_only(me, person, "do-not-disturb")
    dnd = availability.start_dnd(session=session, person_id=person_id, data=body, now=clock.now())
    read = DndRead.model_validate(dnd)
    audit.log(
        session, action="dnd.start", target_type="person", target_id=person_id, after=read.model_dump(mode="json")
    )
    uow.commit()
    return read


@router.post("/people/{person}/dnd/end", response_model=DndRead)
def end_dnd(
    person: PersonRef, session: SessionDep, me: CurrentPerson, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> DndRead:
    person_id = _self_only(me, person, "do-not-disturb")
    dnd = availability.end_dnd(session=session, person_id=person_id, now=clock.now())
    if dnd is None:
        raise NotFound("no do-not-disturb is running")
    read = DndRead.model_validate(dnd)
    audit.log(session, action="dnd.end", target_type="person", target_id=person_id, after=read.model_dump(mode="json"))
    uow.commit()
    return read


# Leave ------------------------------------------------------------------------------------------


@router.post("/people/{person}/leave", status_code=status.HTTP_201_CREATED, response_model=LeaveRead)
def create_leave(
    person: PersonRef,
    body: LeaveCreate,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> LeaveRead:
    person_id = _target(person, me)
    if person_id != me.person_id:
        _employer(session, me, person_id)
    leave = availability.create_leave(session=session, person_id=person_id, data=body, by=me.person_id, now=clock.now())
    read = LeaveRead.model_validate(leave)
    audit.log(
        session, action="leave.create", target_type="leave", target_id=leave.id, after=read.model_dump(mode="json")
    )
    uow.commit()
    return read


@router.get("/people/{person}/leave", response_model=list[LeaveRead])
def list_leave(person: PersonRef, session: SessionDep, me: CurrentPerson, clock: ClockDep) -> list[LeaveRead]:
    person_id = _readable(session, me, person)
    rows = availability.list_leave(session=session, person_id=person_id, since=clock.now() - timedelta(days=30))
    return [LeaveRead.model_validate(r) for r in rows]


@router.delete("/leave/{leave_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_leave(leave_id: uuid.UUID, session: SessionDep, me: CurrentPerson, audit: AuditDep, uow: UowDep) -> None:
    leave = availability.require_leave(session=session, leave_id=leave_id)
    if leave.person_id != me.person_id:
        _employer(session, me, leave.person_id)
    before = LeaveRead.model_validate(leave).model_dump(mode="json")
    availability.delete_leave(session=session, leave=leave, now=uow.clock.now())
    audit.log(session, action="leave.delete", target_type="leave", target_id=leave_id, before=before)
    uow.commit()


# On-call slots ----------------------------------------------------------------------------------


@router.post("/on-call-slots", status_code=status.HTTP_201_CREATED, response_model=OnCallSlotRead)
def create_on_call_slot(
    body: OnCallSlotCreate, session: SessionDep, me: CurrentPerson, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> OnCallSlotRead:
    _employer(session, me, body.person_id)
    if body.group_id is not None:  # the slot's group owns its role: only that group's keepers name it
        require_group_rights(session=session, principal=me, group_id=body.group_id)
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
def list_on_call(person: PersonRef, session: SessionDep, me: CurrentPerson, clock: ClockDep) -> list[OnCallSlotRead]:
    person_id = _readable(session, me, person)
    return [
        OnCallSlotRead.model_validate(r)
        for r in availability.list_on_call(session=session, person_id=person_id, since=clock.now())
    ]


# Availability and explain -----------------------------------------------------------------------


def _interval(item: AvailabilityInterval) -> AvailabilityIntervalRead:
    return AvailabilityIntervalRead(
        start=item.start,
        end=item.end,
        status=item.status,
        states=list(item.states),
        held_until=item.held_until,
        on_call=item.on_call,
        role=item.role,
    )


@router.get("/people/{person}/availability", response_model=AvailabilityRead)
def read_availability(
    person: PersonRef,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    days: Annotated[int, Query(ge=1, le=14)] = 7,
) -> AvailabilityRead:
    """Now, and the next days as intervals: reachable, on call, or held until when."""
    person_id = _readable(session, me, person)
    now = clock.now()
    state, policy, intervals = decisions.availability_of(session=session, person_id=person_id, at=now, days=days)
    if not intervals:
        raise InvalidInput("no availability can be computed for this period")
    return AvailabilityRead(
        person_id=person_id,
        at=now,
        timezone=state.zone,
        policy=policy.name,
        now=_interval(intervals[0]),
        intervals=[_interval(i) for i in intervals],
    )


@router.post("/people/{person}/explain", response_model=DecisionRead)
def explain(
    person: PersonRef, body: ExplainRequest, session: SessionDep, me: CurrentPerson, clock: ClockDep
) -> DecisionRead:
    """Would a message of this priority from this sender reach the person at this instant, and why."""
    person_id = _readable(session, me, person)
    at = body.at or clock.now()
    sender_id = body.sender_id or me.person_id
    roles = (
        me.roles if sender_id == me.person_id else frozenset(decisions.roles_of(session=session, person_id=sender_id))
    )
    cover = availability.cover_for_role(session=session, role=body.audience_role, at=at) if body.audience_role else ()
    message = MessageFacts(
        priority=body.priority,
        sender_id=sender_id,
        sender_roles=frozenset(roles),
        override_reason=body.override_reason,
        expires_at=body.expires_at,
        audience_role=body.audience_role,
        cover=cover,
    )
    decision, policy = decisions.explain(session=session, person_id=person_id, message=message, at=at)
    note = decision.ledger
    return DecisionRead(
        person_id=person_id,
        at=at,
        kind=decision.kind,
        level=decision.level,
        release_at=decision.release_at,
        reroute_to=decision.reroute_to,
        reasons=[ReasonRead(rule=r.rule, sv=r.sv, en=r.en) for r in decision.reasons],
        ledger=LedgerNoteRead(
            kind=note.kind,
            states=list(note.states),
            on_call=note.on_call,
            restarts_rest=note.restarts_rest,
            compensatory_minutes=note.compensatory_minutes,
            compensatory_due=note.compensatory_due,
        )
        if note
        else None,
        policy=policy.name,
        policy_version=policy.version,
    )
