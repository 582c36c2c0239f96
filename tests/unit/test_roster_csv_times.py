"""Times in an imported schedule: offsets honoured, wall times read in the zone, DST switches refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from policies.shift_import import parse_instant

ZONE = "Europe/Stockholm"


def test_wall_times_are_read_in_the_zone_on_both_sides_of_the_switches() -> None:
    assert parse_instant("2026-03-28 22:00", ZONE) == datetime(2026, 3, 28, 21, tzinfo=UTC)
    assert parse_instant("2026-03-29T07:00", ZONE) == datetime(2026, 3, 29, 5, tzinfo=UTC)
    assert parse_instant("2026-10-25 07:00", ZONE) == datetime(2026, 10, 25, 6, tzinfo=UTC)


def test_an_offset_wins_over_the_zone() -> None:
    assert parse_instant("2026-11-23T21:00+01:00", ZONE) == datetime(2026, 11, 23, 20, tzinfo=UTC)
    assert parse_instant("2026-11-23T20:00:00Z", ZONE) == datetime(2026, 11, 23, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-03-29 02:30", "does not exist"),
        ("2026-10-25 02:30", "occurs twice"),
        ("23/11/2026 07:00", "is not a date and time"),
        ("2026-11-23", "is not a date and time"),
        ("", "is empty"),
    ],
)
def test_malformed_or_ambiguous_times_are_refused_with_a_reason(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_instant(value, ZONE)
