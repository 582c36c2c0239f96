"""Rosters in the database (SQLite and PostgreSQL): the resolved timeline becomes the engine's
on-call slots across the 2026 DST switches, the horizon moves with time, and past slots stay as
the record when a roster changes or goes."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

import pytz
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import ManualClock
from kernel.db import unit_of_work
from policies import rosters
from policies.availability import cover_for_role
from policies.models import OnCallSlotRow, Roster
from policies.schemas.rosters import OverrideCreate, RosterCreate, RosterLayerIn, RosterUpdate
from policies.states import load_states
from tests.factories import Factory

STHLM = pytz.timezone("Europe/Stockholm")
ROLE = "Beredskap anestesi"


def _roster(make: Factory, session: Session, *, start: date, now: datetime, rotation: str = "weekly") -> Roster:
    unit = make.group("Anestesi")
    people = [make.person(groups=[unit]).id for _ in range(3)]
    data = RosterCreate(
        group_id=unit.id,
        name="Bakjour",
        role=ROLE,
        kind="beredskap",
        layers=[RosterLayerIn(rotation=rotation, start_date=start, handoff_time=time(8), participants=people)],  # type: ignore[arg-type]
    )
    return rosters.create_roster(session=session, data=data, now=now)


def test_slots_hand_off_at_eight_local_across_both_switches(
    make: Factory, session_factory: sessionmaker[Session]
) -> None:
    now = datetime(2026, 3, 16, 7, tzinfo=UTC)
    with unit_of_work(session_factory) as session:
        roster = _roster(make, session, start=date(2026, 3, 16), now=now)
        rosters.materialise(session=session, roster=roster, now=now, horizon=timedelta(days=240))
    with session_factory() as session:
        slots = session.scalars(
            select(OnCallSlotRow).where(OnCallSlotRow.role == ROLE).order_by(OnCallSlotRow.start_at)
        ).all()
        handoffs = [s.start_at.astimezone(STHLM) for s in slots]
        assert all((h.hour, h.minute, h.weekday()) == (8, 0, 0) for h in handoffs)
        # Consecutive, never overlapping, and one of them 167 h long (spring) and one 169 h (autumn).
        assert all(a.end_at == b.start_at for a, b in itertools.pairwise(slots))
        lengths = {s.end_at - s.start_at for s in slots[:-1]}  # the last one is cut at the horizon
        assert lengths == {timedelta(hours=167), timedelta(hours=168), timedelta(hours=169)}
        # The engine's loader sees the holder as on stand-by on the night of the spring switch.
        night = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
        holder = next(s for s in slots if s.start_at <= night < s.end_at)
        states = load_states(session=session, person_ids=[holder.person_id], at=night)
        assert states[holder.person_id].on_call[0].role == ROLE
        assert [c.person_id for c in cover_for_role(session=session, role=ROLE, at=night) if c.start <= night] == [
            holder.person_id
        ]


def test_the_periodic_refresh_moves_the_horizon_and_keeps_the_past(
    make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    now = clock.now()
    with unit_of_work(session_factory) as session:
        roster = _roster(make, session, start=date(2026, 11, 16), now=now, rotation="daily")
        roster_id = roster.id
        first_person = rosters.timeline(session=session, roster=roster, start=now, end=now + timedelta(hours=1))
    later = now + timedelta(days=30)
    with unit_of_work(session_factory) as session:
        assert rosters.refresh_all(session=session, now=later) == 1
    with session_factory() as session:
        roster = session.get(Roster, roster_id)
        assert roster is not None and roster.materialised_until == later + rosters.HORIZON
        past = session.scalars(
            select(OnCallSlotRow).where(OnCallSlotRow.roster_id == roster_id, OnCallSlotRow.start_at <= now)
        ).all()
        assert [s.person_id for s in past if s.end_at > now] == [first_person.segments[0].person_id]
    # An override made later wins in the slots, and deleting the roster keeps the record of the past.
    with unit_of_work(session_factory) as session:
        roster = session.get(Roster, roster_id)
        assert roster is not None
        stand_in = make.person().id
        cover_start = later + timedelta(hours=2)
        rosters.add_override(
            session=session,
            roster=roster,
            data=OverrideCreate(person_id=stand_in, start=cover_start, end=cover_start + timedelta(hours=6)),
            by=None,
            now=later,
        )
    with session_factory() as session:
        at = cover_start + timedelta(hours=1)
        holders = [c.person_id for c in cover_for_role(session=session, role=ROLE, at=at) if c.start <= at < c.end]
        assert holders == [stand_in]
    with unit_of_work(session_factory) as session:
        roster = session.get(Roster, roster_id)
        assert roster is not None
        rosters.delete_roster(session=session, roster=roster, now=later)
    with session_factory() as session:
        left = session.scalars(select(OnCallSlotRow).where(OnCallSlotRow.role == ROLE)).all()
        assert left and all(s.end_at <= later for s in left)
        assert all(s.roster_id is None for s in left)


def test_renaming_the_role_moves_the_slots(
    make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    now = clock.now()
    with unit_of_work(session_factory) as session:
        roster = _roster(make, session, start=date(2026, 11, 16), now=now)
        rosters.update_roster(session=session, roster=roster, data=RosterUpdate(role="Bakjour IVA"), now=now)
    with session_factory() as session:
        assert cover_for_role(session=session, role=ROLE, at=now) == ()
        assert len(cover_for_role(session=session, role="Bakjour IVA", at=now)) >= 1
