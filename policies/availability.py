"""A person's availability as they and their managers keep it: quiet and working hours, shifts,
do-not-disturb, leave and on-call slots.

Typed, keyword-only functions over a session: they add and flush, emit `AvailabilityChanged`, and
the caller (a route or a task) owns the transaction and commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kernel.directory import service as directory
from kernel.directory.models import Person
from kernel.errors import InvalidInput, NotFound
from kernel.events import AvailabilityChanged, emit
from policies.core.types import OnCallSlot
from policies.core.wallclock import weekly_overlaps
from policies.models import DndSession, Leave, OnCallSlotRow, QuietHours, Shift, WorkingHours
from policies.schemas.availability import (
    DndStart,
    LeaveCreate,
    OnCallSlotCreate,
    ShiftCreate,
    ShiftUpdate,
    WeeklyWindow,
)
from policies.states import DEFAULT_HORIZON, on_call_kind

# Weekly windows ---------------------------------------------------------------------------------


def _check_windows(windows: Sequence[WeeklyWindow], what: str) -> None:
    clash = weekly_overlaps([(w.mask, w.start, w.end) for w in windows])
    if clash is not None:
        first, second = clash
        raise InvalidInput(
            f"{what} windows {first + 1} and {second + 1} overlap; merge them or move one",
            details={"windows": [first, second]},
        )


def _person_zone(session: Session, person_id: uuid.UUID) -> str:
    zone = session.scalar(select(Person.timezone).where(Person.id == person_id))
    if zone is None:
        raise NotFound("no such person")
    return zone


def replace_quiet_hours(
    *, session: Session, person_id: uuid.UUID, windows: Sequence[WeeklyWindow], timezone: str | None, now: datetime
) -> list[QuietHours]:
    zone = timezone or _person_zone(session, person_id)
    _check_windows(windows, "quiet-hours")
    session.execute(delete(QuietHours).where(QuietHours.person_id == person_id))
    rows = [
        QuietHours(
            person_id=person_id, weekdays=w.mask, start_time=w.start, end_time=w.end, timezone=zone, created_at=now
        )
        for w in windows
    ]
    session.add_all(rows)
    session.flush()
    emit(session, AvailabilityChanged(person_id), at=now)
    return rows


def list_quiet_hours(*, session: Session, person_id: uuid.UUID) -> list[QuietHours]:
    stmt = select(QuietHours).where(QuietHours.person_id == person_id).order_by(QuietHours.start_time)
    return list(session.scalars(stmt).all())


def replace_working_hours(
    *,
    session: Session,
    person_id: uuid.UUID,
    windows: Sequence[WeeklyWindow],
    timezone: str | None,
    now: datetime,
    holidays: str | None = None,
) -> list[WorkingHours]:
    """Replace the person's working hours; with `holidays` (a holiday calendar such as "SE")
    they do not apply on that calendar's public holidays."""
    zone = timezone or _person_zone(session, person_id)
    _check_windows(windows, "working-hours")
    session.execute(delete(WorkingHours).where(WorkingHours.person_id == person_id))
    rows = [
        WorkingHours(
            person_id=person_id,
            weekdays=w.mask,
            start_time=w.start,
            end_time=w.end,
            timezone=zone,
            holidays=holidays,
            created_at=now,
        )
        for w in windows
    ]
    session.add_all(rows)
    session.flush()
    emit(session, AvailabilityChanged(person_id), at=now)
    return rows


def list_working_hours(*, session: Session, person_id: uuid.UUID) -> list[WorkingHours]:
    stmt = select(WorkingHours).where(WorkingHours.person_id == person_id).order_by(WorkingHours.start_time)
    return list(session.scalars(stmt).all())


def days_of(mask: int) -> list[int]:
    """ISO weekdays (1 = Monday) of a weekday mask."""
    return [day + 1 for day in range(7) if mask & (1 << day)]


# Shifts -----------------------------------------------------------------------------------------


def first_overlap(session: Session, model: Any, owner: Any, start: datetime, end: datetime) -> Any:
    """The first row of `model` (one with `start_at` and `end_at`) of the same owner that overlaps
    [start, end), or None: leave, on-call slots and roster overrides must not overlap their own kind."""
    stmt = select(model).where(owner, model.start_at < end, model.end_at > start).limit(1)
    return session.scalars(stmt).first()


def _shift_overlap(
    session: Session, person_id: uuid.UUID, start: datetime, end: datetime, skip: uuid.UUID | None
) -> Shift | None:
    stmt = select(Shift).where(
        Shift.person_id == person_id,
        Shift.planned_start < end,
        func.coalesce(Shift.actual_end, Shift.planned_end) > start,
    )
    if skip is not None:
        stmt = stmt.where(Shift.id != skip)
    return session.scalars(stmt.limit(1)).first()


def create_shift(*, session: Session, person_id: uuid.UUID, data: ShiftCreate, now: datetime) -> Shift:
    end = data.actual_end or data.planned_end
    clash = _shift_overlap(session, person_id, data.planned_start, end, None)
    if clash is not None:
        raise InvalidInput("the shift overlaps another shift of the same person", details={"shift_id": str(clash.id)})
    shift = Shift(
        person_id=person_id,
        planned_start=data.planned_start,
        planned_end=data.planned_end,
        actual_end=data.actual_end,
        kind=data.kind,
        note=data.note,
        created_at=now,
        updated_at=now,
    )
    session.add(shift)
    session.flush()
    emit(session, AvailabilityChanged(person_id), at=now)
    return shift


def require_shift(*, session: Session, shift_id: uuid.UUID) -> Shift:
    shift = session.get(Shift, shift_id)
    if shift is None:
        raise NotFound("no such shift")
    return shift


def update_shift(*, session: Session, shift: Shift, data: ShiftUpdate, now: datetime) -> Shift:
    if "actual_end" in data.model_fields_set:
        if data.actual_end is not None:
            if data.actual_end <= shift.planned_start:
                raise InvalidInput("actual_end must be after the shift's planned start")
            clash = _shift_overlap(session, shift.person_id, shift.planned_start, data.actual_end, shift.id)
            if clash is not None:
                raise InvalidInput("with this actual end the shift would overlap the next one")
        shift.actual_end = data.actual_end
    if "note" in data.model_fields_set:
        shift.note = data.note
    shift.updated_at = now
    session.flush()
    emit(session, AvailabilityChanged(shift.person_id), at=now)
    return shift


def delete_shift(*, session: Session, shift: Shift, now: datetime) -> None:
    session.delete(shift)
    session.flush()
    emit(session, AvailabilityChanged(shift.person_id), at=now)


def list_shifts(*, session: Session, person_id: uuid.UUID, start: datetime, end: datetime) -> list[Shift]:
    stmt = (
        select(Shift)
        .where(
            Shift.person_id == person_id,
            Shift.planned_start < end,
            func.coalesce(Shift.actual_end, Shift.planned_end) > start,
        )
        .order_by(Shift.planned_start)
    )
    return list(session.scalars(stmt).all())


# DND --------------------------------------------------------------------------------------------


def active_dnd(*, session: Session, person_id: uuid.UUID, at: datetime) -> DndSession | None:
    stmt = (
        select(DndSession)
        .where(
            DndSession.person_id == person_id,
            DndSession.start_at <= at,
            DndSession.end_at > at,
            DndSession.ended_at.is_(None),
        )
        .order_by(DndSession.start_at.desc())
    )
    return session.scalars(stmt.limit(1)).first()


def start_dnd(*, session: Session, person_id: uuid.UUID, data: DndStart, now: datetime) -> DndSession:
    """Start "with a patient": a running session is replaced, and the new one ends by itself."""
    end = data.until if data.until is not None else now + timedelta(minutes=data.minutes or 0)
    if end <= now:
        raise InvalidInput("do-not-disturb must end in the future")
    if end - now > timedelta(hours=12):
        raise InvalidInput("do-not-disturb lasts at most 12 hours; use quiet hours or leave for longer")
    running = active_dnd(session=session, person_id=person_id, at=now)
    if running is not None:
        running.ended_at = now
    dnd = DndSession(person_id=person_id, start_at=now, end_at=end, source="manual", note=data.note, created_at=now)
    session.add(dnd)
    session.flush()
    emit(session, AvailabilityChanged(person_id), at=now)
    return dnd


def end_dnd(*, session: Session, person_id: uuid.UUID, now: datetime) -> DndSession | None:
    running = active_dnd(session=session, person_id=person_id, at=now)
    if running is not None:
        running.ended_at = now
        session.flush()
        emit(session, AvailabilityChanged(person_id), at=now)
    return running


# Leave ------------------------------------------------------------------------------------------


def create_leave(
    *, session: Session, person_id: uuid.UUID, data: LeaveCreate, by: uuid.UUID | None, now: datetime
) -> Leave:
    clash = first_overlap(session, Leave, Leave.person_id == person_id, data.start, data.end)
    if clash is not None:
        raise InvalidInput("the leave overlaps leave already registered", details={"leave_id": str(clash.id)})
    leave = Leave(
        person_id=person_id,
        kind=data.kind,
        start_at=data.start,
        end_at=data.end,
        note=data.note,
        created_by=by,
        created_at=now,
    )
    session.add(leave)
    session.flush()
    emit(session, AvailabilityChanged(person_id), at=now)
    return leave


def require_leave(*, session: Session, leave_id: uuid.UUID) -> Leave:
    leave = session.get(Leave, leave_id)
    if leave is None:
        raise NotFound("no such leave")
    return leave


def delete_leave(*, session: Session, leave: Leave, now: datetime) -> None:
    session.delete(leave)
    session.flush()
    emit(session, AvailabilityChanged(leave.person_id), at=now)


def list_leave(*, session: Session, person_id: uuid.UUID, since: datetime | None = None) -> list[Leave]:
    stmt = select(Leave).where(Leave.person_id == person_id)
    if since is not None:
        stmt = stmt.where(Leave.end_at > since)
    return list(session.scalars(stmt.order_by(Leave.start_at)).all())


# On-call slots ----------------------------------------------------------------------------------


def create_on_call_slot(*, session: Session, data: OnCallSlotCreate, now: datetime) -> OnCallSlotRow:
    directory.require_person(session=session, person_id=data.person_id)
    if data.group_id is not None:
        directory.require_group(session=session, group_id=data.group_id)
    clash = first_overlap(session, OnCallSlotRow, OnCallSlotRow.person_id == data.person_id, data.start, data.end)
    if clash is not None:
        raise InvalidInput("the slot overlaps another on-call slot of the same person")
    slot = OnCallSlotRow(
        person_id=data.person_id,
        group_id=data.group_id,
        role=data.role,
        kind=data.kind,
        start_at=data.start,
        end_at=data.end,
        created_at=now,
    )
    session.add(slot)
    session.flush()
    emit(session, AvailabilityChanged(data.person_id), at=now)
    return slot


def list_on_call(*, session: Session, person_id: uuid.UUID, since: datetime) -> list[OnCallSlotRow]:
    stmt = select(OnCallSlotRow).where(OnCallSlotRow.person_id == person_id, OnCallSlotRow.end_at > since)
    return list(session.scalars(stmt.order_by(OnCallSlotRow.start_at)).all())


def cover_for_role(
    *, session: Session, role: str, at: datetime, horizon: timedelta = DEFAULT_HORIZON
) -> tuple[OnCallSlot, ...]:
    """Who is on call for a roster role from `at` on: the `cover` of a role-addressed message."""
    rows = session.execute(
        select(OnCallSlotRow.person_id, OnCallSlotRow.start_at, OnCallSlotRow.end_at, OnCallSlotRow.kind)
        .where(OnCallSlotRow.role == role, OnCallSlotRow.end_at > at, OnCallSlotRow.start_at < at + horizon)
        .order_by(OnCallSlotRow.start_at, OnCallSlotRow.person_id)
    ).all()
    return tuple(OnCallSlot(start, end, on_call_kind(kind), role, person) for person, start, end, kind in rows)
