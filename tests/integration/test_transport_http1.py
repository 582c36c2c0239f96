"""The HTTP/1.1 client of the FCM transport against a server that answers in the ways HTTP/1.1
servers do: Content-Length, chunked, interim 100, close-delimited, closing mid-way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from notify.transports.http1 import Disconnected, Http1Client, ResponseError

Answer = Callable[[int], bytes | None]  # request number on the connection -> raw bytes or None: hang up
Starter = Callable[[Answer], Awaitable[tuple["CannedServer", Http1Client]]]


class CannedServer:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                self.requests.append(head + await reader.readexactly(length))
                number += 1
                raw = self.answer(number)
                if raw is None:
                    break
                writer.write(raw)
                await writer.drain()
                if b"Connection: close" in raw or b"HTTP/1.0" in raw:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Starter]:
    servers: list[asyncio.Server] = []

    async def start(answer: Answer) -> tuple[CannedServer, Http1Client]:
        canned = CannedServer(answer)
        server = await asyncio.start_server(canned.handle, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return canned, Http1Client(f"http://127.0.0.1:{port}", slots=1)

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def request(client: Http1Client, body: bytes = b'{"a":1}') -> bytes:
    return client.with_body(client.request_head("POST", "/v1/x", {"Authorization": "Bearer t"}), body)


async def test_keep_alive_with_content_length_and_chunked_bodies(serve: Starter) -> None:
    answers = {
        1: b'HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{"name":1}\n',
        2: b"HTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4\r\nbusy\r\n1;x=y\r\n!\r\n0\r\n\r\n",
        3: b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
    }
    canned, client = await serve(lambda n: answers[n])
    first = await client.request(0, request(client), timeout=2)
    assert (first.status, first.body) == (200, b'{"name":1}\n')
    second = await client.request(0, request(client), timeout=2)
    assert (second.status, second.headers["retry-after"], second.body) == (429, "3", b"busy!")
    third = await client.request(0, request(client), timeout=2)
    assert (third.status, third.body) == (200, b"ok")
    assert canned.connections == 1
    assert canned.requests[0].startswith(b"POST /v1/x HTTP/1.1\r\nHost: 127.0.0.1:")
    assert canned.requests[0].endswith(b'Content-Length: 7\r\n\r\n{"a":1}')
    await client.aclose()


async def test_connection_close_and_close_delimited_bodies_reconnect(serve: Starter) -> None:
    answers = {
        1: b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\na",
        2: b"HTTP/1.0 200 OK\r\n\r\nuntil the end",
    }
    canned, client = await serve(lambda n: answers[1] if canned.connections == 1 else answers[2])
    assert (await client.request(0, request(client), timeout=2)).body == b"a"
    assert (await client.request(0, request(client), timeout=2)).body == b"until the end"
    assert canned.connections == 2
    await client.aclose()


async def test_hang_up_before_the_answer_is_a_disconnect(serve: Starter) -> None:
    _, client = await serve(lambda n: None)
    with pytest.raises(Disconnected) as raised:
        await client.request(0, request(client), timeout=2)
    assert raised.value.response_started is False
    await client.aclose()


async def test_garbage_and_silence(serve: Starter) -> None:
    _, client = await serve(lambda n: b"SMTP ready\r\n\r\n")
    with pytest.raises(ResponseError):
        await client.request(0, request(client), timeout=2)
    _, quiet = await serve(lambda n: b"")
    with pytest.raises(TimeoutError):
        await quiet.request(0, request(quiet), timeout=0.2)
    await client.aclose()
    await quiet.aclose()
