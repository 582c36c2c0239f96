"""The push stand-ins of the embedded mode: FCM and APNs emulators on a background event loop,
and the transports that talk to them, so a newcomer sees pushes arrive without any account."""

from __future__ import annotations

from pathlib import Path

from notify.emulators.server import Emulators, serve_emulators
from notify.loop import BackgroundLoop
from notify.push import PushClient
from notify.transports.apns import ApnsTransport
from notify.transports.base import Router
from notify.transports.fcm import FcmTransport


class EmbeddedProviders:
    def __init__(self, state_dir: Path | None = None, host: str = "127.0.0.1") -> None:
        self._loop = BackgroundLoop("vila-emulators")
        self.emulators: Emulators = self._loop.run(
            serve_emulators(host=host, state_dir=state_dir, control_port=0), timeout=30
        )
        fcm, apns = self.emulators.transport_settings()
        self.push = PushClient(lambda: Router({"fcm": FcmTransport(fcm), "apns": ApnsTransport(apns)}))

    def close(self) -> None:
        self.push.close()
        self._loop.run(self.emulators.stop(), timeout=30)
        self._loop.close()
