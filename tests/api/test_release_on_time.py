"""Held messages are released at their instant: a hold schedules a wake-up for it, so the release
waits neither for beat's 30-second tick nor for the sweeper; and a digest always fits a push."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.digests import Item, digest_text
from notify.jobs import registry
from notify.push import PushClient
from notify.transports import mapping
from notify.transports.base import PushRequest, RecordingTransport
from tests.factories import Factory
from tests.messaging_helpers import Facts, recording_push, workday


@pytest.fixture
def push() -> Iterator[tuple[PushClient, RecordingTransport]]:
    client, transport = recording_push()
    yield client, transport
    client.close()


def _eventually(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_held_messages_go_out_at_their_release_instant(
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    make: Factory,
    push: tuple[PushClient, RecordingTransport],
) -> None:
    unit = make.group("Avdelning 7")
    boss = make.actor(roles=["staff", "manager"], manages=[unit])
    nurse = make.actor(groups=[unit])
    facts = Facts(session_factory, clock)
    start, end = workday(clock)
    release_at = start + timedelta(days=1)  # tomorrow's shift
    facts.shift(nurse.person, release_at, end + timedelta(days=1))
    facts.device(nurse.person, platform="android")
    # No sweeper during the test; beat's tick ran once at start and is 30 s away.
    quiet = settings.model_copy(update={"sweep_interval_s": 3600.0})
    app = create_app(quiet, clock=clock, push=push[0])  # the embedded runner, on the test's clock
    tick = registry.get("notify.release_holds")
    assert tick is not None
    with TestClient(app) as client:

        def send(title: str) -> None:
            body = {"title": title, "body": "Läs.", "audience": {"people": [str(nurse.id)]}}
            r = client.post("/api/v1/messages", headers=boss.headers, json=body)
            assert r.status_code == 202, r.text
            assert r.json()["counts"]["hold"] == 1

        send("Schemat")  # held 20 hours: too far for a wake-up of its own
        clock.set(release_at - timedelta(minutes=10))
        tick.tick(app.state.runner.ctx)  # beat's tick: it wakes the release for the next due hold
        send("Möte")  # held 10 minutes
        clock.set(release_at - timedelta(seconds=1))
        assert not _eventually(lambda: bool(push[1].requests), 1.5), "released before its instant"
        clock.set(release_at)
        assert _eventually(lambda: bool(push[1].requests), 10.0), "not released at its instant"
        time.sleep(0.5)
    assert len(push[1].requests) == 1
    assert push[1].requests[0].kind == "digest"
    assert push[1].requests[0].title.startswith("2 meddelanden")


def _digest_push(title: str, body: str, provider: str, count: int) -> PushRequest:
    return PushRequest(
        delivery_id=uuid.uuid4(),
        provider=provider,  # type: ignore[arg-type]
        platform={"apns": "ios", "fcm": "android", "webpush": "web"}[provider],  # type: ignore[arg-type]
        token="0" * 64,
        priority="normal",
        kind="digest",
        interruption_level="active",
        title=title,
        body=body,
        message_id=str(uuid.uuid4()),
        data={"digest_id": str(uuid.uuid4()), "count": str(count)},
        badge=9999,
        thread_id="vila",
    )


@pytest.mark.parametrize("language", ["sv", "en"])
def test_a_digest_of_300_messages_fits_every_provider_and_names_no_sensitive_title(language: str) -> None:
    # Titles as long and as costly as the API admits: 200 characters of 4-byte emoji, quotes and
    # control characters that JSON escapes to six bytes each; every third message sensitive.
    costly = ["😷" * 200, '"' * 200, "\u0001" * 200, "Å" * 200]
    items = [
        Item(
            title=f"HEMLIGT {i}: ångest" if i % 3 == 0 else costly[i % 4],
            label=f"Enhet {i % 7} " + "é" * 280,
            private=i % 3 == 0,
        )
        for i in range(300)
    ]
    title, body = digest_text(items, language)
    assert title.startswith("300 ")
    assert "HEMLIGT" not in title + body
    assert len(title) <= 200 and len(body) <= 500  # the digest table's columns
    now = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    for provider in ("apns", "fcm", "webpush"):
        sizes = mapping.payload_sizes(_digest_push(title, body, provider, 300), now=now)
        assert max(sizes.values()) < mapping.PAYLOAD_LIMIT_BYTES, (provider, sizes)


def test_a_digest_of_only_sensitive_messages_says_only_how_many() -> None:
    items = [Item(title=f"HEMLIGT {i}", label="Akuten", private=True) for i in range(5)]
    title, body = digest_text(items, "sv")
    assert (title, body) == ("5 meddelanden från Akuten", "Öppna Vila för att läsa dem.")
    shown = digest_text([*items, Item(title="Fika kl 15", label="Akuten", private=False)], "en")
    assert shown == ("6 messages from Akuten", "Latest: Fika kl 15 (+5 more in Vila)")
