"""A synchronous handle on an async transport, for job code that runs on worker threads.

The transport lives on one event loop in a background thread for the life of the process, so its
connection pools are reused across batches; `send()` blocks the calling thread until the batch is
done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from notify.loop import BackgroundLoop
from notify.transports.base import PushRequest, PushResult, Transport


class PushClient:
    def __init__(self, factory: Callable[[], Transport]) -> None:
        self._factory = factory
        self._loop: BackgroundLoop | None = None
        self._transport: Transport | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> BackgroundLoop:
        with self._lock:
            if self._loop is None:
                self._loop = BackgroundLoop("vila-push")
            return self._loop

    async def _send(self, batch: Sequence[PushRequest]) -> list[PushResult]:
        if self._transport is None:
            self._transport = self._factory()
        return await self._transport.send(batch)

    def send(self, batch: Sequence[PushRequest]) -> list[PushResult]:
        if not batch:
            return []
        return self._ensure().run(self._send(batch))

    def close(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        if self._transport is not None:
            loop.run(self._transport.aclose())
            self._transport = None
        loop.close()


def default_transport(settings: object | None = None) -> Transport:
    """FCM and APNs, configured from `VILA_FCM_...` and `VILA_APNS_...` (by default the local
    stand-ins that `vila serve` and `vila emulate` start)."""
    from notify.transports.apns import ApnsTransport
    from notify.transports.base import Router
    from notify.transports.config import ApnsSettings, FcmSettings
    from notify.transports.fcm import FcmTransport

    return Router({"fcm": FcmTransport(FcmSettings()), "apns": ApnsTransport(ApnsSettings())})
