"""The span of instants Vila accepts from people, 2000-01-01 .. 2100-12-31, as one validated type.

Leave from year 1 to 9999 is nonsense that only breaks arithmetic later (a hold "until 9999" cannot
be pushed forward a day); it is refused with a 422 that names the span instead.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def within_span(value: datetime) -> datetime:
    """`value` when it lies in the accepted span; a ValueError that names the span otherwise."""
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must be between {EARLIEST.date()} and {LATEST.date()} (got {value.isoformat()})")
    return value


SaneInstant = Annotated[AwareDatetime, AfterValidator(within_span)]
