"""Value types of the decision engine: facts in, a decision out.

All instants are timezone-aware UTC datetimes. The types are frozen (and slotted) so that one
state, message or policy can be shared by any number of decisions without copying.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Literal, NamedTuple
from uuid import UUID

from kernel.vocabulary import PRIORITIES as PRIORITIES  # the engine's callers name them from here
from kernel.vocabulary import Priority as Priority

DecisionKind = Literal["deliver", "hold", "reroute", "drop"]
Level = Literal["passive", "active", "time_sensitive", "critical"]
OnCallKind = Literal["jour", "beredskap"]
HoldTarget = Literal["next_shift", "morning"]
WorkSource = Literal["shift", "weekly_hours", "jour", "beredskap"]
ContactKind = Literal["emergency", "on_call", "on_duty", "override"]

LEVELS: tuple[Level, ...] = ("passive", "active", "time_sensitive", "critical")
ON_CALL_KINDS: tuple[OnCallKind, ...] = ("jour", "beredskap")
HOLD_TARGETS: tuple[HoldTarget, ...] = ("next_shift", "morning")
WORK_SOURCES: tuple[WorkSource, ...] = ("shift", "weekly_hours", "jour", "beredskap")

# The rest and availability states a contact can hit, in the order reasons list them.
STATES = ("leave", "dnd", "weekly_rest", "daily_rest", "quiet_hours", "off_duty")


def _require_utc(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware instant")


class Interval(NamedTuple):
    """A half-open span of time [start, end) between two aware instants."""

    start: datetime
    end: datetime

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


@dataclass(frozen=True, slots=True)
class OnCallSlot:
    """A roster slot: `jour` (at the workplace) or `beredskap` (stand-by elsewhere) for a role.

    In a `RecipientState` the slot is the recipient's own; in `MessageFacts.cover` it names the
    person (`person_id`) who covers the addressed role during the slot.
    """

    start: datetime
    end: datetime
    kind: OnCallKind
    role: str
    person_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class RecipientState:
    """Everything the engine needs to know about one recipient.

    `horizon` is the span in which the engine can decide (the loader starts it at the instant
    of interest). Facts may begin before it: the loader (`policies.states.load_states`) reads
    work from a look-back period, so that a rest window that began earlier is known.
    `last_work_end` is the end of work before the earliest fact given, if known;
    `rest_restarts` are contacts during rest that restarted the rest clock; `overrides_7d`
    counts override contacts in the seven days before the load instant.
    """

    person_id: UUID
    zone: str
    horizon: Interval
    shifts: tuple[Interval, ...] = ()
    weekly_hours: tuple[Interval, ...] = ()
    quiet: tuple[Interval, ...] = ()
    dnd: tuple[Interval, ...] = ()
    leave: tuple[Interval, ...] = ()
    on_call: tuple[OnCallSlot, ...] = ()
    last_work_end: datetime | None = None
    rest_restarts: tuple[datetime, ...] = ()
    overrides_7d: int = 0
    # A one-entry memo of the compiled segments for the last policy used (see segments.segments_for).
    # It never changes a decision; it only saves recompiling the same facts.
    _memo: list[Any] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.horizon.start.tzinfo is None or self.horizon.end.tzinfo is None:
            raise ValueError("horizon must be given as timezone-aware instants")
        if self.horizon.end <= self.horizon.start:
            raise ValueError("horizon must end after it starts")


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What the engine needs to know about a message.

    `override_reason` is the sender's stated reason: for `urgent` it requests an override of
    rest (allowed or not by the recipient's policy); for `emergency` it is the mandatory
    declaration. `audience_role` names the roster role the message is addressed to, and
    `cover` lists the on-call slots of that role (who covers it, when), for rerouting.
    """

    priority: Priority
    sender_id: UUID | None = None
    sender_roles: frozenset[str] = frozenset()
    override_reason: str | None = None
    expires_at: datetime | None = None
    audience_role: str | None = None
    cover: tuple[OnCallSlot, ...] = ()
    message_id: UUID | None = None
    expires_ts: float | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.priority not in PRIORITIES:
            raise ValueError(f"unknown priority {self.priority!r}")
        if self.priority == "emergency" and not (self.override_reason or "").strip():
            raise ValueError("an emergency message needs a stated reason")
        if self.expires_at is not None:
            _require_utc("expires_at", self.expires_at)
            object.__setattr__(self, "expires_ts", self.expires_at.timestamp())


@dataclass(frozen=True, slots=True)
class PolicyParams:
    """The parameters of one HR rest-time policy version (defaults: ATL and AB).

    `working_time` names what counts as working time; `hold_target` says when held non-urgent
    messages are released: at the next working time (`next_shift`) or also at `morning_time`
    (local) on a working day (`morning`, for day workers).
    """

    daily_rest_hours: float = 11.0
    weekly_rest_hours: float = 36.0
    working_time: frozenset[WorkSource] = frozenset({"shift", "weekly_hours", "jour"})
    hold_target: HoldTarget = "next_shift"
    morning_time: time = time(7, 0)
    urgent_override_allowed: bool = False
    override_roles: frozenset[str] = frozenset({"manager"})
    override_reason_required: bool = True
    override_weekly_cap: int = 2
    compensatory_days: int = 14
    content_free_push: bool = False
    private_devices_allowed: bool = True
    policy_id: UUID | None = None
    version_id: UUID | None = None
    version: int = 0
    name: str = "default"

    def __post_init__(self) -> None:
        if not 0 <= self.daily_rest_hours <= 24:
            raise ValueError("daily_rest_hours must be between 0 and 24")
        if not 0 <= self.weekly_rest_hours <= 168:
            raise ValueError("weekly_rest_hours must be between 0 and 168")
        if self.override_weekly_cap < 0 or self.compensatory_days < 0:
            raise ValueError("caps and deadlines cannot be negative")
        unknown = set(self.working_time) - set(WORK_SOURCES)
        if unknown:
            raise ValueError(f"unknown working-time sources {sorted(unknown)}")
        if self.hold_target not in HOLD_TARGETS:
            raise ValueError(f"unknown hold target {self.hold_target!r}")


DEFAULT_POLICY = PolicyParams()


@dataclass(frozen=True, slots=True)
class Reason:
    """Why: a rule id and a readable text in Swedish and English."""

    rule: str
    sv: str
    en: str


@dataclass(frozen=True, slots=True)
class LedgerNote:
    """A contact that must be written to the rest ledger, with the state it hit.

    `states` are the rest and availability states at the instant (see `STATES`), `restarts_rest`
    says the contact broke a rest window and restarts its clock, and `compensatory_minutes` are
    what this contact adds to the rest its rest period lost (see `policies.core.rest_periods`: an
    earlier contact in the same period was already charged its part), owed by `compensatory_due`.
    """

    kind: ContactKind
    states: tuple[str, ...]
    on_call: OnCallKind | None
    restarts_rest: bool
    compensatory_minutes: int
    compensatory_due: date | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class Decision:
    """One recipient, one message: deliver, hold, reroute or drop, and why."""

    kind: DecisionKind
    reasons: tuple[Reason, ...]
    level: Level | None = None
    release_at: datetime | None = None
    reroute_to: UUID | None = None
    ledger: LedgerNote | None = None

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(reason.rule for reason in self.reasons)


def utc_from_ts(ts: float) -> datetime:
    """An aware UTC datetime from a POSIX timestamp."""
    return datetime.fromtimestamp(ts, UTC)
