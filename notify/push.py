"""A synchronous handle on an async transport, for job code that runs on worker threads.

The transport lives on one event loop in a background thread for the life of the process, so its
connection pools are reused across batches; `send()` blocks the calling thread until the batch is
done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from kernel.settings import Settings
from notify.loop import BackgroundLoop
from notify.transports.base import PushRequest, PushResult, Transport
from notify.transports.config import ApnsSettings, FcmSettings, PushSettings
from notify.transports.vapid import WebPush


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


def router(*, fcm: FcmSettings, apns: ApnsSettings, webpush: WebPush | None) -> Transport:
    """One transport per enabled provider: FCM, APNs, and Web Push when there is a VAPID key."""
    from notify.transports.apns import ApnsTransport
    from notify.transports.base import Router
    from notify.transports.fcm import FcmTransport

    transports: dict[str, Transport] = {}
    if fcm.enabled:
        transports["fcm"] = FcmTransport(fcm)
    if apns.enabled:
        transports["apns"] = ApnsTransport(apns)
    if webpush is not None and webpush.key is not None:
        from notify.transports.webpush import WebPushTransport

        transports["webpush"] = WebPushTransport(webpush.settings, webpush.key)
    return Router(transports)


def default_transport(settings: Settings, providers: PushSettings, *, webpush: WebPush | None = None) -> Transport:
    """FCM, APNs and Web Push as `providers` (read by the composition root) configure them: by
    default the local stand-ins that `vila serve` and `vila emulate` start. Without `webpush`, the
    VAPID key is the setting's or the data directory's."""
    if webpush is None:
        webpush = WebPush.configure(providers.webpush, settings.data_dir, create=False)
    return router(fcm=providers.fcm, apns=providers.apns, webpush=webpush)


def sendable(providers: PushSettings, webpush: WebPush | None) -> frozenset[str]:
    """The providers this installation has a transport for: devices of any other are refused."""
    found = {"fcm"} if providers.fcm.enabled else set()
    if providers.apns.enabled:
        found.add("apns")
    if webpush is not None and webpush.key is not None:
        found.add("webpush")
    return frozenset(found)
