"""The Web Push transport against the Web Push stand-in, which checks the VAPID token and decrypts
every push with the subscription's private key: what the stand-in records is what the phone reads."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from notify.transports.base import PermanentFailure, PushRequest, Sent, TokenInvalid, TransientFailure, WebPushKeys
from notify.transports.config import WebPushSettings
from notify.transports.vapid import VapidKey
from notify.transports.webpush import WebPushTransport
from tests.integration.transport_helpers import FAST_RETRY
from tools.standins.faults import FaultPlan
from tools.standins.tls import make_local_ca
from tools.standins.webpush import RunningStandIn, StandInSubscription, serve_webpush


@pytest.fixture
async def standin(tmp_path: Path) -> AsyncIterator[RunningStandIn]:
    running = await serve_webpush(state_dir=tmp_path)
    yield running
    await running.stop()


@pytest.fixture
def key() -> VapidKey:
    return VapidKey.generate()


def transport(standin: RunningStandIn, key: VapidKey, **settings: Any) -> WebPushTransport:
    values = {"ca_file": standin.ca.ca_file, "timeout_s": 5, "subject": "mailto:it@region.example", **FAST_RETRY}
    return WebPushTransport(WebPushSettings(**{**values, **settings}), key)


def webpush(subscription: StandInSubscription, **overrides: Any) -> PushRequest:
    keys = subscription.to_json()["keys"]
    values: dict[str, Any] = {
        "delivery_id": uuid.uuid4(),
        "provider": "webpush",
        "platform": "web",
        "token": subscription.endpoint,
        "priority": "normal",
        "title": "Personalmöte",
        "body": "Flyttas till torsdag kl. 14 – i matsalen",
        "message_id": str(uuid.uuid4()),
        "webpush_keys": WebPushKeys(keys["p256dh"], keys["auth"]),
    }
    values.update(overrides)
    return PushRequest(**values)


@pytest.mark.parametrize(
    ("priority", "kind", "urgency", "ttl"),
    [
        ("info", "message", "low", "259200"),
        ("normal", "message", "normal", "86400"),
        ("urgent", "message", "high", "14400"),
        ("emergency", "message", "high", "14400"),
        ("urgent", "digest", "normal", "86400"),
    ],
)
async def test_the_phone_reads_the_text_with_the_priority_mapped(
    standin: RunningStandIn, key: VapidKey, priority: str, kind: str, urgency: str, ttl: str
) -> None:
    sub = standin.standin.subscribe(application_server_key=key.public_key)
    request = webpush(sub, priority=priority, kind=kind)
    t = transport(standin, key)
    (result,) = await t.send([request])
    await t.aclose()
    assert isinstance(result, Sent) and result.provider_message_id.startswith(standin.url + "/message/")
    (received,) = standin.standin.recorder.received
    assert received.status == 201
    assert (received.headers["urgency"], received.headers["ttl"]) == (urgency, ttl)
    assert received.headers["content-encoding"] == "aes128gcm"
    assert received.payload["title"] == "Personalmöte"
    assert received.payload["body"] == "Flyttas till torsdag kl. 14 – i matsalen"
    assert received.payload["data"]["message_id"] == request.message_id
    assert received.payload.get("silent", False) == (priority == "info" or kind == "digest")


async def test_a_resend_replaces_the_first_by_topic_and_tag(standin: RunningStandIn, key: VapidKey) -> None:
    sub = standin.standin.subscribe()
    first = webpush(sub)
    again = webpush(sub, message_id=first.message_id, title="Personalmöte (ändrat)")
    other = webpush(sub)
    t = transport(standin, key)
    assert all(isinstance(r, Sent) for r in await t.send([first, again, other]))
    await t.aclose()
    topics = [r.headers["topic"] for r in standin.standin.recorder.received]
    tags = [r.payload["tag"] for r in standin.standin.recorder.received]
    assert topics[0] == topics[1] != topics[2] and all(len(t) <= 32 for t in topics)
    assert tags[0] == tags[1] == first.message_id


async def test_sensitive_messages_reach_the_phone_without_their_content(standin: RunningStandIn, key: VapidKey) -> None:
    sub = standin.standin.subscribe()
    request = webpush(sub, sensitive=True, language="en", requires_ack=True, data={"patient": "x"})
    t = transport(standin, key)
    await t.send([request])
    await t.aclose()
    (payload,) = standin.standin.delivered(sub.id)
    assert (payload["title"], payload["body"]) == ("New message in Vila", "Open the app to read it.")
    assert payload["data"] == {"message_id": request.message_id, "kind": "message"}
    assert payload["actions"] == [{"action": "ack", "title": "Acknowledge"}]
    assert "Personalmöte" not in str(standin.standin.recorder.received[0].headers)


async def test_gone_subscriptions_are_pruned_at_once(standin: RunningStandIn, key: VapidKey) -> None:
    gone, unknown, fine = (standin.standin.subscribe() for _ in range(3))
    standin.standin.faults = FaultPlan(unregistered_tokens={gone.id})
    standin.standin.unsubscribe(unknown.id)
    t = transport(standin, key)
    results = await t.send([webpush(gone), webpush(unknown), webpush(fine)])
    await t.aclose()
    assert isinstance(results[0], TokenInvalid) and results[0].reason.startswith("410")
    assert isinstance(results[1], TokenInvalid) and results[1].reason.startswith("404")
    assert [r.attempts for r in results[:2]] == [1, 1]
    assert isinstance(results[2], Sent)


async def test_no_resend_before_retry_after(standin: RunningStandIn, key: VapidKey) -> None:
    sub = standin.standin.subscribe()
    standin.standin.faults = FaultPlan(token_rules={sub.id: "quota"}, retry_after_s=0.5)
    t = transport(standin, key, retry_max_attempts=2)
    start = time.monotonic()
    (result,) = await t.send([webpush(sub)])
    elapsed = time.monotonic() - start
    await t.aclose()
    assert isinstance(result, TransientFailure) and result.reason.startswith("429")
    assert result.retry_after_s == 0.5 and result.attempts == 2
    assert elapsed >= 0.5
    assert [r.status for r in standin.standin.recorder.received] == [429, 429]


async def test_a_long_retry_after_goes_back_to_the_pipeline(standin: RunningStandIn, key: VapidKey) -> None:
    sub = standin.standin.subscribe()
    standin.standin.faults = FaultPlan(rate_503=1.0, retry_after_s=120)
    t = transport(standin, key, retry_max_retry_after_s=60)
    (result,) = await t.send([webpush(sub)])
    await t.aclose()
    assert isinstance(result, TransientFailure) and result.retry_after_s == 120 and result.attempts == 1


async def test_slow_answers_time_out_as_transient(standin: RunningStandIn, key: VapidKey) -> None:
    sub = standin.standin.subscribe()
    standin.standin.faults = FaultPlan(latency_s=0.5)
    t = transport(standin, key, timeout_s=0.1, retry_max_attempts=2)
    (result,) = await t.send([webpush(sub)])
    await t.aclose()
    assert isinstance(result, TransientFailure) and result.reason.startswith("timeout")
    assert result.attempts == 2


async def test_one_vapid_token_per_push_service_and_a_pool_each(tmp_path: Path, key: VapidKey) -> None:
    ca = make_local_ca(tmp_path / "tls")
    first, second = await serve_webpush(ca=ca), await serve_webpush(ca=ca)
    try:
        subs = [s.standin.subscribe() for s in (first, second) for _ in range(10)]
        t = transport(first, key, connections=2)
        results = await t.send([webpush(s) for s in subs])
        await t.send([webpush(s) for s in subs])
        await t.aclose()
    finally:
        await first.stop()
        await second.stop()
    assert all(isinstance(r, Sent) for r in results)
    assert t.vapid.signed == 2
    assert len(first.standin.vapid_tokens_seen) == len(second.standin.vapid_tokens_seen) == 1
    assert first.standin.recorder.summary()["accepted"] == second.standin.recorder.summary()["accepted"] == 20


async def test_a_refused_vapid_token_is_signed_anew_once(standin: RunningStandIn, key: VapidKey) -> None:
    sub = standin.standin.subscribe(application_server_key=key.public_key)
    t = transport(standin, key)
    await t.send([webpush(sub)])
    standin.standin.revoke_vapid_tokens()
    (result,) = await t.send([webpush(sub)])
    assert isinstance(result, Sent)
    assert [r.status for r in standin.standin.recorder.received] == [201, 401, 201]
    assert t.vapid.signed == 2

    # A subscription made with another server key will never take this key's pushes.
    other = standin.standin.subscribe(application_server_key=VapidKey.generate().public_key)
    (refused,) = await t.send([webpush(other)])
    await t.aclose()
    assert isinstance(refused, PermanentFailure) and "403" in refused.reason
    assert [r.status for r in standin.standin.recorder.received][-2:] == [403, 403]


async def test_what_cannot_be_sent_is_refused_before_the_wire(standin: RunningStandIn, key: VapidKey) -> None:
    sub = standin.standin.subscribe()
    too_big = webpush(sub, body="å" * 2000)
    no_keys = webpush(sub, webpush_keys=None)
    plain_http = webpush(sub, token=sub.endpoint.replace("https://", "http://"))
    t = transport(standin, key)
    results = await t.send([too_big, no_keys, plain_http, webpush(sub)])
    await t.aclose()
    assert [type(r) for r in results] == [PermanentFailure, PermanentFailure, PermanentFailure, Sent]
    assert "4096" in results[0].reason  # type: ignore[union-attr]
    assert standin.standin.recorder.summary()["requests"] == 1


async def test_connections_closed_or_cut_mid_batch_lose_nothing_and_send_nothing_twice(
    standin: RunningStandIn, key: VapidKey
) -> None:
    subs = [standin.standin.subscribe() for _ in range(60)]
    t = transport(standin, key, connections=4, retry_max_attempts=8)
    standin.standin.faults = FaultPlan(goaway_after=5)
    closed = await t.send([webpush(s) for s in subs])
    standin.standin.faults = FaultPlan(drop_after=3)
    cut = await t.send([webpush(s) for s in subs])
    await t.aclose()
    assert all(isinstance(r, Sent) for r in closed + cut)
    summary = standin.standin.recorder.summary()
    assert summary["accepted"] == 120 and summary["accepted_twice"] == []


async def test_fault_mix_ends_with_every_push_sent_or_pruned_once(standin: RunningStandIn, key: VapidKey) -> None:
    """2% 429 (Retry-After 1 s), 1% 503, 3% gone subscriptions, over subscriptions on one push service."""
    subs = [standin.standin.subscribe() for _ in range(600)]
    standin.standin.faults = FaultPlan(rate_429=0.02, rate_503=0.01, rate_unregistered=0.03, retry_after_s=1, seed=5)
    t = transport(standin, key, retry_max_attempts=6)
    requests = [webpush(s) for s in subs]
    results = await t.send(requests)
    await t.aclose()
    kinds = Counter(type(r).__name__ for r in results)
    assert kinds["Sent"] + kinds["TokenInvalid"] == len(subs), kinds
    assert kinds["TokenInvalid"] > 0 and t.stats.retries > 0
    summary = standin.standin.recorder.summary()
    assert summary["accepted"] == kinds["Sent"] and summary["accepted_twice"] == []
    for request, result, sub in zip(requests, results, subs, strict=True):
        delivered = standin.standin.delivered(sub.id)
        if isinstance(result, Sent):
            assert [p["data"]["message_id"] for p in delivered] == [request.message_id]
        else:
            assert delivered == []
