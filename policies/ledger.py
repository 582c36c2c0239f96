"""The rest ledger: contacts written as decisions carry them, listed, and compensatory rest granted.

Typed, keyword-only functions over a session: they add and flush, and the caller owns the
transaction and commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel.errors import InvalidInput, NotFound
from policies import rest_records
from policies.core.types import Decision, MessageFacts, PolicyParams
from policies.models import RestLedgerEntry


def record_contact(
    *,
    session: Session,
    person_id: uuid.UUID,
    decision: Decision,
    message: MessageFacts,
    policy: PolicyParams,
    at: datetime,
    settle: bool = True,
) -> RestLedgerEntry | None:
    """Write the decision's contact to the rest ledger, if it carries one, and (unless the caller
    settles a batch itself) place it in its rest period (`policies.rest_records.settle`)."""
    note = decision.ledger
    if note is None:
        return None
    entry = RestLedgerEntry(
        person_id=person_id,
        at=at,
        kind=note.kind,
        states=list(note.states),
        on_call=note.on_call,
        priority=message.priority,
        rules=list(decision.rules),
        reason=note.reason,
        sender_id=message.sender_id,
        message_id=message.message_id,
        policy_version_id=policy.version_id,
        restarts_rest=note.restarts_rest,
        compensatory_minutes=note.compensatory_minutes,
        compensatory_due=note.compensatory_due,
        granted_minutes=0,
        created_at=at,
    )
    session.add(entry)
    session.flush()
    if settle:
        rest_records.settle(
            session=session, person_ids=[person_id], since=at, until=at + timedelta(microseconds=1), now=at
        )
    return entry


def list_ledger(
    *,
    session: Session,
    person_ids: Iterable[uuid.UUID] | None,
    since: datetime,
    until: datetime,
    limit: int,
    offset: int,
) -> tuple[list[RestLedgerEntry], int, int, int]:
    """Entries in [since, until), newest first, with the total count and minutes owed and granted."""
    conditions = [RestLedgerEntry.at >= since, RestLedgerEntry.at < until]
    if person_ids is not None:
        conditions.append(RestLedgerEntry.person_id.in_(list(person_ids)))
    total, owed, granted = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(RestLedgerEntry.compensatory_minutes), 0),
            func.coalesce(func.sum(RestLedgerEntry.granted_minutes), 0),
        ).where(*conditions)
    ).one()
    rows = session.scalars(
        select(RestLedgerEntry)
        .where(*conditions)
        .order_by(RestLedgerEntry.at.desc(), RestLedgerEntry.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total), int(owed), int(granted)


def require_ledger_entry(*, session: Session, entry_id: uuid.UUID) -> RestLedgerEntry:
    entry = session.get(RestLedgerEntry, entry_id)
    if entry is None:
        raise NotFound("no such ledger entry")
    return entry


def grant_compensatory(
    *, session: Session, entry: RestLedgerEntry, minutes: int, by: uuid.UUID | None, now: datetime
) -> RestLedgerEntry:
    if entry.granted_minutes + minutes > entry.compensatory_minutes:
        raise InvalidInput(
            f"only {entry.compensatory_minutes - entry.granted_minutes} minutes of compensatory rest are owed"
        )
    entry.granted_minutes += minutes
    entry.granted_at, entry.granted_by = now, by
    session.flush()
    return entry
