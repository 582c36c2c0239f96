"""The HTTP/2 connections to APNs, on aioapns: the protocol and the sized pool of connections,
with host and port configurable for the stand-in (the requests and their answers: `apns`).

Where aioapns is changed, by subclassing, and why:
- Host and port: aioapns hard-codes Apple's; a protocol subclass carries the configured ones.
- GOAWAY: aioapns drops the connection at once and fails every stream in flight, and its pool
  sends those again, including streams the server had already processed: duplicates. Here a
  GOAWAY fails only the streams above its last stream id (not processed; safe to send again) and
  lets the others finish. Resending is left to `retry.py` (aioapns' own attempts are set to 1).
- A response for a request that timed out on our side is ignored instead of raising inside the
  protocol.
- One provider token for the whole pool (`apns.SharedJwt`); aioapns makes one per connection.
- A busy pool that loses a connection opens a replacement; aioapns' waits forever.
- Proxy: aioapns has a `proxy_host`/`proxy_port` of its own, but it sends no Proxy-Authorization,
  waits forever when the proxy refuses, and hands the socket of a live transport to a second
  one. The pools here open the tunnel with `proxy.open_tunnel` instead and start TLS on that
  socket (`loop.create_connection(sock=...)`): the one method aioapns calls to connect.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

from aioapns.connection import (
    APNsBaseClientProtocol,
    APNsCertConnectionPool,
    APNsKeyConnectionPool,
    APNsTLSClientProtocol,
    AuthorizationHeaderProvider,
)
from aioapns.exceptions import ConnectionClosed
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import ConnectionTerminated
from hpack import Encoder, NeverIndexedHeaderTuple

from notify.transports.proxy import Proxy, open_tunnel


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


def protocol_class(host: str, port: int) -> type[_ClientProtocol]:
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


class CertPool(_PoolMixin, APNsCertConnectionPool):
    """Connections that authenticate with the client certificate."""


class KeyPool(_PoolMixin, APNsKeyConnectionPool):
    """Connections that authenticate with the one provider token they share."""

    shared_jwt: AuthorizationHeaderProvider

    async def create_connection(self) -> APNsBaseClientProtocol:
        topic = self.apns_topic or ""
        lost: Any = self.discard_connection
        factory = lambda: self.protocol_class(topic, self.loop, lost, self.shared_jwt)  # noqa: E731
        connection: APNsBaseClientProtocol = await self._create_connection(factory)
        return connection


def client_ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.set_alpn_protocols(["h2"])  # APNs speaks HTTP/2 only
    return context
