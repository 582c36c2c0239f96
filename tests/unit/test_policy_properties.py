"""Invariants of the engine for generated schedules and instants, DST switches included."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.core.engine import decide
from policies.core.types import DEFAULT_POLICY, Interval, MessageFacts, OnCallSlot, PolicyParams, RecipientState
from policies.core.wallclock import expand_weekly

ZONE = "Europe/Stockholm"
BASES = (
    datetime(2026, 3, 27, 0, tzinfo=UTC),  # spring switch on the 29th
    datetime(2026, 10, 23, 0, tzinfo=UTC),  # autumn switch on the 25th
    datetime(2026, 6, 8, 0, tzinfo=UTC),
)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
POLICIES = (DEFAULT_POLICY, PolicyParams(daily_rest_hours=9, weekly_rest_hours=30), PolicyParams(hold_target="morning"))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[RecipientState, datetime, PolicyParams]:
    base = draw(st.sampled_from(BASES))
    shifts: list[Interval] = []
    cursor = base - timedelta(hours=draw(st.integers(0, 30)))
    for _ in range(draw(st.integers(0, 8))):
        cursor += timedelta(minutes=draw(st.integers(4 * 60, 40 * 60)))
        length = timedelta(minutes=draw(st.integers(4 * 60, 12 * 60)))
        shifts.append(Interval(cursor, cursor + length))
        cursor += length
    q_start = time(draw(st.integers(18, 23)), draw(st.sampled_from((0, 30))))
    q_end = time(draw(st.integers(5, 8)), 0)
    quiet = (
        expand_weekly(
            ZONE, draw(st.integers(0, 127)), q_start, q_end, (base - 2 * HOUR * 24).date(), date(2026, 12, 31)
        )
        if draw(st.booleans())
        else ()
    )

    def spans(max_count: int, max_hours: int) -> tuple[Interval, ...]:
        out = []
        for _ in range(draw(st.integers(0, max_count))):
            start = base + timedelta(minutes=draw(st.integers(0, 7 * 24 * 60)))
            out.append(Interval(start, start + timedelta(minutes=draw(st.integers(15, max_hours * 60)))))
        return tuple(out)

    slots = tuple(
        OnCallSlot(iv.start, iv.end, draw(st.sampled_from(("jour", "beredskap"))), "ssk") for iv in spans(2, 16)
    )
    at = base + timedelta(minutes=draw(st.integers(0, 6 * 24 * 60)))
    state = RecipientState(
        person_id=uuid.UUID(int=7),
        zone=ZONE,
        horizon=Interval(at, base + timedelta(days=10)),
        shifts=tuple(shifts),
        quiet=tuple(iv for iv in quiet if iv.start < base + timedelta(days=11)),
        dnd=spans(2, 2),
        leave=spans(1, 72),
        on_call=slots,
        overrides_7d=draw(st.integers(0, 3)),
    )
    return state, at, draw(st.sampled_from(POLICIES))


def _in(intervals: tuple[Interval, ...], at: datetime) -> bool:
    return any(iv.start <= at < iv.end for iv in intervals)


def _in_daily_rest(state: RecipientState, policy: PolicyParams, at: datetime) -> bool:
    """An independent oracle: at is off work and less than the daily rest after the last end."""
    work = [iv for iv in state.shifts]
    work += [Interval(s.start, s.end) for s in state.on_call if s.kind in policy.working_time]
    if _in(tuple(work), at):
        return False
    ends = [iv.end for iv in work if iv.end <= at]
    return bool(ends) and at - max(ends) < timedelta(hours=policy.daily_rest_hours)


def _fresh(state: RecipientState) -> RecipientState:
    return RecipientState(
        person_id=state.person_id,
        zone=state.zone,
        horizon=state.horizon,
        shifts=state.shifts,
        quiet=state.quiet,
        dnd=state.dnd,
        leave=state.leave,
        on_call=state.on_call,
        overrides_7d=state.overrides_7d,
    )


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_normal_is_never_delivered_in_rest_quiet_hours_leave_or_dnd(
    case: tuple[RecipientState, datetime, PolicyParams],
) -> None:
    state, at, policy = case
    decision = decide(state, MessageFacts(priority="normal"), policy, at)
    if decision.kind == "deliver":
        assert not _in(state.quiet, at) and not _in(state.leave, at) and not _in(state.dnd, at)
        assert not _in_daily_rest(state, policy, at)


@settings(max_examples=120, deadline=None)
@given(scenarios())
def test_a_held_message_is_released_at_the_earliest_allowed_minute(
    case: tuple[RecipientState, datetime, PolicyParams],
) -> None:
    state, at, policy = case
    message = MessageFacts(priority="normal")
    decision = decide(state, message, policy, at)
    if decision.kind != "hold":
        return
    assert decision.release_at is not None and decision.release_at > at
    t = at + MINUTE
    while t < decision.release_at:
        assert decide(state, message, policy, t).kind != "deliver", f"allowed earlier, at {t}"
        t += MINUTE
    if decision.release_at < state.horizon.end:
        assert decide(state, message, policy, decision.release_at).kind == "deliver"


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.sampled_from(("info", "normal", "urgent", "emergency")))
def test_decisions_are_deterministic(case: tuple[RecipientState, datetime, PolicyParams], priority: str) -> None:
    state, at, policy = case
    message = MessageFacts(
        priority=priority,  # type: ignore[arg-type]
        sender_roles=frozenset({"manager"}),
        override_reason="Akut läge",
    )
    first = decide(state, message, policy, at)
    assert decide(_fresh(state), message, policy, at) == first == decide(state, message, policy, at)


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_an_emergency_always_carries_a_reason_and_is_ledgered_when_it_hits_rest(
    case: tuple[RecipientState, datetime, PolicyParams],
) -> None:
    state, at, policy = case
    decision = decide(state, MessageFacts(priority="emergency", override_reason="Stort larm"), policy, at)
    assert (decision.kind, decision.level, decision.rules[0]) == ("deliver", "critical", "emergency")
    assert decision.ledger is not None and decision.ledger.reason == "Stort larm"
    hits_rest = _in_daily_rest(state, policy, at) or _in(state.quiet, at) or _in(state.leave, at) or _in(state.dnd, at)
    if hits_rest:
        assert decision.ledger.states, "a contact during rest must name the rest it broke"
