"""The resolved timeline of an on-call roster: pure, deterministic, no I/O.

A roster has layers of rotations and overrides. A rotation hands off at a wall-clock time in the
roster's zone every `length_days` local days, walking through its participants in order, so a
weekly handoff on Monday 08:00 stays at 08:00 across daylight-saving switches (the UTC length of
that week is then 167 or 169 hours). Precedence, highest first:

    1. overrides (a person covers a span); between overlapping overrides the later-created wins
    2. layers, the one with the higher position first
    3. nobody: a gap

Every instant where more than one source claims the span is reported as an overlap (with who
won), and every instant nobody covers is reported as a gap; nothing is silently accepted.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from policies.core.wallclock import local_date, wall_instant


@dataclass(frozen=True)
class Rotation:
    """One layer: participants in order, each covering `length_days` local days from a handoff."""

    position: int
    participants: tuple[uuid.UUID, ...]
    length_days: int
    start_date: date
    handoff: time
    end_date: date | None = None  # the layer ends at the handoff on this local date


@dataclass(frozen=True)
class Cover:
    """An override: `person_id` covers [start, end). `seq` orders overlapping overrides."""

    person_id: uuid.UUID
    start: datetime
    end: datetime
    seq: int = 0


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime
    person_id: uuid.UUID
    source: str  # "override" or "layer <position>"


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Overlap:
    start: datetime
    end: datetime
    winner: str
    shadowed: tuple[str, ...]


@dataclass(frozen=True)
class Timeline:
    segments: tuple[Segment, ...]
    gaps: tuple[Span, ...]
    overlaps: tuple[Overlap, ...]

    def at(self, instant: datetime) -> Segment | None:
        for seg in self.segments:
            if seg.start <= instant < seg.end:
                return seg
        return None


@dataclass(frozen=True)
class _Claim:
    start: datetime
    end: datetime
    person_id: uuid.UUID
    rank: tuple[int, int]  # higher wins
    source: str


def rotation_segments(rotation: Rotation, zone: str, start: datetime, end: datetime) -> Iterator[Segment]:
    """The rotation's turns that overlap [start, end), in order."""
    if not rotation.participants or rotation.length_days < 1:
        return
    first_local = local_date(zone, start) - timedelta(days=rotation.length_days + 1)
    offset = max(0, (first_local - rotation.start_date).days // rotation.length_days)
    turn = offset
    while True:
        day = rotation.start_date + timedelta(days=turn * rotation.length_days)
        if rotation.end_date is not None and day >= rotation.end_date:
            return
        next_day = day + timedelta(days=rotation.length_days)
        if rotation.end_date is not None:
            next_day = min(next_day, rotation.end_date)
        seg_start = wall_instant(zone, day, rotation.handoff)
        if seg_start >= end:
            return
        seg_end = wall_instant(zone, next_day, rotation.handoff)
        if seg_end > start:
            person = rotation.participants[turn % len(rotation.participants)]
            yield Segment(seg_start, seg_end, person, f"layer {rotation.position}")
        turn += 1


def resolve(
    *, rotations: Sequence[Rotation], overrides: Sequence[Cover], zone: str, start: datetime, end: datetime
) -> Timeline:
    """The final timeline over [start, end): who covers each instant, and the gaps and overlaps."""
    if end <= start:
        return Timeline((), (), ())
    claims: list[_Claim] = []
    for rotation in rotations:
        for seg in rotation_segments(rotation, zone, start, end):
            claims.append(_Claim(seg.start, seg.end, seg.person_id, (0, rotation.position), seg.source))
    for cover in overrides:
        if cover.end > start and cover.start < end:
            claims.append(_Claim(cover.start, cover.end, cover.person_id, (1, cover.seq), "override"))

    edges = sorted({start, end, *(max(c.start, start) for c in claims), *(min(c.end, end) for c in claims)})
    edges = [e for e in edges if start <= e <= end]
    claims.sort(key=lambda c: c.start)
    segments: list[Segment] = []
    gaps: list[Span] = []
    overlaps: list[Overlap] = []
    active: list[_Claim] = []
    index = 0
    for left, right in itertools.pairwise(edges):
        while index < len(claims) and claims[index].start <= left:
            active.append(claims[index])
            index += 1
        active = [c for c in active if c.end > left]
        here = [c for c in active if c.start <= left]
        if not here:
            _extend_span(gaps, left, right)
            continue
        winner = max(here, key=lambda c: c.rank)
        _extend_segment(segments, Segment(left, right, winner.person_id, winner.source))
        others = tuple(sorted({c.source for c in here if c is not winner and c.person_id != winner.person_id}))
        if others:
            _extend_overlap(overlaps, Overlap(left, right, winner.source, others))
    return Timeline(tuple(segments), tuple(gaps), tuple(overlaps))


def _extend_span(spans: list[Span], left: datetime, right: datetime) -> None:
    if spans and spans[-1].end == left:
        spans[-1] = Span(spans[-1].start, right)
    else:
        spans.append(Span(left, right))


def _extend_segment(segments: list[Segment], seg: Segment) -> None:
    last = segments[-1] if segments else None
    if last and last.end == seg.start and last.person_id == seg.person_id and last.source == seg.source:
        segments[-1] = Segment(last.start, seg.end, seg.person_id, seg.source)
    else:
        segments.append(seg)


def _extend_overlap(overlaps: list[Overlap], item: Overlap) -> None:
    last = overlaps[-1] if overlaps else None
    if last and last.end == item.start and (last.winner, last.shadowed) == (item.winner, item.shadowed):
        overlaps[-1] = Overlap(last.start, item.end, item.winner, item.shadowed)
    else:
        overlaps.append(item)
