"""A synchronous handle on an async transport, for job code that runs on worker threads.

The transport lives on one event loop in a background thread for the life of the process, so its
connection pools are reused across batches; `send()` blocks the calling thread until the batch is
done.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from notify.transports.base import PushRequest, PushResult, Transport

T = TypeVar("T")


class PushClient:
    def __init__(self, factory: Callable[[], Transport]) -> None:
        self._factory = factory
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._transport: Transport | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="vila-push", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._ensure())
        return future.result()

    async def _send(self, batch: Sequence[PushRequest]) -> list[PushResult]:
        if self._transport is None:
            self._transport = self._factory()
        return await self._transport.send(batch)

    def send(self, batch: Sequence[PushRequest]) -> list[PushResult]:
        if not batch:
            return []
        return self._run(self._send(batch))

    def close(self) -> None:
        loop = self._loop
        if loop is None:
            return
        if self._transport is not None:
            self._run(self._transport.aclose())
            self._transport = None
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        loop.close()
        self._loop = self._thread = None


def default_transport(settings: object | None = None) -> Transport:
    """FCM and APNs, configured from `VILA_FCM_...` and `VILA_APNS_...` (by default the local
    stand-ins that `vila serve` and `vila emulate` start)."""
    from notify.transports.apns import ApnsTransport
    from notify.transports.base import Router
    from notify.transports.config import ApnsSettings, FcmSettings
    from notify.transports.fcm import FcmTransport

    return Router({"fcm": FcmTransport(FcmSettings()), "apns": ApnsTransport(ApnsSettings())})
