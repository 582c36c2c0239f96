"""User-visible exactly-once against the stand-ins: every push carries the message id as its
collapse identifier (a resend replaces, never stacks), and a provider slower than the client's
timeout gets a request at most twice, after which the delivery is recorded as uncertain and not
sent again."""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.loop import BackgroundLoop
from notify.models import Delivery
from notify.outbox import NullWaker
from notify.push import PushClient
from notify.transports.base import PushRequest, TransientFailure, WebPushKeys
from notify.transports.config import FcmSettings, WebPushSettings
from notify.transports.fcm import FcmTransport
from notify.transports.vapid import VapidKey
from notify.transports.webpush import WebPushTransport
from tests.factories import Factory
from tests.integration.transport_helpers import (
    FAST_RETRY,
    apns_token,
    apns_transport,
    fcm_token,
    fcm_transport,
    push,
)
from tests.messaging_helpers import Facts, run_jobs, workday
from tools.standins.faults import FaultPlan
from tools.standins.fcm import FcmEmulator
from tools.standins.providers import Emulators, serve_emulators
from tools.standins.webpush import RunningStandIn, serve_webpush

SLOW: dict[str, Any] = {"timeout_s": 0.3}
DEVICES = 6


def _topic(key: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()[:24]).decode()


@pytest.fixture
async def emulators(tmp_path: Path) -> AsyncIterator[Emulators]:
    running = await serve_emulators(state_dir=tmp_path)
    yield running
    await running.stop()


@pytest.fixture
async def standin(tmp_path: Path) -> AsyncIterator[RunningStandIn]:
    running = await serve_webpush(state_dir=tmp_path / "webpush")
    yield running
    await running.stop()


def _webpush(
    standin: RunningStandIn, key: VapidKey, count: int, **settings: Any
) -> tuple[WebPushTransport, list[PushRequest]]:
    values = {"ca_file": standin.ca.ca_file, "timeout_s": 5, **FAST_RETRY, **settings}
    requests: list[PushRequest] = []
    for _ in range(count):
        sub = standin.standin.subscribe(application_server_key=key.public_key)
        keys = sub.to_json()["keys"]
        requests.append(
            push(
                "webpush",
                sub.endpoint,
                platform="web",
                message_id="msg-44",
                webpush_keys=WebPushKeys(keys["p256dh"], keys["auth"]),
            )
        )
    return WebPushTransport(WebPushSettings(**values), key), requests


class TestCollapseIdentifier:
    async def test_apns_carries_the_message_id_as_collapse_id(self, emulators: Emulators) -> None:
        apns = apns_transport(emulators)
        await apns.send([push("apns", apns_token(1), message_id="msg-41")])
        await apns.aclose()
        [seen] = emulators.apns.recorder.received
        assert seen.headers["apns-collapse-id"] == "msg-41"

    @pytest.mark.parametrize("sensitive", [False, True])
    async def test_fcm_carries_it_for_android_ios_and_web(self, emulators: Emulators, sensitive: bool) -> None:
        fcm = fcm_transport(emulators)
        await fcm.send(
            [
                push("fcm", fcm_token(1), message_id="msg-42", sensitive=sensitive),
                push("fcm", fcm_token(2), message_id="msg-42", platform="ios", sensitive=sensitive),
                push("fcm", fcm_token(3), message_id="msg-42", platform="web", sensitive=sensitive),
            ]
        )
        await fcm.aclose()
        android, ios, web = (r.payload["message"] for r in emulators.fcm.recorder.received)
        assert android["android"]["collapse_key"] == "msg-42"
        assert android["android"]["notification"]["tag"] == "msg-42"
        assert ios["apns"]["headers"]["apns-collapse-id"] == "msg-42"
        assert web["webpush"]["headers"]["Topic"] == _topic("msg-42")

    async def test_a_senders_collapse_key_still_wins(self, emulators: Emulators) -> None:
        fcm = fcm_transport(emulators)
        await fcm.send([push("fcm", fcm_token(1), message_id="msg-43", collapse_key="ward-meeting")])
        await fcm.aclose()
        [seen] = emulators.fcm.recorder.received
        assert seen.payload["message"]["android"]["collapse_key"] == "ward-meeting"

    async def test_web_push_carries_the_topic_and_tag(self, standin: RunningStandIn) -> None:
        transport, requests = _webpush(standin, VapidKey.generate(), 1)
        await transport.send(requests)
        await transport.aclose()
        [seen] = standin.standin.recorder.received
        assert seen.headers["topic"] == _topic("msg-44")
        assert seen.payload["tag"] == "msg-44"


class TestSlowProvider:
    """The stand-in answers 1 s after the request, the client gives up after 0.3 s."""

    async def test_fcm_gets_each_push_at_most_twice(self, emulators: Emulators) -> None:
        emulators.fcm.faults = FaultPlan(latency_s=1.0)
        fcm = fcm_transport(emulators, **SLOW)
        results = await fcm.send([push("fcm", fcm_token(i)) for i in range(DEVICES)])
        await fcm.aclose()
        _assert_uncertain(results)
        per_device = Counter(r.token for r in emulators.fcm.recorder.received)
        assert len(per_device) == DEVICES and max(per_device.values()) == 2, per_device

    async def test_apns_gets_each_push_at_most_twice(self, emulators: Emulators) -> None:
        emulators.apns.faults = FaultPlan(latency_s=1.0)
        apns = apns_transport(emulators, **SLOW)
        results = await apns.send([push("apns", apns_token(i)) for i in range(DEVICES)])
        await apns.aclose()
        _assert_uncertain(results)
        per_device = Counter(r.token for r in emulators.apns.recorder.received)
        assert len(per_device) == DEVICES and max(per_device.values()) == 2, per_device

    async def test_web_push_gets_each_push_at_most_twice(self, standin: RunningStandIn) -> None:
        standin.standin.faults = FaultPlan(latency_s=1.0)
        transport, requests = _webpush(standin, VapidKey.generate(), DEVICES, **SLOW)
        results = await transport.send(requests)
        await transport.aclose()
        _assert_uncertain(results)
        per_device = Counter(r.token for r in standin.standin.recorder.received)
        assert len(per_device) == DEVICES and max(per_device.values()) == 2, per_device


def _assert_uncertain(results: list[Any]) -> None:
    assert all(isinstance(r, TransientFailure) and r.uncertain for r in results), results
    assert {r.attempts for r in results} == {2}


class TestPipelineWithASlowProvider:
    """Through the API and the job runner: the delivery ends as `uncertain`, shown in the message's
    status, and later runs do not send it again."""

    @pytest.fixture
    def fcm(self) -> Iterator[tuple[FcmEmulator, BackgroundLoop]]:
        loop = BackgroundLoop()
        emulator = FcmEmulator(faults=FaultPlan(latency_s=1.0))
        loop.run(emulator.start(), timeout=10)
        yield emulator, loop
        loop.run(emulator.stop(), timeout=10)
        loop.close()

    def test_a_timed_out_delivery_is_uncertain_and_not_resent(
        self,
        fcm: tuple[FcmEmulator, BackgroundLoop],
        settings: Settings,
        session_factory: sessionmaker[Session],
        clock: ManualClock,
        make: Factory,
    ) -> None:
        emulator, _ = fcm
        transport_settings = FcmSettings(
            endpoint=emulator.url, timeout_s=0.3, retry_base_delay_s=0.01, retry_max_delay_s=0.05
        )
        client_push = PushClient(lambda: FcmTransport(transport_settings))
        app = create_app(settings, clock=clock, waker=NullWaker(), push=client_push)
        unit = make.group("Akuten")
        boss = make.actor(roles=["staff", "manager"], manages=[unit])
        facts = Facts(session_factory, clock)
        start, end = workday(clock)
        for n in range(3):
            nurse = make.person(groups=[unit], name=f"Sköterska {n}")
            facts.shift(nurse, start, end)
            facts.device(nurse, platform="android", token=fcm_token(f"nurse{n}"))
        with TestClient(app) as client:
            body = {"title": "Möte", "body": "Kl 14.", "audience": {"groups": [str(unit.id)]}}
            r = client.post("/api/v1/messages", headers=boss.headers, json=body)
            assert r.status_code == 202, r.text
            for _ in range(4):  # the first run, then runs after every retry would be due
                run_jobs(settings, session_factory, clock, client_push)
                clock.advance(timedelta(minutes=10))
            status = client.get(f"/api/v1/messages/{r.json()['message_id']}", headers=boss.headers).json()
        client_push.close()
        assert status["deliveries"]["uncertain"] == 3
        assert all(p["deliveries"] == {"uncertain": 1} for p in status["recipients"]), status["recipients"]
        per_device = Counter(r.token for r in emulator.recorder.received)
        assert sorted(per_device.values()) == [2, 2, 2]
        with session_factory() as s:
            states = s.scalars(select(Delivery.state)).all()
        assert sorted(states) == ["uncertain"] * 3
