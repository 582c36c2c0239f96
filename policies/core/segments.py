"""A recipient's facts compiled, once per policy, into segments of constant state for the engine.

A segment carries flags (leave, DND, rest, quiet hours, off duty, work, the morning digest window,
on call); the compiled `Segments` also keep the on-call slots, the starts and ends of work and the
instants at which a contact restarted rest, so that a decision is a binary search and a few
comparisons. People with the same facts under the same policy share one compiled `Segments` within
a batch, and a state keeps the last one compiled in its memo.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from functools import lru_cache
from uuid import UUID

from policies.core.types import (
    DEFAULT_POLICY,
    Interval,
    OnCallSlot,
    PolicyParams,
    RecipientState,
)
from policies.core.wallclock import day_edges, local_days, spans_of

__all__ = [
    "BLOCKS_NORMAL",
    "BLOCKS_URGENT",
    "CONTACT_STATES",
    "DAILY",
    "DIGEST",
    "DND",
    "LEAVE",
    "OFF",
    "ON_CALL",
    "QUIET",
    "REST",
    "WEEKLY",
    "WORK",
    "Segments",
    "SharedSegments",
    "prepare",
    "segments_for",
    "state_names",
]

# Segment flags.
LEAVE = 1
DND = 2
WEEKLY = 4
DAILY = 8
QUIET = 16
OFF = 32
WORK = 64
DIGEST = 128
ON_CALL = 256
REST = WEEKLY | DAILY
# What holds info and normal messages.
BLOCKS_NORMAL = LEAVE | DND | WEEKLY | DAILY | QUIET | OFF
# The states a contact is recorded with in the rest ledger.
CONTACT_STATES = LEAVE | DND | WEEKLY | DAILY | QUIET
# What holds even urgent messages (nothing but an emergency passes them).
BLOCKS_URGENT = LEAVE | DND

_STATE_BITS: tuple[tuple[int, str], ...] = (
    (LEAVE, "leave"),
    (DND, "dnd"),
    (WEEKLY, "weekly_rest"),
    (DAILY, "daily_rest"),
    (QUIET, "quiet_hours"),
    (OFF, "off_duty"),
)
_MORNING_WINDOW_S = 60.0


@lru_cache(maxsize=1024)
def state_names(flags: int) -> tuple[str, ...]:
    """Every state named by the flags, `off_duty` included when another rule also blocks: a
    person in daily rest outside working time is held by both, and the reasons say so."""
    return tuple(name for bit, name in _STATE_BITS if flags & bit)


class Segments:
    """A recipient's facts under one policy, as segments [starts[i], starts[i+1]) with
    constant flags; the last segment ends at `end` (the end of the horizon)."""

    __slots__ = ("end", "flags", "policy", "restarts", "slots", "starts", "work_ends", "work_starts")

    def __init__(
        self,
        policy: PolicyParams,
        starts: list[float],
        end: float,
        flags: list[int],
        slots: list[tuple[float, float, OnCallSlot]],
        work_starts: list[float],
        work_ends: list[float] | None = None,
        restarts: list[float] | None = None,
    ) -> None:
        self.policy = policy
        self.starts = starts
        self.end = end
        self.flags = flags
        self.slots = slots
        self.work_starts = work_starts
        self.work_ends = work_ends if work_ends is not None else []
        self.restarts = restarts if restarts is not None else []

    def slot_at(self, ts: float) -> OnCallSlot | None:
        for start, end, slot in self.slots:
            if start <= ts < end:
                return slot
        return None

    def next_normal(self, index: int) -> float | None:
        """The first instant after segment `index` at which info and normal may interrupt."""
        flags = self.flags
        for k in range(index + 1, len(flags)):
            if not flags[k] & BLOCKS_NORMAL:
                return self.starts[k]
        return None

    def next_urgent(self, index: int) -> float | None:
        """The first instant after segment `index` at work or on call, not on leave or DND."""
        flags = self.flags
        for k in range(index + 1, len(flags)):
            f = flags[k]
            if not f & BLOCKS_URGENT and f & (WORK | ON_CALL):
                return self.starts[k]
        return None


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sort and merge overlapping or touching spans."""
    if len(spans) < 2:
        return spans
    spans.sort()
    merged = [spans[0]]
    last_start, last_end = spans[0]
    for start, end in spans:
        if start <= last_end:
            if end > last_end:
                last_end = end
                merged[-1] = (last_start, end)
        else:
            merged.append((start, end))
            last_start, last_end = start, end
    return merged


def _rest_windows(
    breakers: list[tuple[float, float]], length: float, horizon_end: float, whole_gap: bool
) -> list[tuple[float, float]]:
    """Rest windows after each end of work: [end, end + length), cut at the next start.

    With `whole_gap` (weekly rest) a window exists only where the gap until the next start is at
    least `length`; a gap that runs past the horizon counts when the horizon already shows it.
    """
    windows: list[tuple[float, float]] = []
    if length <= 0:
        return windows
    count = len(breakers)
    for index in range(count):
        end = breakers[index][1]
        following = breakers[index + 1][0] if index + 1 < count else math.inf
        if whole_gap and (horizon_end if following == math.inf else following) - end < length:
            continue
        close = end + length
        if following < close:
            close = following
        if close > end:
            windows.append((end, close))
    return windows


def _spans(intervals: tuple[Interval, ...]) -> list[tuple[float, float]]:
    if not intervals:
        return []
    return spans_of(intervals)


def _compile(state: RecipientState, policy: PolicyParams) -> Segments:
    """Turn the facts into segments of constant state with one sweep over their edges."""
    h0 = state.horizon.start.timestamp()
    h1 = state.horizon.end.timestamp()
    sources = policy.working_time

    raw_work: list[tuple[float, float]] = []
    if "shift" in sources and state.shifts:
        raw_work.extend(_spans(state.shifts))
    if "weekly_hours" in sources and state.weekly_hours:
        raw_work.extend(_spans(state.weekly_hours))
    standby: list[tuple[float, float]] = []
    slots: list[tuple[float, float, OnCallSlot]] = []
    for slot in state.on_call:
        a, b = slot.start.timestamp(), slot.end.timestamp()
        if b <= a:
            continue
        slots.append((a, b, slot))
        if slot.kind in sources:
            raw_work.append((a, b))
        elif slot.kind == "beredskap":
            standby.append((a, b))
    if len(slots) > 1:
        slots.sort(key=lambda item: (item[0], item[1], item[2].role))
    work = _merge(raw_work)

    # The rest clock starts at each end of work, and again at each contact that broke rest.
    points = [(t.timestamp(), t.timestamp()) for t in state.rest_restarts]
    if state.last_work_end is not None:
        end = state.last_work_end.timestamp()
        points.append((end, end))
    daily_breakers = _merge(work + points) if points else work
    daily = _rest_windows(daily_breakers, policy.daily_rest_hours * 3600, h1, False)
    # Stand-by does not count toward weekly rest: it breaks the gap like work does.
    weekly_breakers = _merge(work + standby + points) if standby or points else work
    weekly = _rest_windows(weekly_breakers, policy.weekly_rest_hours * 3600, h1, True)

    digest: list[tuple[float, float]] = []
    if policy.hold_target == "morning" and work:
        work_starts_all = [s for s, _ in work]
        days = local_days(state.zone, state.horizon.start, state.horizon.end)
        edges = day_edges(
            state.zone,
            days[0].toordinal(),
            days[-1].toordinal(),
            policy.morning_time.hour,
            policy.morning_time.minute,
        )
        for day_start, day_end, morning in edges:
            # A working day: some work interval overlaps the local day.
            k = bisect_left(work_starts_all, day_end)
            if k and work[k - 1][1] > day_start:
                digest.append((morning, morning + _MORNING_WINDOW_S))

    # Each category is merged, so its spans never overlap: an edge toggles its bit.
    events: list[tuple[float, int]] = []
    for spans, bit in (
        (work, WORK),
        (daily, DAILY),
        (weekly, WEEKLY),
        (digest, DIGEST),
        (_merge(list(_spans(state.quiet))), QUIET),
        (_merge(list(_spans(state.dnd))), DND),
        (_merge(list(_spans(state.leave))), LEAVE),
        (_merge([(a, b) for a, b, _ in slots]), ON_CALL),
    ):
        for a, b in spans:
            if b <= h0 or a >= h1:
                continue
            events.append((a if a > h0 else h0, bit))
            if b < h1:
                events.append((b, bit))
    events.sort()

    starts: list[float] = []
    flags: list[int] = []
    current = 0
    at = h0
    for t, bit in events:
        if t > at:
            segment = current if current & (WORK | DIGEST) else current | OFF
            if not flags or flags[-1] != segment:
                starts.append(at)
                flags.append(segment)
            at = t
        current ^= bit
    segment = current if current & (WORK | DIGEST) else current | OFF
    if not flags or flags[-1] != segment:
        starts.append(at)
        flags.append(segment)
    return Segments(
        policy,
        starts,
        h1,
        flags,
        slots,
        [s for s, _ in work],
        [e for _, e in work],
        sorted(t.timestamp() for t in state.rest_restarts),
    )


# Compiled segments of one batch, by policy and facts: people with the same facts (a unit's
# day workers, a shared roster pattern) share one `Segments` instead of compiling it each.
SharedSegments = dict[tuple[object, ...], Segments]


def segments_for(state: RecipientState, policy: PolicyParams, shared: SharedSegments | None = None) -> Segments:
    """The state's segments under `policy`: from its memo, from `shared`, or compiled now."""
    memo = state._memo
    if memo and memo[0] is policy:
        compiled: Segments = memo[1]
        return compiled
    if shared is None:
        compiled = _compile(state, policy)
    else:
        # Everything `_compile` reads; the policy by identity (it outlives the batch).
        key = (
            id(policy),
            state.zone,
            state.horizon,
            state.shifts,
            state.weekly_hours,
            state.quiet,
            state.dnd,
            state.leave,
            state.on_call,
            state.last_work_end,
            state.rest_restarts,
        )
        found = shared.get(key)
        if found is None:
            found = shared[key] = _compile(state, policy)
        compiled = found
    memo[:] = [policy, compiled]
    return compiled


def prepare(states: Iterable[RecipientState], policies: Mapping[UUID, PolicyParams] | PolicyParams) -> None:
    """Compile each state's segments for its policy ahead of the decisions (optional)."""
    shared: SharedSegments = {}
    for state in states:
        if isinstance(policies, PolicyParams):
            segments_for(state, policies, shared)
        else:
            segments_for(state, policies.get(state.person_id, DEFAULT_POLICY), shared)
