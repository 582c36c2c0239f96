"""Pydantic shapes of rest policies: a policy's parameters and versions, assignment and the policy
in force, in and out."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, field_validator

from policies.core.types import HoldTarget, WorkSource
from policies.schemas.base import Read, Strict


class PolicyParamsIn(Strict):
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


class PolicyVersionRead(Read):
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


class PolicyAssign(Strict):
    group_id: uuid.UUID


class PolicyInForce(BaseModel):
    person_id: uuid.UUID
    policy_id: uuid.UUID | None
    name: str
    version: int
    version_id: uuid.UUID | None
