"""The resolved roster timeline: rotations, handoffs across DST and midnight, overrides, gaps."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytz
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.core.rotation import Cover, Rotation, resolve

ZONE = "Europe/Stockholm"
STHLM = pytz.timezone(ZONE)
A, B, C = (uuid.UUID(int=n) for n in (1, 2, 3))


def local(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return STHLM.localize(datetime(y, m, d, hh, mm)).astimezone(UTC)  # noqa: DTZ001 (pytz localizes naive wall time)


def weekly(*people: uuid.UUID, start: date, handoff: time = time(8, 0), position: int = 0) -> Rotation:
    return Rotation(position=position, participants=people, length_days=7, start_date=start, handoff=handoff)


def test_weekly_handoff_stays_at_eight_local_across_spring_switch() -> None:
    # Monday 23 March 08:00 CET -> Monday 30 March 08:00 CEST: the week is an hour short.
    rot = weekly(A, B, start=date(2026, 3, 23))
    tl = resolve(rotations=[rot], overrides=[], zone=ZONE, start=local(2026, 3, 23, 8), end=local(2026, 4, 6, 8))
    assert [(s.person_id, s.start, s.end) for s in tl.segments] == [
        (A, local(2026, 3, 23, 8), local(2026, 3, 30, 8)),
        (B, local(2026, 3, 30, 8), local(2026, 4, 6, 8)),
    ]
    assert tl.segments[0].end == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)  # 08:00 CEST
    assert tl.segments[0].end - tl.segments[0].start == timedelta(hours=167)
    assert tl.gaps == ()


def test_weekly_handoff_stays_at_eight_local_across_autumn_switch() -> None:
    rot = weekly(A, B, start=date(2026, 10, 19))
    tl = resolve(rotations=[rot], overrides=[], zone=ZONE, start=local(2026, 10, 19, 8), end=local(2026, 11, 2, 8))
    first, second = tl.segments
    assert first.end == datetime(2026, 10, 26, 7, 0, tzinfo=UTC)  # 08:00 CET
    assert first.end - first.start == timedelta(hours=169)
    assert (first.person_id, second.person_id) == (A, B)


def test_daily_handoff_inside_the_skipped_hour_moves_to_the_end_of_the_gap() -> None:
    # 02:30 does not exist on 29 March 2026 in Stockholm; the handoff happens at 03:30 CEST.
    rot = Rotation(position=0, participants=(A, B), length_days=1, start_date=date(2026, 3, 27), handoff=time(2, 30))
    tl = resolve(rotations=[rot], overrides=[], zone=ZONE, start=local(2026, 3, 28, 12), end=local(2026, 3, 30, 12))
    handoffs = [s.start for s in tl.segments[1:]]
    assert handoffs[0] == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST
    assert handoffs[1] == local(2026, 3, 30, 2, 30)
    assert tl.gaps == ()


def test_handoff_at_midnight_changes_holder_exactly_at_midnight() -> None:
    rot = Rotation(position=0, participants=(A, B, C), length_days=1, start_date=date(2026, 12, 30), handoff=time(0))
    tl = resolve(rotations=[rot], overrides=[], zone=ZONE, start=local(2026, 12, 31, 12), end=local(2027, 1, 1, 12))
    assert tl.at(local(2026, 12, 31, 23, 59)).person_id == B  # type: ignore[union-attr]
    assert tl.at(local(2027, 1, 1, 0, 0)).person_id == C  # type: ignore[union-attr]


def test_custom_rotation_of_three_days_cycles_participants_in_order() -> None:
    rot = Rotation(position=0, participants=(A, B, C), length_days=3, start_date=date(2026, 11, 1), handoff=time(17))
    tl = resolve(rotations=[rot], overrides=[], zone=ZONE, start=local(2026, 11, 1, 17), end=local(2026, 11, 13, 17))
    assert [s.person_id for s in tl.segments] == [A, B, C, A]
    assert all(s.end - s.start == timedelta(days=3) for s in tl.segments)


def test_override_wins_over_the_rotation_and_the_rotation_resumes() -> None:
    rot = weekly(A, B, start=date(2026, 11, 23))
    cover = Cover(C, local(2026, 11, 25, 18), local(2026, 11, 26, 8))
    tl = resolve(
        rotations=[rot], overrides=[cover], zone=ZONE, start=local(2026, 11, 23, 8), end=local(2026, 11, 30, 8)
    )
    assert [(s.person_id, s.source) for s in tl.segments] == [(A, "layer 0"), (C, "override"), (A, "layer 0")]
    assert tl.at(local(2026, 11, 25, 20)).person_id == C  # type: ignore[union-attr]
    assert tl.overlaps[0].winner == "override"
    assert tl.overlaps[0].shadowed == ("layer 0",)


def test_gaps_are_reported_where_nobody_covers() -> None:
    # A weekday layer ends before the weekend; nobody covers Saturday 08:00 to Monday 08:00.
    rot = Rotation(
        position=0,
        participants=(A,),
        length_days=5,
        start_date=date(2026, 11, 23),
        handoff=time(8),
        end_date=date(2026, 11, 28),
    )
    tl = resolve(rotations=[rot], overrides=[], zone=ZONE, start=local(2026, 11, 23, 8), end=local(2026, 11, 30, 8))
    assert [(g.start, g.end) for g in tl.gaps] == [(local(2026, 11, 28, 8), local(2026, 11, 30, 8))]
    assert tl.at(local(2026, 11, 29, 3)) is None


def test_higher_layer_wins_and_the_overlap_is_reported() -> None:
    base = weekly(A, start=date(2026, 11, 23))
    nights = Rotation(position=1, participants=(B,), length_days=1, start_date=date(2026, 11, 24), handoff=time(20))
    short = Rotation(
        position=1,
        participants=(B,),
        length_days=1,
        start_date=nights.start_date,
        handoff=nights.handoff,
        end_date=date(2026, 11, 25),
    )
    tl = resolve(
        rotations=[base, short], overrides=[], zone=ZONE, start=local(2026, 11, 23, 8), end=local(2026, 11, 30, 8)
    )
    assert tl.at(local(2026, 11, 24, 22)).person_id == B  # type: ignore[union-attr]
    assert tl.at(local(2026, 11, 25, 21)).person_id == A  # type: ignore[union-attr]
    assert [(o.winner, o.shadowed) for o in tl.overlaps] == [("layer 1", ("layer 0",))]


def test_later_override_wins_between_two_overlapping_overrides() -> None:
    first = Cover(B, local(2026, 11, 24, 8), local(2026, 11, 25, 8), seq=0)
    second = Cover(C, local(2026, 11, 24, 20), local(2026, 11, 25, 8), seq=1)
    tl = resolve(
        rotations=[], overrides=[first, second], zone=ZONE, start=local(2026, 11, 24, 8), end=local(2026, 11, 25, 8)
    )
    assert tl.at(local(2026, 11, 24, 21)).person_id == C  # type: ignore[union-attr]
    assert tl.overlaps and tl.overlaps[0].shadowed == ("override",)


@settings(max_examples=60, deadline=None)
@given(
    length=st.integers(min_value=1, max_value=14),
    people=st.integers(min_value=1, max_value=6),
    hour=st.integers(min_value=0, max_value=23),
    offset_days=st.integers(min_value=0, max_value=365),
)
def test_a_rotation_covers_every_instant_with_handoffs_at_the_wall_clock_time(
    length: int, people: int, hour: int, offset_days: int
) -> None:
    """Whatever the rotation, 2026 (both DST switches included) has no gap and no double cover."""
    participants = tuple(uuid.UUID(int=n + 1) for n in range(people))
    rot = Rotation(
        position=0, participants=participants, length_days=length, start_date=date(2026, 1, 1), handoff=time(hour)
    )
    start = datetime(2026, 1, 2, tzinfo=UTC) + timedelta(days=offset_days)
    tl = resolve(rotations=[rot], overrides=[], zone=ZONE, start=start, end=start + timedelta(days=40))
    assert tl.gaps == ()
    assert tl.overlaps == ()
    for left, right in zip(tl.segments, tl.segments[1:], strict=False):
        assert left.end == right.start
        assert left.person_id != right.person_id or people == 1
        local_handoff = right.start.astimezone(STHLM)
        if not (local_handoff.date() == date(2026, 3, 29) and hour == 2):
            assert local_handoff.hour == hour


@settings(max_examples=60, deadline=None)
@given(
    covers=st.lists(
        st.tuples(st.integers(min_value=0, max_value=13 * 24), st.integers(min_value=1, max_value=48)),
        min_size=1,
        max_size=6,
    ),
    probe=st.integers(min_value=0, max_value=14 * 24 * 60 - 1),
)
def test_an_override_always_wins_and_the_latest_override_wins_among_them(
    covers: list[tuple[int, int]], probe: int
) -> None:
    """Whatever the overrides, an instant inside one belongs to the latest override covering it,
    and every instant is covered once (no gaps: the rotation is under everything)."""
    base = datetime(2026, 3, 23, 7, tzinfo=UTC)  # the week of the spring switch
    rot = weekly(A, B, start=date(2026, 3, 16))
    made = [
        Cover(uuid.UUID(int=100 + n), base + timedelta(hours=h), base + timedelta(hours=h + length), seq=n)
        for n, (h, length) in enumerate(covers)
    ]
    tl = resolve(rotations=[rot], overrides=made, zone=ZONE, start=base, end=base + timedelta(days=14))
    at = base + timedelta(minutes=probe)
    holder = tl.at(at)
    assert holder is not None and tl.gaps == ()
    covering = [c for c in made if c.start <= at < c.end]
    if covering:
        assert holder.person_id == max(covering, key=lambda c: c.seq).person_id
        assert holder.source == "override"
    else:
        assert holder.source == "layer 0"
