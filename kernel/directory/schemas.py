"""Pydantic shapes of people and groups, in and out. Validation messages say what is wrong."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from kernel.directory.models import Role
from kernel.inputs import InputModel
from kernel.timezones import validate_timezone
from kernel.vocabulary import Language

GroupKind = Literal["region", "administration", "unit", "team"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Profession = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Code = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
]


class _Strict(InputModel):
    pass


class PersonCreate(_Strict):
    name: Name
    email: EmailStr
    timezone: str | None = Field(default=None, description="IANA time zone; default VILA_DEFAULT_TIMEZONE.")
    profession: Profession | None = None
    language: Language | None = Field(default=None, description="sv or en; default VILA_DEFAULT_LANGUAGE.")
    roles: list[Role] = Field(default_factory=lambda: list[Role](["staff"]), min_length=1)
    external_id: str | None = Field(default=None, max_length=200)
    groups: list[uuid.UUID] = Field(default_factory=list, description="Groups the person is a member of.")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else validate_timezone(value)


class PersonUpdate(_Strict):
    name: Name | None = None
    email: EmailStr | None = None
    timezone: str | None = None
    profession: Profession | None = None
    language: Language | None = None
    roles: list[Role] | None = Field(default=None, min_length=1)
    external_id: str | None = Field(default=None, max_length=200)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else validate_timezone(value)


class PersonRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    email: str
    timezone: str
    profession: str | None
    language: str
    roles: list[str]
    active: bool
    created_at: datetime
    deactivated_at: datetime | None
    external_id: str | None = None
    employee_number: str | None = None
    department: str | None = None
    employment_type: str | None = None
    manager_id: uuid.UUID | None = None
    provisioned: list[str] | None = Field(
        default=None, description="The fields that come from the identity system (Entra ID); change them there."
    )


class GroupCreate(_Strict):
    name: Name
    code: Code
    kind: GroupKind = "unit"
    parent_id: uuid.UUID | None = None


class GroupUpdate(_Strict):
    name: Name | None = None
    kind: GroupKind | None = None
    parent_id: uuid.UUID | None = None


class GroupRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    code: str
    kind: str
    parent_id: uuid.UUID | None
    active: bool


class GroupDetail(GroupRead):
    managers: list[PersonRead]
    members: list[PersonRead]
    subgroups: list[GroupRead]


class ProfessionAssign(_Strict):
    profession: Profession | None = Field(description="The profession to set; null clears it.")
    person_ids: list[uuid.UUID] = Field(min_length=1, max_length=10_000)


class ProfessionCount(BaseModel):
    profession: str
    people: int


class MembershipChange(_Strict):
    person_ids: list[uuid.UUID] = Field(min_length=1, max_length=10_000)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
