"""Pydantic shapes of on-call rosters: rotation layers, overrides, the resolved timeline and who is
on call now, in and out."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, field_validator, model_validator

from kernel.timezones import validate_timezone
from policies.schemas.base import OnCallKindIn, Read, RoleName, Strict, optional_zone

RotationKind = Literal["daily", "weekly", "custom"]


class RosterLayerIn(Strict):
    """A rotation. `daily` and `weekly` hand off every 1 or 7 days; `custom` every `length_days`."""

    rotation: RotationKind
    length_days: Annotated[int, Field(ge=1, le=366)] | None = None
    start_date: date
    end_date: date | None = None
    handoff_time: time
    participants: list[uuid.UUID] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _check(self) -> RosterLayerIn:
        if self.rotation == "custom" and self.length_days is None:
            raise ValueError("a custom rotation needs length_days")
        if self.rotation != "custom" and self.length_days is not None:
            raise ValueError("length_days is only for custom rotations")
        if self.end_date is not None and self.end_date <= self.start_date:
            raise ValueError("end_date must be after start_date")
        if not 1970 <= self.start_date.year <= 2200 or (self.end_date and self.end_date.year > 2200):
            raise ValueError("rotations run between the years 1970 and 2200")
        if self.handoff_time.tzinfo is not None:
            raise ValueError("give the handoff as a wall-clock time; the roster's zone says where")
        if self.handoff_time.second or self.handoff_time.microsecond:
            raise ValueError("handoff times are whole minutes")
        return self


class RosterCreate(Strict):
    group_id: uuid.UUID
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    role: RoleName
    kind: OnCallKindIn
    timezone: str = "Europe/Stockholm"
    layers: list[RosterLayerIn] = Field(default_factory=list, max_length=20)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return validate_timezone(value)


class RosterUpdate(Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    role: RoleName | None = None
    kind: OnCallKindIn | None = None
    timezone: str | None = None
    layers: list[RosterLayerIn] | None = Field(default=None, max_length=20)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return optional_zone(value)


class RosterLayerRead(Read):
    position: int
    rotation: str
    length_days: int
    start_date: date
    end_date: date | None
    handoff_time: time
    participants: list[uuid.UUID]


class OverrideCreate(Strict):
    person_id: uuid.UUID
    start: AwareDatetime
    end: AwareDatetime
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None

    @model_validator(mode="after")
    def _order(self) -> OverrideCreate:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class OverrideRead(Read):
    id: uuid.UUID
    person_id: uuid.UUID
    start_at: datetime
    end_at: datetime
    note: str | None


class SegmentRead(BaseModel):
    start: datetime
    end: datetime
    person_id: uuid.UUID
    person_name: str | None = Field(default=None, description="Whom to call; anyone signed in may read it.")
    source: str


class SpanRead(BaseModel):
    start: datetime
    end: datetime


class OverlapRead(BaseModel):
    start: datetime
    end: datetime
    winner: str
    shadowed: list[str]


class TimelineRead(BaseModel):
    roster_id: uuid.UUID
    role: str
    start: datetime
    end: datetime
    segments: list[SegmentRead]
    gaps: list[SpanRead]
    overlaps: list[OverlapRead]


class OnCallNowRead(BaseModel):
    role: str
    roster_id: uuid.UUID
    kind: str
    at: datetime
    person_id: uuid.UUID | None
    person_name: str | None = None
    start: datetime | None
    end: datetime | None
    source: str | None


class RosterRead(BaseModel):
    """A roster with the gaps and overlaps of its next 90 days (at most 20 of each), so a roster
    that leaves the role uncovered says so when it is saved."""

    id: uuid.UUID
    group_id: uuid.UUID
    name: str
    role: str
    kind: str
    timezone: str
    materialised_until: datetime | None
    layers: list[RosterLayerRead]
    overrides: list[OverrideRead]
    gaps: list[SpanRead] = Field(default_factory=list)
    overlaps: list[OverlapRead] = Field(default_factory=list)
