"""Two transactions that write contacts of one person in one rest period at once: the period and
the shares come out as if they had been written one after the other."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import ManualClock
from kernel.db import unit_of_work
from kernel.directory.models import Person
from policies.core.engine import decide
from policies.core.types import MessageFacts
from policies.ledger import record_contact
from policies.models import OnCallSlotRow, RestLedgerEntry, RestPeriodRecord, Shift
from policies.rest_policies import policies_for
from policies.states import load_states
from tests.factories import Factory


def utc(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=UTC)


def _record(session: Session, person: Person, at: datetime) -> None:
    state = load_states(session=session, person_ids=[person.id], at=at)[person.id]
    policy = policies_for(session=session, person_ids=[person.id], at=at)[person.id]
    message = MessageFacts(priority="urgent")
    decision = decide(state, message, policy, at)
    assert decision.ledger is not None
    record_contact(session=session, person_id=person.id, decision=decision, message=message, policy=policy, at=at)


def test_two_contacts_written_at_once_are_counted_once_for_their_period(
    make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    person = make.person()
    now = clock.now()
    with unit_of_work(session_factory) as s:
        # Shift ends 21:00 local (20:00 UTC), stand-by until the 10:00 local shift (09:00 UTC).
        for start, end in ((utc(22, 12), utc(22, 20)), (utc(23, 9), utc(23, 17))):
            s.add(
                Shift(
                    person_id=person.id,
                    planned_start=start,
                    planned_end=end,
                    kind="planned",
                    created_at=now,
                    updated_at=now,
                )
            )
        s.add(
            OnCallSlotRow(
                person_id=person.id, role="b", kind="beredskap", start_at=utc(22, 20), end_at=utc(23, 9), created_at=now
            )
        )
    first = session_factory()
    _record(first, person, utc(23, 0))  # 01:00 local, written but not committed yet
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with unit_of_work(session_factory) as s:
                _record(s, person, utc(23, 2))  # 03:00 local, in another transaction
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(timeout=1.0)  # it waits for the first transaction (or would race it without the lock)
    first.commit()
    first.close()
    thread.join(timeout=60)
    assert not thread.is_alive() and errors == []
    with session_factory() as s:
        (period,) = s.scalars(select(RestPeriodRecord)).all()
        shares = [e.compensatory_minutes for e in s.scalars(select(RestLedgerEntry).order_by(RestLedgerEntry.at))]
    # 7 hours of rest after the 03:00 call: 240 minutes for the night, 120 + 120.
    assert period.compensatory_minutes == 240 and period.contacts == 2
    assert shares == [120, 120]
