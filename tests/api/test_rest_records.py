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
from notify.push import PushClient
from notify.release import release_held
from notify.transports.base import RecordingTransport
from policies.core.engine import decide
from policies.core.types import MessageFacts
from policies.ledger import record_contact
from policies.models import Leave, OnCallSlotRow, RestLedgerEntry, RestPeriodRecord
from policies.rest_policies import policies_for
from policies.states import load_states
from tests.factories import Factory
from tests.messaging_helpers import Facts, recording_push, run_jobs, run_periodic
from tests.web_login import log_in
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
        state = load_states(session=s, person_ids=[person.id], at=at)[person.id]
        policy = policies_for(session=s, person_ids=[person.id], at=at)[person.id]
        message = MessageFacts(priority="urgent", audience_role="ssk-beredskap")
        decision = decide(state, message, policy, at)
        assert decision.kind == "deliver" and decision.ledger is not None
        record_contact(session=s, person_id=person.id, decision=decision, message=message, policy=policy, at=at)


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
    assert sum(report["broken_rest"].values()) == 1, "one rest period broken, by two calls"
    assert sum(report["after_hours"]["Ortopedavdelning 4"].values()) == 2, "two contacts"
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


def _jour_roster(group_id: str, people: list[str], **layer: object) -> dict[str, object]:
    return {
        "group_id": group_id,
        "name": "Jour kirurgi",
        "role": "Jour kirurgi",
        "kind": "jour",
        "layers": [
            {
                "rotation": "weekly",
                "start_date": "2026-11-23",
                "handoff_time": "08:00",
                "participants": people,
                **layer,
            }
        ],
    }


def test_a_roster_above_the_jour_limit_is_flagged_before_it_is_saved(client: TestClient, make: Factory) -> None:
    unit = make.group("Kirurgkliniken")
    boss = make.actor(roles=["staff", "manager"], manages=[unit])
    anna, bo = make.actor(groups=[unit], name="Anna Andersson"), make.actor(groups=[unit], name="Bo Berg")
    staff = make.actor(groups=[unit])
    # A week of jour each, in turn: 168 hours in a week, far above 48 in four weeks.
    body = _jour_roster(str(unit.id), [str(anna.id), str(bo.id)])
    checked = client.post("/api/v1/rosters/check", json=body, headers=boss.headers)
    assert checked.status_code == 200, checked.text
    result = checked.json()
    assert result["ok"] is False
    four_weeks = [f for f in result["findings"] if f["kind"] == "jour_limit" and f["period"] == "four_weeks"]
    assert {f["name"] for f in four_weeks} == {"Anna Andersson", "Bo Berg"}
    # Anna: 23 Nov 08:00 - 30 Nov 08:00, then again from 7 Dec: 168 + 168 hours in four weeks.
    anna_first = next(f for f in four_weeks if f["person_id"] == str(anna.id))
    assert anna_first["start"] == "2026-11-23T07:00:00+00:00" and anna_first["hours"] == 336
    assert anna_first["limit_hours"] == 48
    assert any(f["kind"] == "jour_limit" and f["period"] == "month" for f in result["findings"])
    # The check saved nothing.
    assert client.get("/api/v1/rosters", headers=boss.headers).json() == []
    # Others may not check a group's roster.
    assert client.post("/api/v1/rosters/check", json=body, headers=staff.headers).status_code == 403

    # One day of jour is within the limits: no finding, and then it is saved.
    short = _jour_roster(str(unit.id), [str(anna.id)], rotation="daily", end_date="2026-11-24")
    fine = client.post("/api/v1/rosters/check", json=short, headers=boss.headers).json()
    assert fine == {"ok": True, "findings": []}
    created = client.post("/api/v1/rosters", json=short, headers=boss.headers)
    assert created.status_code == 201, created.text
    roster_id = created.json()["id"]
    # Extending it to a weekly rotation would exceed the limit: flagged before the PATCH.
    change = {"layers": _jour_roster(str(unit.id), [str(anna.id)])["layers"]}
    flagged = client.post(f"/api/v1/rosters/{roster_id}/check", json=change, headers=boss.headers).json()
    assert flagged["ok"] is False and {f["person_id"] for f in flagged["findings"]} == {str(anna.id)}
    # An override giving Bo a week of this jour is flagged too; the roster is unchanged.
    cover = {"person_id": str(bo.id), "start": "2026-11-30T07:00:00+00:00", "end": "2026-12-07T07:00:00+00:00"}
    override = client.post(f"/api/v1/rosters/{roster_id}/overrides/check", json=cover, headers=boss.headers).json()
    assert override["ok"] is False and {f["person_id"] for f in override["findings"]} == {str(bo.id)}
    layers = client.get(f"/api/v1/rosters/{roster_id}", headers=boss.headers).json()["layers"]
    assert layers[0]["rotation"] == "daily"
    assert client.get(f"/api/v1/rosters/{roster_id}", headers=boss.headers).json()["overrides"] == []


def test_weekly_rest_broken_by_stand_by_and_jour_limits_reach_hr_and_the_union(
    client: TestClient, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    unit = make.group("Anestesi")
    nurse = make.actor(groups=[unit])
    hr = make.actor(roles=["hr"])
    union = make.actor(roles=["union"])
    facts = Facts(session_factory, clock)
    # Week 47 (16-22 Nov): Mon-Fri 07:00-16:00 local, stand-by Sat 08:00 - Sun 20:00 local.
    for day in range(16, 21):
        facts.shift(nurse.person, utc(day, 6), utc(day, 15))
    with unit_of_work(session_factory) as s:
        s.add(
            OnCallSlotRow(
                person_id=nurse.id,
                role="ane-beredskap",
                kind="beredskap",
                start_at=utc(21, 7),
                end_at=utc(22, 19),
                created_at=clock.now(),
            )
        )
        # And 4 x 16 h of jour in November: 64 hours.
        for day in (2, 4, 9, 11):
            s.add(
                OnCallSlotRow(
                    person_id=nurse.id,
                    role="ane-jour",
                    kind="jour",
                    start_at=utc(day, 15),
                    end_at=utc(day + 1, 7),
                    created_at=clock.now(),
                )
            )
    for reader in (hr, union):
        report = client.get("/api/v1/reports/compliance", params={"weeks": 4}, headers=reader.headers)
        assert report.status_code == 200, report.text
        body = report.json()
        assert body["weekly_rest"] == {"Anestesi": {"2026-W47": 1}}
        assert body["jour_limits"] == {"Anestesi": {"four_weeks": 1, "month": 1}}
    csv = client.get("/api/v1/reports/compliance/weekly-rest.csv", params={"weeks": 4}, headers=union.headers)
    assert csv.status_code == 200
    assert csv.text.startswith("\ufeff"), "Swedish Excel needs the BOM"
    header, row = csv.text.removeprefix("\ufeff").splitlines()
    assert header.split(";")[0] == "group" and row.split(";")[0] == "Anestesi"
    assert row.split(";")[header.split(";").index("2026-W47")] == "1"
    jour_csv = client.get("/api/v1/reports/compliance/jour-limits.csv", params={"weeks": 4}, headers=hr.headers)
    assert jour_csv.text.removeprefix("\ufeff").splitlines() == [
        "group;people_over_48h_in_four_weeks;people_over_50h_in_a_month",
        "Anestesi;1;1",
    ]
    # The person sees the same findings in their own record.
    own = client.get("/api/v1/people/me/rest-record", headers=nurse.headers).json()
    kinds = {(f["kind"], f["period"]) for f in own["findings"]}
    assert ("weekly_rest", "2026-W47") in kinds and ("jour_limit", "four_weeks") in kinds
    weekly = next(f for f in own["findings"] if f["kind"] == "weekly_rest")
    # Friday 16:00 -> Saturday 08:00 is the longest rest of that week: 16 hours.
    assert (weekly["cause"], weekly["longest_rest_minutes"]) == ("stand_by", 960)


def test_my_rest_record_lists_periods_contacts_and_exports_csv(
    client: TestClient,
    make: Factory,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    nurse = make.actor()
    colleague = make.actor()
    hr = make.actor(roles=["hr"])
    _stand_by_night(session_factory, clock, nurse.person)
    _call(session_factory, nurse.person, utc(23, 0))
    _call(session_factory, nurse.person, utc(23, 2))
    with unit_of_work(session_factory) as s:
        first = s.scalars(select(RestLedgerEntry).order_by(RestLedgerEntry.at)).first()
        assert first is not None
        first_id = str(first.id)
    granted = client.post(f"/api/v1/rest-ledger/{first_id}/grant", json={"minutes": 60}, headers=hr.headers)
    assert granted.status_code == 200, granted.text

    record = client.get("/api/v1/people/me/rest-record", headers=nurse.headers)
    assert record.status_code == 200, record.text
    body = record.json()
    assert body["year"] == 2026 and body["years"] == [2026, 2025, 2024]
    (period,) = body["periods"]
    assert period["start"] == "2026-11-22T21:00+01:00" and period["end"] == "2026-11-23T10:00+01:00"
    assert (period["kind"], period["compensatory_minutes"], period["granted_minutes"]) == ("daily", 240, 60)
    assert [c["at"] for c in period["contacts"]] == ["2026-11-23T01:00+01:00", "2026-11-23T03:00+01:00"]
    assert (body["owed_minutes"], body["granted_minutes"], body["outstanding_minutes"]) == (240, 60, 180)

    csv = client.get("/api/v1/people/me/rest-record.csv", headers=nurse.headers)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.removeprefix("\ufeff").splitlines()
    assert lines[0].startswith("row;period_start;period_end;period_kind")
    contact_rows = [line.split(";") for line in lines[1:] if line.startswith("contact;")]
    assert [r[15] for r in contact_rows] == ["120", "120"] and {r[6] for r in contact_rows} == {"240"}

    # HR reads it too; a colleague does not; years outside the kept three are refused.
    assert client.get(f"/api/v1/people/{nurse.id}/rest-record", headers=hr.headers).json()["owed_minutes"] == 240
    assert client.get(f"/api/v1/people/{nurse.id}/rest-record", headers=colleague.headers).status_code == 403
    too_old = client.get("/api/v1/people/me/rest-record", params={"year": 2023}, headers=nurse.headers)
    assert too_old.status_code == 422 and "2024-2026" in too_old.json()["message"]
    assert client.get("/api/v1/people/me/rest-record", headers=colleague.headers).json()["periods"] == []

    # Message retention of one day does not touch the record.
    clock.advance(timedelta(days=30))
    run_periodic(
        "notify.purge", settings.model_copy(update={"message_retention_days": 1}), session_factory, clock, push[0]
    )
    kept = client.get("/api/v1/people/me/rest-record", headers=nurse.headers).json()
    assert kept["owed_minutes"] == 240 and len(kept["periods"][0]["contacts"]) == 2


def test_the_min_vilotid_page_in_swedish_and_english(
    client: TestClient, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    nurse = make.actor()
    _stand_by_night(session_factory, clock, nurse.person)
    _call(session_factory, nurse.person, utc(23, 0))
    _call(session_factory, nurse.person, utc(23, 2))
    log_in(client, nurse.token)
    page = client.get("/rest")
    assert page.status_code == 200
    assert "Min vilotid" in page.text and "dygnsvila" in page.text
    assert 'id="rest-owed">240 min<' in page.text
    assert "/api/v1/people/me/rest-record.csv?year=2026" in page.text
    assert 'href="/rest"' in page.text, "the page is in the menu"
    client.get("/language/en")
    english = client.get("/rest")
    assert "My rest time" in english.text and "daily rest" in english.text
    assert client.get("/rest?year=2025").status_code == 200


def test_hr_reads_rest_periods_and_grants_compensatory_rest_per_period(
    client: TestClient, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    unit = make.group()
    nurse = make.actor(groups=[unit])
    other = make.actor()
    hr = make.actor(roles=["hr"])
    _stand_by_night(session_factory, clock, nurse.person)
    _call(session_factory, nurse.person, utc(23, 0))
    _call(session_factory, nurse.person, utc(23, 2))
    params = {"since": utc(22, 0).isoformat(), "until": utc(24, 0).isoformat(), "group_id": str(unit.id)}
    listed = client.get("/api/v1/rest-periods", params=params, headers=hr.headers)
    assert listed.status_code == 200, listed.text
    (period,) = listed.json()["items"]
    assert (period["compensatory_minutes"], period["rest_minutes"], period["kind"]) == (240, 420, "daily")
    assert [e["compensatory_minutes"] for e in period["entries"]] == [120, 120]
    ledger = client.get("/api/v1/rest-ledger", params=params, headers=hr.headers).json()
    assert {e["period_id"] for e in ledger["items"]} == {period["id"]}
    # 130 minutes granted for the period: 120 against the first call's share, 10 against the second.
    granted = client.post(f"/api/v1/rest-periods/{period['id']}/grant", json={"minutes": 130}, headers=hr.headers)
    assert granted.status_code == 200, granted.text
    assert granted.json()["granted_minutes"] == 130
    too_much = client.post(f"/api/v1/rest-periods/{period['id']}/grant", json={"minutes": 111}, headers=hr.headers)
    assert too_much.status_code == 422 and "110 minutes" in too_much.json()["message"]
    assert (
        client.post(
            f"/api/v1/rest-periods/{period['id']}/grant", json={"minutes": 1}, headers=nurse.headers
        ).status_code
        == 403
    )
    # The person reads their own periods, nobody else's.
    own = client.get("/api/v1/rest-periods", params={"person_id": str(nurse.id)}, headers=nurse.headers)
    assert own.status_code == 200 and own.json()["total"] == 1  # by default: periods begun in the last 30 days
    mine = {"person_id": str(nurse.id), "since": utc(23, 0).isoformat()}
    assert client.get("/api/v1/rest-periods", params=mine, headers=nurse.headers).json()["total"] == 0
    assert client.get("/api/v1/rest-periods", params=mine, headers=other.headers).status_code == 403
    assert client.get("/api/v1/rest-periods", headers=other.headers).status_code == 403
    naive = {"since": "2026-11-22T00:00:00"}
    assert client.get("/api/v1/rest-periods", params=naive, headers=hr.headers).status_code == 422
