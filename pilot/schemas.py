"""Pydantic shapes of pilots, participants, surveys and answers, in and out. Messages say what is wrong."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, field_validator, model_validator

from kernel.inputs import InputModel
from kernel.timezones import validate_timezone
from pilot.costs.inputs import CostInputs, RolloutRow
from pilot.questionnaire import FREE_TEXT_MAX
from pilot.vocabulary import Arm, DeviceKind, PilotStatus, Wave

Code = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Question = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Profession = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Likert = Annotated[int, Field(ge=1, le=5, description="1 = does not apply at all, 5 = applies completely.")]


class _Strict(InputModel):
    pass


class SurveyTimes(_Strict):
    opens_at: AwareDatetime
    closes_at: AwareDatetime

    @model_validator(mode="after")
    def _order(self) -> SurveyTimes:
        if self.closes_at <= self.opens_at:
            raise ValueError("a survey must close after it opens")
        return self


class SurveyWindow(SurveyTimes):
    wave: Wave


class PilotCreate(_Strict):
    code: Code
    name: Name
    description: str | None = Field(default=None, max_length=5000)
    start_date: date
    end_date: date = Field(description="The last day of the pilot.")
    timezone: str = "Europe/Stockholm"
    status: PilotStatus = "planned"
    open_questions: list[Question] = Field(default_factory=list, max_length=50)
    surveys: list[SurveyWindow] = Field(default_factory=list, max_length=3)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return validate_timezone(value)

    @model_validator(mode="after")
    def _check(self) -> PilotCreate:
        if self.end_date < self.start_date:
            raise ValueError("end_date (the pilot's last day) must not be before start_date")
        waves = [s.wave for s in self.surveys]
        if len(set(waves)) != len(waves):
            raise ValueError("each wave (baseline, midpoint, final) may be given once")
        return self


class PilotUpdate(_Strict):
    name: Name | None = None
    description: str | None = Field(default=None, max_length=5000)
    status: PilotStatus | None = None
    open_questions: list[Question] | None = Field(default=None, max_length=50)


class SurveyRead(BaseModel):
    id: uuid.UUID
    wave: Wave
    opens_at: datetime
    closes_at: datetime
    invited: int
    answered: int


class PilotRead(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    description: str | None
    start_date: date
    end_date: date
    timezone: str
    status: PilotStatus
    open_questions: list[str]
    participants: int = Field(description="People in the pilot arm.")
    comparison: int = Field(description="People in the comparison group.")
    surveys: list[SurveyRead]


class ParticipantIn(_Strict):
    person_id: uuid.UUID
    arm: Arm = "pilot"
    device_kind: DeviceKind | None = Field(default=None, description="Required in the pilot arm.")
    profession: Profession | None = Field(default=None, description="Default: the person's profession.")
    unit_id: uuid.UUID | None = Field(default=None, description="Default: the unit the person belongs to.")

    @model_validator(mode="after")
    def _device(self) -> ParticipantIn:
        if self.arm == "pilot" and self.device_kind is None:
            raise ValueError("a participant in the pilot arm needs a device_kind (phone or tablet)")
        if self.arm == "comparison" and self.device_kind is not None:
            raise ValueError("the comparison group has no pilot device: leave device_kind out")
        return self


class ParticipantsAdd(_Strict):
    participants: list[ParticipantIn] = Field(min_length=1, max_length=2000)


class ParticipantRead(BaseModel):
    person_id: uuid.UUID
    name: str
    profession: str
    device_kind: DeviceKind | None
    unit_id: uuid.UUID | None
    unit_name: str | None
    arm: Arm


class AnswerCreate(_Strict):
    reachability: Likert
    stress: Likert
    coordination: Likert
    information: Likert
    disturbance: Likert
    free_text: str | None = Field(default=None, max_length=FREE_TEXT_MAX)

    @field_validator("free_text")
    @classmethod
    def _blank(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


class ItemRead(BaseModel):
    key: str
    text: str


class MySurvey(BaseModel):
    survey_id: uuid.UUID
    pilot_name: str
    wave: Wave
    wave_label: str
    opens_at: datetime
    closes_at: datetime
    answered: bool
    items: list[ItemRead]


class CostsUpdate(_Strict):
    inputs: CostInputs
    rollout: list[RolloutRow] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _unique(self) -> CostsUpdate:
        names = [r.profession.lower() for r in self.rollout]
        if len(set(names)) != len(names):
            raise ValueError("each profession may appear once in the roll-out table")
        return self


class CostsRead(BaseModel):
    inputs: CostInputs
    rollout: list[RolloutRow]


class RemindersSent(BaseModel):
    reminded: int = Field(description="People who had not answered and were sent a reminder now.")
    not_yet: int = Field(description="People who had not answered but were reminded too recently.")
