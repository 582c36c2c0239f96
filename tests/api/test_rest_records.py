"""Rest records: lost rest per rest period in the ledger and the report, the audited
recomputation, and held overrides released as ordinary urgent messages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from kernel.audit.models import AuditRecord
from kernel.clock import ManualClock
from kernel.db import unit_of_work
from kernel.directory.models import Person
from kernel.settings import Settings
from notify.models import Delivery, Recipient
from notify.outbox import JobContext
from notify.pipeline import release_held
from notify.push import PushClient
from notify.transports.base import RecordingTransport
from policies import service
from policies.engine import decide
from policies.models import Leave, OnCallSlotRow, RestLedgerEntry, RestPeriodRecord
from policies.types import MessageFacts
from tests.factories import Factory
from tests.messaging_helpers import Facts, recording_push, run_jobs, run_periodic
from vila.cli import main


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def push() -> Iterator[tuple[PushClient, RecordingTransport]]:
    client, transport = recording_push()
    yield client, transport
    client.close()


def _stand_by_night(session_factory: sessionmaker[Session], clock: ManualClock, person: Person) -> None:
    """Sunday 13:00-21:00 and Monday 10:00-18:00 (Stockholm, UTC+1), stand-by in between."""
    facts = Facts(session_factory, clock)
    facts.shift(person, utc(22, 12), utc(22, 20))
    facts.shift(person, utc(23, 9), utc(23, 17))
    with unit_of_work(session_factory) as s:
        s.add(
            OnCallSlotRow(
                person_id=person.id,
                role="ssk-beredskap",
                kind="beredskap",
                start_at=utc(22, 20),
                end_at=utc(23, 9),
                created_at=clock.now(),
            )
        )


def _call(session_factory: sessionmaker[Session], person: Person, at: datetime) -> None:
    """An urgent call to the person on stand-by, decided and written as the pipeline does."""
    with unit_of_work(session_factory) as s:
        state = service.load_states(session=s, person_ids=[person.id], at=at)[person.id]
        policy = service.policies_for(session=s, person_ids=[person.id], at=at)[person.id]
        message = MessageFacts(priority="urgent", audience_role="ssk-beredskap")
        decision = decide(state, message, policy, at)
        assert decision.kind == "deliver" and decision.ledger is not None
        service.record_contact(session=s, person_id=person.id, decision=decision, message=message, policy=policy, at=at)


def test_two_calls_in_one_night_owe_what_the_rest_period_lost_and_the_report_adds_periods(
    client: TestClient, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    unit = make.group("Ortopedavdelning 4")
    nurse = make.actor(groups=[unit])
    hr = make.actor(roles=["hr"])
    _stand_by_night(session_factory, clock, nurse.person)
    # Called 01:00 and 03:00 local; the shift starts 10:00: 7 h of rest after the last call,
    # 11 h - 7 h = 240 minutes owed for the night (not 120 + 240 = 360).
    _call(session_factory, nurse.person, utc(23, 0))
    _call(session_factory, nurse.person, utc(23, 2))
    with session_factory() as s:
        (period,) = s.scalars(select(RestPeriodRecord)).all()
        entries = s.scalars(select(RestLedgerEntry).order_by(RestLedgerEntry.at)).all()
    assert (period.start_at, period.end_at, period.kind) == (utc(22, 20), utc(23, 9), "daily")
    assert (period.compensatory_minutes, period.rest_minutes, period.contacts) == (240, 420, 2)
    assert [(e.compensatory_minutes, e.period_id) for e in entries] == [(120, period.id), (120, period.id)]

    report = client.get("/api/v1/reports/compliance", params={"weeks": 2}, headers=hr.headers).json()
    assert report["compensatory"]["owed_minutes"] == 240 == period.compensatory_minutes
    ledger = client.get(
        "/api/v1/rest-ledger",
        params={"since": utc(22, 0).isoformat(), "until": utc(24, 0).isoformat()},
        headers=hr.headers,
    ).json()
    assert ledger["owed_minutes"] == 240


def test_report_totals_equal_the_sum_of_rest_periods(
    client: TestClient, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    # Two people, three calls, two periods: 240 (two calls) + 300 (one call at 04:00 local
    # before the 10:00 start: 11 h - 6 h).
    unit = make.group()
    anna, bo = make.actor(groups=[unit]), make.actor(groups=[unit])
    hr = make.actor(roles=["hr"])
    _stand_by_night(session_factory, clock, anna.person)
    _stand_by_night(session_factory, clock, bo.person)
    _call(session_factory, anna.person, utc(23, 0))
    _call(session_factory, anna.person, utc(23, 2))
    _call(session_factory, bo.person, utc(23, 3))
    with session_factory() as s:
        periods = {r.person_id: r.compensatory_minutes for r in s.scalars(select(RestPeriodRecord))}
    assert periods == {anna.id: 240, bo.id: 300}
    report = client.get("/api/v1/reports/compliance", params={"weeks": 2}, headers=hr.headers).json()
    assert report["compensatory"]["owed_minutes"] == sum(periods.values()) == 540


def test_recompute_corrects_entries_counted_per_contact_and_is_audited(
    db_url: str, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    nurse = make.actor()
    _stand_by_night(session_factory, clock, nurse.person)
    _call(session_factory, nurse.person, utc(23, 0))
    _call(session_factory, nurse.person, utc(23, 2))
    # The ledger as it was written before: each call counted alone (120 + 240), no periods.
    with unit_of_work(session_factory) as s:
        s.execute(update(RestLedgerEntry).values(period_id=None))
        s.execute(delete(RestPeriodRecord))
        s.execute(update(RestLedgerEntry).where(RestLedgerEntry.at == utc(23, 2)).values(compensatory_minutes=240))
    result = CliRunner().invoke(main, ["ledger", "recompute"], env={"VILA_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    assert "2 entr(y/ies) in 1 rest period(s); 1 entr(y/ies) changed" in result.output
    with session_factory() as s:
        (period,) = s.scalars(select(RestPeriodRecord)).all()
        minutes = [e.compensatory_minutes for e in s.scalars(select(RestLedgerEntry).order_by(RestLedgerEntry.at))]
        record = s.scalars(select(AuditRecord).where(AuditRecord.action == "ledger.recompute")).one()
    assert period.compensatory_minutes == 240 and minutes == [120, 120]
    assert record.before == {"owed_minutes": 360}
    assert record.after is not None and record.after["owed_minutes"] == 240
    assert [(c["before_minutes"], c["after_minutes"]) for c in record.after["changed"]] == [(240, 120)]
    # Run again: nothing changes, and that is audited too.
    again = CliRunner().invoke(main, ["ledger", "recompute"], env={"VILA_DATABASE_URL": db_url})
    assert "0 entr(y/ies) changed" in again.output


def test_an_override_held_by_leave_is_released_as_an_ordinary_urgent_message(
    client: TestClient,
    make: Factory,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    unit = make.group()
    boss = make.actor(roles=["staff", "manager"], manages=[unit])
    hr = make.actor(roles=["hr"])
    nurse = make.actor(groups=[unit])
    facts = Facts(session_factory, clock)
    facts.device(nurse.person)
    policy = client.post(
        "/api/v1/policies",
        json={
            "name": "Akut",
            "effective_from": (clock.now() - timedelta(days=1)).isoformat(),
            "approval_note": "Beslut",
            "urgent_override_allowed": True,
        },
        headers=hr.headers,
    ).json()
    assert client.put(f"/api/v1/policies/{policy['id']}/groups/{unit.id}", headers=hr.headers).status_code == 200
    # On leave until Tuesday 00:00 local (Monday 23:00 UTC); next shift Tuesday 07:00 local.
    leave_end = utc(23, 23)
    with unit_of_work(session_factory) as s:
        s.add(Leave(person_id=nurse.id, kind="vacation", start_at=utc(16, 0), end_at=leave_end, created_at=clock.now()))
    facts.shift(nurse.person, utc(24, 6), utc(24, 15))
    body = {
        "title": "Kan du komma in?",
        "body": "Akut bemanning",
        "priority": "urgent",
        "override_reason": "Två sjuka i natt",
        "audience": {"people": [str(nurse.id)]},
    }
    accepted = client.post("/api/v1/messages", headers=boss.headers, json=body)
    assert accepted.status_code == 202, accepted.text
    with session_factory() as s:
        recipient = s.scalars(select(Recipient)).one()
    assert recipient.decision == "hold"
    # Held like any urgent message: until the next shift, not until the leave ends.
    assert recipient.release_at == utc(24, 6)
    assert "override.blocked" in [r["rule"] for r in recipient.reasons]

    # Something re-decides it just after the leave ends (00:01): still not an override.
    clock.advance(leave_end + timedelta(minutes=1) - clock.now())
    ctx = JobContext(settings=settings, session_factory=session_factory, clock=clock, resources={"push": push[0]})
    with unit_of_work(session_factory) as s:
        ids = list(s.scalars(select(Delivery.id)))
        release_held(ctx, s, ids, now=clock.now())
    with session_factory() as s:
        assert s.scalars(select(Delivery.state)).one() == "held"
        assert s.scalars(select(RestLedgerEntry)).all() == []

    clock.advance(utc(24, 6) - clock.now())
    run_periodic("notify.release_holds", settings, session_factory, clock, push[0])
    run_jobs(settings, session_factory, clock, push[0])
    with session_factory() as s:
        assert s.scalars(select(Delivery.state)).one() == "sent"
        recipient = s.scalars(select(Recipient)).one()
        assert s.scalars(select(RestLedgerEntry)).all() == [], "at work: no contact during rest, no override"
    assert "override" not in [r["rule"] for r in recipient.reasons]
