"""The APNs transport through aioapns against the APNs stand-in (HTTP/2, TLS, local CA)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from notify.transports.apns import JWT_MIN_REFRESH_INTERVAL_S, SharedJwt
from notify.transports.base import PermanentFailure, Sent, TokenInvalid, TransientFailure
from tests.integration.transport_helpers import apns_token, apns_transport, push
from tools.standins.providers import Emulators, FaultPlan, serve_emulators
from tools.standins.tls import issue_client_certificate, make_p8_key


@pytest.fixture
async def emulators(tmp_path: Path) -> AsyncIterator[Emulators]:
    running = await serve_emulators(state_dir=tmp_path)
    yield running
    await running.stop()


@pytest.mark.parametrize(
    ("priority", "kind", "entitled", "apns_priority", "level"),
    [
        ("info", "message", False, "5", "passive"),
        ("normal", "message", False, "10", "active"),
        ("urgent", "message", False, "10", "time-sensitive"),
        ("emergency", "message", False, "10", "time-sensitive"),
        ("emergency", "message", True, "10", "critical"),
        ("normal", "digest", True, "5", "passive"),
    ],
)
async def test_priority_reaches_apns_as_mapped(
    emulators: Emulators, priority: str, kind: str, entitled: bool, apns_priority: str, level: str
) -> None:
    transport = apns_transport(emulators, critical_alerts_entitled=entitled)
    request = push(
        "apns",
        apns_token(1),
        priority=priority,
        kind=kind,
        interruption_level="critical",
        collapse_key="shift-7",
        thread_id="ward-12",
        badge=2,
    )
    (result,) = await transport.send([request])
    await transport.aclose()
    assert result == Sent(str(request.delivery_id), attempts=1)  # apns-id echoed
    (received,) = emulators.apns.recorder.received
    headers = received.headers
    assert headers["apns-priority"] == apns_priority
    assert headers["apns-push-type"] == "alert"
    assert headers["apns-topic"] == "se.vila.app"
    assert headers["apns-collapse-id"] == "shift-7"
    assert abs(int(headers["apns-expiration"]) - time.time()) > 3600
    aps = received.payload["aps"]
    assert aps["interruption-level"] == level
    assert (aps["thread-id"], aps["badge"]) == ("ward-12", 2)
    assert received.payload["message_id"] == "msg-1"


async def test_sensitive_push_is_content_free(emulators: Emulators) -> None:
    transport = apns_transport(emulators)
    await transport.send([push("apns", apns_token(1), sensitive=True, language="en", data={"room": "4"})])
    await transport.aclose()
    (received,) = emulators.apns.recorder.received
    assert received.payload["aps"]["alert"] == {"title": "New message in Vila", "body": "Open the app to read it."}
    assert set(received.payload) == {"aps", "message_id"}


async def test_unregistered_and_bad_tokens_are_pruned(emulators: Emulators) -> None:
    emulators.apns.faults = FaultPlan(unregistered_tokens={apns_token(1)})
    transport = apns_transport(emulators)
    results = await transport.send(
        [push("apns", apns_token(1)), push("apns", "not-a-token"), push("apns", apns_token(3))]
    )
    await transport.aclose()
    assert results[0] == TokenInvalid("410 Unregistered", attempts=1)
    assert results[1] == TokenInvalid("400 BadDeviceToken", attempts=1)
    assert isinstance(results[2], Sent)


async def test_other_400s_and_auth_errors_are_permanent(emulators: Emulators) -> None:
    transport = apns_transport(emulators, topic="se.other.app")
    (wrong_topic,) = await transport.send([push("apns", apns_token(1))])
    await transport.aclose()
    assert wrong_topic == PermanentFailure("400 DeviceTokenNotForTopic", attempts=1)

    emulators.apns.faults = FaultPlan(token_rules={"^0+5$": "third_party_auth"})
    transport = apns_transport(emulators)
    (auth,) = await transport.send([push("apns", apns_token(5))])
    await transport.aclose()
    assert auth == PermanentFailure("403 InvalidProviderToken", attempts=1)
    assert len(emulators.apns.recorder.received) == 2


async def test_too_many_requests_and_unavailable_are_retried(emulators: Emulators) -> None:
    emulators.apns.faults = FaultPlan(token_rules={"^0+7$": "quota", "^0+8$": "unavailable", "^0+9$": "internal"})
    transport = apns_transport(emulators)
    results = await transport.send([push("apns", apns_token(i)) for i in (7, 8, 9)])
    await transport.aclose()
    assert results == [
        TransientFailure("429 TooManyRequests", attempts=4),
        TransientFailure("503 ServiceUnavailable", attempts=4),
        TransientFailure("500 InternalServerError", attempts=4),
    ]
    assert len(emulators.apns.recorder.received) == 12


async def test_goaway_mid_batch_loses_nothing_and_sends_nothing_twice(emulators: Emulators) -> None:
    emulators.apns.faults = FaultPlan(goaway_after=40, latency_s=0.01)
    transport = apns_transport(emulators, connections=2, streams_per_connection=30)
    results = await transport.send([push("apns", apns_token(i)) for i in range(300)])
    await transport.aclose()
    assert all(isinstance(r, Sent) for r in results)
    summary = emulators.apns.recorder.summary()
    assert summary["accepted"] == 300 and summary["accepted_twice"] == []
    assert emulators.apns.connections_opened >= 300 // 40


async def test_refused_connection_and_timeout_are_transient(emulators: Emulators) -> None:
    port = emulators.apns_port
    await emulators.apns.stop()
    transport = apns_transport(emulators, retry_max_attempts=2)
    (refused,) = await transport.send([push("apns", apns_token(1))])
    await transport.aclose()
    assert isinstance(refused, TransientFailure) and refused.reason.startswith("cannot connect")

    from tools.standins.server import server_ssl_context

    await emulators.apns.start("127.0.0.1", port, server_ssl_context(emulators.ca, alpn=["h2"]))
    emulators.apns.faults = FaultPlan(latency_s=0.5)
    transport = apns_transport(emulators, timeout_s=0.1, retry_max_attempts=2)
    (slow,) = await transport.send([push("apns", apns_token(1))])
    await transport.aclose()
    assert slow == TransientFailure("timeout: no answer in time", attempts=2, uncertain=True)


async def test_expired_provider_token_is_renewed_at_most_once_per_20_minutes(
    emulators: Emulators, tmp_path: Path
) -> None:
    key = make_p8_key(tmp_path / "AuthKey_ABC123DEFG.p8")
    transport = apns_transport(emulators, auth="token", key_file=key, key_id="ABC123DEFG", team_id="TEAM123456")
    clock = [0.0]
    assert transport.jwt is not None
    transport.jwt = SharedJwt(key.read_text(), "ABC123DEFG", "TEAM123456", monotonic=lambda: clock[0])
    assert isinstance((await transport.send([push("apns", apns_token(1))]))[0], Sent)

    clock[0] = JWT_MIN_REFRESH_INTERVAL_S + 1
    time.sleep(1.01)  # JWT iat has one-second resolution
    emulators.apns.expire_provider_tokens()
    (renewed,) = await transport.send([push("apns", apns_token(2))])
    assert renewed == Sent(renewed.provider_message_id, attempts=2)  # type: ignore[union-attr]
    assert transport.jwt.issued_count == 2

    clock[0] += 60  # a minute later APNs says expired again: no new token before 20 minutes
    time.sleep(1.01)
    emulators.apns.expire_provider_tokens()
    (held,) = await transport.send([push("apns", apns_token(3))])
    await transport.aclose()
    assert held == TransientFailure("403 ExpiredProviderToken", JWT_MIN_REFRESH_INTERVAL_S, attempts=1)
    assert transport.jwt.issued_count == 2
    assert len(emulators.apns.provider_tokens) == 2


async def test_certificate_auth(emulators: Emulators, tmp_path: Path) -> None:
    cert = issue_client_certificate(emulators.ca, "se.vila.app", tmp_path / "apns-cert.pem")
    transport = apns_transport(emulators, auth="certificate", cert_file=cert, environment="production")
    (result,) = await transport.send([push("apns", apns_token(1))])
    await transport.aclose()
    assert isinstance(result, Sent)
    (received,) = emulators.apns.recorder.received
    assert "authorization" not in received.headers


async def test_fault_mix_ends_with_every_message_sent_or_pruned_once(emulators: Emulators) -> None:
    emulators.apns.faults = FaultPlan(rate_429=0.02, rate_503=0.01, rate_unregistered=0.03, goaway_after=500, seed=5)
    transport = apns_transport(emulators)
    n = 1500
    results = await transport.send([push("apns", apns_token(i)) for i in range(n)])
    await transport.aclose()
    sent = [r for r in results if isinstance(r, Sent)]
    pruned = [r for r in results if isinstance(r, TokenInvalid)]
    assert len(sent) + len(pruned) == n
    summary = emulators.apns.recorder.summary()
    assert summary["accepted"] == len(sent) and summary["accepted_twice"] == []
    assert transport.stats.retries == sum(r.attempts - 1 for r in results) > 0
