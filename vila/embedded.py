"""The push stand-ins of the embedded mode: FCM and APNs emulators on a background event loop,
and the transports that talk to them, so a newcomer sees pushes arrive without any account."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from notify.emulators.server import Emulators, serve_emulators
from notify.push import PushClient
from notify.transports.apns import ApnsTransport
from notify.transports.base import Router
from notify.transports.fcm import FcmTransport


class EmbeddedProviders:
    def __init__(self, state_dir: Path, host: str = "127.0.0.1") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="vila-emulators", daemon=True)
        self._thread.start()
        self.emulators: Emulators = asyncio.run_coroutine_threadsafe(
            serve_emulators(host=host, state_dir=state_dir), self._loop
        ).result(30)
        fcm, apns = self.emulators.transport_settings()
        self.push = PushClient(lambda: Router({"fcm": FcmTransport(fcm), "apns": ApnsTransport(apns)}))

    def close(self) -> None:
        self.push.close()
        asyncio.run_coroutine_threadsafe(self.emulators.stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
