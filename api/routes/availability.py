"""Availability: quiet hours, working hours, DND, leave, "my availability" and explain.

`{person}` is a person id or `me`. Staff change their own quiet hours, DND and leave; working hours
are the employer's (managers of the person, HR, admin). Shifts and on-call slots are in
`api/routes/shifts.py`.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import AuditDep, ClockDep, CurrentPerson, SessionDep, SettingsDep, UowDep
from api.permissions import (
    ActsOnPerson,
    OwnDnd,
    OwnQuietHours,
    SchedulesPerson,
    SelfOrSchedulesPerson,
    keeps_own_or_schedule_of,
)
from kernel.errors import InvalidInput, NotFound
from policies import availability, decisions
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
    WeeklyWindowRead,
    WeeklyWindowsRead,
    WeeklyWindowsUpdate,
)
from policies.schemas.decisions import DecisionRead, ExplainRequest, LedgerNoteRead, ReasonRead

router = APIRouter(prefix="/api/v1", tags=["availability"])


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
def read_quiet_hours(person_id: ActsOnPerson, session: SessionDep) -> WeeklyWindowsRead:
    return _windows(person_id, availability.list_quiet_hours(session=session, person_id=person_id))


@router.put("/people/{person}/quiet-hours", response_model=WeeklyWindowsRead)
def replace_quiet_hours(
    person_id: OwnQuietHours,
    body: WeeklyWindowsUpdate,
    session: SessionDep,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> WeeklyWindowsRead:
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
def read_working_hours(person_id: ActsOnPerson, session: SessionDep) -> WeeklyWindowsRead:
    return _windows(person_id, availability.list_working_hours(session=session, person_id=person_id))


@router.put("/people/{person}/working-hours", response_model=WeeklyWindowsRead)
def replace_working_hours(
    person_id: SchedulesPerson,
    body: WeeklyWindowsUpdate,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> WeeklyWindowsRead:
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


# DND --------------------------------------------------------------------------------------------


@router.get("/people/{person}/dnd", response_model=DndRead | None)
def read_dnd(person_id: ActsOnPerson, session: SessionDep, clock: ClockDep) -> DndRead | None:
    dnd = availability.active_dnd(session=session, person_id=person_id, at=clock.now())
    return DndRead.model_validate(dnd) if dnd else None


@router.post("/people/{person}/dnd", status_code=status.HTTP_201_CREATED, response_model=DndRead)
def start_dnd(
    person_id: OwnDnd,
    body: DndStart,
    session: SessionDep,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> DndRead:
    """Start "with a patient" for N minutes or until a time; it ends by itself."""
    dnd = availability.start_dnd(session=session, person_id=person_id, data=body, now=clock.now())
    read = DndRead.model_validate(dnd)
    audit.log(
        session, action="dnd.start", target_type="person", target_id=person_id, after=read.model_dump(mode="json")
    )
    uow.commit()
    return read


@router.post("/people/{person}/dnd/end", response_model=DndRead)
def end_dnd(person_id: OwnDnd, session: SessionDep, clock: ClockDep, audit: AuditDep, uow: UowDep) -> DndRead:
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
    person_id: SelfOrSchedulesPerson,
    body: LeaveCreate,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> LeaveRead:
    leave = availability.create_leave(session=session, person_id=person_id, data=body, by=me.person_id, now=clock.now())
    read = LeaveRead.model_validate(leave)
    audit.log(
        session, action="leave.create", target_type="leave", target_id=leave.id, after=read.model_dump(mode="json")
    )
    uow.commit()
    return read


@router.get("/people/{person}/leave", response_model=list[LeaveRead])
def list_leave(person_id: ActsOnPerson, session: SessionDep, clock: ClockDep) -> list[LeaveRead]:
    rows = availability.list_leave(session=session, person_id=person_id, since=clock.now() - timedelta(days=30))
    return [LeaveRead.model_validate(r) for r in rows]


@router.delete("/leave/{leave_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_leave(leave_id: uuid.UUID, session: SessionDep, me: CurrentPerson, audit: AuditDep, uow: UowDep) -> None:
    leave = availability.require_leave(session=session, leave_id=leave_id)
    keeps_own_or_schedule_of(session, me, leave.person_id)
    before = LeaveRead.model_validate(leave).model_dump(mode="json")
    availability.delete_leave(session=session, leave=leave, now=uow.clock.now())
    audit.log(session, action="leave.delete", target_type="leave", target_id=leave_id, before=before)
    uow.commit()


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
    person_id: ActsOnPerson,
    session: SessionDep,
    clock: ClockDep,
    days: Annotated[int, Query(ge=1, le=14)] = 7,
) -> AvailabilityRead:
    """Now, and the next days as intervals: reachable, on call, or held until when."""
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
    person_id: ActsOnPerson, body: ExplainRequest, session: SessionDep, me: CurrentPerson, clock: ClockDep
) -> DecisionRead:
    """Would a message of this priority from this sender reach the person at this instant, and why."""
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
