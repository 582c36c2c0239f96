"""The pilot's own words as literal types, each defined once: schemas, ORM checks and the report use them."""

from __future__ import annotations

from typing import Literal, get_args

DeviceKind = Literal["phone", "tablet"]
Arm = Literal["pilot", "comparison"]  # comparison: people in the evaluation who got no device
Wave = Literal["baseline", "midpoint", "final"]
PilotStatus = Literal["planned", "running", "finished"]

DEVICE_KINDS: tuple[DeviceKind, ...] = get_args(DeviceKind)
ARMS: tuple[Arm, ...] = get_args(Arm)
WAVES: tuple[Wave, ...] = get_args(Wave)
PILOT_STATUSES: tuple[PilotStatus, ...] = get_args(PilotStatus)

MIN_GROUP = 5  # no figure is shown for fewer answers (or people) than this


def sql_in(column: str, values: tuple[str, ...]) -> str:
    """A CHECK constraint's text: the column holds one of these values."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"
