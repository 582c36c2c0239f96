"""Pydantic shapes of availability, policies, the rest ledger and decisions, in and out."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from kernel.inputs import InputModel
from kernel.instants import SaneInstant
from kernel.timezones import validate_timezone
from policies.core.holidays import validate_calendar
from policies.core.types import HoldTarget, Priority, WorkSource

LeaveKind = Literal["vacation", "sick", "parental", "other"]
OnCallKindIn = Literal["jour", "beredskap"]
ShiftKind = Literal["planned", "callout"]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
_MAX_SHIFT = timedelta(hours=36)
RoleName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class _Strict(InputModel):
    pass


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _zone(value: str | None) -> str | None:
    return validate_timezone(value) if value is not None else None


# Weekly windows --------------------------------------------------------------------------------


class WeeklyWindow(_Strict):
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


class WeeklyWindowsUpdate(_Strict):
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
        return _zone(value)

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


class ShiftCreate(_Strict):
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


class ShiftUpdate(_Strict):
    actual_end: SaneInstant | None = None
    note: Text200 | None = None


class ShiftRead(_Read):
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


class DndStart(_Strict):
    """Start do-not-disturb for `minutes`, or until an instant. It ends by itself."""

    minutes: int | None = Field(default=None, ge=1, le=12 * 60)
    until: SaneInstant | None = None
    note: Text200 | None = None

    @model_validator(mode="after")
    def _one(self) -> DndStart:
        if (self.minutes is None) == (self.until is None):
            raise ValueError("give either minutes or until")
        return self


class DndRead(_Read):
    id: uuid.UUID
    person_id: uuid.UUID
    start_at: datetime
    end_at: datetime
    ended_at: datetime | None
    source: str
    note: str | None


class LeaveCreate(_Strict):
    kind: LeaveKind
    start: SaneInstant
    end: SaneInstant
    note: Text200 | None = None

    @model_validator(mode="after")
    def _order(self) -> LeaveCreate:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class LeaveRead(_Read):
    id: uuid.UUID
    person_id: uuid.UUID
    kind: str
    start_at: datetime
    end_at: datetime
    note: str | None


class OnCallSlotCreate(_Strict):
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


class OnCallSlotRead(_Read):
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


# Policies ---------------------------------------------------------------------------------------


class PolicyParamsIn(_Strict):
    """The parameters of a policy version; the defaults follow ATL and AB."""

    daily_rest_hours: float = Field(default=11.0, ge=0, le=24)
    weekly_rest_hours: float = Field(default=36.0, ge=0, le=168)
    working_time: list[WorkSource] = Field(default_factory=lambda: list[WorkSource](["shift", "weekly_hours", "jour"]))
    hold_target: HoldTarget = "next_shift"
    morning_time: time = time(7, 0)
    urgent_override_allowed: bool = False
    override_roles: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=lambda: ["manager"], max_length=20
    )
    override_reason_required: bool = True
    override_weekly_cap: int = Field(default=2, ge=0, le=100)
    compensatory_days: int = Field(default=14, ge=0, le=365)
    content_free_push: bool = False
    private_devices_allowed: bool = Field(default=True, description="Whether pushes may go to privately owned devices.")

    @field_validator("working_time")
    @classmethod
    def _unique(cls, value: list[WorkSource]) -> list[WorkSource]:
        return sorted(set(value))


class PolicyVersionCreate(PolicyParamsIn):
    effective_from: AwareDatetime
    approval_note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class PolicyCreate(PolicyVersionCreate):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None


class PolicyVersionRead(_Read):
    id: uuid.UUID
    policy_id: uuid.UUID
    version: int
    effective_from: datetime
    daily_rest_hours: float
    weekly_rest_hours: float
    working_time: list[str]
    hold_target: str
    morning_time: time
    urgent_override_allowed: bool
    override_roles: list[str]
    override_reason_required: bool
    override_weekly_cap: int
    compensatory_days: int
    content_free_push: bool
    private_devices_allowed: bool
    approval_note: str
    author_id: uuid.UUID | None
    created_at: datetime


class PolicyRead(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    versions: list[PolicyVersionRead]
    groups: list[uuid.UUID]


class PolicyAssign(_Strict):
    group_id: uuid.UUID


class PolicyInForce(BaseModel):
    person_id: uuid.UUID
    policy_id: uuid.UUID | None
    name: str
    version: int
    version_id: uuid.UUID | None


# Ledger and decisions ---------------------------------------------------------------------------


class LedgerEntryRead(_Read):
    id: uuid.UUID
    person_id: uuid.UUID
    at: datetime
    kind: str
    states: list[str]
    on_call: str | None
    priority: str
    rules: list[str]
    reason: str | None
    sender_id: uuid.UUID | None
    message_id: uuid.UUID | None
    restarts_rest: bool
    compensatory_minutes: int
    compensatory_due: date | None
    granted_minutes: int
    granted_at: datetime | None
    period_id: uuid.UUID | None = None  # the rest period it fell in (policies.rest_records)


class LedgerPage(BaseModel):
    items: list[LedgerEntryRead]
    total: int
    owed_minutes: int
    granted_minutes: int


class GrantCreate(_Strict):
    minutes: int = Field(ge=1, le=7 * 24 * 60)


class ExplainRequest(_Strict):
    """Would a message of this priority from this sender reach the person at this instant?"""

    priority: Priority
    at: SaneInstant | None = None
    sender_id: uuid.UUID | None = None
    override_reason: Annotated[str, StringConstraints(max_length=500)] | None = None
    audience_role: RoleName | None = None
    expires_at: SaneInstant | None = None

    @model_validator(mode="after")
    def _emergency(self) -> ExplainRequest:
        if self.priority == "emergency" and not (self.override_reason or "").strip():
            raise ValueError("an emergency needs a stated reason (override_reason)")
        return self


class ReasonRead(BaseModel):
    rule: str
    sv: str
    en: str


class LedgerNoteRead(BaseModel):
    kind: str
    states: list[str]
    on_call: str | None
    restarts_rest: bool
    compensatory_minutes: int
    compensatory_due: date | None


class DecisionRead(BaseModel):
    person_id: uuid.UUID
    at: datetime
    kind: Literal["deliver", "hold", "reroute", "drop"]
    level: str | None
    release_at: datetime | None
    reroute_to: uuid.UUID | None
    reasons: list[ReasonRead]
    ledger: LedgerNoteRead | None
    policy: str
    policy_version: int


# Rosters ----------------------------------------------------------------------------------------

RotationKind = Literal["daily", "weekly", "custom"]


class RosterLayerIn(_Strict):
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


class RosterCreate(_Strict):
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


class RosterUpdate(_Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    role: RoleName | None = None
    kind: OnCallKindIn | None = None
    timezone: str | None = None
    layers: list[RosterLayerIn] | None = Field(default=None, max_length=20)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return _zone(value)


class RosterLayerRead(_Read):
    position: int
    rotation: str
    length_days: int
    start_date: date
    end_date: date | None
    handoff_time: time
    participants: list[uuid.UUID]


class OverrideCreate(_Strict):
    person_id: uuid.UUID
    start: AwareDatetime
    end: AwareDatetime
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None

    @model_validator(mode="after")
    def _order(self) -> OverrideCreate:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class OverrideRead(_Read):
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
