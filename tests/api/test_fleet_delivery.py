"""What the fleet promises about pushes, end to end through the API and the delivery jobs: a lost
phone's devices get nothing from that instant, a leaver's devices get nothing (held messages
released later included), and a shared ward tablet gets its unit's and role's messages and never
a personal one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from kernel.clock import ManualClock
from kernel.db import unit_of_work
from kernel.settings import Settings
from notify.models import Delivery
from notify.outbox import NullWaker
from notify.push import PushClient
from notify.transports.base import RecordingTransport
from policies import availability
from policies.schemas.availability import OnCallSlotCreate
from tests.factories import Actor, Factory
from tests.fleet_helpers import Fleet
from tests.messaging_helpers import Facts, recording_push, run_jobs, run_periodic, workday


@pytest.fixture
def push() -> Iterator[tuple[PushClient, RecordingTransport]]:
    client, transport = recording_push()
    yield client, transport
    client.close()


@pytest.fixture
def app(settings: Settings, clock: ManualClock, push: tuple[PushClient, RecordingTransport]) -> FastAPI:
    return create_app(settings, clock=clock, waker=NullWaker(), push=push[0])


class Ward:
    """A unit whose manager sends; Anna works now, Bo works tomorrow; both have register phones."""

    def __init__(self, make: Factory, facts: Facts, fleet: Fleet, clock: ManualClock) -> None:
        self.unit = make.group("Akutmottagningen")
        self.boss = make.actor(roles=["staff", "manager"], manages=[self.unit], name="Chef")
        self.it = make.actor(roles=["staff", "it"], name="IT")
        self.hr = make.actor(roles=["staff", "hr"], name="HR")
        self.anna = make.actor(groups=[self.unit], name="Anna Andersson")
        self.bo = make.actor(groups=[self.unit], name="Bo Berg")
        start, end = workday(clock)
        facts.shift(self.anna.person, start, end)
        facts.shift(self.bo.person, start + timedelta(days=1), end + timedelta(days=1))
        self.tomorrow = start + timedelta(days=1)
        self.anna_phone, _ = fleet.phone_for(self.anna.person, token="fcm-anna-phone")
        self.anna_tablet, _ = fleet.phone_for(self.anna.person, token="fcm-anna-second")
        self.bo_phone, _ = fleet.phone_for(self.bo.person, token="fcm-bo-phone")
        self.bo_second, _ = fleet.phone_for(self.bo.person, token="fcm-bo-second")


@pytest.fixture
def ward(make: Factory, session_factory: sessionmaker[Session], clock: ManualClock) -> Ward:
    return Ward(make, Facts(session_factory, clock), Fleet(session_factory, clock), clock)


def _send(client: TestClient, who: Actor, audience: dict[str, object], title: str, **extra: object) -> None:
    body = {"title": title, "body": "Text.", "audience": audience, **extra}
    r = client.post("/api/v1/messages", headers=who.headers, json=body)
    assert r.status_code == 202, r.text


def _tokens(push: tuple[PushClient, RecordingTransport], title: str | None = None) -> set[str]:
    return {r.token for r in push[1].requests if title is None or title in r.title or r.kind == "digest"}


def test_a_lost_phone_gets_nothing_from_the_instant_it_is_reported(
    client: TestClient,
    ward: Ward,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    _send(client, ward.boss, {"people": [str(ward.anna.id)]}, "Köad")  # decided, its send job queued
    _send(client, ward.boss, {"people": [str(ward.bo.id)]}, "Väntar")  # held until Bo's shift tomorrow
    for actor, asset in ((ward.anna, ward.anna_phone), (ward.bo, ward.bo_phone)):
        # The person who has it reports it lost, from the web app or the API.
        r = client.post(f"/api/v1/fleet/assets/{asset.id}/transitions", headers=actor.headers, json={"to": "lost"})
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "lost" and r.json()["installs"][0]["state"] == "blocked"
    run_jobs(settings, session_factory, clock, push[0])
    assert _tokens(push) == {"fcm-anna-second"}, "the queued send went out to the other phone only"
    _send(client, ward.boss, {"people": [str(ward.anna.id)]}, "Efteråt")
    run_jobs(settings, session_factory, clock, push[0])
    assert "fcm-anna-phone" not in _tokens(push)
    push[1].requests.clear()
    clock.set(ward.tomorrow + timedelta(minutes=5))
    run_periodic("notify.release_holds", settings, session_factory, clock, push[0])
    run_jobs(settings, session_factory, clock, push[0])
    assert _tokens(push) == {"fcm-bo-second"}, "the held message was released, but not to the lost phone"
    with session_factory() as s:
        states = set(s.scalars(select(Delivery.error).where(Delivery.state == "dropped")))
    assert any("blocked" in (e or "") for e in states)


def test_a_deactivated_person_gets_no_more_pushes_not_even_held_ones_released_later(
    client: TestClient,
    ward: Ward,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    _send(client, ward.boss, {"people": [str(ward.anna.id)]}, "Köad")
    _send(client, ward.boss, {"groups": [str(ward.unit.id)]}, "Till enheten")  # Bo's part is held
    for leaver in (ward.anna, ward.bo):
        r = client.post(f"/api/v1/people/{leaver.id}/deactivate", headers=ward.hr.headers)
        assert r.status_code == 200, r.text
    run_jobs(settings, session_factory, clock, push[0])
    clock.set(ward.tomorrow + timedelta(minutes=5))
    run_periodic("notify.release_holds", settings, session_factory, clock, push[0])
    run_jobs(settings, session_factory, clock, push[0])
    assert push[1].requests == [], "nothing reaches a leaver's devices"
    queue = client.get("/api/v1/fleet/offboarding", headers=ward.it.headers).json()
    assert {o["person_name"] for o in queue} == {"Anna Andersson", "Bo Berg"}
    for o in queue:
        disable = next(s for s in o["steps"] if s["kind"] == "disable_push")
        assert disable["outcome"] == "disabled"
        assert {s["kind"] for s in o["steps"]} >= {"return_asset", "wipe_asset"}


def test_a_shared_ward_tablet_gets_unit_and_role_messages_and_never_a_personal_one(
    client: TestClient,
    ward: Ward,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    fleet = Fleet(session_factory, clock)
    unit_tablet, role_tablet = fleet.asset(kind="shared_tablet"), fleet.asset(kind="shared_tablet")
    r = client.post(
        "/api/v1/fleet/assignments",
        headers=ward.it.headers,
        json={"asset_id": str(unit_tablet.id), "group_id": str(ward.unit.id)},
    )
    assert r.status_code == 201, r.text
    r = client.post(
        "/api/v1/fleet/assignments",
        headers=ward.it.headers,
        json={"asset_id": str(role_tablet.id), "role": "Jour akuten", "cost_unit_id": str(ward.unit.id)},
    )
    assert r.status_code == 201, r.text
    for asset, token in ((unit_tablet, "fcm-ward-tablet"), (role_tablet, "fcm-role-tablet")):
        install = {"platform": "android", "provider": "fcm", "token": token, "name": "Avdelningsplatta"}
        r = client.post(f"/api/v1/fleet/assets/{asset.id}/installs", headers=ward.it.headers, json=install)
        assert r.status_code == 201, r.text
        assert r.json()["person_id"] is None  # nobody's device
    with unit_of_work(session_factory) as s:
        availability.create_on_call_slot(
            session=s,
            now=clock.now(),
            data=OnCallSlotCreate(
                person_id=ward.anna.id,
                role="Jour akuten",
                kind="jour",
                group_id=ward.unit.id,  # the unit's role: its manager may address it
                start=clock.now() - timedelta(hours=1),
                end=clock.now() + timedelta(hours=8),
            ),
        )

    cases = [
        ({"people": [str(ward.anna.id)]}, "Personligt", set()),
        ({"groups": [str(ward.unit.id)], "professions": ["sjuksköterska"]}, "Sjuksköterskor", set()),
        ({"groups": [str(ward.unit.id)]}, "Enheten", {"fcm-ward-tablet"}),
        ({"roles": ["Jour akuten"]}, "Jouren", {"fcm-role-tablet"}),
    ]
    for audience, title, tablets in cases:
        push[1].requests.clear()
        _send(client, ward.boss, audience, title, priority="urgent" if "roles" in audience else "normal")
        run_jobs(settings, session_factory, clock, push[0])
        got = _tokens(push)
        assert got & {"fcm-ward-tablet", "fcm-role-tablet"} == tablets, title
        assert "fcm-anna-phone" in got, f"{title}: Anna's own phone gets it as before"
    levels = {r.token: r.interruption_level for r in push[1].requests}
    assert levels["fcm-role-tablet"] == "time_sensitive"  # urgent, straight away: it stays on the ward
    # Nobody can make the tablet their own device.
    taken = {"platform": "android", "provider": "fcm", "token": "fcm-ward-tablet", "name": "Min"}
    r = client.post("/api/v1/devices", headers=ward.anna.headers, json=taken)
    assert r.status_code == 409 and "shared ward tablet" in r.json()["message"]
    assert "fcm-ward-tablet" not in {d["name"] for d in client.get("/api/v1/devices", headers=ward.anna.headers).json()}


def test_a_blocked_token_comes_back_only_when_its_asset_is_with_the_person_again(
    client: TestClient, ward: Ward, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    reg = {"platform": "android", "provider": "fcm", "token": "fcm-anna-phone", "name": "Arbetstelefon"}
    assert client.post("/api/v1/devices", headers=ward.anna.headers, json=reg).status_code == 200
    fleet = Fleet(session_factory, clock)
    fleet.move(ward.anna_phone, "in_repair")
    r = client.post("/api/v1/devices", headers=ward.anna.headers, json=reg)
    assert r.status_code == 409 and "blocked by device administration" in r.json()["message"]
    for target in ("returned", "wiped", "in_stock"):
        fleet.move(ward.anna_phone, target)
    fleet.assign(ward.anna_phone, person=ward.anna.person)
    r = client.post("/api/v1/devices", headers=ward.anna.headers, json={**reg, "serial": ward.anna_phone.serial})
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["asset_id"]) == ("active", str(ward.anna_phone.id))
    # A serial that is not hers is refused, and says why.
    r = client.post("/api/v1/devices", headers=ward.anna.headers, json={**reg, "serial": ward.bo_phone.serial})
    assert r.status_code == 403 and "not assigned or lent to you" in r.json()["message"]
