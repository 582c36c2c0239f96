"""The push stand-ins of the embedded mode: FCM, APNs and Web Push emulators on a background event
loop, and the transports that talk to them, so a newcomer sees pushes arrive without any account;
and the SMTP stand-in of the e-mail channel, which keeps each e-mail as an .eml file."""

from __future__ import annotations

from pathlib import Path

from notify.loop import BackgroundLoop
from notify.push import PushClient, router
from notify.transports.config import PUSH_SERVICES, WebPushSettings
from notify.transports.vapid import WebPush
from tools.standins.server import Emulators, serve_emulators


class EmbeddedProviders:
    def __init__(self, state_dir: Path, data_dir: Path, host: str = "127.0.0.1") -> None:
        from tools.standins.smtp import SmtpStandIn  # tools are loaded only when used
        from tools.standins.webpush import serve_webpush

        self._loop = BackgroundLoop("vila-emulators")
        self.emulators: Emulators = self._loop.run(
            serve_emulators(host=host, state_dir=state_dir, control_port=0), timeout=30
        )
        self.webpush_standin = self._loop.run(serve_webpush(ca=self.emulators.ca, host=host), timeout=30)
        # The stand-in beside the real push services: a browser on this machine gets real pushes too.
        # The key is made once in the data directory, so the browsers' subscriptions stay valid.
        services = ",".join((*PUSH_SERVICES, self.webpush_standin.url.removeprefix("https://")))
        settings = WebPushSettings(ca_file=self.emulators.ca.ca_file, push_services=services)
        self.webpush = WebPush.configure(settings, data_dir, create=True)
        fcm, apns = self.emulators.transport_settings()
        webpush = self.webpush
        self.push = PushClient(lambda: router(fcm=fcm, apns=apns, webpush=webpush))
        self.mail_folder = data_dir / "mail"
        self.smtp = SmtpStandIn(host=host, folder=self.mail_folder).start()

    def close(self) -> None:
        self.smtp.stop()
        self.push.close()
        self._loop.run(self.webpush_standin.stop(), timeout=30)
        self._loop.run(self.emulators.stop(), timeout=30)
        self._loop.close()
