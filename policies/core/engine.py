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

Speed: the facts of a recipient are compiled once per policy into segments of constant state
(`policies.core.segments`: flags, the on-call slot, the next allowed instant for each kind of
message), kept in the state's memo. A decision is then a binary search and a few comparisons;
decisions that do not depend on the message beyond its priority are shared objects
(`policies.core.outcomes`). `prepare` in `policies.core.segments` compiles a batch ahead.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from policies.core.outcomes import (
    DELIVER_INFO,
    DELIVER_NORMAL,
    DROP_EXPIRED,
    R_DND_ROLE,
    R_EMERGENCY,
    R_ON_CALL,
    R_ON_DUTY,
    R_OVERRIDE,
    contact,
    drop,
    hold,
    reroute,
)
from policies.core.rules import (
    OVERRIDE_BLOCKED,
    OVERRIDE_CAP,
    OVERRIDE_NOT_ALLOWED,
    OVERRIDE_REASON_MISSING,
    OVERRIDE_ROLE,
)
from policies.core.segments import (
    BLOCKS_NORMAL,
    BLOCKS_URGENT,
    DND,
    LEAVE,
    OFF,
    ON_CALL,
    WORK,
    Segments,
    SharedSegments,
    segments_for,
    state_names,
)
from policies.core.types import (
    DEFAULT_POLICY,
    Decision,
    MessageFacts,
    OnCallKind,
    PolicyParams,
    Reason,
    RecipientState,
    utc_from_ts,
)

__all__ = [
    "AvailabilityInterval",
    "OutsideHorizon",
    "availability",
    "decide",
    "decide_many",
]


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


def _decide(segs: Segments, state: RecipientState, message: MessageFacts, ts: float, at: datetime) -> Decision:
    """Apply `PRECEDENCE` top to bottom; the numbers are the rows of the table."""
    # 1. expired
    expires = message.expires_ts
    if expires is not None and ts >= expires:
        return DROP_EXPIRED
    starts = segs.starts
    if ts < starts[0] or ts >= segs.end:
        raise OutsideHorizon(f"{at.isoformat()} is outside the recipient's state horizon")
    index = bisect_right(starts, ts) - 1
    flags = segs.flags[index]
    priority = message.priority

    if priority == "info" or priority == "normal":
        # 3 leave, 5 dnd and 8-11 block; otherwise 12. working_time delivers.
        if not flags & BLOCKS_NORMAL:
            return DELIVER_NORMAL if priority == "normal" else DELIVER_INFO
        # 13. reroute (normal only: info never interrupts anyone)
        if priority == "normal" and message.audience_role is not None:
            covering = _cover(state, message, at)
            if covering is not None:
                return reroute(flags, covering)
        # 15. hold, 16. expires_before_release
        release = segs.next_normal(index)
        if expires is not None and (release if release is not None else segs.end) >= expires:
            return drop(flags, None)
        return hold(release, segs.end, flags, None)

    slot = segs.slot_at(ts) if flags & ON_CALL else None
    # 2. emergency
    if priority == "emergency":
        return contact(segs, state, message, flags, slot, ts, "emergency", R_EMERGENCY, "critical")

    # urgent. 3. leave blocks everything below.
    if not flags & LEAVE:
        if flags & DND:
            # 4. dnd.on_call_role; otherwise 5. dnd blocks.
            if slot is not None and slot.role == message.audience_role:
                return contact(segs, state, message, flags, slot, ts, "on_call", R_DND_ROLE)
        elif slot is not None:
            # 6. on_call
            return contact(segs, state, message, flags, slot, ts, "on_call", R_ON_CALL)
        elif flags & WORK:
            # 7. on_duty
            return contact(segs, state, message, flags, slot, ts, "on_duty", R_ON_DUTY)

    # 8-11 are the states the reasons name. 13. reroute
    if message.audience_role is not None:
        covering = _cover(state, message, at)
        if covering is not None:
            return reroute(flags, covering)

    # 14. override (never through leave or DND)
    extra: Reason | None = None
    release = segs.next_urgent(index)
    if message.override_reason is not None:
        extra = _override_refusal(state, message, segs.policy)
        if extra is None:
            if not flags & BLOCKS_URGENT:
                return contact(segs, state, message, flags, slot, ts, "override", R_OVERRIDE)
            # The override is the sender's judgement about now: held, it waits like any urgent
            # message (and is released as one, without the override).
            extra = OVERRIDE_BLOCKED

    # 15. hold, 16. expires_before_release
    if not flags & WORK:
        flags |= OFF
    if expires is not None and (release if release is not None else segs.end) >= expires:
        return drop(flags, extra)
    return hold(release, segs.end, flags, extra)


def decide(state: RecipientState, message: MessageFacts, policy: PolicyParams, at: datetime) -> Decision:
    """Decide what happens to `message` for the recipient described by `state` at `at`."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be a timezone-aware instant")
    return _decide(segments_for(state, policy), state, message, at.timestamp(), at)


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
    shared: SharedSegments = {}
    if isinstance(policies, PolicyParams):
        for state in states:
            out[state.person_id] = _decide(segments_for(state, policies, shared), state, message, ts, at)
        return out
    get = policies.get
    for state in states:
        policy = get(state.person_id, DEFAULT_POLICY)
        out[state.person_id] = _decide(segments_for(state, policy, shared), state, message, ts, at)
    return out


_Key = tuple[str, int, float | None, OnCallKind | None, str | None]


def availability(
    state: RecipientState, policy: PolicyParams, start: datetime, end: datetime
) -> tuple[AvailabilityInterval, ...]:
    """The person's time in [start, end) as intervals: reachable, on call, or held until when.

    "Reachable" means a `normal` message would interrupt; "on call" that an `urgent` one would;
    "held" carries the instant held messages are released.
    """
    segs = segments_for(state, policy)
    a = max(start.timestamp(), segs.starts[0])
    b = min(end.timestamp(), segs.end)
    if b <= a:
        return ()
    # Segment edges, plus the edges of on-call slots (a change of slot is a change of role).
    edges = sorted(
        {t for t in segs.starts if a < t < b}
        | {t for start, stop, _ in segs.slots for t in (start, stop) if a < t < b}
        | {a}
    )
    pieces: list[tuple[float, float, _Key]] = []
    for n, seg_start in enumerate(edges):
        seg_end = edges[n + 1] if n + 1 < len(edges) else b
        index = bisect_right(segs.starts, seg_start) - 1
        flags = segs.flags[index]
        slot = segs.slot_at(seg_start) if flags & ON_CALL else None
        held_until: float | None = None
        if not flags & BLOCKS_NORMAL:
            status = "reachable"
        else:
            status = "on_call" if slot is not None and not flags & BLOCKS_URGENT else "held"
            nxt = segs.next_normal(index)
            held_until = nxt if nxt is not None else segs.end
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
                states=state_names(blocked),
                held_until=utc_from_ts(held) if held is not None else None,
                on_call=kind,
                role=role,
            )
        )
    return tuple(out)
