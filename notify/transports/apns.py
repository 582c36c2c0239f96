"""APNs transport on aioapns: token (.p8 JWT) or certificate auth, a sized pool of HTTP/2
connections, host, port and CA configurable for the stand-in.

Where aioapns is changed, by subclassing, and why:
- Host and port: aioapns hard-codes Apple's; a protocol subclass carries the configured ones.
- One JWT for the whole pool, renewed every 50 minutes (Apple wants 20 to 60), and on
  403 ExpiredProviderToken at most once per 20 minutes (Apple answers 429
  TooManyProviderTokenUpdates otherwise). aioapns makes one token per connection.
- GOAWAY: aioapns drops the connection at once and fails every stream in flight, and its pool
  sends those again, including streams the server had already processed: duplicates. Here a
  GOAWAY fails only the streams above its last stream id (not processed; safe to send again) and
  lets the others finish. Resending is left to `retry.py` (aioapns' own attempts are set to 1).
- A response for a request that timed out on our side is ignored instead of raising inside the
  protocol.
- Proxy: aioapns has a `proxy_host`/`proxy_port` of its own, but it sends no Proxy-Authorization,
  waits forever when the proxy refuses, and hands the socket of a live transport to a second
  one. The pools here open the tunnel with `proxy.open_tunnel` instead and start TLS on that
  socket (`loop.create_connection(sock=...)`): the one method aioapns calls to connect.
APNs sends no Retry-After, so 429 and 5xx are retried on backoff alone.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jwt
from aioapns.common import NotificationRequest, NotificationResult, PushType
from aioapns.connection import (
    APNsBaseClientProtocol,
    APNsCertConnectionPool,
    APNsKeyConnectionPool,
    APNsTLSClientProtocol,
    AuthorizationHeaderProvider,
)
from aioapns.exceptions import ConnectionClosed
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import ConnectionTerminated
from h2.exceptions import FlowControlError, NoAvailableStreamIDError
from hpack import Encoder, NeverIndexedHeaderTuple

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
from notify.transports.config import ApnsSettings
from notify.transports.proxy import Proxy, open_tunnel
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


class _PlainEncoder(Encoder):
    """HPACK without Huffman coding. Huffman-coding the :path and apns-id that every push has anew
    is the largest CPU cost of a push in pure-Python hpack; literals cost a few bytes more."""

    # Values new on every push: kept out of the dynamic table, which would otherwise churn and
    # grow every later lookup.
    _UNIQUE = frozenset({b":path", b"apns-id", b"apns-expiration", ":path", "apns-id", "apns-expiration"})

    def encode(self, headers: Any, huffman: bool = False) -> bytes:
        marked = [
            NeverIndexedHeaderTuple(name, value) if name in self._UNIQUE else (name, value) for name, value in headers
        ]
        encoded: bytes = super().encode(marked, huffman=False)
        return encoded


class _ClientProtocol(APNsTLSClientProtocol):
    """aioapns' protocol with graceful GOAWAY, late responses ignored, and a leaner h2 setup."""

    draining = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # aioapns builds its headers correctly; h2's per-header validation costs more than the
        # push itself at thousands per second.
        self.conn = H2Connection(
            H2Configuration(
                client_side=True,
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
                validate_inbound_headers=False,
            )
        )
        self.conn.encoder = _PlainEncoder()
        self._flush_pending = False

    def flush(self) -> None:
        # aioapns writes (and re-arms its idle timer) once per push; gather everything written
        # during one turn of the loop into one write: far fewer system calls and timers.
        if not self._flush_pending:
            self._flush_pending = True
            self.loop.call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self._flush_pending = False
        if self.transport is not None and not self.transport.is_closing():
            super().flush()

    @property
    def is_busy(self) -> bool:
        return self.draining or self.free_channels.is_busy

    def on_connection_terminated(self, event: ConnectionTerminated) -> None:
        self.draining = True
        last = event.last_stream_id or 0
        refused = ConnectionClosed(f"GOAWAY (error {event.error_code}), not processed")
        for stream_id, notification_id in list(self.request_streams.items()):
            if stream_id > last:
                self.request_streams.pop(stream_id, None)
                future = self.requests.pop(notification_id, None)
                if future is not None and not future.done():
                    future.set_exception(refused)
        if not self.requests:
            self.close()

    def on_response_received(self, headers: dict[bytes, bytes]) -> None:
        notification_id = headers.get(b"apns-id", b"").decode("utf8")
        future = self.requests.get(notification_id)
        if future is not None and future.done():
            self.requests.pop(notification_id, None)
            return
        super().on_response_received(headers)
        self._close_if_drained()

    def on_data_received(self, data: bytes, stream_id: int) -> None:
        notification_id = self.request_streams.get(stream_id)
        future = self.requests.get(notification_id) if notification_id else None
        if future is not None and future.done():
            self.requests.pop(notification_id or "", None)
            self.request_streams.pop(stream_id, None)
            return
        super().on_data_received(data, stream_id)
        self._close_if_drained()

    def _close_if_drained(self) -> None:
        if self.draining and not self.requests:
            self.close()


def _protocol_class(host: str, port: int) -> type[_ClientProtocol]:
    return type("ApnsProtocol", (_ClientProtocol,), {"APNS_SERVER": host, "APNS_PORT": port})


class ConnectFailed(Exception):
    """No connection to APNs could be opened."""


class _PoolMixin:
    """aioapns' pool waits forever when every connection is busy and one of them goes away; this
    one opens a replacement when fewer than `max_connections` are usable, and reports connection
    failures at once instead of sleeping a second first."""

    connections: list[APNsBaseClientProtocol]
    max_connections: int
    _lock: asyncio.Lock
    protocol_class: Any
    ssl_context: ssl.SSLContext | None
    proxy: Proxy | None = None

    async def _create_connection(self, apns_protocol_factory: Any) -> APNsBaseClientProtocol:
        if self.proxy is None:
            direct: APNsBaseClientProtocol = await super()._create_connection(apns_protocol_factory)  # type: ignore[misc]
            return direct
        host, port = self.protocol_class.APNS_SERVER, self.protocol_class.APNS_PORT
        sock = await open_tunnel(self.proxy, host, port)
        try:
            _, protocol = await asyncio.get_running_loop().create_connection(
                apns_protocol_factory, sock=sock, ssl=self.ssl_context, server_hostname=host
            )
        except BaseException:
            sock.close()
            raise
        tunnelled: APNsBaseClientProtocol = protocol
        return tunnelled

    async def acquire(self) -> APNsBaseClientProtocol:
        while True:
            for connection in self.connections:
                if not connection.is_busy:
                    return connection
            async with self._lock:
                usable = [c for c in self.connections if not getattr(c, "draining", False)]
                for connection in usable:
                    if not connection.is_busy:
                        return connection
                if len(usable) < self.max_connections:
                    try:
                        created: APNsBaseClientProtocol = await self.create_connection()  # type: ignore[attr-defined]
                    except OSError as exc:
                        raise ConnectFailed(f"cannot connect: {exc}") from exc
                    self.connections.append(created)
                    return created
            await asyncio.sleep(0.005)


class _CertPool(_PoolMixin, APNsCertConnectionPool):
    pass


class _KeyPool(_PoolMixin, APNsKeyConnectionPool):
    shared_jwt: SharedJwt

    async def create_connection(self) -> APNsBaseClientProtocol:
        topic = self.apns_topic or ""
        lost: Any = self.discard_connection
        factory = lambda: self.protocol_class(topic, self.loop, lost, self.shared_jwt)  # noqa: E731
        connection: APNsBaseClientProtocol = await self._create_connection(factory)
        return connection


def _emulator_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def client_ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.set_alpn_protocols(["h2"])  # APNs speaks HTTP/2 only
    return context


class ApnsTransport:
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
        protocol = _protocol_class(s.resolved_host, s.port)
        pool: APNsKeyConnectionPool | APNsCertConnectionPool
        if self.jwt is not None:
            key_pool = _KeyPool(
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
            pool = _CertPool(
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
