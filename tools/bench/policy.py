"""Benchmark of the decision engine: `vila bench policy [--recipients N] [--json]`.

The pure engine decides messages of every priority for N synthetic recipients with varied
schedules (rotating shifts, day workers, quiet hours, DND, leave, stand-by, restarted rest) and
three policies. With a database URL it also times a 10,000-recipient preview: load availability
from the database (`policies.states.load_states` and `policies_for`) and decide.
"""

from __future__ import annotations

import gc
import random
import time as clock
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4

from policies.core.engine import decide_many
from policies.core.segments import prepare
from policies.core.types import (
    Interval,
    MessageFacts,
    OnCallSlot,
    PolicyParams,
    RecipientState,
)
from policies.core.wallclock import ALL_DAYS, expand_weekly, wall_instant

ZONE = "Europe/Stockholm"
WEEKDAYS_MON_FRI = 0b0011111
LOOKBACK = timedelta(days=3)
HORIZON = timedelta(days=7)

POLICIES = (
    PolicyParams(name="default"),
    PolicyParams(name="day workers", hold_target="morning", morning_time=time(7, 30)),
    PolicyParams(
        name="acute care",
        urgent_override_allowed=True,
        override_roles=frozenset({"manager"}),
        override_weekly_cap=3,
    ),
)

SHIFTS = ((time(7, 0), time(15, 30)), (time(13, 0), time(21, 30)), (time(21, 0), time(7, 30)))


def bench_instant() -> datetime:
    """A Tuesday evening in March 2026: some at work, some in rest, some on call."""
    return wall_instant(ZONE, date(2026, 3, 10), time(19, 45))


def synthetic_states(
    count: int, at: datetime, *, seed: int = 7
) -> tuple[list[RecipientState], dict[UUID, PolicyParams]]:
    """`count` recipients with varied, realistic schedules around `at`."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    start, end = at - LOOKBACK, at + HORIZON
    first = (at - timedelta(days=1)).date()
    last = end.date()
    day_hours = expand_weekly(ZONE, WEEKDAYS_MON_FRI, time(8, 0), time(16, 30), first, last)
    quiet_night = expand_weekly(ZONE, ALL_DAYS, time(22, 0), time(7, 0), first, last)
    quiet_weekend = expand_weekly(ZONE, 0b1100000, time(0, 0), time(0, 0), first, last)
    days = [
        first + timedelta(days=n)
        for n in range(
            (start - timedelta(days=1)).date().toordinal() - first.toordinal(),
            (last - first).days + 1,
        )
    ]
    shift_instants = [
        [
            Interval(
                wall_instant(ZONE, day, s),
                wall_instant(ZONE, day + timedelta(days=1) if e <= s else day, e),
            )
            for day in days
        ]
        for s, e in SHIFTS
    ]
    states: list[RecipientState] = []
    policies: dict[UUID, PolicyParams] = {}
    for _ in range(count):
        person = uuid4()
        kind = rng.random()
        shifts: tuple[Interval, ...] = ()
        weekly: tuple[Interval, ...] = ()
        if kind < 0.5:
            # Shift worker: one of three shifts, four on, two off, with an offset.
            pattern = rng.randrange(3)
            offset = rng.randrange(6)
            overtime = timedelta(minutes=rng.choice((0, 0, 0, 30, 90)))
            shifts = tuple(
                Interval(iv.start, iv.end + overtime)
                for n, iv in enumerate(shift_instants[pattern])
                if (n + offset) % 6 < 4
            )
            policy = POLICIES[2] if rng.random() < 0.5 else POLICIES[0]
        else:
            weekly = day_hours
            policy = POLICIES[1] if rng.random() < 0.7 else POLICIES[0]
        quiet: tuple[Interval, ...] = ()
        roll = rng.random()
        if roll < 0.5:
            quiet = quiet_night
        elif roll < 0.6:
            quiet = quiet_weekend
        dnd: tuple[Interval, ...] = ()
        if rng.random() < 0.1:
            begin = at - timedelta(minutes=rng.randrange(60))
            dnd = (Interval(begin, begin + timedelta(minutes=rng.choice((15, 30, 60)))),)
        leave: tuple[Interval, ...] = ()
        if rng.random() < 0.05:
            begin = at - timedelta(days=rng.randrange(1, 5))
            leave = (Interval(begin, begin + timedelta(days=rng.randrange(3, 10))),)
        on_call: tuple[OnCallSlot, ...] = ()
        restarts: tuple[datetime, ...] = ()
        if rng.random() < 0.1:
            begin = wall_instant(ZONE, at.date(), time(17, 0))
            on_call = (
                OnCallSlot(
                    begin,
                    begin + timedelta(hours=15),
                    "beredskap" if rng.random() < 0.7 else "jour",
                    "ssk-beredskap",
                ),
            )
            if rng.random() < 0.3:
                restarts = (at - timedelta(hours=rng.randrange(2, 30)),)
        states.append(
            RecipientState(
                person_id=person,
                zone=ZONE,
                horizon=Interval(at, end),
                shifts=shifts,
                weekly_hours=weekly,
                quiet=quiet,
                dnd=dnd,
                leave=leave,
                on_call=on_call,
                rest_restarts=restarts,
                overrides_7d=rng.randrange(4),
            )
        )
        policies[person] = policy
    return states, policies


def messages(at: datetime) -> list[MessageFacts]:
    sender = uuid4()
    return [
        MessageFacts(priority="info", sender_id=sender),
        MessageFacts(priority="normal", sender_id=sender, expires_at=at + timedelta(hours=12)),
        MessageFacts(
            priority="urgent",
            sender_id=sender,
            sender_roles=frozenset({"manager"}),
            override_reason="Akut bemanningsbrist",
        ),
        MessageFacts(priority="emergency", sender_id=sender, override_reason="Stort larm"),
    ]


def run_engine(recipients: int, *, seed: int = 7) -> dict[str, Any]:
    at = bench_instant()
    states, policies = synthetic_states(recipients, at, seed=seed)
    gc.collect()
    began = clock.perf_counter()
    prepare(states, policies)
    prepare_s = clock.perf_counter() - began

    kinds: Counter[str] = Counter()
    decisions = 0
    began = clock.perf_counter()
    for message in messages(at):
        result = decide_many(states, message, policies, at)
        decisions += len(result)
        kinds.update(decision.kind for decision in result.values())
    seconds = clock.perf_counter() - began
    return {
        "recipients": recipients,
        "decisions": decisions,
        "seconds": round(seconds, 4),
        "decisions_per_s": round(decisions / seconds),
        "prepare_seconds": round(prepare_s, 4),
        "prepare_per_s": round(recipients / prepare_s),
        "decisions_by_kind": dict(sorted(kinds.items())),
    }


def run_preview(database_url: str, recipients: int = 10_000) -> dict[str, Any]:
    """Write `recipients` people with schedules to a database of its own, then time load + decide."""
    from tools.bench.policy_db import preview

    result: dict[str, Any] = preview(database_url, recipients, at=bench_instant())
    return result


def run(recipients: int = 100_000, *, database_url: str | None = None) -> dict[str, Any]:
    result = run_engine(recipients)
    if database_url:
        result["preview"] = run_preview(database_url)
    result["at"] = bench_instant().astimezone(UTC).isoformat()
    return result
