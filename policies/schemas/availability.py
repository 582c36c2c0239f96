"""Pydantic shapes of a person's availability: weekly windows, shifts, DND, leave, on-call slots
and the resulting intervals, in and out."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from kernel.instants import SaneInstant
from policies.core.holidays import validate_calendar
from policies.schemas.base import OnCallKindIn, Read, RoleName, Strict, Text200, optional_zone

LeaveKind = Literal["vacation", "sick", "parental", "other"]
ShiftKind = Literal["planned", "callout"]
_MAX_SHIFT = timedelta(hours=36)


# Weekly windows --------------------------------------------------------------------------------


class WeeklyWindow(Strict):
    """A weekly window: ISO weekdays (1 = Monday ... 7 = Sunday) and wall-clock times.
    An end at or before the start runs past midnight into the next day."""

    days: list[Annotated[int, Field(ge=1, le=7)]] = Field(min_length=1, max_length=7)
    start: time
    end: time

    @field_validator("days")
    @classmethod
    def _unique(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("each weekday may appear once")
        return sorted(value)

    @model_validator(mode="after")
    def _length(self) -> WeeklyWindow:
        if self.start == self.end:
            raise ValueError("start and end must differ (a window cannot be empty)")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("give wall-clock times without an offset; the zone says where")
        return self

    @property
    def mask(self) -> int:
        return sum(1 << (day - 1) for day in self.days)


class WeeklyWindowsUpdate(Strict):
    """Replace all windows. `timezone` defaults to the person's zone.

    Working hours only: `except_holidays` skips public holidays ("weekdays except public
    holidays"), of the calendar `holidays` names ("SE", "NO", "DE-BY") or else the installation's
    default holiday calendar."""

    windows: list[WeeklyWindow] = Field(max_length=21)
    timezone: str | None = None
    except_holidays: bool = False
    holidays: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return optional_zone(value)

    @field_validator("holidays")
    @classmethod
    def _known_calendar(cls, value: str | None) -> str | None:
        return validate_calendar(value) if value is not None else None


class WeeklyWindowRead(BaseModel):
    id: uuid.UUID
    days: list[int]
    start: time
    end: time
    timezone: str
    holidays: str | None = None


class WeeklyWindowsRead(BaseModel):
    person_id: uuid.UUID
    windows: list[WeeklyWindowRead]


# Shifts -----------------------------------------------------------------------------------------


class ShiftCreate(Strict):
    planned_start: SaneInstant
    planned_end: SaneInstant
    actual_end: SaneInstant | None = None
    kind: ShiftKind = "planned"
    note: Text200 | None = None

    @model_validator(mode="after")
    def _order(self) -> ShiftCreate:
        if self.planned_end <= self.planned_start:
            raise ValueError("planned_end must be after planned_start")
        if self.actual_end is not None and self.actual_end <= self.planned_start:
            raise ValueError("actual_end must be after planned_start")
        if self.planned_end - self.planned_start > _MAX_SHIFT:
            raise ValueError("a shift cannot be longer than 36 hours")
        return self


class ShiftUpdate(Strict):
    actual_end: SaneInstant | None = None
    note: Text200 | None = None


class ShiftRead(Read):
    id: uuid.UUID
    person_id: uuid.UUID
    planned_start: datetime
    planned_end: datetime
    actual_end: datetime | None
    kind: str
    unit_id: uuid.UUID | None = None
    shift_type: str | None = None
    note: str | None


class RejectedRowRead(BaseModel):
    line: int
    person: str
    reason: str


class ShiftImportRead(BaseModel):
    """The outcome of a CSV import: all rows written, or (with any rejected row) none."""

    rows: int
    created: int
    updated: int
    unchanged: int
    written: bool
    rejected: list[RejectedRowRead]


# DND, leave, on-call ----------------------------------------------------------------------------


class DndStart(Strict):
    """Start do-not-disturb for `minutes`, or until an instant. It ends by itself."""

    minutes: int | None = Field(default=None, ge=1, le=12 * 60)
    until: SaneInstant | None = None
    note: Text200 | None = None

    @model_validator(mode="after")
    def _one(self) -> DndStart:
        if (self.minutes is None) == (self.until is None):
            raise ValueError("give either minutes or until")
        return self


class DndRead(Read):
    id: uuid.UUID
    person_id: uuid.UUID
    start_at: datetime
    end_at: datetime
    ended_at: datetime | None
    source: str
    note: str | None


class LeaveCreate(Strict):
    kind: LeaveKind
    start: SaneInstant
    end: SaneInstant
    note: Text200 | None = None

    @model_validator(mode="after")
    def _order(self) -> LeaveCreate:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class LeaveRead(Read):
    id: uuid.UUID
    person_id: uuid.UUID
    kind: str
    start_at: datetime
    end_at: datetime
    note: str | None


class OnCallSlotCreate(Strict):
    person_id: uuid.UUID
    role: RoleName
    kind: OnCallKindIn
    start: AwareDatetime
    end: AwareDatetime
    group_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _order(self) -> OnCallSlotCreate:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class OnCallSlotRead(Read):
    id: uuid.UUID
    person_id: uuid.UUID
    group_id: uuid.UUID | None
    role: str
    kind: str
    start_at: datetime
    end_at: datetime


# Availability -----------------------------------------------------------------------------------


class AvailabilityIntervalRead(BaseModel):
    start: datetime
    end: datetime
    status: Literal["reachable", "on_call", "held"]
    states: list[str]
    held_until: datetime | None
    on_call: str | None
    role: str | None


class AvailabilityRead(BaseModel):
    person_id: uuid.UUID
    at: datetime
    timezone: str
    policy: str
    now: AvailabilityIntervalRead
    intervals: list[AvailabilityIntervalRead]
