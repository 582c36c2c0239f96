"""The decision engine: one recipient, one message, one instant -> one explained decision.

Contract (the messaging pipeline calls exactly this)::

    decide(state: RecipientState, message: MessageFacts, policy: PolicyParams, at: datetime)
        -> Decision
    decide_many(states, message, policies, at) -> dict[UUID, Decision]

* Pure and deterministic: the result depends only on the arguments. Nothing here reads a clock,
  a database or the environment; `at` must be timezone-aware and inside `state.horizon`.
* `Decision.kind` is `deliver` (with `level` passive|active|time_sensitive|critical), `hold`
  (with `release_at`, the earliest instant at which the message may interrupt), `reroute`
  (with `reroute_to`, the person on call for the addressed role) or `drop`.
* `Decision.reasons` lists the rules that produced it (rule id, Swedish and English text), in
  precedence order; `Decision.ledger` is set when the contact must be written to the rest ledger.
* Precedence is the table `policies.core.rules.PRECEDENCE` (and `docs/policy-engine.md`); `_decide`
  below applies it top to bottom, one labelled step per rule.

Speed: the facts of a recipient are compiled once per policy into a timeline of segments with
constant state (flags, the on-call slot, the next allowed instant for each kind of message), and
kept in the state's memo. A decision is then a binary search and a few comparisons; decisions
that do not depend on the message beyond its priority are shared objects.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from uuid import UUID

from policies.core.rules import (
    HORIZON,
    OVERRIDE_BLOCKED,
    OVERRIDE_CAP,
    OVERRIDE_NOT_ALLOWED,
    OVERRIDE_REASON_MISSING,
    OVERRIDE_ROLE,
    reason,
)
from policies.core.types import (
    DEFAULT_POLICY,
    ContactKind,
    Decision,
    Interval,
    LedgerNote,
    Level,
    MessageFacts,
    OnCallKind,
    OnCallSlot,
    PolicyParams,
    Reason,
    RecipientState,
    utc_from_ts,
)
from policies.core.wallclock import day_edges, local_date, local_days, spans_of

__all__ = [
    "AvailabilityInterval",
    "OutsideHorizon",
    "availability",
    "decide",
    "decide_many",
    "prepare",
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
_BLOCKS_URGENT = LEAVE | DND

_STATE_BITS: tuple[tuple[int, str], ...] = (
    (LEAVE, "leave"),
    (DND, "dnd"),
    (WEEKLY, "weekly_rest"),
    (DAILY, "daily_rest"),
    (QUIET, "quiet_hours"),
    (OFF, "off_duty"),
)
_MORNING_WINDOW_S = 60.0
_MIDNIGHT = time(0, 0)
_ONE_DAY = timedelta(days=1)
# Interned decisions are shared between recipients; the table is emptied when it grows large.
_INTERN_LIMIT = 200_000


class OutsideHorizon(ValueError):
    """The instant lies outside the span of time the recipient's state describes."""


@dataclass(frozen=True, slots=True)
class AvailabilityInterval:
    """A span of a person's time with one status, for "my availability".

    `status` is `reachable` (normal messages interrupt), `on_call` (urgent ones do) or `held`
    (messages wait until `held_until`); `states` names what holds them.
    """

    start: datetime
    end: datetime
    status: str
    states: tuple[str, ...]
    held_until: datetime | None
    on_call: OnCallKind | None
    role: str | None


class _Timeline:
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
            if not f & _BLOCKS_URGENT and f & (WORK | ON_CALL):
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


def _compile(state: RecipientState, policy: PolicyParams) -> _Timeline:
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
    return _Timeline(
        policy,
        starts,
        h1,
        flags,
        slots,
        [s for s, _ in work],
        [e for _, e in work],
        sorted(t.timestamp() for t in state.rest_restarts),
    )


# Compiled timelines of one batch, by policy and facts: people with the same facts (a unit's
# day workers, a shared roster pattern) share one timeline instead of compiling it each.
_Shared = dict[tuple[object, ...], _Timeline]


def _timeline(state: RecipientState, policy: PolicyParams, shared: _Shared | None = None) -> _Timeline:
    memo = state._memo
    if memo and memo[0] is policy:
        timeline: _Timeline = memo[1]
        return timeline
    if shared is None:
        timeline = _compile(state, policy)
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
        timeline = found
    memo[:] = [policy, timeline]
    return timeline


def prepare(states: Iterable[RecipientState], policies: Mapping[UUID, PolicyParams] | PolicyParams) -> None:
    """Compile each state's timeline for its policy ahead of the decisions (optional)."""
    shared: _Shared = {}
    for state in states:
        if isinstance(policies, PolicyParams):
            _timeline(state, policies, shared)
        else:
            _timeline(state, policies.get(state.person_id, DEFAULT_POLICY), shared)


@lru_cache(maxsize=1024)
def _state_names(flags: int) -> tuple[str, ...]:
    """Every state named by the flags, `off_duty` included when another rule also blocks: a
    person in daily rest outside working time is held by both, and the reasons say so."""
    return tuple(name for bit, name in _STATE_BITS if flags & bit)


@lru_cache(maxsize=1024)
def _state_reasons(flags: int) -> tuple[Reason, ...]:
    return tuple(reason(name) for name in _state_names(flags & BLOCKS_NORMAL))


@lru_cache(maxsize=4096)
def _due_day(zone: str, ts: float, days: int) -> date:
    return local_date(zone, utc_from_ts(ts)) + timedelta(days=days)


_R_EXPIRED = reason("expired")
_R_EMERGENCY = reason("emergency")
_R_DND_ROLE = reason("dnd.on_call_role")
_R_ON_CALL = reason("on_call")
_R_ON_DUTY = reason("on_duty")
_R_WORKING = reason("working_time")
_R_REROUTE = reason("reroute")
_R_OVERRIDE = reason("override")
_R_HOLD = reason("hold")
_R_EXPIRES = reason("expires_before_release")

_DROP_EXPIRED = Decision("drop", (_R_EXPIRED,))
_DELIVER_INFO = Decision("deliver", (_R_WORKING,), level="passive")
_DELIVER_NORMAL = Decision("deliver", (_R_WORKING,), level="active")
_DELIVER_PLAIN = {
    "on_call": Decision("deliver", (_R_ON_CALL,), level="time_sensitive"),
    "on_duty": Decision("deliver", (_R_ON_DUTY,), level="time_sensitive"),
    "dnd.on_call_role": Decision("deliver", (_R_DND_ROLE,), level="time_sensitive"),
}

_interned: dict[tuple[object, ...], Decision] = {}


def _intern(key: tuple[object, ...], make: Callable[[], Decision]) -> Decision:
    found = _interned.get(key)
    if found is None:
        if len(_interned) >= _INTERN_LIMIT:
            _interned.clear()
        found = _interned[key] = make()
    return found


def _hold(release: float | None, end: float, flags: int, extra: Reason | None) -> Decision:
    key = ("hold", flags & BLOCKS_NORMAL, extra, release, end)
    found = _interned.get(key)
    if found is not None:
        return found
    more = (extra,) if extra is not None else ()
    if release is None:
        reasons = (*_state_reasons(flags), *more, _R_HOLD, HORIZON)
        release = end
    else:
        reasons = (*_state_reasons(flags), *more, _R_HOLD)
    return _intern(key, lambda: Decision("hold", reasons, release_at=utc_from_ts(release)))


def _drop(flags: int, extra: Reason | None) -> Decision:
    key = ("drop", flags & BLOCKS_NORMAL, extra)
    more = (extra,) if extra is not None else ()
    return _intern(key, lambda: Decision("drop", (*_state_reasons(flags), *more, _R_EXPIRES)))


def _reroute(flags: int, person: UUID) -> Decision:
    key = ("reroute", flags & BLOCKS_NORMAL, person)
    return _intern(key, lambda: Decision("reroute", (*_state_reasons(flags), _R_REROUTE), reroute_to=person))


def _short(required: float, rest: float) -> int:
    """Whole minutes by which `rest` seconds fall short of `required` seconds."""
    return max(0, math.ceil((required - rest) / 60 - 1e-9))


def _contact(
    tl: _Timeline,
    state: RecipientState,
    message: MessageFacts,
    flags: int,
    slot: OnCallSlot | None,
    ts: float,
    kind: ContactKind,
    rule: Reason,
    level: Level = "time_sensitive",
) -> Decision:
    """A delivery that may be a contact during rest: add the ledger note when it is."""
    hit = flags & CONTACT_STATES
    if not hit and kind in ("on_call", "on_duty"):
        return _DELIVER_PLAIN[rule.rule]
    policy = tl.policy
    owed = 0
    due = None
    restarts = bool(flags & REST)
    if restarts:
        required = (policy.weekly_rest_hours if flags & WEEKLY else policy.daily_rest_hours) * 3600
        k = bisect_right(tl.work_starts, ts)
        if k < len(tl.work_starts):
            following = tl.work_starts[k]
            owed = _short(required, following - ts)
            # Lost rest is counted per rest period: an earlier contact in the same period has
            # already been charged what the period lost up to it, so this one owes the rest.
            j = bisect_left(tl.restarts, ts)
            if j and tl.restarts[j - 1] >= (tl.work_ends[k - 1] if k else -math.inf):
                owed = max(0, owed - _short(required, following - tl.restarts[j - 1]))
        if owed:
            due = _due_day(state.zone, ts, policy.compensatory_days)
    stated = message.override_reason if kind in ("emergency", "override") else None
    on_call = slot.kind if slot is not None else None
    key = ("deliver", kind, rule.rule, level, hit, on_call, restarts, owed, due, stated)
    return _intern(
        key,
        lambda: Decision(
            "deliver",
            (rule, *_state_reasons(hit)),
            level=level,
            ledger=LedgerNote(
                kind=kind,
                states=_state_names(hit),
                on_call=on_call,
                restarts_rest=restarts,
                compensatory_minutes=owed,
                compensatory_due=due,
                reason=stated,
            ),
        ),
    )


def _cover(state: RecipientState, message: MessageFacts, at: datetime) -> UUID | None:
    role = message.audience_role
    for slot in message.cover:
        if (
            slot.role == role
            and slot.person_id is not None
            and slot.person_id != state.person_id
            and slot.start <= at < slot.end
        ):
            return slot.person_id
    return None


def _override_refusal(state: RecipientState, message: MessageFacts, policy: PolicyParams) -> Reason | None:
    if not policy.urgent_override_allowed:
        return OVERRIDE_NOT_ALLOWED
    if not message.sender_roles & policy.override_roles:
        return OVERRIDE_ROLE
    if policy.override_reason_required and not (message.override_reason or "").strip():
        return OVERRIDE_REASON_MISSING
    if state.overrides_7d >= policy.override_weekly_cap:
        return OVERRIDE_CAP
    return None


def _decide(tl: _Timeline, state: RecipientState, message: MessageFacts, ts: float, at: datetime) -> Decision:
    """Apply `PRECEDENCE` top to bottom; the numbers are the rows of the table."""
    # 1. expired
    expires = message.expires_ts
    if expires is not None and ts >= expires:
        return _DROP_EXPIRED
    starts = tl.starts
    if ts < starts[0] or ts >= tl.end:
        raise OutsideHorizon(f"{at.isoformat()} is outside the recipient's state horizon")
    index = bisect_right(starts, ts) - 1
    flags = tl.flags[index]
    priority = message.priority

    if priority == "info" or priority == "normal":
        # 3 leave, 5 dnd and 8-11 block; otherwise 12. working_time delivers.
        if not flags & BLOCKS_NORMAL:
            return _DELIVER_NORMAL if priority == "normal" else _DELIVER_INFO
        # 13. reroute (normal only: info never interrupts anyone)
        if priority == "normal" and message.audience_role is not None:
            covering = _cover(state, message, at)
            if covering is not None:
                return _reroute(flags, covering)
        # 15. hold, 16. expires_before_release
        release = tl.next_normal(index)
        if expires is not None and (release if release is not None else tl.end) >= expires:
            return _drop(flags, None)
        return _hold(release, tl.end, flags, None)

    slot = tl.slot_at(ts) if flags & ON_CALL else None
    # 2. emergency
    if priority == "emergency":
        return _contact(tl, state, message, flags, slot, ts, "emergency", _R_EMERGENCY, "critical")

    # urgent. 3. leave blocks everything below.
    if not flags & LEAVE:
        if flags & DND:
            # 4. dnd.on_call_role; otherwise 5. dnd blocks.
            if slot is not None and slot.role == message.audience_role:
                return _contact(tl, state, message, flags, slot, ts, "on_call", _R_DND_ROLE)
        elif slot is not None:
            # 6. on_call
            return _contact(tl, state, message, flags, slot, ts, "on_call", _R_ON_CALL)
        elif flags & WORK:
            # 7. on_duty
            return _contact(tl, state, message, flags, slot, ts, "on_duty", _R_ON_DUTY)

    # 8-11 are the states the reasons name. 13. reroute
    if message.audience_role is not None:
        covering = _cover(state, message, at)
        if covering is not None:
            return _reroute(flags, covering)

    # 14. override (never through leave or DND)
    extra: Reason | None = None
    release = tl.next_urgent(index)
    if message.override_reason is not None:
        extra = _override_refusal(state, message, tl.policy)
        if extra is None:
            if not flags & _BLOCKS_URGENT:
                return _contact(tl, state, message, flags, slot, ts, "override", _R_OVERRIDE)
            # The override is the sender's judgement about now: held, it waits like any urgent
            # message (and is released as one, without the override).
            extra = OVERRIDE_BLOCKED

    # 15. hold, 16. expires_before_release
    if not flags & WORK:
        flags |= OFF
    if expires is not None and (release if release is not None else tl.end) >= expires:
        return _drop(flags, extra)
    return _hold(release, tl.end, flags, extra)


def decide(state: RecipientState, message: MessageFacts, policy: PolicyParams, at: datetime) -> Decision:
    """Decide what happens to `message` for the recipient described by `state` at `at`."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be a timezone-aware instant")
    return _decide(_timeline(state, policy), state, message, at.timestamp(), at)


def decide_many(
    states: Iterable[RecipientState],
    message: MessageFacts,
    policies: Mapping[UUID, PolicyParams] | PolicyParams,
    at: datetime,
) -> dict[UUID, Decision]:
    """`decide` for many recipients of one message at one instant, keyed by person id.

    `policies` is one policy for all, or a policy per person id (missing ones get the default).
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be a timezone-aware instant")
    ts = at.timestamp()
    out: dict[UUID, Decision] = {}
    shared: _Shared = {}
    if isinstance(policies, PolicyParams):
        for state in states:
            out[state.person_id] = _decide(_timeline(state, policies, shared), state, message, ts, at)
        return out
    get = policies.get
    for state in states:
        policy = get(state.person_id, DEFAULT_POLICY)
        out[state.person_id] = _decide(_timeline(state, policy, shared), state, message, ts, at)
    return out


_Key = tuple[str, int, float | None, OnCallKind | None, str | None]


def availability(
    state: RecipientState, policy: PolicyParams, start: datetime, end: datetime
) -> tuple[AvailabilityInterval, ...]:
    """The person's time in [start, end) as intervals: reachable, on call, or held until when.

    "Reachable" means a `normal` message would interrupt; "on call" that an `urgent` one would;
    "held" carries the instant held messages are released.
    """
    tl = _timeline(state, policy)
    a = max(start.timestamp(), tl.starts[0])
    b = min(end.timestamp(), tl.end)
    if b <= a:
        return ()
    # Segment edges, plus the edges of on-call slots (a change of slot is a change of role).
    edges = sorted(
        {t for t in tl.starts if a < t < b}
        | {t for start, stop, _ in tl.slots for t in (start, stop) if a < t < b}
        | {a}
    )
    pieces: list[tuple[float, float, _Key]] = []
    for n, seg_start in enumerate(edges):
        seg_end = edges[n + 1] if n + 1 < len(edges) else b
        index = bisect_right(tl.starts, seg_start) - 1
        flags = tl.flags[index]
        slot = tl.slot_at(seg_start) if flags & ON_CALL else None
        held_until: float | None = None
        if not flags & BLOCKS_NORMAL:
            status = "reachable"
        else:
            status = "on_call" if slot is not None and not flags & _BLOCKS_URGENT else "held"
            nxt = tl.next_normal(index)
            held_until = nxt if nxt is not None else tl.end
        key: _Key = (
            status,
            flags & BLOCKS_NORMAL,
            held_until,
            slot.kind if slot else None,
            slot.role if slot else None,
        )
        if pieces and pieces[-1][2] == key:
            pieces[-1] = (pieces[-1][0], seg_end, key)
        else:
            pieces.append((seg_start, seg_end, key))
    out: list[AvailabilityInterval] = []
    for seg_start, seg_end, key in pieces:
        status, blocked, held, kind, role = key
        out.append(
            AvailabilityInterval(
                start=utc_from_ts(seg_start),
                end=utc_from_ts(seg_end),
                status=status,
                states=_state_names(blocked),
                held_until=utc_from_ts(held) if held is not None else None,
                on_call=kind,
                role=role,
            )
        )
    return tuple(out)
