"""Usage figures of a pilot's participants, from what Vila already stores: recipients (messages
received, delivered at once or held), the rest ledger (contacts during rest, broken rest,
overrides), acknowledgements made in working time, and devices.

Each figure is one set-based query grouped by the participants' profession and device kind (the
atoms of `pilot.breakdown`); groups are sums of atoms. Reading or acknowledging during rest is never
used: an acknowledgement counts only if Vila recorded it as made in working time
(`acked_in_working_time`), the message reached the person without a contact during rest, and it came
within `ACK_WINDOW` of reaching them, so that no rest period lies in between.
"""

from __future__ import annotations

import statistics
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from kernel.directory.models import Person
from notify.models import Device, Message, Recipient
from pilot import breakdown
from pilot.breakdown import AtomKey
from pilot.models import Participant
from pilot.suppression import size
from policies.models import RestLedgerEntry

ACK_WINDOW = timedelta(hours=11)  # shorter than a daily rest: no full rest lies inside it
SILENT_AFTER = timedelta(days=14)  # a device not seen this long before the end has not checked in
REMINDER_CATEGORY = "pilot_survey"  # the evaluation's own reminders are not usage


@dataclass
class Tally:
    people: int = 0
    at_once: int = 0
    held: int = 0
    contacts: int = 0
    rest_breaks: int = 0
    overrides: int = 0
    devices: int = 0
    silent: int = 0
    without_device: int = 0
    latencies: list[float] = field(default_factory=list)  # minutes

    def add(self, other: Tally) -> None:
        for name in ("people", "at_once", "held", "contacts", "rest_breaks", "overrides", "devices", "silent"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.without_device += other.without_device
        self.latencies.extend(other.latencies)


@dataclass(frozen=True)
class UsageFigures:
    people: int
    person_weeks: float
    received_per_person_week: float
    at_once_share: float | None
    held_share: float | None
    contacts_per_person_week: float
    rest_breaks_per_person_week: float
    overrides: int
    ack_median_minutes: float | None
    acks: int
    devices: int
    devices_without_checkin: int
    people_without_device: int


@dataclass(frozen=True)
class Usage:
    since: datetime
    until: datetime
    weeks: float
    groups: dict[str, UsageFigures | None]  # None: hidden by the anonymity rule


def _atom(profession: str, kind: str | None) -> AtomKey:
    return ("pilot", profession, kind)


def _participants(pilot_id: uuid.UUID) -> list[ColumnElement[bool]]:
    return [Participant.pilot_id == pilot_id, Participant.arm == "pilot"]


def tallies(*, session: Session, pilot_id: uuid.UUID, since: datetime, until: datetime) -> dict[AtomKey, Tally]:
    """Per atom, the raw counts of the period [since, until)."""
    atoms: dict[AtomKey, Tally] = defaultdict(Tally)
    where = _participants(pilot_id)
    by = (Participant.profession, Participant.device_kind)
    for profession, kind, n in session.execute(select(*by, func.count()).where(*where).group_by(*by)):
        atoms[_atom(profession, kind)].people = int(n)

    not_reminder = or_(Message.category.is_(None), Message.category != REMINDER_CATEGORY)
    received = (
        select(
            *by,
            func.sum(case((Recipient.decision == "deliver", 1), else_=0)),
            func.sum(case((Recipient.decision == "hold", 1), else_=0)),
        )
        .join(Recipient, Recipient.person_id == Participant.person_id)
        .join(Message, Message.id == Recipient.message_id)
        .where(*where, Recipient.decided_at >= since, Recipient.decided_at < until, not_reminder)
        .group_by(*by)
    )
    for profession, kind, at_once, held in session.execute(received):
        tally = atoms[_atom(profession, kind)]
        tally.at_once, tally.held = int(at_once or 0), int(held or 0)

    ledger = (
        select(
            *by,
            func.count(),
            func.sum(case((RestLedgerEntry.restarts_rest.is_(True), 1), else_=0)),
            func.sum(case((RestLedgerEntry.kind == "override", 1), else_=0)),
        )
        .join(RestLedgerEntry, RestLedgerEntry.person_id == Participant.person_id)
        .where(*where, RestLedgerEntry.at >= since, RestLedgerEntry.at < until)
        .group_by(*by)
    )
    for profession, kind, contacts, breaks, overrides in session.execute(ledger):
        tally = atoms[_atom(profession, kind)]
        tally.contacts, tally.rest_breaks, tally.overrides = int(contacts), int(breaks or 0), int(overrides or 0)

    for profession, kind, latency in _ack_latencies(session, pilot_id, since, until):
        atoms[_atom(profession, kind)].latencies.append(latency)

    silent_since = until - SILENT_AFTER
    live = and_(Device.person_id == Participant.person_id, Device.state.not_in(("removed", "pruned")))
    devices = (
        select(*by, func.count(), func.sum(case((Device.last_seen_at < silent_since, 1), else_=0)))
        .join(Device, live)
        .where(*where, Device.created_at < until)
        .group_by(*by)
    )
    for profession, kind, n, silent in session.execute(devices):
        tally = atoms[_atom(profession, kind)]
        tally.devices, tally.silent = int(n), int(silent or 0)
    lacking = select(*by, func.count()).where(*where, ~exists().where(live)).group_by(*by)
    for profession, kind, n in session.execute(lacking):
        atoms[_atom(profession, kind)].without_device = int(n)
    return dict(atoms)


def _ack_latencies(
    session: Session, pilot_id: uuid.UUID, since: datetime, until: datetime
) -> list[tuple[str, str | None, float]]:
    """Minutes from reaching the person to their acknowledgement, only for acknowledgements made in
    working time, of messages that reached them without a contact during rest, within ACK_WINDOW."""
    rest_contact = exists().where(
        RestLedgerEntry.message_id == Recipient.message_id, RestLedgerEntry.person_id == Recipient.person_id
    )
    rows = session.execute(
        select(
            Participant.profession,
            Participant.device_kind,
            Recipient.decision,
            Recipient.decided_at,
            Recipient.release_at,
            Recipient.acked_at,
        )
        .join(Recipient, Recipient.person_id == Participant.person_id)
        .join(Message, Message.id == Recipient.message_id)
        .where(
            *_participants(pilot_id),
            Message.requires_ack.is_(True),
            Recipient.decision.in_(("deliver", "hold")),
            Recipient.acked_at.is_not(None),
            Recipient.acked_in_working_time.is_(True),
            Recipient.decided_at >= since,
            Recipient.decided_at < until,
            ~rest_contact,
        )
    ).all()
    result = []
    for profession, kind, decision, decided_at, release_at, acked_at in rows:
        reached = decided_at if decision == "deliver" else release_at
        if reached is None or acked_at is None:
            continue
        latency = acked_at - reached
        if timedelta(0) <= latency < ACK_WINDOW:
            result.append((profession, kind, latency.total_seconds() / 60))
    return result


def figures(tally: Tally, weeks: float) -> UsageFigures:
    person_weeks = tally.people * weeks
    received = tally.at_once + tally.held
    return UsageFigures(
        people=tally.people,
        person_weeks=person_weeks,
        received_per_person_week=received / person_weeks if person_weeks else 0.0,
        at_once_share=tally.at_once / received if received else None,
        held_share=tally.held / received if received else None,
        contacts_per_person_week=tally.contacts / person_weeks if person_weeks else 0.0,
        rest_breaks_per_person_week=tally.rest_breaks / person_weeks if person_weeks else 0.0,
        overrides=tally.overrides,
        ack_median_minutes=statistics.median(tally.latencies) if tally.latencies else None,
        acks=len(tally.latencies),
        devices=tally.devices,
        devices_without_checkin=tally.silent,
        people_without_device=tally.without_device,
    )


def usage(
    *, session: Session, pilot_id: uuid.UUID, professions: Sequence[str], since: datetime, until: datetime
) -> Usage:
    """The figures per group over [since, until); groups the anonymity rule hides carry None."""
    atoms = tallies(session=session, pilot_id=pilot_id, since=since, until=until)
    weeks = max((until - since).total_seconds(), 0) / (7 * 86400)
    sizes = {atom: tally.people for atom, tally in atoms.items()}
    groups, hidden = breakdown.shown(sizes, professions)
    result: dict[str, UsageFigures | None] = {}
    for group in groups:
        if group.key == breakdown.COMPARISON:
            continue  # the comparison group carries no pilot device: no usage to show
        if group.key in hidden or size(group, sizes) == 0:
            result[group.key] = None
            continue
        total = Tally()
        for atom in group.atoms:
            total.add(atoms[atom])
        result[group.key] = figures(total, weeks)
    return Usage(since=since, until=until, weeks=weeks, groups=result)


def active_people(*, session: Session, pilot_id: uuid.UUID) -> list[uuid.UUID]:
    """The pilot arm's people who are still active (the fleet register is asked about their devices)."""
    return list(
        session.scalars(
            select(Participant.person_id)
            .join(Person, Person.id == Participant.person_id)
            .where(*_participants(pilot_id), Person.active.is_(True))
        ).all()
    )
