"""The transport interface: what the messaging pipeline hands to a push provider, and what it gets
back.

A transport takes a batch of `PushRequest`s and returns one `PushResult` per request, in the same
order. It never raises for a single delivery's trouble; it raises only when it is used wrongly
(closed, misconfigured). The result tree, written down once:

    PushResult
    ├── Sent(provider_message_id)             the provider accepted it; the delivery is `sent`
    ├── TransientFailure(reason, retry_after_s, uncertain)
    │                                         429, 5xx, timeouts, refused or dropped connections,
    │                                         still failing after the transport's own retries;
    │                                         the pipeline schedules the delivery again (not
    │                                         before `retry_after_s` when the provider said so);
    │                                         `uncertain` (a timeout: it may have arrived) is
    │                                         retried once at most and then recorded, not resent
    ├── PermanentFailure(reason)              the provider rejected this request for good
    │                                         (INVALID_ARGUMENT, SENDER_ID_MISMATCH, APNs 400s,
    │                                         403 auth); the delivery is `failed`; do not retry
    └── TokenInvalid(reason)                  UNREGISTERED, 410, BadDeviceToken, Web Push 404:
                                              prune the device

Every result carries `attempts`: how many times the transport put this request on the wire.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol
from uuid import UUID

from kernel.vocabulary import Language as Language  # the transports' callers name them from here
from kernel.vocabulary import Platform as Platform
from kernel.vocabulary import Priority as Priority
from kernel.vocabulary import Provider as Provider

Kind = Literal["message", "digest", "recall"]  # recall: the notice that replaces a recalled push
InterruptionLevel = Literal["passive", "active", "time_sensitive", "critical"]


@dataclass(frozen=True, slots=True)
class WebPushKeys:
    """What a browser's push subscription adds to its endpoint (RFC 8291): the browser's P-256
    public key (`p256dh`) and its authentication secret (`auth`), both base64url."""

    p256dh: str
    auth: str


@dataclass(frozen=True, slots=True)
class PushRequest:
    """One delivery (one message to one device), ready for a provider."""

    delivery_id: UUID
    provider: Provider
    platform: Platform
    token: str
    priority: Priority
    title: str
    body: str
    message_id: str
    kind: Kind = "message"
    interruption_level: InterruptionLevel = "active"
    data: Mapping[str, str] = field(default_factory=dict)
    collapse_key: str | None = None
    expires_at: datetime | None = None
    sensitive: bool = False
    thread_id: str | None = None
    badge: int | None = None
    language: Language = "sv"
    requires_ack: bool = False
    webpush_keys: WebPushKeys | None = None

    def __post_init__(self) -> None:
        if self.expires_at is not None and self.expires_at.utcoffset() is None:
            raise ValueError("PushRequest.expires_at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Sent:
    provider_message_id: str
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class TransientFailure:
    reason: str
    retry_after_s: float | None = None
    attempts: int = 1
    # No answer in time: the provider may have accepted it. Retried at most once, then the
    # delivery is recorded as `uncertain` and not sent again (a resend could show it twice).
    uncertain: bool = False
    # The provider refused it unprocessed (an HTTP/2 GOAWAY above its last stream id): certainly
    # not delivered, so sending it again costs no attempt (up to UNPROCESSED_CAP refusals).
    unprocessed: bool = False


@dataclass(frozen=True, slots=True)
class PermanentFailure:
    reason: str
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class TokenInvalid:
    reason: str
    attempts: int = 1


PushResult = Sent | TransientFailure | PermanentFailure | TokenInvalid


class Transport(Protocol):
    async def send(self, batch: Sequence[PushRequest]) -> list[PushResult]:
        """Send every request; one result per request, in the same order."""
        ...

    async def aclose(self) -> None:
        """Close connections. The transport is not used afterwards."""
        ...


Outcome = PushResult | Callable[[PushRequest], PushResult]


class RecordingTransport:
    """An in-memory transport for tests of the code that sends.

    It records every request and answers `Sent` unless an outcome is scripted for the token:
    `script("tok-1", TokenInvalid("Unregistered"))`, or a list of outcomes consumed one per send
    of that token (the last one repeats), or a callable that builds the result.
    """

    def __init__(self) -> None:
        self.requests: list[PushRequest] = []
        self.closed = False
        self._scripts: dict[str, list[Outcome]] = {}
        self._counter = 0

    def script(self, token: str, *outcomes: Outcome) -> None:
        if not outcomes:
            raise ValueError("script needs at least one outcome")
        self._scripts[token] = list(outcomes)

    def sent_to(self, token: str) -> list[PushRequest]:
        return [r for r in self.requests if r.token == token]

    async def send(self, batch: Sequence[PushRequest]) -> list[PushResult]:
        if self.closed:
            raise RuntimeError("transport is closed")
        results: list[PushResult] = []
        for request in batch:
            self.requests.append(request)
            results.append(self._outcome(request))
        return results

    def _outcome(self, request: PushRequest) -> PushResult:
        queue = self._scripts.get(request.token)
        if not queue:
            self._counter += 1
            return Sent(f"recorded-{self._counter}")
        outcome = queue.pop(0) if len(queue) > 1 else queue[0]
        return outcome(request) if callable(outcome) else outcome

    async def aclose(self) -> None:
        self.closed = True


class Router:
    """A transport that hands each request to the transport of its provider, concurrently, and
    puts the results back in request order."""

    def __init__(self, transports: Mapping[str, Transport]) -> None:
        self._transports = dict(transports)

    async def send(self, batch: Sequence[PushRequest]) -> list[PushResult]:
        by_provider: dict[str, list[int]] = {}
        for index, request in enumerate(batch):
            by_provider.setdefault(request.provider, []).append(index)
        results: list[PushResult | None] = [None] * len(batch)

        async def one(provider: str, indices: list[int]) -> None:
            transport = self._transports.get(provider)
            if transport is None:
                for i in indices:
                    results[i] = PermanentFailure(f"no transport for provider {provider!r}", 0)
                return
            answers = await transport.send([batch[i] for i in indices])
            for i, answer in zip(indices, answers, strict=True):
                results[i] = answer

        await asyncio.gather(*(one(p, ix) for p, ix in by_provider.items()))
        return [r for r in results if r is not None]

    async def aclose(self) -> None:
        await asyncio.gather(*(t.aclose() for t in self._transports.values()))
