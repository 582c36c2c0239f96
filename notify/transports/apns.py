"""APNs requests and their answers: a push as an aioapns notification, sent over the connection
pool (`apns_pool`) under one provider token, and Apple's answer as a push result.

- Token (.p8 JWT) or certificate auth. One JWT for the whole pool, renewed every 50 minutes
  (Apple wants 20 to 60), and on 403 ExpiredProviderToken at most once per 20 minutes (Apple
  answers 429 TooManyProviderTokenUpdates otherwise).
- One connection and one try per push: resending is `retry.py`'s job, so a GOAWAY's unprocessed
  streams, timeouts and connection failures come back as transient failures.
APNs sends no Retry-After, so 429 and 5xx are retried on backoff alone.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from typing import Any

import jwt
from aioapns.common import NotificationRequest, NotificationResult, PushType
from aioapns.connection import (
    APNsCertConnectionPool,
    APNsKeyConnectionPool,
    AuthorizationHeaderProvider,
)
from aioapns.exceptions import ConnectionClosed
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from h2.exceptions import FlowControlError, NoAvailableStreamIDError

from kernel.clock import Clock, SystemClock
from notify.transports import mapping
from notify.transports.apns_pool import CertPool, ConnectFailed, KeyPool, client_ssl_context, protocol_class
from notify.transports.base import (
    PermanentFailure,
    PushRequest,
    PushResult,
    Sent,
    TokenInvalid,
    TransientFailure,
)
from notify.transports.config import ApnsSettings
from notify.transports.retry import RetryStats, logger, send_with_retries

JWT_LIFETIME_S = 50 * 60
JWT_MIN_REFRESH_INTERVAL_S = 20 * 60
_PRUNE_REASONS = {"BadDeviceToken", "Unregistered", "ExpiredToken"}
_TRANSIENT_STATUSES = {"429", "500", "503"}


class SharedJwt(AuthorizationHeaderProvider):
    """The provider token for all connections of a pool."""

    def __init__(self, key: str, key_id: str, team_id: str, *, monotonic: Any = time.monotonic) -> None:
        self._key, self._key_id, self._team_id = key, key_id, team_id
        self._monotonic = monotonic
        self._header: str | None = None
        self._issued = 0.0
        self.issued_count = 0

    def get_header(self) -> str:
        if self._header is None or self._monotonic() - self._issued >= JWT_LIFETIME_S:
            return self._issue()
        return self._header

    def refresh_if_allowed(self, rejected_header: str | None) -> bool:
        """After ExpiredProviderToken: renew, unless renewed in the last 20 minutes. True when the
        token now in use differs from the rejected one."""
        if self._header != rejected_header:
            return True  # another request already renewed it
        if self._monotonic() - self._issued < JWT_MIN_REFRESH_INTERVAL_S:
            return False
        self._issue()
        return True

    def _issue(self) -> str:
        self._issued = self._monotonic()
        token = jwt.encode(
            {"iss": self._team_id, "iat": int(time.time())},
            self._key,
            algorithm="ES256",
            headers={"kid": self._key_id},
        )
        self._header = f"bearer {token}"
        self.issued_count += 1
        return self._header


def _emulator_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


class ApnsTransport:
    """Pushes to APNs over a pool of HTTP/2 connections, with retries, and classifies each answer."""

    def __init__(
        self,
        settings: ApnsSettings,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if settings.auth == "token" and not (settings.key_file and settings.key_id and settings.team_id):
            raise ValueError("token auth needs VILA_APNS_KEY_FILE, _KEY_ID and _TEAM_ID")
        if settings.auth == "certificate" and not settings.cert_file:
            raise ValueError("certificate auth needs VILA_APNS_CERT_FILE")
        self._settings = settings
        self._clock = clock or SystemClock()
        self._rng = rng
        self._policy = settings.retry_policy
        self.stats = RetryStats()
        self.jwt: SharedJwt | None = None
        if settings.auth == "token" and settings.key_file is not None:
            key = settings.key_file.read_text()
            self.jwt = SharedJwt(key, settings.key_id, settings.team_id)
        elif settings.auth == "emulator":
            self.jwt = SharedJwt(_emulator_key(), "EMULATOR01", "EMULATORTM")
        self._pool: APNsKeyConnectionPool | APNsCertConnectionPool | None = None
        self._in_flight: asyncio.Semaphore | None = None
        self._closed = False

    def _ensure_pool(self) -> APNsKeyConnectionPool | APNsCertConnectionPool:
        if self._pool is not None:
            return self._pool
        s = self._settings
        context = client_ssl_context(s.ca_file)
        protocol = protocol_class(s.resolved_host, s.port)
        pool: APNsKeyConnectionPool | APNsCertConnectionPool
        if self.jwt is not None:
            key_pool = KeyPool(
                key="unused",
                key_id="unused",
                team_id="unused",
                topic=s.topic,
                max_connections=s.connections,
                max_connection_attempts=1,
                use_sandbox=s.environment == "sandbox",
                ssl_context=context,
            )
            key_pool.shared_jwt = self.jwt
            pool = key_pool
        else:
            pool = CertPool(
                cert_file=str(s.cert_file),
                topic=s.topic,
                max_connections=s.connections,
                max_connection_attempts=1,
                use_sandbox=s.environment == "sandbox",
                ssl_context=context,
            )
        pool.protocol_class = protocol
        proxy = s.proxy_config
        if proxy is not None and proxy.applies_to(s.resolved_host):
            pool.proxy = proxy
        self._pool = pool
        self._in_flight = asyncio.Semaphore(s.connections * s.streams_per_connection)
        return pool

    def _in_flight_limit(self) -> asyncio.Semaphore:
        if self._in_flight is None:
            raise RuntimeError("the pool is not started")
        return self._in_flight

    def notification(self, request: PushRequest) -> NotificationRequest:
        w = mapping.wire(
            request,
            now=self._clock.now(),
            critical_alerts_entitled=self._settings.critical_alerts_entitled,
        )
        return NotificationRequest(
            device_token=request.token,
            message=mapping.apns_payload(w),
            notification_id=str(request.delivery_id),
            time_to_live=w.ttl_s,
            priority=w.apns_priority,
            collapse_key=mapping.collapse_id(w.collapse_key) if w.collapse_key else None,
            push_type=PushType.ALERT,
        )

    async def send(self, batch: Sequence[PushRequest]) -> list[PushResult]:
        if self._closed:
            raise RuntimeError("ApnsTransport is closed")
        notifications = {id(r): self.notification(r) for r in batch}

        async def attempt(items: Sequence[PushRequest]) -> list[PushResult]:
            # As many workers as streams may be in flight, rather than a task per push.
            results: list[PushResult] = [TransientFailure("not attempted")] * len(items)
            positions = iter(range(len(items)))

            async def worker() -> None:
                for i in positions:
                    results[i] = await self._send_one(notifications[id(items[i])])

            s = self._settings
            await asyncio.gather(*(worker() for _ in range(min(len(items), s.connections * s.streams_per_connection))))
            return results

        return await send_with_retries(
            batch, attempt, policy=self._policy, stats=self.stats, provider="apns", rng=self._rng
        )

    async def _send_one(self, notification: NotificationRequest) -> PushResult:
        pool = self._ensure_pool()
        async with self._in_flight_limit():
            header = self.jwt.get_header() if self.jwt is not None else None
            try:
                async with asyncio.timeout(self._settings.timeout_s):
                    result: NotificationResult = await self._on_connection(pool, notification)
            except TimeoutError:
                return TransientFailure("timeout: no answer in time", uncertain=True)
            except ConnectFailed as exc:
                return TransientFailure(str(exc))
            except ConnectionClosed as exc:
                return TransientFailure(f"connection closed: {exc}", unprocessed="not processed" in str(exc))
            except (NoAvailableStreamIDError, FlowControlError) as exc:
                return TransientFailure(f"HTTP/2: {type(exc).__name__}")
        return self._classify(result, header)

    @staticmethod
    async def _on_connection(
        pool: APNsKeyConnectionPool | APNsCertConnectionPool, notification: NotificationRequest
    ) -> NotificationResult:
        # The pool's own send_notification retries on other connections by itself; retrying is
        # retry.py's job, so one connection, one try.
        connection = await pool.acquire()
        try:
            return await connection.send_notification(notification)
        except NoAvailableStreamIDError:
            connection.close()
            raise

    def _classify(self, result: NotificationResult, header: str | None) -> PushResult:
        status, reason = result.status, result.description or ""
        if status == "200":
            return Sent(result.notification_id)
        label = f"{status} {reason}".strip()
        if status == "410" or reason in _PRUNE_REASONS:
            return TokenInvalid(label)
        if status == "403" and reason == "ExpiredProviderToken" and self.jwt is not None:
            if self.jwt.refresh_if_allowed(header):
                return TransientFailure(label)
            logger.error("APNs says the provider token expired again within 20 minutes")
            return TransientFailure(label, retry_after_s=JWT_MIN_REFRESH_INTERVAL_S)
        if status in _TRANSIENT_STATUSES:
            return TransientFailure(label)
        return PermanentFailure(label)

    async def aclose(self) -> None:
        self._closed = True
        if self._pool is not None:
            self._pool.close()
            self._pool = None
