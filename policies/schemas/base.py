"""The bases and field types that every policies schema shares: strict input, rows read out, names."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from kernel.inputs import InputModel
from kernel.timezones import validate_timezone

OnCallKindIn = Literal["jour", "beredskap"]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
RoleName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class Strict(InputModel):
    """A request body of the policies domain: unknown fields and control characters refused."""


class Read(BaseModel):
    """An output shape read from an ORM row's attributes."""

    model_config = ConfigDict(from_attributes=True)


def optional_zone(value: str | None) -> str | None:
    """A known IANA time zone name, or None when none was given."""
    return validate_timezone(value) if value is not None else None
