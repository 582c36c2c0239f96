"""Each person's subscribable calendar feed: its secret (issued, revoked, looked up) and the iCal
text of their shifts, on-call slots and quiet hours.

Services flush; the caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kernel.directory import service as directory
from kernel.directory.models import Person
from policies.core.ical import FeedItem, WeeklyItem, feed
from policies.models import CalendarFeed, OnCallSlotRow, QuietHours, Shift

FEED_PAST = timedelta(days=30)
FEED_AHEAD = timedelta(days=120)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_feed(*, session: Session, person_id: uuid.UUID, now: datetime) -> str:
    """A new feed secret for the person; the previous one stops working."""
    secret = "cal_" + secrets.token_urlsafe(32)
    row = session.get(CalendarFeed, person_id)
    if row is None:
        session.add(CalendarFeed(person_id=person_id, digest=_digest(secret), created_at=now))
    else:
        row.digest, row.created_at = _digest(secret), now
    session.flush()
    return secret


def revoke_feed(*, session: Session, person_id: uuid.UUID) -> bool:
    result = session.execute(delete(CalendarFeed).where(CalendarFeed.person_id == person_id))
    return bool(getattr(result, "rowcount", 0))


def person_of_feed(*, session: Session, secret: str) -> uuid.UUID | None:
    return session.scalar(
        select(CalendarFeed.person_id)
        .join(Person, Person.id == CalendarFeed.person_id)
        .where(CalendarFeed.digest == _digest(secret), Person.active.is_(True))
    )


def person_feed(*, session: Session, person_id: uuid.UUID, now: datetime) -> bytes:
    """Shifts, on-call slots and quiet hours of the person, 30 days back and 120 ahead."""
    person = directory.require_person(session=session, person_id=person_id)
    lo, hi = now - FEED_PAST, now + FEED_AHEAD
    items: list[FeedItem] = []
    for shift in session.scalars(
        select(Shift)
        .where(Shift.person_id == person_id, Shift.planned_start < hi, Shift.planned_end > lo)
        .order_by(Shift.planned_start)
    ):
        label = "Arbetspass" + (f" ({shift.shift_type})" if shift.shift_type else "")
        if shift.kind == "callout":
            label = "Inkallad"
        items.append(FeedItem(f"shift-{shift.id}@vila", label, _utc(shift.planned_start), _utc(shift.end)))
    for slot in session.scalars(
        select(OnCallSlotRow)
        .where(OnCallSlotRow.person_id == person_id, OnCallSlotRow.start_at < hi, OnCallSlotRow.end_at > lo)
        .order_by(OnCallSlotRow.start_at)
    ):
        word = "Jour" if slot.kind == "jour" else "Beredskap"
        items.append(
            FeedItem(
                f"oncall-{slot.person_id}-{_utc(slot.start_at):%Y%m%dT%H%M}-{slot.role}@vila"[:250],
                f"{word}: {slot.role}",
                _utc(slot.start_at),
                _utc(slot.end_at),
                categories=(word,),
            )
        )
    weekly = [
        WeeklyItem(
            uid=f"quiet-{q.id}@vila",
            summary="Tysta timmar",
            days=tuple(day + 1 for day in range(7) if q.weekdays & (1 << day)),
            start=q.start_time,
            end=q.end_time,
            zone=q.timezone,
            first=(lo.date()),
        )
        for q in session.scalars(select(QuietHours).where(QuietHours.person_id == person_id))
    ]
    return feed(name=f"Vila – {person.name}", items=items, weekly=weekly, stamp=now)
