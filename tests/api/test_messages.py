"""Messaging end to end through the API: devices, preview, send, deliveries, holds released as one
digest, inbox, idempotency, pruning, escalation."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from kernel.clock import ManualClock
from kernel.directory.models import Group
from kernel.settings import Settings
from notify.models import Delivery, Device, Digest, Recipient
from notify.outbox import NullWaker
from notify.push import PushClient
from notify.transports.base import RecordingTransport, Sent, TokenInvalid, TransientFailure
from policies.models import Shift
from tests.factories import Actor, Factory
from tests.fleet_helpers import Fleet
from tests.messaging_helpers import Facts, recording_push, run_jobs, run_periodic, workday


@pytest.fixture
def push() -> Iterator[tuple[PushClient, RecordingTransport]]:
    client, transport = recording_push()
    yield client, transport
    client.close()


METRICS_TOKEN = "scrape-secret"


@pytest.fixture
def app(settings: Settings, clock: ManualClock, push: tuple[PushClient, RecordingTransport]) -> FastAPI:
    scraped = settings.model_copy(update={"metrics_token": METRICS_TOKEN})
    return create_app(scraped, clock=clock, waker=NullWaker(), push=push[0])


@pytest.fixture
def facts(session_factory: sessionmaker[Session], clock: ManualClock) -> Facts:
    return Facts(session_factory, clock)


class Ward:
    def __init__(self, make: Factory, facts: Facts, clock: ManualClock) -> None:
        self.unit: Group = make.group("Akutmottagningen")
        self.boss: Actor = make.actor(roles=["staff", "manager"], manages=[self.unit], name="Chef Chefsson")
        self.on_shift = make.actor(groups=[self.unit], name="Anna Andersson")
        self.off_duty = make.actor(groups=[self.unit], name="Bo Berg")
        start, end = workday(clock)
        facts.shift(self.on_shift.person, start, end)
        facts.shift(self.off_duty.person, start + timedelta(days=1), end + timedelta(days=1))  # tomorrow
        self.tomorrow_start = start + timedelta(days=1)
        facts.device(self.on_shift.person, platform="android")
        facts.device(self.on_shift.person, platform="ios")
        facts.device(self.off_duty.person, platform="android")


@pytest.fixture
def ward(make: Factory, facts: Facts, clock: ManualClock) -> Ward:
    return Ward(make, facts, clock)


def _msg(ward: Ward, **extra: object) -> dict[str, object]:
    return {
        "title": "Personalmöte",
        "body": "Möte kl 14 i konferensrummet.",
        "audience": {"groups": [str(ward.unit.id)]},
        **extra,
    }


def _to(ward: Ward, who: Actor, **extra: object) -> dict[str, object]:
    """A message from the ward's manager to one person."""
    return {**_msg(ward, **extra), "audience": {"people": [str(who.id)]}}


def test_preview_shows_who_is_reached_now_and_who_later(client: TestClient, ward: Ward) -> None:
    r = client.post("/api/v1/messages/preview", headers=ward.boss.headers, json=_msg(ward))
    assert r.status_code == 200, r.text
    body = r.json()
    by_person = {p["person_id"]: p for p in body["recipients"]}
    assert by_person[str(ward.on_shift.id)]["decision"] == "deliver"
    assert by_person[str(ward.on_shift.id)]["devices"] == 2
    held = by_person[str(ward.off_duty.id)]
    assert held["decision"] == "hold"
    assert held["release_at"].startswith(ward.tomorrow_start.strftime("%Y-%m-%dT%H:%M"))
    assert held["reasons"] and all(r["sv"] and r["en"] for r in held["reasons"])
    assert body["counts"]["deliver"] >= 1
    assert body["counts"]["hold"] >= 1
    assert any("väntar till" in line for line in body["summary"])


def test_send_delivers_now_holds_later_and_pushes_once_per_device(
    client: TestClient,
    ward: Ward,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    r = client.post("/api/v1/messages", headers=ward.boss.headers, json=_msg(ward))
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert accepted["status"] == "decided"
    assert accepted["counts"]["deliver"] >= 1 and accepted["counts"]["hold"] >= 1
    run_jobs(settings, session_factory, clock, push[0])
    transport = push[1]
    tokens = {req.token for req in transport.requests}
    with session_factory() as s:
        on_shift_tokens = set(s.scalars(select(Device.token).where(Device.person_id == ward.on_shift.id)))
        off_tokens = set(s.scalars(select(Device.token).where(Device.person_id == ward.off_duty.id)))
        states = dict(s.execute(select(Delivery.device_id, Delivery.state)).all())
    assert on_shift_tokens <= tokens
    assert not off_tokens & tokens, "a person off duty must not be pushed a normal message"
    assert sorted(states.values()).count("held") == 1
    assert len(transport.requests) == 2
    # Running the jobs again sends nothing twice.
    run_jobs(settings, session_factory, clock, push[0])
    assert len(transport.requests) == 2
    status = client.get(accepted["status_url"], headers=ward.boss.headers).json()
    assert status["deliveries"]["sent"] == 2
    assert status["deliveries"]["held"] == 1


def test_held_messages_are_released_as_one_digest(
    client: TestClient,
    ward: Ward,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    for i in range(3):
        body = _to(ward, ward.off_duty, title=f"Nyhet {i}")
        assert client.post("/api/v1/messages", headers=ward.boss.headers, json=body).status_code == 202
    run_jobs(settings, session_factory, clock, push[0])
    assert push[1].requests == []
    run_periodic("notify.release_holds", settings, session_factory, clock, push[0])
    run_jobs(settings, session_factory, clock, push[0])
    assert push[1].requests == [], "nothing is released before the shift starts"
    clock.set(ward.tomorrow_start + timedelta(minutes=1))
    run_periodic("notify.release_holds", settings, session_factory, clock, push[0])
    run_jobs(settings, session_factory, clock, push[0])
    sent = push[1].requests
    assert len(sent) == 1, "three held messages arrive as ONE push"
    assert sent[0].kind == "digest"
    assert sent[0].title.startswith("3 meddelanden")
    with session_factory() as s:
        digest = s.scalars(select(Digest)).one()
        assert len(digest.message_ids) == 3
        assert {d.state for d in s.scalars(select(Delivery))} == {"sent", "digested"}


def test_expired_held_message_is_dropped_with_a_reason(
    client: TestClient,
    ward: Ward,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    body = _to(ward, ward.off_duty, expires_at=(clock.now() + timedelta(days=2)).isoformat())
    assert client.post("/api/v1/messages", headers=ward.boss.headers, json=body).json()["counts"]["hold"] == 1
    clock.set(ward.tomorrow_start + timedelta(days=3))
    run_periodic("notify.release_holds", settings, session_factory, clock, push[0])
    run_jobs(settings, session_factory, clock, push[0])
    assert push[1].requests == []
    with session_factory() as s:
        rec = s.scalars(select(Recipient)).one()
        assert rec.decision == "drop"
        assert any(r["rule"] == "expired" for r in rec.reasons)
        assert s.scalars(select(Delivery.state)).one() == "dropped"


def test_inbox_shows_held_messages_without_pushing_them(
    client: TestClient,
    ward: Ward,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    body = _to(ward, ward.off_duty, title="Schemaändring")
    message_id = client.post("/api/v1/messages", headers=ward.boss.headers, json=body).json()["message_id"]
    inbox = client.get("/api/v1/inbox", headers=ward.off_duty.headers).json()
    assert inbox["items"][0]["title"] == "Schemaändring"
    assert inbox["items"][0]["decision"] == "hold"
    assert inbox["items"][0]["held_until"] is not None
    assert client.post(f"/api/v1/inbox/{message_id}/read", headers=ward.off_duty.headers).status_code == 204
    run_jobs(settings, session_factory, clock, push[0])
    assert push[1].requests == []
    assert client.get("/api/v1/inbox", headers=ward.off_duty.headers, params={"unread": True}).json()["total"] == 0
    # The sender does not learn that it was read outside working time.
    status = client.get(f"/api/v1/messages/{message_id}", headers=ward.boss.headers).json()
    mine = next(r for r in status["recipients"] if r["person_id"] == str(ward.off_duty.id))
    assert mine["read"] is None and mine["read_at"] is None
    assert status["read"] == 0


def test_read_during_working_time_is_visible_to_the_sender(client: TestClient, ward: Ward) -> None:
    body = _to(ward, ward.on_shift)
    message_id = client.post("/api/v1/messages", headers=ward.boss.headers, json=body).json()["message_id"]
    client.post(f"/api/v1/inbox/{message_id}/read", headers=ward.on_shift.headers)
    status = client.get(f"/api/v1/messages/{message_id}", headers=ward.boss.headers).json()
    assert status["read"] == 1
    assert status["recipients"][0]["read"] is True


def test_idempotency_key(client: TestClient, ward: Ward) -> None:
    headers = {**ward.boss.headers, "Idempotency-Key": "broadcast-42"}
    first = client.post("/api/v1/messages", headers=headers, json=_msg(ward))
    again = client.post("/api/v1/messages", headers=headers, json=_msg(ward))
    assert first.status_code == again.status_code == 202
    assert again.json()["message_id"] == first.json()["message_id"]
    assert again.headers.get("idempotent-replayed") == "true"
    other = client.post("/api/v1/messages", headers=headers, json=_msg(ward, title="Något annat"))
    assert other.status_code == 409
    assert "Idempotency-Key" in other.json()["message"]
    assert client.get("/api/v1/messages", headers=ward.boss.headers).json()["total"] == 1


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"priority": "emergency"}, 422, "needs a reason"),
        ({"priority": "loud"}, 422, "priority"),
        ({"audience": {}}, 422, "names no group"),
        ({"body": "å" * 3000}, 413, "bytes"),
        ({"deep_link": "javascript:alert(1)"}, 422, "deep link"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, 422, "in the past"),
        ({"expires_at": "2030-01-01T00:00:00"}, 422, "timezone"),
        ({"requires_ack": True}, 422, "urgent"),
    ],
)
def test_invalid_messages_are_refused_up_front(
    client: TestClient, ward: Ward, change: dict[str, object], status: int, words: str
) -> None:
    r = client.post("/api/v1/messages", headers=ward.boss.headers, json={**_msg(ward), **change})
    assert r.status_code == status, r.text
    assert words in r.json()["message"]
    assert client.get("/api/v1/messages", headers=ward.boss.headers).json()["total"] == 0


def test_who_may_send(client: TestClient, ward: Ward, make: Factory) -> None:
    other_unit = make.group("Vårdcentralen")
    r = client.post("/api/v1/messages", headers=ward.on_shift.headers, json=_msg(ward))
    assert r.status_code == 403
    foreign = _msg(ward)
    foreign["audience"] = {"groups": [str(other_unit.id)]}
    r = client.post("/api/v1/messages", headers=ward.boss.headers, json=foreign)
    assert r.status_code == 403
    assert "groups you manage" in r.json()["message"]
    r = client.get("/api/v1/messages/00000000-0000-0000-0000-000000000000", headers=ward.boss.headers)
    assert r.status_code == 404


def test_rejected_token_prunes_the_device(
    client: TestClient,
    ward: Ward,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    with session_factory() as s:
        android = s.scalars(
            select(Device).where(Device.person_id == ward.on_shift.id, Device.platform == "android")
        ).one()
    push[1].script(android.token, TokenInvalid("UNREGISTERED"))
    body = _to(ward, ward.on_shift)
    client.post("/api/v1/messages", headers=ward.boss.headers, json=body)
    run_jobs(settings, session_factory, clock, push[0])
    devices = client.get("/api/v1/devices", headers=ward.on_shift.headers).json()
    by_platform = {d["platform"]: d for d in devices}
    assert by_platform["android"]["state"] == "pruned"
    assert "UNREGISTERED" in by_platform["android"]["state_reason"]
    assert by_platform["ios"]["state"] == "active"
    # The next message goes only to the device that is left.
    push[1].requests.clear()
    client.post("/api/v1/messages", headers=ward.boss.headers, json=body)
    run_jobs(settings, session_factory, clock, push[0])
    assert [r.platform for r in push[1].requests] == ["ios"]


def test_unacknowledged_urgent_message_escalates_to_the_sender(
    client: TestClient,
    ward: Ward,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    body = _to(
        ward, ward.on_shift, priority="urgent", requires_ack=True, ack_timeout_minutes=10, title="Akut: ring mig"
    )
    message_id = client.post("/api/v1/messages", headers=ward.boss.headers, json=body).json()["message_id"]
    run_jobs(settings, session_factory, clock, push[0])
    clock.advance(timedelta(minutes=5))
    run_periodic("notify.escalate", settings, session_factory, clock, push[0])
    with session_factory() as s:
        assert s.scalars(select(Recipient).where(Recipient.person_id == ward.boss.id)).first() is None
    clock.advance(timedelta(minutes=6))
    run_periodic("notify.escalate", settings, session_factory, clock, push[0])
    with session_factory() as s:
        escalated = s.scalars(select(Recipient).where(Recipient.person_id == ward.boss.id)).one()
        assert escalated.reasons[0]["rule"] == "escalation"
        assert "Anna Andersson" in escalated.reasons[0]["sv"]
    # An acknowledged message does not escalate.
    body["title"] = "Akut 2"
    second = client.post("/api/v1/messages", headers=ward.boss.headers, json=body).json()["message_id"]
    assert client.post(f"/api/v1/inbox/{second}/ack", headers=ward.on_shift.headers).status_code == 204
    clock.advance(timedelta(minutes=11))
    run_periodic("notify.escalate", settings, session_factory, clock, push[0])
    with session_factory() as s:
        assert len(s.scalars(select(Recipient).where(Recipient.person_id == ward.boss.id)).all()) == 1
    assert message_id != second


def test_devices_register_move_rename_lose_remove(client: TestClient, make: Factory) -> None:
    anna, bo = make.actor(), make.actor()
    reg = {"platform": "android", "provider": "fcm", "token": "shared-token-123456", "name": "Lånetelefon"}
    r = client.post("/api/v1/devices", headers=anna.headers, json=reg)
    assert r.status_code == 201
    device_id = r.json()["id"]
    # The phone is handed on: the same token registered by Bo moves to Bo.
    r = client.post("/api/v1/devices", headers=bo.headers, json=reg)
    assert r.status_code == 201
    assert r.json()["person_id"] == str(bo.id)
    assert client.get("/api/v1/devices", headers=anna.headers).json() == []
    r = client.patch(f"/api/v1/devices/{device_id}", headers=bo.headers, json={"name": "Min telefon", "lost": True})
    assert (r.json()["name"], r.json()["state"]) == ("Min telefon", "lost")
    assert client.patch(f"/api/v1/devices/{device_id}", headers=anna.headers, json={"name": "x"}).status_code == 404
    assert client.delete(f"/api/v1/devices/{device_id}", headers=bo.headers).status_code == 204
    assert client.get("/api/v1/devices", headers=bo.headers).json() == []
    bad = client.post("/api/v1/devices", headers=bo.headers, json={**reg, "platform": "android", "provider": "apns"})
    assert bad.status_code == 422
    assert "apns serves only platform ios" in bad.json()["message"]
    other = client.get("/api/v1/devices", headers=anna.headers, params={"person": str(bo.id)})
    assert other.status_code == 403


def test_ending_dnd_early_releases_held_messages_at_once(
    client: TestClient,
    ward: Ward,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    r = client.post("/api/v1/people/me/dnd", headers=ward.on_shift.headers, json={"minutes": 60})
    assert r.status_code == 201, r.text
    body = _to(ward, ward.on_shift, title="Rond flyttad")
    accepted = client.post("/api/v1/messages", headers=ward.boss.headers, json=body).json()
    assert accepted["counts"]["hold"] == 1
    run_jobs(settings, session_factory, clock, push[0])
    assert push[1].requests == []
    clock.advance(timedelta(minutes=10))
    assert client.post("/api/v1/people/me/dnd/end", headers=ward.on_shift.headers).status_code == 200
    run_jobs(settings, session_factory, clock, push[0])
    assert {r.title for r in push[1].requests} == {"Rond flyttad"}
    assert len(push[1].requests) == 2  # both of Anna's devices, once each


def _policy(client: TestClient, hr: Actor, group: Group, clock: ManualClock, **params: object) -> None:
    r = client.post(
        "/api/v1/policies",
        headers=hr.headers,
        json={
            "name": f"Policy {uuid.uuid4().hex[:6]}",
            "effective_from": (clock.now() - timedelta(days=1)).isoformat(),
            "approval_note": "Beslutad i samverkan",
            **params,
        },
    )
    assert r.status_code == 201, r.text
    r = client.put(f"/api/v1/policies/{r.json()['id']}/groups/{group.id}", headers=hr.headers)
    assert r.status_code == 200, r.text


def test_policy_can_forbid_private_devices(
    client: TestClient,
    ward: Ward,
    make: Factory,
    facts: Facts,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    facts.device(ward.on_shift.person, platform="android", token="private-phone-token-1", ownership="private")
    # Under the policy a work device is one installed on the region's asset (the fleet register's
    # link): a device that only says it is "work" counts for nothing.
    fleet = Fleet(session_factory, clock)
    fleet.phone_for(ward.on_shift.person, token="work-phone-token-1")
    hr = make.actor(roles=["staff", "hr"])
    body = _to(ward, ward.on_shift)
    client.post("/api/v1/messages", headers=ward.boss.headers, json=body)
    run_jobs(settings, session_factory, clock, push[0])
    assert "private-phone-token-1" in {r.token for r in push[1].requests}
    push[1].requests.clear()
    _policy(client, hr, ward.unit, clock, private_devices_allowed=False)
    client.post("/api/v1/messages", headers=ward.boss.headers, json={**body, "title": "Andra"})
    run_jobs(settings, session_factory, clock, push[0])
    assert {r.token for r in push[1].requests} == {"work-phone-token-1"}, "only the register's work phone gets it"


def test_unit_policy_makes_pushes_content_free(
    client: TestClient,
    ward: Ward,
    make: Factory,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    hr = make.actor(roles=["staff", "hr"])
    _policy(client, hr, ward.unit, clock, content_free_push=True)
    body = _to(ward, ward.on_shift, title="Patient i rum 4", body="Personnummer ...")
    client.post("/api/v1/messages", headers=ward.boss.headers, json=body)
    run_jobs(settings, session_factory, clock, push[0])
    assert push[1].requests and all(r.sensitive for r in push[1].requests)


def test_provider_outage_delays_but_never_loses_a_push(
    client: TestClient,
    ward: Ward,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    with session_factory() as s:
        token = s.scalars(
            select(Device.token).where(Device.person_id == ward.on_shift.id, Device.platform == "ios")
        ).one()
    push[1].script(token, TransientFailure("503 UNAVAILABLE", retry_after_s=120), Sent("apns-1"))
    body = _to(ward, ward.on_shift)
    client.post("/api/v1/messages", headers=ward.boss.headers, json=body)
    run_jobs(settings, session_factory, clock, push[0])
    assert [r.token for r in push[1].requests].count(token) == 1
    clock.advance(timedelta(seconds=60))
    run_jobs(settings, session_factory, clock, push[0])
    assert [r.token for r in push[1].requests].count(token) == 1, "no resend before Retry-After"
    clock.advance(timedelta(seconds=61))
    run_jobs(settings, session_factory, clock, push[0])
    assert [r.token for r in push[1].requests].count(token) == 2
    with session_factory() as s:
        assert set(s.scalars(select(Delivery.state))) == {"sent"}


def test_emergency_reaches_everyone_now_and_lands_in_the_rest_ledger(
    client: TestClient,
    ward: Ward,
    make: Factory,
    facts: Facts,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    hr = make.actor(roles=["staff", "hr"])
    night_start, _ = workday(clock, start_h=-3)  # Bo worked last night until 06:00 UTC: he is in daily rest
    facts.shift(ward.off_duty.person, night_start, night_start + timedelta(hours=9))
    body = _msg(ward, priority="emergency", override_reason="Storbrand i sjukhusets kulvert", title="Stor olycka")
    accepted = client.post("/api/v1/messages", headers=ward.boss.headers, json=body).json()
    assert accepted["counts"]["deliver"] == accepted["recipients_total"]
    run_jobs(settings, session_factory, clock, push[0])
    with session_factory() as s:
        off_token = s.scalars(select(Device.token).where(Device.person_id == ward.off_duty.id)).one()
    reached = [r for r in push[1].requests if r.token == off_token]
    assert reached and reached[0].interruption_level in ("critical", "time_sensitive")
    ledger = client.get("/api/v1/rest-ledger", headers=hr.headers, params={"person_id": str(ward.off_duty.id)}).json()
    assert ledger["total"] == 1
    entry = ledger["items"][0]
    assert entry["kind"] == "emergency"
    assert entry["reason"] == "Storbrand i sjukhusets kulvert"
    assert "daily_rest" in entry["states"], "the entry says which rest it hit"
    assert entry["restarts_rest"] is True
    # Every emergency is logged (DESIGN.md), but one during working time broke no rest.
    on_shift = client.get("/api/v1/rest-ledger", headers=hr.headers, params={"person_id": str(ward.on_shift.id)}).json()
    assert [(e["kind"], e["states"], e["restarts_rest"]) for e in on_shift["items"]] == [("emergency", [], False)]


def test_devices_not_seen_for_60_days_go_stale(
    client: TestClient,
    make: Factory,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    anna = make.actor()
    reg = {"platform": "android", "provider": "fcm", "token": "old-phone-token-1"}
    assert client.post("/api/v1/devices", headers=anna.headers, json=reg).status_code == 201
    clock.advance(timedelta(days=59))
    run_periodic("notify.stale_devices", settings, session_factory, clock, push[0])
    assert client.get("/api/v1/devices", headers=anna.headers).json()[0]["state"] == "active"
    clock.advance(timedelta(days=2))
    run_periodic("notify.stale_devices", settings, session_factory, clock, push[0])
    assert client.get("/api/v1/devices", headers=anna.headers).json()[0]["state"] == "stale"
    assert client.post("/api/v1/devices", headers=anna.headers, json=reg).status_code == 200  # it checks in again
    assert client.get("/api/v1/devices", headers=anna.headers).json()[0]["state"] == "active"


def test_retention_deletes_old_messages_but_keeps_waiting_ones_and_the_ledger(
    client: TestClient,
    ward: Ward,
    make: Factory,
    facts: Facts,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    hr = make.actor(roles=["staff", "hr", "admin"])
    night_start, _ = workday(clock, start_h=-3)  # Bo worked last night until 06:00 UTC: he is in daily rest
    facts.shift(ward.off_duty.person, night_start, night_start + timedelta(hours=9))
    ledger_query = {"since": (clock.now() - timedelta(days=1)).isoformat()}
    now_sent = client.post(
        "/api/v1/messages", headers={**ward.boss.headers, "Idempotency-Key": "k-1"}, json=_to(ward, ward.on_shift)
    ).json()
    emergency = _to(ward, ward.off_duty, priority="emergency", override_reason="Brand", title="Stor olycka")
    client.post("/api/v1/messages", headers=ward.boss.headers, json=emergency).raise_for_status()
    run_jobs(settings, session_factory, clock, push[0])
    ledger_before = client.get("/api/v1/rest-ledger", headers=hr.headers, params=ledger_query).json()["total"]
    assert ledger_before == 1
    clock.advance(timedelta(days=20))
    # Bo has no shift ahead any more: the next message waits for him (held) past the cutoff.
    with session_factory() as s:
        s.execute(delete(Shift).where(Shift.person_id == ward.off_duty.id))
        s.commit()
    waiting = client.post("/api/v1/messages", headers=ward.boss.headers, json=_to(ward, ward.off_duty)).json()
    assert waiting["counts"]["hold"] == 1
    clock.advance(timedelta(days=20))
    recent = client.post("/api/v1/messages", headers=ward.boss.headers, json=_to(ward, ward.on_shift)).json()
    run_jobs(settings, session_factory, clock, push[0])

    run_periodic("notify.purge", settings, session_factory, clock, push[0])  # retention off: nothing goes
    assert client.get(f"/api/v1/messages/{now_sent['message_id']}", headers=ward.boss.headers).status_code == 200

    kept = settings.model_copy(update={"message_retention_days": 30})
    run_periodic("notify.purge", kept, session_factory, clock, push[0])
    status = client.get(f"/api/v1/messages/{now_sent['message_id']}", headers=ward.boss.headers)
    assert status.status_code == 404, "sent 40 days ago and delivered: deleted"
    inbox = [i["title"] for i in client.get("/api/v1/inbox", headers=ward.off_duty.headers).json()["items"]]
    assert "Stor olycka" not in inbox
    assert client.get(f"/api/v1/messages/{waiting['message_id']}", headers=ward.boss.headers).status_code == 200, (
        "20 days old and still held for Bo: kept until it reaches him"
    )
    assert client.get(f"/api/v1/messages/{recent['message_id']}", headers=ward.boss.headers).status_code == 200
    with session_factory() as s:
        assert s.scalars(select(Recipient).where(Recipient.message_id == uuid.UUID(now_sent["message_id"]))).all() == []
        assert s.scalars(select(Delivery).where(Delivery.message_id == uuid.UUID(now_sent["message_id"]))).all() == []
    assert client.get("/api/v1/rest-ledger", headers=hr.headers, params=ledger_query).json()["total"] == ledger_before
    purges = client.get("/api/v1/audit", headers=hr.headers, params={"action": "message.purge"}).json()["items"]
    assert [p["after"]["messages"] for p in purges] == [2]
    # The same Idempotency-Key is free again: its record went with the window and the message.
    again = client.post(
        "/api/v1/messages", headers={**ward.boss.headers, "Idempotency-Key": "k-1"}, json=_to(ward, ward.on_shift)
    ).json()
    assert again["message_id"] != now_sent["message_id"]


def _metrics(client: TestClient) -> dict[tuple[str, tuple[str, ...]], float]:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200, answer.text
    return {
        (sample.name, tuple(sorted(sample.labels.values()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def test_metrics_show_the_days_work_the_held_backlog_and_a_stuck_pipeline(
    client: TestClient,
    ward: Ward,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    assert client.post("/api/v1/messages", headers=ward.boss.headers, json=_msg(ward)).status_code == 202
    clock.advance(timedelta(seconds=45))  # nobody has run the send job yet: the queue lags
    m = _metrics(client)
    assert m[("vila_jobs_pending", ("default",))] == 1
    assert m[("vila_queue_lag_seconds", ("default",))] == 45
    run_jobs(settings, session_factory, clock, push[0])
    m = _metrics(client)
    assert m[("vila_queue_lag_seconds", ("default",))] == 0
    assert m[("vila_messages_accepted_24h", ("normal",))] == 1
    assert m[("vila_decisions_24h", ("deliver",))] == 1 and m[("vila_decisions_24h", ("hold",))] == 1
    assert m[("vila_deliveries_24h", ("fcm", "sent"))] == 1 and m[("vila_deliveries_24h", ("apns", "sent"))] == 1
    assert m[("vila_deliveries_24h", ("fcm", "held"))] == 1
    assert m[("vila_held_backlog", ())] == 1 and m[("vila_oldest_due_hold_seconds", ())] == 0
    # The release instant passes and no sweeper runs: the oldest due hold ages, for an alert.
    clock.set(ward.tomorrow_start + timedelta(minutes=5))
    m = _metrics(client)
    assert m[("vila_oldest_due_hold_seconds", ())] >= 240
    assert m[("vila_messages_accepted_24h", ("normal",))] == 1, "sent 21 hours ago"
    clock.advance(timedelta(hours=4))
    m = _metrics(client)
    assert ("vila_messages_accepted_24h", ("normal",)) not in m, "the day's figures cover the last 24 hours"
    assert m[("vila_held_backlog", ())] == 1, "a hold is counted until it is released, however old"


def test_metrics_need_a_bearer_token(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert "vila_held_backlog" in client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text


def test_without_a_metrics_token_the_api_refuses_metrics_unless_opened_for_the_embedded_mode(
    settings: Settings, clock: ManualClock
) -> None:
    with TestClient(create_app(settings, clock=clock, waker=NullWaker())) as production:
        refused = production.get("/metrics")
        assert refused.status_code == 403 and "VILA_METRICS_TOKEN" in refused.json()["message"]
    with TestClient(create_app(settings, clock=clock, waker=NullWaker(), open_metrics=True)) as embedded:
        assert "vila_held_backlog" in embedded.get("/metrics").text


def test_the_shipped_alert_rules_use_metrics_that_exist(client: TestClient) -> None:
    rules = yaml.safe_load((Path(__file__).parents[2] / "docs" / "prometheus-alerts.yml").read_text(encoding="utf-8"))
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    used = {name for expr in exprs for name in re.findall(r"\bvila_[a-z0-9_]+", expr)}
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    served = {family.name for family in text_string_to_metric_families(scraped)}
    assert used and used <= served, f"alert rules name metrics that /metrics does not serve: {used - served}"
