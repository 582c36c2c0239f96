"""A small HTTP/1.1 keep-alive client for one endpoint, built for many small POSTs.

The FCM transport sends tens of thousands of requests of a few hundred bytes to one host. A
general client (aiohttp, httpx) spends most of its time per request on what such traffic does
not need (cookies, redirects, tracing, multidicts, URL objects); this client formats a request
into bytes, writes it, and parses status, headers and a Content-Length or chunked body. One
request in flight per connection; each of the caller's workers owns one connection slot, so no
pool bookkeeping is needed. Measured on the reference machine it does about 2.5 times the
requests per second of aiohttp (docs/benchmarks.md).

With a `Proxy` that applies to the host, each connection is a CONNECT tunnel through it
(`proxy.py`) with TLS to the host inside; keep-alive works the same over the tunnel.

Errors: `ConnectFailed` (nothing was sent; a refusing or unreachable proxy included),
`Disconnected` (the connection closed before a full response; `response_started` says whether any
of it came), `ResponseError` (unparseable), and `TimeoutError`.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

from notify.transports.proxy import Proxy, open_tunnel


class HttpError(Exception):
    pass


class ConnectFailed(HttpError):
    pass


class Disconnected(HttpError):
    def __init__(self, message: str, *, response_started: bool) -> None:
        super().__init__(message)
        self.response_started = response_started


class ResponseError(HttpError):
    pass


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


_MAX_HEADER_BYTES = 64 * 1024


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False
        self.reusable = True
        # A response whose body runs until the server closes the connection.
        self._until_close: tuple[int, dict[str, str], int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport; uvloop's do not subclass asyncio.Transport, so no isinstance check.
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter, self.waiter = self.waiter, None
        if waiter is None or waiter.done():
            return
        if self._until_close is not None:
            status, headers, start = self._until_close
            waiter.set_result(Response(status, headers, bytes(self.buffer[start:])))
            return
        reason = f"connection closed before the response ({exc or 'by the server'})"
        waiter.set_exception(Disconnected(reason, response_started=bool(self.buffer)))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        try:
            response = self._parse()
        except ResponseError as exc:
            self.reusable = False
            self.waiter.set_exception(exc)
            self.close()
            return
        if response is not None:
            self.waiter.set_result(response)

    def _parse(self) -> Response | None:
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > _MAX_HEADER_BYTES:
                    raise ResponseError("response headers too long")
                return None
            lines = bytes(self.buffer[:end]).split(b"\r\n")
            try:
                version, code = lines[0].split(b" ", 2)[:2]
                status = int(code)
            except ValueError:
                raise ResponseError(f"bad status line {lines[0][:80]!r}") from None
            if not version.startswith(b"HTTP/1."):
                raise ResponseError(f"not HTTP/1.x: {lines[0][:80]!r}")
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
            start = end + 4
            if 100 <= status < 200:
                del self.buffer[:start]  # an interim response; the real one follows
                continue
            if headers.get("connection", "").lower() == "close" or version == b"HTTP/1.0":
                self.reusable = False
            if "chunked" in headers.get("transfer-encoding", "").lower():
                return self._chunked(status, headers, start)
            if "content-length" in headers:
                try:
                    length = int(headers["content-length"])
                except ValueError:
                    raise ResponseError("bad Content-Length") from None
                if len(self.buffer) < start + length:
                    return None
                body = bytes(self.buffer[start : start + length])
                del self.buffer[: start + length]
                return Response(status, headers, body)
            if status in (204, 304):
                del self.buffer[:start]
                return Response(status, headers, b"")
            self.reusable = False
            self._until_close = (status, headers, start)
            return None

    def _chunked(self, status: int, headers: dict[str, str], start: int) -> Response | None:
        body = bytearray()
        position = start
        while True:
            line_end = self.buffer.find(b"\r\n", position)
            if line_end < 0:
                return None
            try:
                size = int(bytes(self.buffer[position:line_end]).split(b";")[0], 16)
            except ValueError:
                raise ResponseError("bad chunk size") from None
            position = line_end + 2
            if size == 0:
                trailer_end = self.buffer.find(b"\r\n", position)
                while trailer_end > position:  # skip trailers
                    position = trailer_end + 2
                    trailer_end = self.buffer.find(b"\r\n", position)
                if trailer_end < 0:
                    return None
                del self.buffer[: trailer_end + 2]
                return Response(status, headers, bytes(body))
            if len(self.buffer) < position + size + 2:
                return None
            body += self.buffer[position : position + size]
            position += size + 2

    async def request(self, data: bytes) -> Response:
        if self.transport is None or self.closed:
            raise Disconnected("connection is closed", response_started=False)
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        try:
            return await self.waiter
        finally:
            self.waiter = None

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()


class Http1Client:
    """Keep-alive connections to the host of `base_url`, one per slot."""

    def __init__(
        self,
        base_url: str,
        *,
        slots: int,
        ssl_context: ssl.SSLContext | None = None,
        proxy: Proxy | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        default_port = self.port == (443 if parts.scheme == "https" else 80)
        self.host_header = self.host if default_port else f"{self.host}:{self.port}"
        self._ssl: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self._ssl = ssl_context or ssl.create_default_context()
            self._ssl.set_alpn_protocols(["http/1.1"])
        self._slots: list[_Connection | None] = [None] * slots
        self.connections_opened = 0
        self.proxy = proxy if proxy is not None and proxy.applies_to(self.host) else None

    def request_head(self, method: str, path: str, headers: dict[str, str]) -> bytes:
        """The start of a request up to its Content-Length; `with_body` completes it."""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host_header}\r\n"
        return (head + "".join(f"{k}: {v}\r\n" for k, v in headers.items())).encode("latin-1")

    @staticmethod
    def with_body(head: bytes, body: bytes) -> bytes:
        return head + b"Content-Length: %d\r\n\r\n" % len(body) + body

    async def request(self, slot: int, data: bytes, *, timeout: float) -> Response:
        """Send the bytes of one request on the slot's connection (opened as needed)."""
        connection = self._slots[slot]
        try:
            async with asyncio.timeout(timeout):
                if connection is None or connection.closed or not connection.reusable:
                    if connection is not None:
                        connection.close()
                    connection = await self._connect()
                    self._slots[slot] = connection
                response = await connection.request(data)
        except BaseException:
            # Whatever happened, this connection may still owe an answer: never reuse it.
            if connection is not None:
                connection.close()
            self._slots[slot] = None
            raise
        if not connection.reusable:
            connection.close()
            self._slots[slot] = None
        return response

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        server_hostname = self.host if self._ssl else None
        try:
            if self.proxy is None:
                _, protocol = await loop.create_connection(
                    _Connection, self.host, self.port, ssl=self._ssl, server_hostname=server_hostname
                )
            else:
                sock = await open_tunnel(self.proxy, self.host, self.port)
                try:
                    _, protocol = await loop.create_connection(
                        _Connection, sock=sock, ssl=self._ssl, server_hostname=server_hostname
                    )
                except BaseException:
                    sock.close()
                    raise
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        self.connections_opened += 1
        return protocol

    def slots(self) -> int:
        return len(self._slots)

    async def aclose(self) -> None:
        open_ones = [c for c in self._slots if c is not None]
        self._slots = [None] * len(self._slots)
        for connection in open_ones:
            connection.close()
        # A TLS connection closes over a few more turns of the loop (close_notify); a loop that
        # stops right after would leave its socket open. Wait a little, then cut what is left.
        for _ in range(50):
            if all(c.closed for c in open_ones):
                return
            await asyncio.sleep(0.01)
        for connection in open_ones:
            if connection.transport is not None:
                connection.transport.abort()
        await asyncio.sleep(0)
