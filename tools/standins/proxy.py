"""A CONNECT proxy stand-in for tests: what a hospital's outbound proxy does.

It records every CONNECT (target and Proxy-Authorization as seen), can demand Basic credentials
(407 otherwise), refuse with a fixed status, and route a target such as `fcm.googleapis.com:443`
to a local stand-in, so a transport configured with the providers' real host names reaches the
local emulators through it. Unrouted targets are connected to as given; a target it cannot reach
gets 502, as a real proxy answers.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from dataclasses import dataclass, field

_REASONS = {403: "Forbidden", 407: "Proxy Authentication Required", 502: "Bad Gateway"}


@dataclass(frozen=True)
class ConnectRecord:
    target: str
    proxy_authorization: str | None
    status: int


@dataclass
class ConnectProxy:
    routes: dict[str, tuple[str, int]] = field(default_factory=dict)
    credentials: tuple[str, str] | None = None
    refuse_with: int | None = None
    records: list[ConnectRecord] = field(default_factory=list)
    url: str = ""
    _server: asyncio.Server | None = field(default=None, repr=False)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set, repr=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = await asyncio.start_server(self._handle, host, port)
        bound = self._server.sockets[0].getsockname()[1]
        self.url = f"http://{host}:{bound}"
        return self.url

    @property
    def targets(self) -> list[str]:
        return [r.target for r in self.records]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            if task is not None:
                self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        lines = head.split("\r\n")
        method, target, _ = [*lines[0].split(" "), "", ""][:3]
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:] if line)
        }
        auth = headers.get("proxy-authorization")
        status = self._decide(method, auth)
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        if status == 200:
            host, _, port = target.rpartition(":")
            address = self.routes.get(target, (host.strip("[]"), int(port or 443)))
            try:
                upstream = await asyncio.open_connection(*address)
            except OSError:
                status = 502
        self.records.append(ConnectRecord(target, auth, status))
        if upstream is None:
            extra = 'Proxy-Authenticate: Basic realm="region"\r\n' if status == 407 else ""
            writer.write(
                f"HTTP/1.1 {status} {_REASONS.get(status, 'Refused')}\r\n{extra}"
                "Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
            return
        up_reader, up_writer = upstream
        self._writers.add(up_writer)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._writers.discard(up_writer)
            up_writer.close()

    def _decide(self, method: str, auth: str | None) -> int:
        if method != "CONNECT":
            return 403
        if self.refuse_with is not None:
            return self.refuse_with
        if self.credentials is not None:
            expected = base64.b64encode(":".join(self.credentials).encode()).decode()
            if auth != f"Basic {expected}":
                return 407
        return 200


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    except ConnectionError:
        pass
    finally:
        # One side ended: end the other, as a proxy does.
        sink.close()
