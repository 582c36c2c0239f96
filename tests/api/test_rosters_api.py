"""Rosters through the API: who is on call, the timeline with gaps and overrides, permissions,
the audit trail, and role addressing end to end (a message to a role reaches whoever holds it)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from kernel.audit.models import AuditRecord
from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.outbox import NullWaker
from notify.push import PushClient
from notify.transports.base import RecordingTransport
from policies.models import OnCallSlotRow
from tests.factories import Actor, Factory
from tests.messaging_helpers import Facts, recording_push, run_jobs, run_periodic

ROLE = "Jour medicin"


@pytest.fixture
def push() -> Iterator[tuple[PushClient, RecordingTransport]]:
    client, transport = recording_push()
    yield client, transport
    client.close()


@pytest.fixture
def app(settings: Settings, clock: ManualClock, push: tuple[PushClient, RecordingTransport]) -> FastAPI:
    return create_app(settings, clock=clock, waker=NullWaker(), push=push[0])


class Clinic:
    def __init__(self, make: Factory) -> None:
        self.unit = make.group("Medicinkliniken")
        self.boss: Actor = make.actor(roles=["staff", "manager"], manages=[self.unit], name="Chef Chefsson")
        self.anna = make.actor(groups=[self.unit], name="Anna Andersson")
        self.bo = make.actor(groups=[self.unit], name="Bo Berg")
        self.cia = make.actor(groups=[self.unit], name="Cia Carlsson")

    def roster(self, **layer: object) -> dict[str, object]:
        return {
            "group_id": str(self.unit.id),
            "name": "Jourlinjen medicin",
            "role": ROLE,
            "kind": "jour",
            "layers": [
                {
                    "rotation": "weekly",
                    "start_date": "2026-11-16",
                    "handoff_time": "08:00",
                    "participants": [str(self.anna.id), str(self.bo.id)],
                    **layer,
                }
            ],
        }


@pytest.fixture
def clinic(make: Factory) -> Clinic:
    return Clinic(make)


def _create(client: TestClient, clinic: Clinic, **layer: object) -> dict[str, object]:
    r = client.post("/api/v1/rosters", headers=clinic.boss.headers, json=clinic.roster(**layer))
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


def test_who_is_on_call_follows_the_weekly_rotation(client: TestClient, clinic: Clinic) -> None:
    _create(client, clinic)
    # Week of 16 Nov: Anna; the test clock is Monday 23 Nov 10:00 Stockholm, so Bo since 08:00.
    r = client.get("/api/v1/on-call", headers=clinic.anna.headers, params={"role": ROLE})
    assert r.status_code == 200, r.text
    assert r.json()["person_id"] == str(clinic.bo.id)
    assert r.json()["start"] == "2026-11-23T07:00:00Z"
    earlier = client.get(
        "/api/v1/on-call", headers=clinic.anna.headers, params={"role": ROLE, "at": "2026-11-23T06:59:00+00:00"}
    )
    assert earlier.json()["person_id"] == str(clinic.anna.id)
    # Far beyond the materialised horizon the roster still answers.
    later = client.get(
        "/api/v1/on-call", headers=clinic.anna.headers, params={"role": ROLE, "at": "2027-06-01T12:00:00+00:00"}
    )
    assert later.json()["person_id"] in {str(clinic.anna.id), str(clinic.bo.id)}
    unknown = client.get("/api/v1/on-call", headers=clinic.anna.headers, params={"role": "Ingen sådan"})
    assert unknown.status_code == 404
    assert "no roster holds the role" in unknown.json()["message"]


def test_override_wins_shows_in_the_timeline_and_is_audited(
    client: TestClient, clinic: Clinic, session_factory: sessionmaker[Session]
) -> None:
    roster = _create(client, clinic)
    rid = roster["id"]
    cover = {"person_id": str(clinic.cia.id), "start": "2026-11-24T17:00:00+00:00", "end": "2026-11-25T07:00:00+00:00"}
    r = client.post(f"/api/v1/rosters/{rid}/overrides", headers=clinic.boss.headers, json=cover)
    assert r.status_code == 201, r.text
    who = client.get(
        "/api/v1/on-call", headers=clinic.cia.headers, params={"role": ROLE, "at": "2026-11-24T20:00:00+00:00"}
    )
    assert who.json()["person_id"] == str(clinic.cia.id)
    assert who.json()["source"] == "override"
    # Staff need a name to call, not an id they cannot look up.
    assert who.json()["person_name"] == "Cia Carlsson"
    tl = client.get(
        f"/api/v1/rosters/{rid}/timeline",
        headers=clinic.cia.headers,
        params={"start": "2026-11-23T07:00:00+00:00", "end": "2026-11-30T07:00:00+00:00"},
    ).json()
    assert [s["person_id"] for s in tl["segments"]] == [str(clinic.bo.id), str(clinic.cia.id), str(clinic.bo.id)]
    assert [s["person_name"] for s in tl["segments"]] == ["Bo Berg", "Cia Carlsson", "Bo Berg"]
    assert tl["overlaps"][0]["winner"] == "override"
    assert tl["gaps"] == []
    # An overlapping second override is refused, not silently accepted.
    clash = client.post(f"/api/v1/rosters/{rid}/overrides", headers=clinic.boss.headers, json=cover)
    assert clash.status_code == 409
    assert "overlaps another override" in clash.json()["message"]
    # The engine's on-call slots follow the override.
    with session_factory() as s:
        slots = s.scalars(select(OnCallSlotRow).where(OnCallSlotRow.role == ROLE).order_by(OnCallSlotRow.start_at))
        holders = [(slot.person_id, slot.start_at) for slot in slots][:3]
        actions = set(s.scalars(select(AuditRecord.action)))
    assert holders[1] == (clinic.cia.id, datetime(2026, 11, 24, 17, tzinfo=UTC))
    assert {"roster.create", "roster.override.create"} <= actions


def test_gaps_are_reported_in_the_timeline(client: TestClient, clinic: Clinic) -> None:
    roster = _create(client, clinic, end_date="2026-11-30")
    # Saving a roster that leaves the role uncovered says so at once (to the end of the horizon).
    assert roster["gaps"] == [{"start": "2026-11-30T07:00:00Z", "end": "2027-02-21T09:00:00Z"}]
    tl = client.get(
        f"/api/v1/rosters/{roster['id']}/timeline",
        headers=clinic.boss.headers,
        params={"start": "2026-11-23T07:00:00+00:00", "end": "2026-12-07T07:00:00+00:00"},
    ).json()
    assert tl["gaps"] == [{"start": "2026-11-30T07:00:00Z", "end": "2026-12-07T07:00:00Z"}]
    inside = client.get(
        "/api/v1/on-call", headers=clinic.boss.headers, params={"role": ROLE, "at": "2026-12-01T12:00:00+00:00"}
    )
    assert inside.json()["person_id"] is None


def test_invalid_rosters_are_refused_with_a_reason(client: TestClient, clinic: Clinic, make: Factory) -> None:
    bad_zone = {**clinic.roster(), "timezone": "Europe/Gotham"}
    r = client.post("/api/v1/rosters", headers=clinic.boss.headers, json=bad_zone)
    assert r.status_code == 422
    custom = clinic.roster(rotation="custom")
    r = client.post("/api/v1/rosters", headers=clinic.boss.headers, json=custom)
    assert r.status_code == 422
    assert "length_days" in r.text
    stranger = clinic.roster(participants=["00000000-0000-0000-0000-000000000001"])
    r = client.post("/api/v1/rosters", headers=clinic.boss.headers, json=stranger)
    assert r.status_code == 422
    assert "unknown or inactive person" in r.json()["message"]
    # Staff may read but not keep a roster; a manager of another unit may not either.
    assert client.post("/api/v1/rosters", headers=clinic.anna.headers, json=clinic.roster()).status_code == 403
    other = make.actor(roles=["staff", "manager"], manages=[make.group("Kirurgen")])
    assert client.post("/api/v1/rosters", headers=other.headers, json=clinic.roster()).status_code == 403
    _create(client, clinic)
    dup = client.post("/api/v1/rosters", headers=clinic.boss.headers, json=clinic.roster())
    assert dup.status_code == 409
    naive = client.get("/api/v1/on-call", headers=clinic.boss.headers, params={"role": ROLE, "at": "2026-11-24T12:00"})
    assert naive.status_code == 422


def test_changing_the_layers_moves_the_role_at_once(
    client: TestClient, clinic: Clinic, session_factory: sessionmaker[Session]
) -> None:
    roster = _create(client, clinic)
    r = client.patch(
        f"/api/v1/rosters/{roster['id']}",
        headers=clinic.boss.headers,
        json={
            "layers": [
                {
                    "rotation": "daily",
                    "start_date": "2026-11-23",
                    "handoff_time": "00:00",
                    "participants": [str(clinic.cia.id), str(clinic.anna.id)],
                }
            ]
        },
    )
    assert r.status_code == 200, r.text
    with session_factory() as s:
        now_slot = s.scalars(
            select(OnCallSlotRow).where(
                OnCallSlotRow.role == ROLE,
                OnCallSlotRow.start_at <= datetime(2026, 11, 23, 9, tzinfo=UTC),
                OnCallSlotRow.end_at > datetime(2026, 11, 23, 9, tzinfo=UTC),
            )
        ).all()
    assert [slot.person_id for slot in now_slot] == [clinic.cia.id]
    # Midnight handoff in Stockholm: 23:00 UTC in winter.
    assert now_slot[0].end_at == datetime(2026, 11, 23, 23, tzinfo=UTC)
    assert client.delete(f"/api/v1/rosters/{roster['id']}", headers=clinic.boss.headers).status_code == 204
    gone = client.get("/api/v1/on-call", headers=clinic.boss.headers, params={"role": ROLE})
    assert gone.status_code == 404


def test_a_message_to_the_role_reaches_whoever_holds_it(
    client: TestClient,
    clinic: Clinic,
    make: Factory,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    facts = Facts(session_factory, clock)
    anna_phone = facts.device(clinic.anna.person)
    bo_phone = facts.device(clinic.bo.person)
    _create(client, clinic, rotation="daily", start_date="2026-11-22", handoff_time="08:00")
    # Sunday 22 Nov 08:00: Anna; Monday 23 Nov 08:00 (now is 10:00): Bo.
    body = {
        "title": "Akut: patient på akuten",
        "body": "Ring akuten.",
        "priority": "urgent",
        "audience": {"roles": [ROLE]},
    }
    r = client.post("/api/v1/messages", headers=clinic.boss.headers, json=body)
    assert r.status_code in (200, 201, 202), r.text
    run_jobs(settings, session_factory, clock, push[0])
    assert [req.token for req in push[1].requests] == [bo_phone.token]
    # The next day the role has moved to Anna; the periodic refresh keeps the horizon, and the
    # same message now reaches her.
    push[1].requests.clear()
    clock.advance(timedelta(days=1))
    run_periodic("policies.refresh_rosters", settings, session_factory, clock, push[0])
    body["title"] = "Akut: ny patient"
    assert client.post("/api/v1/messages", headers=clinic.boss.headers, json=body).status_code in (200, 201, 202)
    run_jobs(settings, session_factory, clock, push[0])
    assert [req.token for req in push[1].requests] == [anna_phone.token]


def test_a_held_role_message_goes_to_whoever_holds_the_role_at_release(
    client: TestClient,
    clinic: Clinic,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    facts = Facts(session_factory, clock)
    facts.device(clinic.anna.person)
    facts.device(clinic.bo.person)
    # Stand-by, handing off daily at 16:00: Bo until Monday 16:00, then Anna. Anna works Tuesday.
    roster = clinic.roster(rotation="daily", start_date="2026-11-22", handoff_time="16:00")
    roster["kind"] = "beredskap"
    roster["layers"][0]["participants"] = [str(clinic.bo.id), str(clinic.anna.id)]  # type: ignore[index]
    assert client.post("/api/v1/rosters", headers=clinic.boss.headers, json=roster).status_code == 201
    facts.shift(clinic.anna.person, datetime(2026, 11, 24, 6, tzinfo=UTC), datetime(2026, 11, 24, 15, tzinfo=UTC))
    body = {"title": "Ring labbet", "body": "Svar finns.", "priority": "normal", "audience": {"roles": [ROLE]}}
    r = client.post("/api/v1/messages", headers=clinic.boss.headers, json=body)
    assert r.status_code == 202, r.text
    run_jobs(settings, session_factory, clock, push[0])
    assert push[1].requests == []  # Bo is on stand-by, not at work: the normal message waits
    status = client.get(f"/api/v1/messages/{r.json()['message_id']}", headers=clinic.boss.headers).json()
    assert [(x["name"], x["decision"]) for x in status["recipients"]] == [("Bo Berg", "hold")]
    clock.set(datetime(2026, 11, 24, 8, tzinfo=UTC))  # Tuesday 09:00: the role is Anna's, she is at work
    run_periodic("policies.refresh_rosters", settings, session_factory, clock, push[0])
    run_periodic("notify.role_handoffs", settings, session_factory, clock, push[0])
    run_jobs(settings, session_factory, clock, push[0])
    status = client.get(f"/api/v1/messages/{r.json()['message_id']}", headers=clinic.boss.headers).json()
    decisions = {x["name"]: x["decision"] for x in status["recipients"]}
    assert decisions == {"Bo Berg": "reroute", "Anna Andersson": "deliver"}
    assert [req.title for req in push[1].requests] == ["Ring labbet"]
    assert push[1].requests[0].token.startswith(f"fcm-{clinic.anna.id.hex}")


def test_instants_far_outside_any_roster_are_refused_not_crashed(client: TestClient, clinic: Clinic) -> None:
    roster = _create(client, clinic)
    for params in (
        {"start": "0001-01-01T00:00:00+00:00", "end": "0001-01-02T00:00:00+00:00"},
        {"start": "9999-12-30T00:00:00+00:00", "end": "9999-12-31T00:00:00+00:00"},
    ):
        r = client.get(f"/api/v1/rosters/{roster['id']}/timeline", headers=clinic.boss.headers, params=params)
        assert r.status_code == 422
        assert "between the years 1970 and 2200" in r.json()["message"]
    r = client.get(
        "/api/v1/on-call", headers=clinic.boss.headers, params={"role": ROLE, "at": "9999-12-31T23:00:00+00:00"}
    )
    assert r.status_code == 422
    far = {"person_id": str(clinic.cia.id), "start": "0001-01-01T00:00:00+00:00", "end": "2026-01-01T00:00:00+00:00"}
    assert (
        client.post(f"/api/v1/rosters/{roster['id']}/overrides", headers=clinic.boss.headers, json=far).status_code
        == 422
    )
    r = client.post(
        f"/api/v1/rosters/{roster['id']}/ical",
        headers={**clinic.boss.headers, "Content-Type": "text/calendar"},
        content=b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
        params={"start": "9999-12-31T00:00:00+00:00"},
    )
    assert r.status_code == 422
