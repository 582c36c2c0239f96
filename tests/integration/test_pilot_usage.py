"""Usage figures come from what Vila stores, counted set-wise on SQLite and PostgreSQL alike:
messages received (at once or held), contacts during rest, broken rest, overrides, acknowledgement
times in working time only, and devices that stopped checking in."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import ManualClock
from kernel.db import new_id, unit_of_work
from kernel.directory.models import Person
from notify.models import Device, Message, Recipient
from pilot import pilots
from pilot.schemas import ParticipantIn, PilotCreate
from pilot.usage import Usage, usage
from policies.models import RestLedgerEntry
from tests.factories import Factory

BASE = datetime(2026, 11, 9, tzinfo=UTC)  # the pilot runs 9-22 November (Stockholm): two weeks


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return BASE + timedelta(days=day, hours=hour, minutes=minute)


class Rows:
    def __init__(self, session: Session, sender: Person) -> None:
        self.session, self.sender = session, sender

    def message(
        self, at: datetime, *, priority: str = "normal", ack: bool = False, category: str | None = None
    ) -> uuid.UUID:
        message = Message(
            id=new_id(),
            sender_id=self.sender.id,
            title="t",
            body="b",
            priority=priority,
            category=category,
            requires_ack=ack,
            sensitive=False,
            audience={},
            audience_label="x",
            sender_roles=["manager"],
            state="decided",
            recipients_total=0,
            chunks_total=0,
            created_at=at,
        )
        self.session.add(message)
        self.session.flush()
        return message.id

    def recipient(
        self,
        message_id: uuid.UUID,
        person: Person,
        at: datetime,
        decision: str = "deliver",
        *,
        release_at: datetime | None = None,
        acked: timedelta | None = None,
        in_working_time: bool = True,
    ) -> None:
        reached = release_at or at
        self.session.add(
            Recipient(
                message_id=message_id,
                person_id=person.id,
                decision=decision,
                release_at=release_at,
                reasons=[],
                decided_at=at,
                acked_at=reached + acked if acked is not None else None,
                acked_in_working_time=in_working_time if acked is not None else None,
            )
        )

    def contact(
        self, person: Person, at: datetime, kind: str, *, breaks: bool, message_id: uuid.UUID | None = None
    ) -> None:
        self.session.add(
            RestLedgerEntry(
                person_id=person.id,
                at=at,
                kind=kind,
                states=["daily_rest"],
                priority="urgent",
                rules=[],
                message_id=message_id,
                restarts_rest=breaks,
                compensatory_minutes=0,
                granted_minutes=0,
                created_at=at,
            )
        )

    def device(self, person: Person, seen: datetime, state: str = "active") -> None:
        self.session.add(
            Device(
                person_id=person.id,
                name="d",
                platform="android",
                provider="fcm",
                token=f"fcm-{uuid.uuid4().hex}",
                ownership="work",
                state=state,
                last_seen_at=seen,
                created_at=datetime(2026, 11, 1, tzinfo=UTC),
                updated_at=seen,
            )
        )


@pytest.fixture
def figures(make: Factory, clock: ManualClock, session_factory: sessionmaker[Session]) -> Usage:
    unit = make.group()
    nurses = [make.person(groups=[unit], profession="sjuksköterska") for _ in range(5)]
    other = make.person(groups=[unit], profession="sjuksköterska")  # in the comparison group: not counted
    boss = make.person(roles=["staff", "manager"])
    p0, p1, p2, p3, p4 = nurses
    with unit_of_work(session_factory) as session:
        pilot = pilots.create(
            session=session,
            now=clock.now(),
            data=PilotCreate(code="u", name="u", start_date=date(2026, 11, 9), end_date=date(2026, 11, 22)),
        )
        people = [
            ParticipantIn(person_id=p.id, device_kind="phone" if i < 3 else "tablet") for i, p in enumerate(nurses)
        ]
        people.append(ParticipantIn(person_id=other.id, arm="comparison"))
        pilots.enrol(session=session, pilot=pilot, people=people, now=clock.now())
        rows = Rows(session, boss)
        m1 = rows.message(_at(1, 9))
        for p in [*nurses, other]:
            rows.recipient(m1, p, _at(1, 9))
        m2 = rows.message(_at(2, 19), priority="info")
        for p in nurses:
            held = p in (p0, p1, p2)
            rows.recipient(m2, p, _at(2, 19), "hold" if held else "deliver", release_at=_at(3, 6) if held else None)
        reminder = rows.message(_at(3, 9), priority="info", category="pilot_survey")  # the evaluation's own
        for p in nurses:
            rows.recipient(reminder, p, _at(3, 9))
        before = rows.message(_at(-20, 9))  # before the pilot
        for p in nurses:
            rows.recipient(before, p, _at(-20, 9))
        m5 = rows.message(_at(4, 9), priority="urgent", ack=True)
        rows.recipient(m5, p0, _at(4, 9), acked=timedelta(minutes=10))
        rows.recipient(m5, p1, _at(4, 9), acked=timedelta(minutes=30))
        rows.recipient(m5, p2, _at(4, 9), acked=timedelta(minutes=20), in_working_time=False)  # read in rest
        rows.recipient(m5, p3, _at(4, 9), acked=timedelta(hours=12))  # a rest lies in between
        rows.recipient(m5, p4, _at(4, 9), acked=timedelta(minutes=5))  # reached during rest: see the ledger
        rows.contact(p4, _at(4, 9), "override", breaks=True, message_id=m5)
        m6 = rows.message(_at(5, 20), ack=True)
        rows.recipient(m6, p0, _at(5, 20), "hold", release_at=_at(6, 6), acked=timedelta(minutes=40))
        rows.contact(p1, _at(8, 2), "on_call", breaks=False)
        rows.contact(p2, _at(-3, 2), "override", breaks=True)  # before the pilot
        rows.device(p0, datetime(2026, 11, 1, tzinfo=UTC))  # stopped checking in
        rows.device(p1, datetime(2026, 11, 20, tzinfo=UTC))
        rows.device(p2, datetime(2026, 11, 20, tzinfo=UTC), state="removed")
        rows.device(p3, datetime(2026, 11, 15, tzinfo=UTC))
        session.flush()
        since, until = pilots.period(pilot)
        return usage(session=session, pilot_id=pilot.id, professions=["sjuksköterska"], since=since, until=until)


def test_usage_figures_follow_from_the_stored_rows(figures: Usage) -> None:
    result = figures
    assert result.weeks == 2
    everyone = result.groups["pilot"]
    assert everyone is not None
    assert everyone.people == 5 and everyone.person_weeks == 10
    # Received: m1 5 at once; m2 2 at once, 3 held; m5 5 at once; m6 1 held. Not the reminder, not before.
    assert everyone.received_per_person_week == pytest.approx(16 / 10)
    assert (everyone.at_once_share, everyone.held_share) == (12 / 16, 4 / 16)
    # The ledger: two contacts in the period, one broke rest, one override.
    assert everyone.contacts_per_person_week == pytest.approx(0.2)
    assert everyone.rest_breaks_per_person_week == pytest.approx(0.1)
    assert everyone.overrides == 1
    # Acknowledgements: 10 and 30 min (at once), 40 min after a held message was released. Not the
    # one made during rest, not the one 12 h later, not the one to a message that reached its
    # recipient during rest.
    assert (everyone.acks, everyone.ack_median_minutes) == (3, 30)
    assert (everyone.devices, everyone.devices_without_checkin, everyone.people_without_device) == (3, 1, 2)
    assert result.groups["profession:sjuksköterska"] == everyone
    assert result.groups["device:phone"] is None and result.groups["device:tablet"] is None, "3 and 2 people"
