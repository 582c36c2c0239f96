"""Text hygiene for everything Vila accepts from people: no control characters, one rule, one place.

A NUL byte cannot be stored in PostgreSQL's text (it answered 500), an escape sequence or a lone
surrogate is never meant text, and neither survives a log line or a push unharmed. Every input
model derives from `InputModel`, whose one validator checks each field's value (strings in
lists and mappings included), and the API applies `control_character` to query parameters.
Tab, line feed and carriage return are ordinary text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

# C0 controls but tab, LF and CR; DEL and the C1 controls; UTF-16 surrogates (never a character).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def control_character(value: str) -> str | None:
    """What is wrong with `value` ("U+0000 at position 3"), or None when it holds none."""
    hit = _CONTROL.search(value)
    if hit is None:
        return None
    return f"U+{ord(hit.group()):04X} at position {hit.start()}"


def refuse_control_characters(value: Any) -> Any:
    """`value` unchanged, or a ValueError naming the first control character in any string in it.
    Nested input models were checked field by field already (with the nearer field's name)."""
    if isinstance(value, BaseModel):
        return value
    if isinstance(value, str):
        found = control_character(value)
        if found:
            raise ValueError(f"text may not contain a control character ({found})")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            refuse_control_characters(key)
            refuse_control_characters(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            refuse_control_characters(item)
    return value


class InputModel(BaseModel):
    """The base of every request body: unknown fields refused, control characters refused."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return refuse_control_characters(value)
