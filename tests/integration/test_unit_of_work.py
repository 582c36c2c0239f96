"""The unit of work turns domain events into follow-up jobs once, at commit, and only then; a
roster's materialisation and a calendar's DND state their changes like every other write path."""

from __future__ import annotations

import gc
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import ManualClock
from kernel.db import make_engine, make_session_factory, unit_of_work
from kernel.events import AvailabilityChanged, Event, PersonDeactivated, emit
from kernel.outbox import Job
from kernel.uow import FOLLOW_UPS, UnitOfWork
from notify.jobs import registry
from policies import calendar_dnd, rosters
from policies.models import CalendarLink
from policies.schemas.rosters import OverrideCreate, RosterCreate, RosterLayerIn
from tests.factories import Factory


def _jobs(session_factory: sessionmaker[Session]) -> list[tuple[str, dict[str, object]]]:
    with session_factory() as s:
        return [(j.name, j.payload) for j in s.scalars(select(Job).order_by(Job.created_at, Job.id))]


def test_every_event_has_one_follow_up_whose_job_the_workers_know() -> None:
    kinds = set(Event.__subclasses__())
    assert kinds == set(FOLLOW_UPS), "an event without a follow-up (or a follow-up of no event)"
    for kind, follow in FOLLOW_UPS.items():
        up = follow(kind(uuid.uuid4()))  # type: ignore[call-arg]
        spec = registry.get(up.job_name)
        assert spec is not None, f"{kind.__name__} follows up with {up.job_name!r}, which no worker runs"
        assert spec.payload is type(up), f"{up.job_name} is registered for another payload than {type(up).__name__}"


def test_events_become_one_job_each_at_commit_and_nothing_at_rollback(
    session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    anna, bo = uuid.uuid4(), uuid.uuid4()
    uow = UnitOfWork(session_factory(), clock)
    uow.emit(AvailabilityChanged(anna))
    uow.emit(AvailabilityChanged(anna))  # a file of ten shifts for Anna: one re-decision
    uow.emit(PersonDeactivated(bo))
    assert _jobs(session_factory) == [], "nothing before the commit"
    uow.commit()
    uow.session.close()
    assert sorted(_jobs(session_factory)) == [
        ("directory.offboard", {"person_id": str(bo)}),
        ("notify.redecide_holds", {"person_id": str(anna)}),
    ]

    uow = UnitOfWork(session_factory(), clock)
    uow.emit(AvailabilityChanged(bo))
    uow.rollback()
    uow.commit()  # a later commit of the same session does not resurrect what was rolled back
    uow.session.close()
    assert len(_jobs(session_factory)) == 2


def test_a_session_committed_outside_the_unit_of_work_still_gets_the_follow_ups(
    session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    person = uuid.uuid4()
    with unit_of_work(session_factory) as session:  # how jobs and tools commit
        emit(session, AvailabilityChanged(person), at=clock.now())
    assert _jobs(session_factory) == [("notify.redecide_holds", {"person_id": str(person)})]


def test_every_session_factory_publishes_even_one_made_where_a_collected_one_was(db_url: str) -> None:
    """A command or a test builds a factory, drops it and builds another: the new one, which may
    sit at the collected one's address, still turns its events into jobs."""
    people = [uuid.uuid4() for _ in range(20)]
    gc.freeze()  # what the suite built so far is left alone: each collection below looks only at the loop's objects
    try:
        for person in people:
            engine = make_engine(db_url)
            factory = make_session_factory(engine)
            with unit_of_work(factory) as session:
                emit(session, AvailabilityChanged(person), at=datetime(2026, 11, 23, 9, tzinfo=UTC))
            engine.dispose()
            del factory, session
            gc.collect()
    finally:
        gc.unfreeze()
    engine = make_engine(db_url)
    try:
        published = _jobs(make_session_factory(engine))
    finally:
        engine.dispose()
    assert sorted(p["person_id"] for _, p in published) == sorted(str(p) for p in people), "a factory lost its events"


def test_roster_changes_state_whose_on_call_time_changed_and_a_refresh_that_changes_nothing_states_nothing(
    make: Factory, session_factory: sessionmaker[Session]
) -> None:
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    unit = make.group("Anestesi")
    people = [make.person(groups=[unit]).id for _ in range(3)]
    layer = RosterLayerIn(rotation="weekly", start_date=date(2026, 11, 23), handoff_time=time(8), participants=people)  # type: ignore[arg-type]
    data = RosterCreate(
        group_id=unit.id,
        name="Bakjour",
        role="Bakjour anestesi",
        kind="beredskap",
        layers=[layer],
    )
    with unit_of_work(session_factory) as session:
        roster = rosters.create_roster(session=session, data=data, now=now)
        roster_id = roster.id
    created = {p["person_id"] for _, p in _jobs(session_factory)}
    assert created == {str(p) for p in people}, "a new roster changes every participant's on-call time"

    with unit_of_work(session_factory) as session:
        rosters.refresh_all(session=session, now=now + timedelta(minutes=5))
    assert len(_jobs(session_factory)) == 3, "a refresh that changes no slot states nothing"

    # An override hands tonight's stand-by from its holder to the third participant.
    with unit_of_work(session_factory) as session:
        roster = session.get(type(roster), roster_id)
        assert roster is not None
        override = OverrideCreate(person_id=people[2], start=now + timedelta(hours=8), end=now + timedelta(hours=20))
        rosters.add_override(session=session, roster=roster, data=override, by=None, now=now)
    changed = [p["person_id"] for _, p in _jobs(session_factory)[3:]]
    assert sorted(changed) == sorted({str(people[0]), str(people[2])})


class _Calendar:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def fetch(self, url: str) -> bytes:
        return self.data


def _meeting(start: datetime) -> bytes:
    fmt = "%Y%m%dT%H%M%SZ"
    end = start + timedelta(hours=1)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:m1\r\n"
        f"SUMMARY:Patientmöte\r\nDTSTART:{start.strftime(fmt)}\r\nDTEND:{end.strftime(fmt)}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def test_calendar_dnd_states_a_change_only_when_the_meetings_change(
    make: Factory, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    anna = make.person()
    with unit_of_work(session_factory) as session:
        calendar_dnd.link_calendar(
            session=session, person_id=anna.id, url="https://calendar.example/a.ics", allow_http=False, now=now
        )
    assert [name for name, _ in _jobs(session_factory)] == ["policies.refresh_calendar"]

    def refresh(data: bytes, at: datetime) -> None:
        with unit_of_work(session_factory) as session:
            link = session.get(CalendarLink, anna.id)
            assert link is not None
            calendar_dnd.refresh_link(session=session, link=link, fetcher=_Calendar(data), now=at)

    refresh(_meeting(now + timedelta(hours=2)), now)
    assert [name for name, _ in _jobs(session_factory)][1:] == ["notify.redecide_holds"]
    refresh(_meeting(now + timedelta(hours=2)), now + timedelta(minutes=15))
    assert len(_jobs(session_factory)) == 2, "the same meeting again changes nothing"
    refresh(_meeting(now + timedelta(hours=3)), now + timedelta(minutes=30))
    assert [name for name, _ in _jobs(session_factory)][2:] == ["notify.redecide_holds"], "the meeting moved"
