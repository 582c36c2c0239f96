"""Availability facts, HR rest-time policies and the rest ledger. All instants are stored in UTC.

Weekly windows (working hours, quiet hours) are stored as wall-clock times with a weekday mask
(bit 0 is Monday) and an IANA zone, and expanded to UTC instants when read, so a window keeps its
wall-clock meaning across daylight-saving switches.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import get_args

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column

from kernel.checks import one_of
from kernel.db import Base, UTCDateTime, json_type, new_id
from kernel.vocabulary import PRIORITIES, Priority
from policies.core.rest_periods import PeriodKind
from policies.core.types import ON_CALL_KINDS, ContactKind, OnCallKind

LEAVE_KINDS = ("vacation", "sick", "parental", "other")
SHIFT_KINDS = ("planned", "callout")
DND_SOURCES = ("manual", "calendar")


class Shift(Base):
    """A scheduled shift; `actual_end` once known (overtime or a call-out ends work later)."""

    __tablename__ = "shift"
    __table_args__ = (
        CheckConstraint("planned_end > planned_start", name="planned_order"),
        Index("ix_shift_person_start", "person_id", "planned_start"),
        one_of("kind", SHIFT_KINDS),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    planned_start: Mapped[datetime] = mapped_column(UTCDateTime())
    planned_end: Mapped[datetime] = mapped_column(UTCDateTime())
    actual_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(16), default="planned")
    # From an imported schedule: the unit worked and the scheduling system's shift type ("Natt").
    unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("group.id", ondelete="SET NULL"))
    shift_type: Mapped[str | None] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def end(self) -> datetime:
        return self.actual_end or self.planned_end


class WorkingHours(Base):
    """Recurring weekly working hours of a day worker (e.g. Monday-Friday 08:00-16:30)."""

    __tablename__ = "working_hours"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    weekdays: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[time] = mapped_column(Time())
    end_time: Mapped[time] = mapped_column(Time())
    timezone: Mapped[str] = mapped_column(String(64))
    # "SE", "NO", "DE-BY", ...: no working hours on that calendar's public holidays. None: every week alike.
    holidays: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class QuietHours(Base):
    """A person's weekly quiet-hours window; `end_time <= start_time` runs past midnight."""

    __tablename__ = "quiet_hours"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    weekdays: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[time] = mapped_column(Time())
    end_time: Mapped[time] = mapped_column(Time())
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DndSession(Base):
    """Do-not-disturb ("with a patient"): from `start` until `end`, or until ended early."""

    __tablename__ = "dnd_session"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="order"),
        Index("ix_dnd_session_person_end", "person_id", "end_at"),
        one_of("source", DND_SOURCES),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(16), default="manual")
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def effective_end(self) -> datetime:
        return min(self.end_at, self.ended_at) if self.ended_at else self.end_at


class Leave(Base):
    """Leave (vacation, sick, parental, other) from `start` to `end`."""

    __tablename__ = "leave"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="order"),
        Index("ix_leave_person_end", "person_id", "end_at"),
        one_of("kind", LEAVE_KINDS),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OnCallSlotRow(Base):
    """A roster slot: `jour` (at the workplace) or `beredskap` (stand-by) for a roster role."""

    __tablename__ = "on_call_slot"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="order"),
        Index("ix_on_call_slot_person_end", "person_id", "end_at"),
        Index("ix_on_call_slot_role_end", "role", "end_at"),
        one_of("kind", ON_CALL_KINDS),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("group.id", ondelete="SET NULL"))
    # Set on slots materialised from a roster (`policies.rosters`); hand-made slots have none.
    roster_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("roster.id", ondelete="SET NULL"), index=True)
    role: Mapped[str] = mapped_column(String(100))
    kind: Mapped[OnCallKind] = mapped_column(String(16))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Roster(Base):
    """An on-call roster of a group for one role ("Beredskap anestesi"): jour or beredskap."""

    __tablename__ = "roster"
    __table_args__ = (one_of("kind", ON_CALL_KINDS),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("group.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[OnCallKind] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    materialised_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RosterLayer(Base):
    """A rotation: `participants` (person ids, in order) each cover `length_days` local days,
    handing off at `handoff_time` in the roster's zone from `start_date` on."""

    __tablename__ = "roster_layer"
    __table_args__ = (CheckConstraint("length_days >= 1", name="length"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    roster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("roster.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    rotation: Mapped[str] = mapped_column(String(16))
    length_days: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date())
    end_date: Mapped[date | None] = mapped_column(Date())
    handoff_time: Mapped[time] = mapped_column(Time())
    participants: Mapped[list[str]] = mapped_column(json_type())


class RosterOverride(Base):
    """A person covers the roster's role for a span, whoever the rotation says."""

    __tablename__ = "roster_override"
    __table_args__ = (CheckConstraint("end_at > start_at", name="order"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    roster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("roster.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(String(500))
    # Set on overrides imported from an iCalendar file (UID and RECURRENCE-ID of the occurrence),
    # so a re-import replaces them instead of adding duplicates.
    ical_uid: Mapped[str | None] = mapped_column(String(300))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CalendarFeed(Base):
    """The secret of a person's subscribable iCalendar feed (shifts, on-call, quiet hours)."""

    __tablename__ = "calendar_feed"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CalendarLink(Base):
    """A person's own calendar feed, read periodically: patient meetings in it become DND.
    The last check's outcome is kept so the person sees when the link fails."""

    __tablename__ = "calendar_link"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text())
    failures: Mapped[int] = mapped_column(Integer, default=0)
    sessions: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CalendarRule(Base):
    """Which calendar events a unit counts as patient meetings: by category, keyword, busy status."""

    __tablename__ = "calendar_rule"

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("group.id", ondelete="CASCADE"), primary_key=True)
    categories: Mapped[list[str]] = mapped_column(json_type())
    keywords: Mapped[list[str]] = mapped_column(json_type())
    all_busy: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OnCallReminder(Base):
    """Opt-in: remind the person `lead_minutes` before an on-call slot starts (as `info`)."""

    __tablename__ = "on_call_reminder"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    lead_minutes: Mapped[int] = mapped_column(Integer)
    last_slot_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RestPolicy(Base):
    """An HR rest-time policy; its parameters live in versions."""

    __tablename__ = "rest_policy"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RestPolicyVersion(Base):
    """One version of a policy, in force from `effective_from` until a later version is."""

    __tablename__ = "rest_policy_version"
    __table_args__ = (
        UniqueConstraint("policy_id", "version"),
        CheckConstraint("daily_rest_hours >= 0 AND daily_rest_hours <= 24", name="daily_rest"),
        CheckConstraint("weekly_rest_hours >= 0 AND weekly_rest_hours <= 168", name="weekly_rest"),
        CheckConstraint("override_weekly_cap >= 0", name="cap"),
        CheckConstraint("compensatory_days >= 0", name="compensatory_days"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    policy_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rest_policy.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime())
    daily_rest_hours: Mapped[float] = mapped_column(Float)
    weekly_rest_hours: Mapped[float] = mapped_column(Float)
    working_time: Mapped[list[str]] = mapped_column(json_type())
    hold_target: Mapped[str] = mapped_column(String(16))
    morning_time: Mapped[time] = mapped_column(Time())
    urgent_override_allowed: Mapped[bool] = mapped_column(Boolean)
    override_roles: Mapped[list[str]] = mapped_column(json_type())
    override_reason_required: Mapped[bool] = mapped_column(Boolean)
    override_weekly_cap: Mapped[int] = mapped_column(Integer)
    compensatory_days: Mapped[int] = mapped_column(Integer)
    content_free_push: Mapped[bool] = mapped_column(Boolean)
    private_devices_allowed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    approval_note: Mapped[str] = mapped_column(Text())
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PolicyAssignment(Base):
    """A policy assigned to a group; a group has at most one. People inherit from the nearest."""

    __tablename__ = "policy_assignment"

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("group.id", ondelete="CASCADE"), primary_key=True)
    policy_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rest_policy.id", ondelete="CASCADE"), index=True)
    assigned_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RestLedgerEntry(Base):
    """A contact during rest, quiet hours, leave or DND, or an override: who, when, why, and
    the compensatory rest it created."""

    __tablename__ = "rest_ledger_entry"
    __table_args__ = (
        Index("ix_rest_ledger_entry_person_at", "person_id", "at"),
        one_of("kind", get_args(ContactKind)),
        one_of("priority", PRIORITIES),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[ContactKind] = mapped_column(String(16))
    states: Mapped[list[str]] = mapped_column(json_type())
    on_call: Mapped[str | None] = mapped_column(String(16))
    priority: Mapped[Priority] = mapped_column(String(16))
    rules: Mapped[list[str]] = mapped_column(json_type())
    reason: Mapped[str | None] = mapped_column(Text())
    sender_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    message_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    policy_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("rest_policy_version.id", ondelete="SET NULL")
    )
    restarts_rest: Mapped[bool] = mapped_column(Boolean, default=False)
    compensatory_minutes: Mapped[int] = mapped_column(Integer, default=0)
    compensatory_due: Mapped[date | None] = mapped_column(Date())
    granted_minutes: Mapped[int] = mapped_column(Integer, default=0)
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    granted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The rest period the contact fell in; its `compensatory_minutes` is the contact's share.
    period_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("rest_period.id", ondelete="SET NULL"), index=True)


class RestPeriodRecord(Base):
    """A rest period that contacts broke: from the end of work to the next start of work, what
    it required and what it lost (see `policies.core.rest_periods`). Its ledger entries point to it."""

    __tablename__ = "rest_period"
    __table_args__ = (UniqueConstraint("person_id", "start_at"), one_of("kind", get_args(PeriodKind)))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    # The end of work before the period (the first contact when no earlier work is known).
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    kind: Mapped[PeriodKind] = mapped_column(String(8))
    required_minutes: Mapped[int] = mapped_column(Integer)
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rest_minutes: Mapped[int | None] = mapped_column(Integer)
    compensatory_minutes: Mapped[int] = mapped_column(Integer, default=0)
    compensatory_due: Mapped[date | None] = mapped_column(Date())
    contacts: Mapped[int] = mapped_column(Integer, default=0)
    policy_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("rest_policy_version.id", ondelete="SET NULL")
    )
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
