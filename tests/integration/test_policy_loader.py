"""Persistence and the set-based loader, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import ManualClock
from kernel.db import unit_of_work
from kernel.errors import InvalidInput
from policies import availability, ledger, rest_policies
from policies.core.engine import decide, decide_many
from policies.core.types import DEFAULT_POLICY, MessageFacts
from policies.schemas.availability import DndStart, LeaveCreate, OnCallSlotCreate, ShiftCreate, WeeklyWindow
from policies.schemas.rest_policies import PolicyCreate, PolicyVersionCreate
from policies.states import load_states
from tests.factories import Factory

# Monday 23 November 2026, 10:00 in Stockholm (the shared clock's start).
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _policy(name: str, **params: object) -> PolicyCreate:
    return PolicyCreate(name=name, effective_from=NOW - timedelta(days=10), approval_note="Godkänd av HR", **params)  # type: ignore[arg-type]


def test_loader_reads_every_kind_of_fact_and_the_engine_decides(
    session_factory: sessionmaker[Session], make: Factory, clock: ManualClock
) -> None:
    nurse = make.person()
    with unit_of_work(session_factory) as s:
        availability.create_shift(
            session=s,
            person_id=nurse.id,
            data=ShiftCreate(planned_start=NOW - timedelta(hours=2), planned_end=NOW + timedelta(hours=6)),
            now=NOW,
        )
        availability.replace_quiet_hours(
            session=s,
            person_id=nurse.id,
            windows=[WeeklyWindow(days=[1, 2, 3, 4, 5, 6, 7], start=time(22), end=time(6))],
            timezone=None,
            now=NOW,
        )
        availability.create_leave(
            session=s,
            person_id=nurse.id,
            data=LeaveCreate(kind="vacation", start=NOW + timedelta(days=2), end=NOW + timedelta(days=4)),
            by=nurse.id,
            now=NOW,
        )
        availability.create_on_call_slot(
            session=s,
            data=OnCallSlotCreate(
                person_id=nurse.id,
                role="ssk",
                kind="beredskap",
                start=NOW + timedelta(hours=8),
                end=NOW + timedelta(hours=20),
            ),
            now=NOW,
        )
    with unit_of_work(session_factory) as s:
        state = load_states(session=s, person_ids=[nurse.id], at=NOW)[nurse.id]
    assert state.zone == "Europe/Stockholm" and len(state.shifts) == 1 and state.quiet and state.leave
    assert state.on_call[0].kind == "beredskap"
    assert decide(state, MessageFacts(priority="normal"), DEFAULT_POLICY, NOW).kind == "deliver"
    night = NOW + timedelta(hours=14)  # 00:00 local: quiet hours, daily rest, stand-by
    urgent = decide(state, MessageFacts(priority="urgent"), DEFAULT_POLICY, night)
    assert urgent.kind == "deliver" and urgent.rules[0] == "on_call"
    assert decide(state, MessageFacts(priority="normal"), DEFAULT_POLICY, NOW + timedelta(days=3)).rules[0] == "leave"

    # DND ends by itself; the loader only sees what is still running.
    with unit_of_work(session_factory) as s:
        availability.start_dnd(session=s, person_id=nurse.id, data=DndStart(minutes=30), now=NOW)
    with unit_of_work(session_factory) as s:
        state = load_states(session=s, person_ids=[nurse.id], at=NOW + timedelta(minutes=5))[nurse.id]
        later = load_states(session=s, person_ids=[nurse.id], at=NOW + timedelta(minutes=31))[nurse.id]
    assert decide(state, MessageFacts(priority="normal"), DEFAULT_POLICY, NOW + timedelta(minutes=5)).rules[0] == "dnd"
    assert decide(later, MessageFacts(priority="normal"), DEFAULT_POLICY, NOW + timedelta(minutes=31)).kind == "deliver"


def test_loader_uses_a_fixed_number_of_queries_for_many_people(
    session_factory: sessionmaker[Session], make: Factory
) -> None:
    people = [make.person() for _ in range(6)]
    with unit_of_work(session_factory) as s:
        for p in people:
            availability.create_shift(
                session=s,
                person_id=p.id,
                data=ShiftCreate(planned_start=NOW, planned_end=NOW + timedelta(hours=8)),
                now=NOW,
            )
    statements: list[str] = []
    with unit_of_work(session_factory) as s:
        engine = s.get_bind()
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            states = load_states(session=s, person_ids=[p.id for p in people], at=NOW)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    assert len(states) == 6 and all(len(st.shifts) == 1 for st in states.values())
    assert len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) <= 9


def test_nearest_group_policy_wins_and_versions_take_effect_on_their_date(
    session_factory: sessionmaker[Session], make: Factory
) -> None:
    region = make.group("Region", kind="region")
    unit = make.group("Akuten", parent=region)
    team = make.group("Team natt", parent=unit, kind="team")
    in_team, in_unit, outside = make.person(groups=[team]), make.person(groups=[unit]), make.person()
    with unit_of_work(session_factory) as s:
        general, _ = rest_policies.create_policy(session=s, data=_policy("Regionen"), author_id=None, now=NOW)
        acute, _ = rest_policies.create_policy(
            session=s, data=_policy("Akutvård", urgent_override_allowed=True), author_id=None, now=NOW
        )
        rest_policies.assign_policy(session=s, policy=general, group_id=region.id, by=None, now=NOW)
        rest_policies.assign_policy(session=s, policy=acute, group_id=unit.id, by=None, now=NOW)
        rest_policies.add_version(
            session=s,
            policy=acute,
            data=PolicyVersionCreate(effective_from=NOW + timedelta(days=1), daily_rest_hours=12, approval_note="v2"),
            author_id=None,
            now=NOW,
        )
    with unit_of_work(session_factory) as s:
        today = rest_policies.policies_for(session=s, person_ids=[in_team.id, in_unit.id, outside.id], at=NOW)
        tomorrow = rest_policies.policies_for(session=s, person_ids=[in_team.id], at=NOW + timedelta(days=2))
    assert today[in_team.id].name == "Akutvård" and today[in_unit.id].name == "Akutvård"
    assert today[in_team.id] is today[in_unit.id]  # one object per version
    assert today[in_team.id].urgent_override_allowed and today[in_team.id].version == 1
    assert today[outside.id] is DEFAULT_POLICY
    assert tomorrow[in_team.id].version == 2 and tomorrow[in_team.id].daily_rest_hours == 12


def test_ledger_records_contacts_counts_overrides_and_restarts_rest(
    session_factory: sessionmaker[Session], make: Factory
) -> None:
    nurse = make.person()
    manager = make.person(roles=["manager"])
    acute = _policy("Akut", urgent_override_allowed=True)
    with unit_of_work(session_factory) as s:
        version = rest_policies.create_policy(session=s, data=acute, author_id=None, now=NOW)[1]
        params = rest_policies.params_of(version, "Akut")
        availability.create_shift(
            session=s,
            person_id=nurse.id,
            data=ShiftCreate(planned_start=NOW - timedelta(hours=10), planned_end=NOW - timedelta(hours=2)),
            now=NOW,
        )
        availability.create_shift(
            session=s,
            person_id=nurse.id,
            data=ShiftCreate(planned_start=NOW + timedelta(hours=6), planned_end=NOW + timedelta(hours=14)),
            now=NOW,
        )
    message = MessageFacts(
        priority="urgent", sender_id=manager.id, sender_roles=frozenset({"manager"}), override_reason="Bemanning"
    )
    with unit_of_work(session_factory) as s:
        state = load_states(session=s, person_ids=[nurse.id], at=NOW)[nurse.id]
        decision = decide_many([state], message, params, NOW)[nurse.id]
        assert decision.rules[0] == "override"
        entry = ledger.record_contact(
            session=s, person_id=nurse.id, decision=decision, message=message, policy=params, at=NOW
        )
    assert entry is not None and entry.compensatory_minutes == 5 * 60 and entry.restarts_rest
    with unit_of_work(session_factory) as s:
        later = NOW + timedelta(hours=1)
        again = load_states(session=s, person_ids=[nurse.id], at=later)[nurse.id]
        entries, total, owed, granted = ledger.list_ledger(
            session=s, person_ids=[nurse.id], since=NOW - timedelta(days=1), until=later, limit=10, offset=0
        )
        with pytest.raises(InvalidInput):
            ledger.grant_compensatory(session=s, entry=entries[0], minutes=6 * 60, by=None, now=later)
    assert again.overrides_7d == 1 and again.rest_restarts == (NOW,)
    assert (total, owed, granted) == (1, 300, 0)
    assert entries[0].reason == "Bemanning" and entries[0].states == ["daily_rest"]
