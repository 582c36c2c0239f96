"""Rest records: the ledger grouped into rest periods, kept current as contacts are written and
recomputed on demand, and the weekly-rest and jour findings drawn from the same facts.

The figures come from `policies.core.rest_periods` (pure); this module reads the facts (work, stand-by,
jour, ledger contacts) from the database and writes the `rest_period` rows and each entry's share.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel.db import new_id
from kernel.directory.models import Person
from kernel.errors import InvalidInput
from policies.core.rest_periods import (
    Contact,
    RestPeriod,
    rest_periods,
)
from policies.core.types import Interval, PolicyParams, RecipientState
from policies.core.wallclock import local_date
from policies.models import RestLedgerEntry, RestPeriodRecord
from policies.rest_policies import policies_for
from policies.states import load_states

# A rest period runs from the end of work to the next start: look this far either side of the
# contacts to find both ends (a weekend's weekly rest is about 60 hours; a long leave is longer,
# and such a period stays open until its end is known).
BEFORE = timedelta(days=3)
AFTER = timedelta(days=14)
CHUNK = timedelta(days=31)


@dataclass
class Change:
    """One ledger entry whose figures a recomputation changed."""

    entry_id: uuid.UUID
    person_id: uuid.UUID
    at: datetime
    before_minutes: int
    after_minutes: int


@dataclass
class Settled:
    periods: int = 0
    entries: int = 0
    changes: list[Change] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Facts:
    """A person's working-time facts as the policy counts them."""

    work: tuple[Interval, ...]
    standby: tuple[Interval, ...]
    jour: tuple[Interval, ...]


def facts_of(state: RecipientState, policy: PolicyParams) -> Facts:
    sources = policy.working_time
    work: list[Interval] = []
    if "shift" in sources:
        work.extend(state.shifts)
    if "weekly_hours" in sources:
        work.extend(state.weekly_hours)
    standby: list[Interval] = []
    jour: list[Interval] = []
    for slot in state.on_call:
        span = Interval(slot.start, slot.end)
        if slot.kind == "jour":
            jour.append(span)
        if slot.kind in sources:
            work.append(span)
        elif slot.kind == "beredskap":
            standby.append(span)
    return Facts(tuple(work), tuple(standby), tuple(jour))


def entries_by_person(
    session: Session, person_ids: Sequence[uuid.UUID], since: datetime, until: datetime
) -> dict[uuid.UUID, list[RestLedgerEntry]]:
    out: dict[uuid.UUID, list[RestLedgerEntry]] = defaultdict(list)
    for i in range(0, len(person_ids), 500):
        rows = session.scalars(
            select(RestLedgerEntry)
            .where(
                RestLedgerEntry.person_id.in_(person_ids[i : i + 500]),
                RestLedgerEntry.at >= since,
                RestLedgerEntry.at < until,
            )
            .order_by(RestLedgerEntry.at, RestLedgerEntry.id)
        )
        for row in rows:
            out[row.person_id].append(row)
    return out


def contacts_of(entries: Iterable[RestLedgerEntry]) -> list[Contact]:
    return [Contact(at=e.at, restarts_rest=e.restarts_rest, ref=e.id) for e in entries]


def settle(
    *, session: Session, person_ids: Iterable[uuid.UUID], since: datetime, until: datetime, now: datetime
) -> Settled:
    """Group the ledger entries of [since, until) into rest periods and write each entry's share.

    Contacts up to `BEFORE` earlier and `AFTER` later are read too, so that a period is always
    computed whole; only periods holding an entry of [since, until) are written. Idempotent.
    """
    ids = sorted(set(person_ids))
    result = Settled()
    if not ids:
        return result
    _lock_people(session, ids)
    states = load_states(session=session, person_ids=ids, at=since, horizon=(until - since) + AFTER, lookback=BEFORE)
    policies = policies_for(session=session, person_ids=ids, at=since)
    entries = entries_by_person(session, ids, since - BEFORE, until + AFTER)
    known = _known_periods(session, [pid for pid in ids if entries.get(pid)], since - BEFORE - AFTER)
    assign: list[tuple[RestLedgerEntry, RestPeriodRecord | None, int]] = []
    for pid in ids:
        mine = entries.get(pid, [])
        state = states.get(pid)
        if not mine or state is None:
            continue
        policy = policies[pid]
        facts = facts_of(state, policy)
        by_id = {e.id: e for e in mine}
        inside = {e.id for e in mine if since <= e.at < until}
        periods = rest_periods(work=facts.work, standby=facts.standby, contacts=contacts_of(mine), policy=policy)
        placed: set[uuid.UUID] = set()
        for period in periods:
            refs = [c.ref for c in period.contacts]
            placed.update(r for r in refs if isinstance(r, uuid.UUID))
            if not inside.intersection(r for r in refs if isinstance(r, uuid.UUID)):
                continue
            row = _upsert(session, known, pid, period, state.zone, policy, now)
            result.periods += 1
            for contact, share in zip(period.contacts, period.shares, strict=True):
                assign.append((by_id[contact.ref], row, share))  # type: ignore[index]
        # A contact that falls inside work broke no rest period.
        for entry in mine:
            if entry.id in inside and entry.id not in placed:
                assign.append((entry, None, 0))
    session.flush()  # the periods first: the entries point to them
    for entry, target, share in assign:
        due = target.compensatory_due if target is not None and share else None
        _apply(result, entry, target.id if target is not None else None, share, due)
    session.flush()
    _drop_empty(session, ids)
    return result


def _lock_people(session: Session, ids: Sequence[uuid.UUID]) -> None:
    """One settlement per person at a time (PostgreSQL; SQLite writes one at a time anyway).

    Two transactions that write contacts of one person must not each compute the period without
    the other's contact: the second waits here until the first commits, then reads both. `FOR NO
    KEY UPDATE` does not block the foreign-key checks of rows that point to the person. The ids
    are sorted, so two settlements lock in the same order.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for i in range(0, len(ids), 500):
        session.execute(
            select(Person.id).where(Person.id.in_(ids[i : i + 500])).order_by(Person.id).with_for_update(key_share=True)
        )


def _apply(result: Settled, entry: RestLedgerEntry, period_id: uuid.UUID | None, share: int, due: date | None) -> None:
    result.entries += 1
    if entry.compensatory_minutes != share:
        result.changes.append(Change(entry.id, entry.person_id, entry.at, entry.compensatory_minutes, share))
    entry.period_id = period_id
    entry.compensatory_minutes = share
    entry.compensatory_due = due


_Known = dict[tuple[uuid.UUID, datetime], RestPeriodRecord]


def _known_periods(session: Session, ids: Sequence[uuid.UUID], since: datetime) -> _Known:
    """The stored periods of these people that began after `since`, by (person, start)."""
    known: _Known = {}
    for i in range(0, len(ids), 500):
        for row in session.scalars(
            select(RestPeriodRecord).where(
                RestPeriodRecord.person_id.in_(ids[i : i + 500]), RestPeriodRecord.start_at >= since
            )
        ):
            known[(row.person_id, row.start_at)] = row
    return known


def _upsert(
    session: Session, known: _Known, pid: uuid.UUID, period: RestPeriod, zone: str, policy: PolicyParams, now: datetime
) -> RestPeriodRecord:
    start = period.start if period.start is not None else period.contacts[0].at
    row = known.get((pid, start))
    if row is None:  # a period that began before the prefetched span (a long leave, say)
        row = session.scalars(
            select(RestPeriodRecord).where(RestPeriodRecord.person_id == pid, RestPeriodRecord.start_at == start)
        ).first()
    if row is None:
        row = known[(pid, start)] = RestPeriodRecord(id=new_id(), person_id=pid, start_at=start)
        session.add(row)
    row.end_at = period.end
    row.kind = period.kind
    row.required_minutes = period.required_minutes
    row.last_contact_at = period.last_contact
    row.rest_minutes = period.rest_minutes
    row.compensatory_minutes = period.owed_minutes
    row.compensatory_due = (
        local_date(zone, period.last_contact) + timedelta(days=policy.compensatory_days)
        if period.owed_minutes and period.last_contact is not None
        else None
    )
    row.contacts = len(period.contacts)
    row.policy_version_id = policy.version_id
    row.computed_at = now
    return row


def _drop_empty(session: Session, person_ids: Sequence[uuid.UUID]) -> None:
    """Periods no entry points to any more (work was moved, the contacts now fall elsewhere)."""
    used = select(RestLedgerEntry.period_id).where(RestLedgerEntry.period_id.is_not(None))
    for row in session.scalars(
        select(RestPeriodRecord).where(RestPeriodRecord.person_id.in_(person_ids), RestPeriodRecord.id.not_in(used))
    ):
        session.delete(row)
    session.flush()


def recompute(*, session: Session, now: datetime, person_ids: Iterable[uuid.UUID] | None = None) -> Settled:
    """Regroup every ledger entry (of these people, or everyone's) into rest periods, a month at
    a time; returns what changed, for the caller to audit."""
    stmt = select(RestLedgerEntry.person_id, RestLedgerEntry.at).order_by(RestLedgerEntry.at)
    if person_ids is not None:
        stmt = stmt.where(RestLedgerEntry.person_id.in_(list(person_ids)))
    months: dict[datetime, set[uuid.UUID]] = defaultdict(set)
    first: datetime | None = None
    for pid, at in session.execute(stmt):
        first = first or at
        start = first + ((at - first) // CHUNK) * CHUNK
        months[start].add(pid)
    total = Settled()
    for start in sorted(months):
        part = settle(session=session, person_ids=months[start], since=start, until=start + CHUNK, now=now)
        total.periods += part.periods
        total.entries += part.entries
        total.changes.extend(part.changes)
    return total


def grant_period(
    *, session: Session, period: RestPeriodRecord, minutes: int, by: uuid.UUID | None, now: datetime
) -> list[RestLedgerEntry]:
    """Record compensatory rest granted for a rest period, against its entries' shares in order."""
    entries = list(
        session.scalars(
            select(RestLedgerEntry).where(RestLedgerEntry.period_id == period.id).order_by(RestLedgerEntry.at)
        )
    )
    open_minutes = sum(max(0, e.compensatory_minutes - e.granted_minutes) for e in entries)
    if minutes > open_minutes:
        raise InvalidInput(f"only {open_minutes} minutes of compensatory rest are owed for this rest period")
    left = minutes
    for entry in entries:
        take = min(left, max(0, entry.compensatory_minutes - entry.granted_minutes))
        if take:
            entry.granted_minutes += take
            entry.granted_at, entry.granted_by = now, by
            left -= take
    session.flush()
    return entries


def list_periods(
    *,
    session: Session,
    person_ids: Iterable[uuid.UUID] | None,
    since: datetime,
    until: datetime,
    limit: int,
    offset: int,
) -> tuple[list[tuple[RestPeriodRecord, list[RestLedgerEntry]]], int]:
    """Rest periods that began in [since, until), newest first, with their entries, and the count."""
    conditions = [RestPeriodRecord.start_at >= since, RestPeriodRecord.start_at < until]
    if person_ids is not None:
        conditions.append(RestPeriodRecord.person_id.in_(list(person_ids)))
    total = session.scalar(select(func.count()).select_from(RestPeriodRecord).where(*conditions)) or 0
    rows = list(
        session.scalars(
            select(RestPeriodRecord)
            .where(*conditions)
            .order_by(RestPeriodRecord.start_at.desc(), RestPeriodRecord.id)
            .limit(limit)
            .offset(offset)
        )
    )
    entries: dict[uuid.UUID, list[RestLedgerEntry]] = defaultdict(list)
    if rows:
        for entry in session.scalars(
            select(RestLedgerEntry)
            .where(RestLedgerEntry.period_id.in_([r.id for r in rows]))
            .order_by(RestLedgerEntry.at)
        ):
            if entry.period_id is not None:
                entries[entry.period_id].append(entry)
    return [(row, entries.get(row.id, [])) for row in rows], int(total)


def periods_of(
    *, session: Session, person_id: uuid.UUID, since: datetime, until: datetime
) -> list[tuple[RestPeriodRecord, list[RestLedgerEntry]]]:
    """A person's rest periods that began in [since, until), newest first, with their contacts."""
    rows = list(
        session.scalars(
            select(RestPeriodRecord)
            .where(
                RestPeriodRecord.person_id == person_id,
                RestPeriodRecord.start_at >= since,
                RestPeriodRecord.start_at < until,
            )
            .order_by(RestPeriodRecord.start_at.desc())
        )
    )
    contacts: dict[uuid.UUID, list[RestLedgerEntry]] = defaultdict(list)
    if rows:
        for entry in session.scalars(
            select(RestLedgerEntry)
            .where(RestLedgerEntry.period_id.in_([r.id for r in rows]))
            .order_by(RestLedgerEntry.at)
        ):
            if entry.period_id is not None:
                contacts[entry.period_id].append(entry)
    return [(row, contacts.get(row.id, [])) for row in rows]


def recompute_audited(*, session: Session, now: datetime, actor_label: str = "vila ledger recompute") -> Settled:
    """`recompute`, with one audit record saying what it changed (each entry's minutes before
    and after, and the totals). The caller commits."""
    from kernel.audit import service as audit

    before = sum(session.scalars(select(RestLedgerEntry.compensatory_minutes)).all())
    result = recompute(session=session, now=now)
    after = sum(session.scalars(select(RestLedgerEntry.compensatory_minutes)).all())
    audit.record(
        session=session,
        now=now,
        actor_id=None,
        actor_label=actor_label,
        action="ledger.recompute",
        target_type="rest_ledger",
        target_id=None,
        meta=audit.SYSTEM,
        before={"owed_minutes": before},
        after={
            "owed_minutes": after,
            "periods": result.periods,
            "entries": result.entries,
            "changed": [
                {
                    "entry_id": str(c.entry_id),
                    "person_id": str(c.person_id),
                    "at": c.at.isoformat(),
                    "before_minutes": c.before_minutes,
                    "after_minutes": c.after_minutes,
                }
                for c in result.changes
            ],
        },
    )
    return result
