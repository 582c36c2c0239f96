"""Web Push through the API: a browser's subscription registered as a device (and refused with a
clear 422 when it is wrong), the VAPID key served, and a message sent by a manager read, decrypted,
by the Web Push stand-in as the phone would read it."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.deps import csrf_token
from api.main import create_app
from kernel.audit.models import AuditRecord
from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.loop import BackgroundLoop
from notify.outbox import NullWaker
from notify.push import PushClient, router
from notify.transports.config import ApnsSettings, FcmSettings, WebPushSettings
from notify.transports.vapid import KEY_FILE_NAME, VapidKey, WebPush
from tests.factories import Factory
from tests.messaging_helpers import Facts, run_jobs, workday
from tests.web_login import log_in
from tools.standins.webpush import RunningStandIn, StandInSubscription, serve_webpush


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def browser_keys() -> dict[str, str]:
    point = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = point.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"p256dh": b64(raw), "auth": b64(os.urandom(16))}


def subscription(endpoint: str = "https://fcm.googleapis.com/fcm/send/dXJs:APA91b", **extra: Any) -> dict[str, Any]:
    return {"platform": "web", "provider": "webpush", "token": endpoint, "keys": browser_keys(), **extra}


def registration(sub: StandInSubscription, **extra: Any) -> dict[str, Any]:
    json = sub.to_json()
    return {"platform": "web", "provider": "webpush", "token": json["endpoint"], "keys": json["keys"], **extra}


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[RunningStandIn]:
    loop = BackgroundLoop("webpush-stand-in")
    running = loop.run(serve_webpush(state_dir=tmp_path / "stand-in"))
    yield running
    loop.run(running.stop())
    loop.close()


@pytest.fixture
def webpush(standin: RunningStandIn) -> WebPush:
    settings = WebPushSettings(
        ca_file=standin.ca.ca_file,
        push_services=f"fcm.googleapis.com,web.push.apple.com,{standin.url.removeprefix('https://')}",
        retry_base_delay_s=0.01,
        retry_max_attempts=2,
    )
    return WebPush(settings, VapidKey.generate())


@pytest.fixture
def push(webpush: WebPush) -> Iterator[PushClient]:
    client = PushClient(lambda: router(fcm=FcmSettings(), apns=ApnsSettings(), webpush=webpush))
    yield client
    client.close()


@pytest.fixture
def app(settings: Settings, clock: ManualClock, push: PushClient, webpush: WebPush) -> FastAPI:
    return create_app(settings, clock=clock, waker=NullWaker(), push=push, webpush=webpush)


def test_the_key_is_public_and_made_once_in_the_embedded_data_dir(settings: Settings, clock: ManualClock) -> None:
    with TestClient(create_app(settings, clock=clock, waker=NullWaker())) as first:
        key = first.get("/api/v1/webpush/key").json()["public_key"]
    with TestClient(create_app(settings, clock=clock, waker=NullWaker())) as again:
        assert again.get("/api/v1/webpush/key").json()["public_key"] == key
    assert (settings.data_dir / KEY_FILE_NAME).exists()
    assert len(base64.urlsafe_b64decode(key + "=")) == 65


def test_without_a_key_web_push_is_refused_with_a_reason(settings: Settings, clock: ManualClock, make: Factory) -> None:
    production = settings.model_copy(update={"broker_url": "redis://127.0.0.1:6379/15"})
    app = create_app(production, clock=clock, waker=NullWaker(), webpush=WebPush(WebPushSettings(), None))
    anna = make.actor()
    with TestClient(app) as client:
        missing = client.get("/api/v1/webpush/key")
        assert missing.status_code == 404 and "VAPID" in missing.json()["message"]
        refused = client.post("/api/v1/devices", headers=anna.headers, json=subscription())
        assert refused.status_code == 422
        assert "does not send Web Push" in refused.json()["message"]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"keys": None}, "needs keys.p256dh and keys.auth"),
        ({"keys": {"p256dh": b64(b"\x04" + os.urandom(64)), "auth": b64(os.urandom(16))}}, "not a P-256 public key"),
        ({"keys": {**browser_keys(), "auth": b64(os.urandom(8))}}, "keys.auth must be 16 bytes"),
        ({"keys": {**browser_keys(), "p256dh": "***"}}, "base64url"),
        ({"token": "http://fcm.googleapis.com/fcm/send/abc"}, "must be an https:// URL"),
        ({"token": "https://intranet.region.example/hr/api"}, "intranet.region.example is not a push service"),
        ({"platform": "android"}, "webpush serves only platform web"),
        ({"provider": "fcm", "platform": "android"}, "keys belong to a webpush subscription only"),
    ],
)
def test_a_wrong_subscription_is_refused_saying_what_is_wrong(
    client: TestClient, make: Factory, change: dict[str, Any], says: str
) -> None:
    anna = make.actor()
    response = client.post("/api/v1/devices", headers=anna.headers, json={**subscription(), **change})
    assert response.status_code == 422, response.text
    assert says in response.json()["message"]
    assert client.get("/api/v1/devices", headers=anna.headers).json() == []


def test_a_changed_subscription_replaces_the_old_one(
    client: TestClient, make: Factory, session_factory: sessionmaker[Session]
) -> None:
    anna = make.actor()
    old = subscription("https://web.push.apple.com/QGuQyavXut/old")
    first = client.post("/api/v1/devices", headers=anna.headers, json={**old, "name": "iPhone"})
    assert first.status_code == 201, first.text
    assert "keys" not in first.json() and "token" not in first.json()
    new = subscription("https://web.push.apple.com/QGuQyavXut/new", replaces=old["token"], name="iPhone")
    assert client.post("/api/v1/devices", headers=anna.headers, json=new).status_code == 201
    devices = client.get("/api/v1/devices", headers=anna.headers).json()
    assert [d["id"] for d in devices] != [first.json()["id"]] and len(devices) == 1
    old_id = first.json()["id"]
    with session_factory() as s:
        removed = s.scalars(
            select(AuditRecord).where(AuditRecord.action == "device.remove", AuditRecord.target_id == old_id)
        ).all()
    assert len(removed) == 1
    # Another person cannot remove Anna's subscription by naming it.
    bo = make.actor()
    sneaky = subscription("https://web.push.apple.com/QGuQyavXut/bo", replaces=new["token"])
    assert client.post("/api/v1/devices", headers=bo.headers, json=sneaky).status_code == 201
    assert len(client.get("/api/v1/devices", headers=anna.headers).json()) == 1


def test_the_phone_reads_the_message_and_a_gone_subscription_is_pruned(
    client: TestClient,
    make: Factory,
    standin: RunningStandIn,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    push: PushClient,
) -> None:
    unit = make.group("Avdelning 12")
    boss = make.actor(roles=["staff", "manager"], manages=[unit])
    nurse = make.actor(groups=[unit], name="Sara Sjöström")
    start, end = workday(clock)
    Facts(session_factory, clock).shift(nurse.person, start, end)
    phone = standin.standin.subscribe()
    registered = client.post("/api/v1/devices", headers=nurse.headers, json=registration(phone, name="iPhone"))
    assert registered.status_code == 201, registered.text

    body = {
        "title": "Larmövning kl. 14",
        "body": "Samling vid hissarna på plan 3. Kvittera att du har sett det.",
        "audience": {"people": [str(nurse.id)]},
        "priority": "urgent",
        "requires_ack": True,
    }
    sent = client.post("/api/v1/messages", headers=boss.headers, json=body)
    assert sent.status_code == 202, sent.text
    message_id = sent.json()["message_id"]
    run_jobs(settings, session_factory, clock, push)
    (read,) = standin.standin.delivered(phone.id)
    assert (read["title"], read["body"]) == (body["title"], body["body"])
    assert read["tag"] == message_id and read["data"]["message_id"] == message_id
    assert read["actions"] == [{"action": "ack", "title": "Kvittera"}]
    status = client.get(sent.json()["status_url"], headers=boss.headers).json()
    assert status["deliveries"]["sent"] == 1

    sensitive = {**body, "title": "Patient i rum 4", "sensitive": True, "priority": "normal", "requires_ack": False}
    client.post("/api/v1/messages", headers=boss.headers, json=sensitive)
    run_jobs(settings, session_factory, clock, push)
    content_free = standin.standin.delivered(phone.id)[-1]
    assert content_free["title"] == "Nytt meddelande i Vila" and "rum 4" not in str(content_free)

    standin.standin.unsubscribe(phone.id)  # the person cleared the browser's data
    client.post("/api/v1/messages", headers=boss.headers, json={**body, "title": "Tredje"})
    run_jobs(settings, session_factory, clock, push)
    (device,) = client.get("/api/v1/devices", headers=nurse.headers).json()
    assert device["state"] == "pruned" and device["state_reason"].startswith("404")


def test_signing_out_removes_the_browsers_subscription_and_no_one_elses(
    client: TestClient, make: Factory, session_factory: sessionmaker[Session]
) -> None:
    anna, bo = make.actor(), make.actor()
    annas = subscription("https://web.push.apple.com/QGuQyavXut/anna", name="Annas iPhone")
    bos = subscription("https://web.push.apple.com/QGuQyavXut/bo", name="Bos iPhone")
    mine = client.post("/api/v1/devices", headers=anna.headers, json=annas).json()
    theirs = client.post("/api/v1/devices", headers=bo.headers, json=bos).json()
    session = log_in(client, anna.token)
    csrf = csrf_token(session)

    # A device that is not Anna's is left alone, whatever the form says.
    client.post("/logout", data={"csrf": csrf, "webpush_device": theirs["id"]}, follow_redirects=False)
    assert [d["id"] for d in client.get("/api/v1/devices", headers=bo.headers).json()] == [theirs["id"]]

    session = log_in(client, anna.token)
    for wrong in ("not-a-uuid", ""):
        response = client.post(
            "/logout", data={"csrf": csrf_token(session), "webpush_device": wrong}, follow_redirects=False
        )
        assert response.status_code == 303
        session = log_in(client, anna.token)
    response = client.post(
        "/logout", data={"csrf": csrf_token(session), "webpush_device": mine["id"]}, follow_redirects=False
    )
    assert response.status_code == 303
    assert client.get("/api/v1/devices", headers=anna.headers).json() == []
    with session_factory() as s:
        record = s.scalars(
            select(AuditRecord).where(AuditRecord.action == "device.remove", AuditRecord.target_id == mine["id"])
        ).one()
    assert record.after == {"state": "removed", "reason": "signed out of the staff app"}
