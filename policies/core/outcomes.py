"""The decisions the engine hands out, built once and shared between recipients that share them.

A decision depends on little more than the segment's flags, the rule that decided and the release
instant, so equal ones are interned (the table empties itself when it grows large). A delivery
during rest, leave or DND carries the rest-ledger note: which states it broke, whether it restarts
rest, and the compensatory rest owed and by which day.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from datetime import date, timedelta
from functools import lru_cache
from uuid import UUID

from policies.core.rules import HORIZON, reason
from policies.core.segments import BLOCKS_NORMAL, CONTACT_STATES, REST, WEEKLY, Segments, state_names
from policies.core.types import (
    ContactKind,
    Decision,
    LedgerNote,
    Level,
    MessageFacts,
    OnCallSlot,
    Reason,
    RecipientState,
    utc_from_ts,
)
from policies.core.wallclock import local_date

__all__ = [
    "DELIVER_INFO",
    "DELIVER_NORMAL",
    "DROP_EXPIRED",
    "R_DND_ROLE",
    "R_EMERGENCY",
    "R_ON_CALL",
    "R_ON_DUTY",
    "R_OVERRIDE",
    "contact",
    "drop",
    "hold",
    "reroute",
]

# Interned decisions are shared between recipients; the table is emptied when it grows large.
_INTERN_LIMIT = 200_000


@lru_cache(maxsize=1024)
def _state_reasons(flags: int) -> tuple[Reason, ...]:
    return tuple(reason(name) for name in state_names(flags & BLOCKS_NORMAL))


@lru_cache(maxsize=4096)
def _due_day(zone: str, ts: float, days: int) -> date:
    return local_date(zone, utc_from_ts(ts)) + timedelta(days=days)


_R_EXPIRED = reason("expired")
R_EMERGENCY = reason("emergency")
R_DND_ROLE = reason("dnd.on_call_role")
R_ON_CALL = reason("on_call")
R_ON_DUTY = reason("on_duty")
_R_WORKING = reason("working_time")
_R_REROUTE = reason("reroute")
R_OVERRIDE = reason("override")
_R_HOLD = reason("hold")
_R_EXPIRES = reason("expires_before_release")

DROP_EXPIRED = Decision("drop", (_R_EXPIRED,))
DELIVER_INFO = Decision("deliver", (_R_WORKING,), level="passive")
DELIVER_NORMAL = Decision("deliver", (_R_WORKING,), level="active")
_DELIVER_PLAIN = {
    "on_call": Decision("deliver", (R_ON_CALL,), level="time_sensitive"),
    "on_duty": Decision("deliver", (R_ON_DUTY,), level="time_sensitive"),
    "dnd.on_call_role": Decision("deliver", (R_DND_ROLE,), level="time_sensitive"),
}

_interned: dict[tuple[object, ...], Decision] = {}


def _intern(key: tuple[object, ...], make: Callable[[], Decision]) -> Decision:
    found = _interned.get(key)
    if found is None:
        if len(_interned) >= _INTERN_LIMIT:
            _interned.clear()
        found = _interned[key] = make()
    return found


def hold(release: float | None, end: float, flags: int, extra: Reason | None) -> Decision:
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


def drop(flags: int, extra: Reason | None) -> Decision:
    key = ("drop", flags & BLOCKS_NORMAL, extra)
    more = (extra,) if extra is not None else ()
    return _intern(key, lambda: Decision("drop", (*_state_reasons(flags), *more, _R_EXPIRES)))


def reroute(flags: int, person: UUID) -> Decision:
    key = ("reroute", flags & BLOCKS_NORMAL, person)
    return _intern(key, lambda: Decision("reroute", (*_state_reasons(flags), _R_REROUTE), reroute_to=person))


def _short(required: float, rest: float) -> int:
    """Whole minutes by which `rest` seconds fall short of `required` seconds."""
    return max(0, math.ceil((required - rest) / 60 - 1e-9))


def contact(
    segs: Segments,
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
    policy = segs.policy
    owed = 0
    due = None
    restarts = bool(flags & REST)
    if restarts:
        required = (policy.weekly_rest_hours if flags & WEEKLY else policy.daily_rest_hours) * 3600
        k = bisect_right(segs.work_starts, ts)
        if k < len(segs.work_starts):
            following = segs.work_starts[k]
            owed = _short(required, following - ts)
            # Lost rest is counted per rest period: an earlier contact in the same period has
            # already been charged what the period lost up to it, so this one owes the rest.
            j = bisect_left(segs.restarts, ts)
            if j and segs.restarts[j - 1] >= (segs.work_ends[k - 1] if k else -math.inf):
                owed = max(0, owed - _short(required, following - segs.restarts[j - 1]))
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
                states=state_names(hit),
                on_call=on_call,
                restarts_rest=restarts,
                compensatory_minutes=owed,
                compensatory_due=due,
                reason=stated,
            ),
        ),
    )
