"""Web Push transport (RFC 8030 protocol, RFC 8291 `aes128gcm` encryption, RFC 8292 VAPID): the
staff app's browsers on Android, iOS/iPadOS 16.4+ and desktops.

Every payload is encrypted for its one subscription by `http_ece` (an ephemeral ECDH key and a
salt that are fresh per message, as RFC 8291 requires; nothing of it is cached), and every request
carries a VAPID token from `vapid.py` (signed once per push service and reused). The wire is the
FCM transport's HTTP/1.1 keep-alive client (`http1.py`), with a pool per push-service origin: one
region's subscriptions span a few (FCM's, Mozilla's, Apple's `web.push.apple.com`), and a slow one
must not hold up the others. docs/benchmarks.md has the profile (ECDH is most of the cost).

Answers: 201 sent; 404 and 410 the subscription is gone (prune it); 413 too large, 400 and other
4xx permanent; 429 and 5xx transient, honouring Retry-After; 401 and 403 a refused VAPID token,
signed anew and sent once more before the delivery fails for good.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
import random
import re
import ssl
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import http_ece
from cryptography.hazmat.primitives.asymmetric import ec

from kernel.clock import Clock, SystemClock
from notify.transports import mapping
from notify.transports.base import (
    PermanentFailure,
    PushRequest,
    PushResult,
    Sent,
    TokenInvalid,
    TransientFailure,
)
from notify.transports.config import WebPushSettings
from notify.transports.http1 import ConnectFailed, Disconnected, Http1Client, ResponseError
from notify.transports.retry import RetryStats, parse_retry_after, send_with_retries
from notify.transports.vapid import VapidKey, VapidSigner

PAYLOAD_LIMIT_BYTES = 4096
SUBSCRIPTION_CACHE_SIZE = 20_000
_SENT = frozenset({200, 201, 202})
_VAPID_REFUSED = frozenset({401, 403})
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class InvalidSubscription(ValueError):
    """The subscription cannot be pushed to: no keys, keys of the wrong size, not an https URL."""


def _b64decode(value: str) -> bytes:
    """base64url as browsers write it (unpadded); padded or standard base64 is taken too."""
    text = value.strip().rstrip("=").replace("+", "-").replace("/", "_")
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription taken apart for sending: where to, and the keys to encrypt for."""

    origin: str  # scheme://host[:port], the VAPID audience and the pool it is sent through
    path: str
    p256dh: bytes
    auth: bytes

    @classmethod
    def of(cls, request: PushRequest) -> Subscription:
        keys = request.webpush_keys
        if keys is None:
            raise InvalidSubscription("the subscription has no p256dh and auth keys")
        return cls.parse(request.token, p256dh=keys.p256dh, auth=keys.auth)

    @classmethod
    def check(cls, endpoint: str, *, p256dh: str, auth: str) -> Subscription:
        """A subscription as a browser gives it (`PushSubscription.toJSON()`), checked in full: the
        key must be a point on P-256. For registration; sending trusts what registration checked."""
        subscription = cls.parse(endpoint, p256dh=p256dh, auth=auth)
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), subscription.p256dh)
        except ValueError:
            raise InvalidSubscription("keys.p256dh is not a P-256 public key (65 bytes, uncompressed)") from None
        return subscription

    @classmethod
    def parse(cls, endpoint: str, *, p256dh: str, auth: str) -> Subscription:
        """Take a subscription apart for sending: the origin, the path and the two keys."""
        parts = urlsplit(endpoint)
        if parts.scheme != "https" or not parts.hostname:
            raise InvalidSubscription("the endpoint must be an https:// URL of a push service")
        try:
            point, secret = _b64decode(p256dh), _b64decode(auth)
        except (binascii.Error, ValueError):
            raise InvalidSubscription("keys.p256dh and keys.auth must be base64url") from None
        if len(secret) != 16:
            raise InvalidSubscription(f"keys.auth must be 16 bytes; it is {len(secret)}")
        if len(point) != 65 or point[0] != 4:
            raise InvalidSubscription("keys.p256dh is not a P-256 public key (65 bytes, uncompressed)")
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        port = f":{parts.port}" if parts.port else ""
        return cls(f"https://{parts.hostname.lower()}{port}", path, point, secret)


def encrypt(plaintext: bytes, subscription: Subscription) -> bytes:
    """One `aes128gcm` record for this subscription, with a fresh ephemeral key and salt."""
    return bytes(
        http_ece.encrypt(
            plaintext,
            salt=os.urandom(16),
            private_key=ec.generate_private_key(ec.SECP256R1()),
            dh=subscription.p256dh,
            auth_secret=subscription.auth,
            version="aes128gcm",
        )
    )


@dataclass(slots=True)
class _Prepared:
    subscription: Subscription
    headers: dict[str, str]
    body: bytes
    head: bytes = b""  # the request up to its Authorization header, made once for its pool


class _Subscriptions:
    """Parsed subscriptions (endpoint split, keys decoded and checked), kept for the next message to
    the same browser; the oldest go first. Only this is cached per subscription: the ephemeral key
    and salt that RFC 8291 wants fresh for every message are made in `encrypt`."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._parsed: dict[tuple[str, str, str], Subscription] = {}

    def of(self, request: PushRequest) -> Subscription:
        keys = request.webpush_keys
        cache_key = (request.token, keys.p256dh, keys.auth) if keys else None
        if cache_key is not None and (hit := self._parsed.get(cache_key)) is not None:
            return hit
        subscription = Subscription.of(request)
        if cache_key is not None:
            if len(self._parsed) >= self._size:
                self._parsed.pop(next(iter(self._parsed)))
            self._parsed[cache_key] = subscription
        return subscription


class _Pool:
    """Keep-alive connections to one push service."""

    def __init__(self, origin: str, settings: WebPushSettings) -> None:
        context = None
        if settings.ca_file is not None:
            # An extra CA (a stand-in's) beside the system's: the real push services stay reachable.
            context = ssl.create_default_context()
            context.load_verify_locations(cafile=str(settings.ca_file))
        self.client = Http1Client(origin, slots=settings.connections, ssl_context=context, proxy=settings.proxy_config)
        self.free: asyncio.Queue[int] = asyncio.Queue()
        for slot in range(settings.connections):
            self.free.put_nowait(slot)


class WebPushTransport:
    def __init__(
        self,
        settings: WebPushSettings,
        key: VapidKey,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock or SystemClock()
        self._rng = rng
        self._policy = settings.retry_policy
        self.vapid = VapidSigner(key, subject=settings.subject, ttl_s=settings.jwt_ttl_s, clock=self._clock)
        self.stats = RetryStats()
        self._pools: dict[str, _Pool] = {}
        self._subscriptions = _Subscriptions(SUBSCRIPTION_CACHE_SIZE)
        self._closed = False

    def prepare(self, request: PushRequest, subscription: Subscription) -> _Prepared:
        """The encrypted body and the headers of one push; a `ValueError` when it is too large."""
        w = mapping.wire(request, now=self._clock.now(), critical_alerts_entitled=False)
        plaintext = mapping.webpush_body(request, w)
        size = mapping.webpush_record_size(len(plaintext))
        if size > PAYLOAD_LIMIT_BYTES:
            raise ValueError(f"the encrypted push would be {size} bytes; push services take {PAYLOAD_LIMIT_BYTES}")
        return _Prepared(subscription, mapping.webpush_headers(request, w), encrypt(plaintext, subscription))

    async def send(self, batch: Sequence[PushRequest]) -> list[PushResult]:
        if self._closed:
            raise RuntimeError("WebPushTransport is closed")
        prepared: dict[int, _Prepared] = {}

        async def attempt(items: Sequence[PushRequest]) -> list[PushResult]:
            return await self._attempt(items, prepared)

        return await send_with_retries(
            batch, attempt, policy=self._policy, stats=self.stats, provider="webpush", rng=self._rng
        )

    async def _attempt(self, items: Sequence[PushRequest], prepared: dict[int, _Prepared]) -> list[PushResult]:
        results: list[PushResult] = [TransientFailure("not attempted")] * len(items)
        by_origin: dict[str, list[tuple[int, Subscription]]] = defaultdict(list)
        for i, request in enumerate(items):
            try:
                subscription = self._subscriptions.of(request)
            except InvalidSubscription as exc:
                results[i] = PermanentFailure(f"not sendable: {exc}")
                continue
            by_origin[subscription.origin].append((i, subscription))

        async def one_origin(pool: _Pool, todo: list[tuple[int, Subscription]]) -> None:
            positions = iter(todo)

            async def worker() -> None:
                for i, subscription in positions:
                    request = items[i]
                    item = prepared.get(id(request))
                    if item is None:
                        # Encrypted as late as possible, so the network overlaps the crypto; once.
                        try:
                            item = prepared[id(request)] = self.prepare(request, subscription)
                        except ValueError as exc:
                            results[i] = PermanentFailure(f"not sendable: {exc}")
                            continue
                    slot = await pool.free.get()
                    try:
                        results[i] = await self._post(pool.client, slot, item)
                    finally:
                        pool.free.put_nowait(slot)

            await asyncio.gather(*(worker() for _ in range(min(len(todo), self._settings.connections))))

        await asyncio.gather(*(one_origin(self._pool(origin), todo) for origin, todo in by_origin.items()))
        return results

    def _pool(self, origin: str) -> _Pool:
        pool = self._pools.get(origin)
        if pool is None:
            pool = self._pools[origin] = _Pool(origin, self._settings)
        return pool

    async def _post(self, client: Http1Client, slot: int, item: _Prepared) -> PushResult:
        origin = item.subscription.origin
        if not item.head:
            content = {"Content-Encoding": "aes128gcm", "Content-Type": "application/octet-stream"}
            item.head = client.request_head("POST", item.subscription.path, {**item.headers, **content})
        for fresh_token in (False, True):
            authorization = f"Authorization: {self.vapid.authorization(origin)}\r\n".encode("latin-1")
            data = client.with_body(item.head + authorization, item.body)
            try:
                response = await client.request(slot, data, timeout=self._settings.timeout_s)
            except TimeoutError:
                return TransientFailure("timeout: no answer in time", uncertain=True)
            except (ConnectFailed, Disconnected, ResponseError) as exc:
                return TransientFailure(f"unavailable: {exc}")
            status = response.status
            if status in _VAPID_REFUSED and not fresh_token:
                self.vapid.forget(origin)  # expired or revoked: one more try with a new token
                continue
            break
        if status in _SENT:
            return Sent(response.headers.get("location", ""))
        reason = f"{status} {response.body[:200].decode('utf-8', 'replace').strip()}".strip()
        if status in (404, 410):
            return TokenInvalid(reason)
        if status == 429 or status >= 500:
            return TransientFailure(reason, parse_retry_after(response.headers.get("retry-after"), clock=self._clock))
        if status in _VAPID_REFUSED:
            return PermanentFailure(f"VAPID token refused: {reason}")
        return PermanentFailure(reason)

    async def aclose(self) -> None:
        self._closed = True
        pools, self._pools = self._pools, {}
        await asyncio.gather(*(pool.client.aclose() for pool in pools.values()))
