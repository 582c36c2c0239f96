"""Retry rules: what is retried, how often, and never before the provider allows."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Sequence

import pytest

from notify.transports.base import (
    PermanentFailure,
    PushRequest,
    PushResult,
    RecordingTransport,
    Router,
    Sent,
    TokenInvalid,
    TransientFailure,
)
from notify.transports.retry import RetryPolicy, RetryStats, send_with_retries


def push(token: str, provider: str = "fcm") -> PushRequest:
    return PushRequest(
        delivery_id=uuid.uuid4(),
        provider=provider,  # type: ignore[arg-type]
        platform="android",
        token=token,
        priority="normal",
        title="t",
        body="b",
        message_id="m",
    )


FAST = RetryPolicy(max_attempts=4, base_delay_s=0.001, max_delay_s=0.01, max_retry_after_s=1.0)


def test_backoff_grows_and_jitter_stays_within_bounds() -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=8.0, jitter=0.5)
    rng = random.Random(1)
    for attempt, full in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (6, 8.0)]:
        delays = [policy.backoff_s(attempt, rng) for _ in range(200)]
        assert all(full * 0.5 <= d <= full for d in delays)
        assert max(delays) - min(delays) > full * 0.3  # actually jittered
    assert policy.delay_s(1, retry_after_s=5.0, rng=rng) == 5.0


class Script:
    """An attempt function answering from a per-token list of outcomes."""

    def __init__(self, outcomes: dict[str, list[PushResult]]) -> None:
        self.outcomes = outcomes
        self.calls: list[list[str]] = []

    async def __call__(self, items: Sequence[PushRequest]) -> list[PushResult]:
        self.calls.append([r.token for r in items])
        return [
            self.outcomes[r.token].pop(0) if len(self.outcomes[r.token]) > 1 else self.outcomes[r.token][0]
            for r in items
        ]


async def test_only_transient_failures_are_retried() -> None:
    script = Script(
        {
            "ok": [Sent("1")],
            "flaky": [TransientFailure("503"), TransientFailure("503"), Sent("2")],
            "bad": [PermanentFailure("INVALID_ARGUMENT")],
            "gone": [TokenInvalid("UNREGISTERED")],
        }
    )
    stats = RetryStats()
    batch = [push("ok"), push("flaky"), push("bad"), push("gone")]
    results = await send_with_retries(batch, script, policy=FAST, stats=stats, provider="fcm")
    assert results == [
        Sent("1", attempts=1),
        Sent("2", attempts=3),
        PermanentFailure("INVALID_ARGUMENT", attempts=1),
        TokenInvalid("UNREGISTERED", attempts=1),
    ]
    assert script.calls == [["ok", "flaky", "bad", "gone"], ["flaky"], ["flaky"]]
    assert (stats.retries, stats.sent, stats.pruned, stats.permanent) == (2, 2, 1, 1)


async def test_gives_up_after_the_limit_with_the_reason() -> None:
    script = Script({"down": [TransientFailure("UNAVAILABLE")]})
    results = await send_with_retries([push("down")], script, policy=FAST, stats=RetryStats(), provider="fcm")
    assert results == [TransientFailure("UNAVAILABLE", attempts=4)]


async def test_retry_after_is_honoured_and_long_waits_go_back_to_the_pipeline() -> None:
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def attempt(items: Sequence[PushRequest]) -> list[PushResult]:
        times.append(loop.time())
        return [TransientFailure("QUOTA_EXCEEDED", 0.2) if len(times) == 1 else Sent("x") for _ in items]

    results = await send_with_retries([push("a")], attempt, policy=FAST, stats=RetryStats(), provider="fcm")
    assert results == [Sent("x", attempts=2)]
    assert times[1] - times[0] >= 0.2

    script = Script({"slow": [TransientFailure("QUOTA_EXCEEDED", 120.0)]})
    results = await send_with_retries([push("slow")], script, policy=FAST, stats=RetryStats(), provider="fcm")
    assert results == [TransientFailure("QUOTA_EXCEEDED", 120.0, attempts=1)]


async def test_recording_transport_scripts_outcomes_per_token() -> None:
    transport = RecordingTransport()
    transport.script("t1", TransientFailure("503"), Sent("later"))
    transport.script("t2", lambda r: TokenInvalid(f"gone {r.token}"))
    first = await transport.send([push("t1"), push("t2"), push("t3")])
    assert first[0] == TransientFailure("503")
    assert first[1] == TokenInvalid("gone t2")
    assert isinstance(first[2], Sent)
    assert await transport.send([push("t1")]) == [Sent("later")]
    assert len(transport.sent_to("t1")) == 2
    await transport.aclose()
    with pytest.raises(RuntimeError):
        await transport.send([push("t1")])


async def test_router_keeps_request_order_across_providers() -> None:
    fcm, apns = RecordingTransport(), RecordingTransport()
    apns.script("i1", Sent("apns-1"))
    fcm.script("a1", Sent("fcm-1"))
    fcm.script("a2", Sent("fcm-2"))
    router = Router({"fcm": fcm, "apns": apns})
    results = await router.send([push("a1"), push("i1", "apns"), push("a2")])
    assert results == [Sent("fcm-1"), Sent("apns-1"), Sent("fcm-2")]
    missing = await Router({}).send([push("a1")])
    assert isinstance(missing[0], PermanentFailure)
    await router.aclose()
    assert fcm.closed and apns.closed
