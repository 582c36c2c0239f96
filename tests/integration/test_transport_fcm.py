"""The FCM transport through firebase-admin's model, encoder, credentials and error mapping, against
the FCM stand-in."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from notify.transports.base import PermanentFailure, Sent, TokenInvalid, TransientFailure
from tests.integration.transport_helpers import fcm_token, fcm_transport, push, service_account_file
from tools.standins.providers import Emulators, FaultPlan, serve_emulators


@pytest.fixture
async def emulators(tmp_path: Path) -> AsyncIterator[Emulators]:
    running = await serve_emulators(state_dir=tmp_path)
    yield running
    await running.stop()


@pytest.mark.parametrize(
    ("priority", "kind", "android_priority", "channel", "ttl"),
    [
        ("info", "message", "normal", "vila_info", "259200s"),
        ("normal", "message", "high", "vila_normal", "86400s"),
        ("urgent", "message", "high", "vila_urgent", "14400s"),
        ("emergency", "message", "high", "vila_emergency", "14400s"),
        ("urgent", "digest", "normal", "vila_digest", "86400s"),
    ],
)
async def test_priority_reaches_fcm_as_mapped(
    emulators: Emulators, priority: str, kind: str, android_priority: str, channel: str, ttl: str
) -> None:
    transport = fcm_transport(emulators)
    results = await transport.send([push("fcm", fcm_token(1), priority=priority, kind=kind)])
    await transport.aclose()
    assert isinstance(results[0], Sent)
    assert results[0].provider_message_id.startswith("projects/vila-local/messages/")
    (received,) = emulators.fcm.recorder.received
    android = received.payload["message"]["android"]
    assert (android["priority"], android["notification"]["channel_id"], android["ttl"]) == (
        android_priority,
        channel,
        ttl,
    )
    assert received.payload["message"]["notification"]["title"] == "Personalmöte"
    assert received.headers["authorization"] == "Bearer owner"


async def test_unregistered_token_is_pruned_at_once(emulators: Emulators) -> None:
    emulators.fcm.faults = FaultPlan(unregistered_tokens={fcm_token("old")})
    transport = fcm_transport(emulators)
    results = await transport.send([push("fcm", fcm_token("old")), push("fcm", fcm_token("new"))])
    await transport.aclose()
    assert isinstance(results[0], TokenInvalid) and results[0].reason.startswith("UNREGISTERED")
    assert results[0].attempts == 1
    assert isinstance(results[1], Sent)


async def test_permanent_errors_are_not_retried(emulators: Emulators, caplog: pytest.LogCaptureFixture) -> None:
    emulators.fcm.faults = FaultPlan(token_rules={"-bad": "invalid_argument", "-other": "sender_id_mismatch"})
    transport = fcm_transport(emulators)
    results = await transport.send(
        [push("fcm", "device-bad:xxxxxxxxxxxxxxxx"), push("fcm", "device-other:xxxxxxxxxxxx")]
    )
    await transport.aclose()
    assert [type(r) for r in results] == [PermanentFailure, PermanentFailure]
    assert results[0].reason.startswith("INVALID_ARGUMENT")
    assert results[1].reason.startswith("SENDER_ID_MISMATCH")
    assert len(emulators.fcm.recorder.received) == 2
    assert "rejected delivery" in caplog.text  # reported loudly


async def test_wrong_project_is_a_sender_id_mismatch(emulators: Emulators) -> None:
    transport = fcm_transport(emulators, project_id="someone-else")
    (result,) = await transport.send([push("fcm", fcm_token(1))])
    await transport.aclose()
    assert isinstance(result, PermanentFailure) and result.reason.startswith("SENDER_ID_MISMATCH")


async def test_invalid_message_is_refused_before_sending(emulators: Emulators) -> None:
    transport = fcm_transport(emulators)
    (result,) = await transport.send([push("fcm", "")])
    await transport.aclose()
    assert isinstance(result, PermanentFailure) and result.attempts == 0
    assert emulators.fcm.recorder.received == []


async def test_too_big_a_message_is_rejected_like_fcm_does(emulators: Emulators) -> None:
    transport = fcm_transport(emulators)
    (result,) = await transport.send([push("fcm", fcm_token(1), body="x" * 5000)])
    await transport.aclose()
    assert isinstance(result, PermanentFailure) and "too big" in result.reason


async def test_no_resend_before_retry_after(emulators: Emulators) -> None:
    token = fcm_token("busy")
    emulators.fcm.faults = FaultPlan(token_rules={"busy": "quota"}, retry_after_s=0.5)
    transport = fcm_transport(emulators)
    sending = transport.send([push("fcm", token)])
    # Lift the quota once the first answer is in: the resend must still wait for Retry-After.
    task = asyncio.ensure_future(sending)
    while not emulators.fcm.recorder.received:
        await asyncio.sleep(0.01)
    emulators.fcm.faults = FaultPlan()
    (result,) = await task
    await transport.aclose()
    assert isinstance(result, Sent) and result.attempts == 2
    first, second = emulators.fcm.recorder.received
    assert first.status == 429 and second.status == 200
    assert second.at - first.at >= 0.5
    assert transport.stats.retried_reasons


async def test_unavailable_is_retried_then_reported_with_the_reason(emulators: Emulators) -> None:
    emulators.fcm.faults = FaultPlan(token_rules={"down": "unavailable", "oops": "internal"})
    transport = fcm_transport(emulators)
    results = await transport.send([push("fcm", fcm_token("down")), push("fcm", fcm_token("oops"))])
    await transport.aclose()
    assert [type(r) for r in results] == [TransientFailure, TransientFailure]
    assert results[0].reason.startswith("UNAVAILABLE") and results[0].attempts == 4
    assert results[1].reason.startswith("INTERNAL")
    assert len(emulators.fcm.recorder.received) == 8


async def test_refused_connection_and_timeouts_are_transient(emulators: Emulators) -> None:
    port = int(emulators.fcm_url.rsplit(":", 1)[1])
    await emulators.fcm.stop()
    transport = fcm_transport(emulators, retry_max_attempts=2)
    (refused,) = await transport.send([push("fcm", fcm_token(1))])
    await transport.aclose()
    assert isinstance(refused, TransientFailure) and refused.reason.startswith("UNAVAILABLE: cannot connect")

    await emulators.fcm.start("127.0.0.1", port)
    emulators.fcm.faults = FaultPlan(latency_s=0.5)
    transport = fcm_transport(emulators, timeout_s=0.1, retry_max_attempts=2)
    (slow,) = await transport.send([push("fcm", fcm_token(1))])
    await transport.aclose()
    assert isinstance(slow, TransientFailure) and slow.reason.startswith("DEADLINE_EXCEEDED")


@pytest.mark.parametrize("plan", [FaultPlan(drop_after=7), FaultPlan(goaway_after=5)], ids=["cut", "graceful-close"])
async def test_connections_closed_mid_batch_lose_nothing_and_send_nothing_twice(
    emulators: Emulators, plan: FaultPlan
) -> None:
    emulators.fcm.faults = plan
    transport = fcm_transport(emulators, connections=4)
    results = await transport.send([push("fcm", fcm_token(i)) for i in range(120)])
    await transport.aclose()
    assert all(isinstance(r, Sent) for r in results)
    summary = emulators.fcm.recorder.summary()
    assert summary["accepted"] == 120 and summary["accepted_twice"] == []


async def test_application_default_credentials(
    emulators: Emulators, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "GOOGLE_APPLICATION_CREDENTIALS", str(service_account_file(tmp_path, f"{emulators.fcm_url}/token"))
    )
    transport = fcm_transport(emulators, credentials="application_default", project_id="")
    (result,) = await transport.send([push("fcm", fcm_token(1))])
    await transport.aclose()
    assert isinstance(result, Sent)
    assert emulators.fcm.token_requests == 1


async def test_service_account_credentials_get_an_oauth_token(emulators: Emulators, tmp_path: Path) -> None:
    path = service_account_file(tmp_path, f"{emulators.fcm_url}/token")
    transport = fcm_transport(emulators, credentials="service_account", credentials_file=path, project_id="")
    results = await transport.send([push("fcm", fcm_token(i)) for i in range(3)])
    assert all(isinstance(r, Sent) for r in results)
    assert emulators.fcm.token_requests == 1
    bearer = emulators.fcm.recorder.received[0].headers["authorization"]
    assert bearer.startswith("Bearer ya29.emulator-")

    # The stand-in forgets the token (as Google does when it expires early): refresh and resend.
    emulators.fcm.access_tokens.clear()
    (result,) = await transport.send([push("fcm", fcm_token(9))])
    await transport.aclose()
    assert isinstance(result, Sent) and result.attempts == 2
    assert emulators.fcm.token_requests == 2


async def test_fault_mix_ends_with_every_message_sent_or_pruned_once(emulators: Emulators) -> None:
    emulators.fcm.faults = FaultPlan(rate_429=0.02, rate_503=0.01, rate_unregistered=0.03, retry_after_s=0.05, seed=11)
    transport = fcm_transport(emulators)
    n = 1500
    started = time.perf_counter()
    results = await transport.send([push("fcm", fcm_token(i)) for i in range(n)])
    await transport.aclose()
    sent = [r for r in results if isinstance(r, Sent)]
    pruned = [r for r in results if isinstance(r, TokenInvalid)]
    assert len(sent) + len(pruned) == n
    summary = emulators.fcm.recorder.summary()
    assert summary["accepted"] == len(sent) and summary["accepted_twice"] == []
    assert 0.01 * n < len(pruned) < 0.06 * n
    assert transport.stats.retries > 0
    assert transport.stats.retries == sum(r.attempts - 1 for r in results)
    assert time.perf_counter() - started < 60
