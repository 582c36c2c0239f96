"""Start the stand-ins in the running event loop: `vila emulate` and the embedded mode use this.

FCM      http://HOST:FCM_PORT         OAuth `/token`, `/v1/projects/{p}/messages:send`
APNs     https://HOST:APNS_PORT       HTTP/2, certificate from a CA made at start
control  http://HOST:CONTROL_PORT     GET  /{fcm|apns}/received       what arrived
                                      GET  /{fcm|apns}/summary        counts, duplicates
                                      GET|PUT /{fcm|apns}/faults      the FaultPlan as JSON
                                      POST /{fcm|apns}/reset          forget records, faults
                                      POST /apns/expire-provider-tokens
"""

from __future__ import annotations

import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from notify.transports.config import ApnsSettings, FcmSettings
from tools.standins.apns import ApnsEmulator
from tools.standins.faults import FaultPlan
from tools.standins.fcm import FcmEmulator
from tools.standins.tls import LocalCa, make_local_ca


def server_ssl_context(ca: LocalCa, *, alpn: list[str] | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(ca.server_cert_file, ca.server_key_file)
    # Client certificates are optional: APNs takes either a certificate or a provider token.
    context.load_verify_locations(ca.ca_file)
    context.verify_mode = ssl.CERT_OPTIONAL
    if alpn:
        context.set_alpn_protocols(alpn)
    return context


@dataclass
class Emulators:
    fcm: FcmEmulator
    apns: ApnsEmulator
    ca: LocalCa
    fcm_url: str
    apns_url: str
    control_url: str
    _runner: web.AppRunner | None = None
    _tempdir: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    @property
    def apns_host(self) -> str:
        return self.apns_url.removeprefix("https://").rsplit(":", 1)[0]

    @property
    def apns_port(self) -> int:
        return int(self.apns_url.rsplit(":", 1)[1])

    def describe(self) -> dict[str, str]:
        return {
            "fcm": self.fcm_url,
            "apns": self.apns_url,
            "control": self.control_url,
            "ca_file": str(self.ca.ca_file),
        }

    def transport_settings(self) -> tuple[FcmSettings, ApnsSettings]:
        """Settings for transports that talk to these stand-ins (the embedded mode's wiring)."""
        fcm = FcmSettings(endpoint=self.fcm_url, project_id=self.fcm.project_id, credentials="emulator")
        apns = ApnsSettings(
            host=self.apns_host, port=self.apns_port, ca_file=self.ca.ca_file, auth="emulator", topic=self.apns.topic
        )
        return fcm, apns

    async def stop(self) -> None:
        await self.fcm.stop()
        await self.apns.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._tempdir is not None:
            self._tempdir.cleanup()


async def serve_emulators(
    *,
    host: str = "127.0.0.1",
    fcm_port: int = 0,
    apns_port: int = 0,
    control_port: int | None = 0,
    state_dir: Path | None = None,
    project_id: str = "vila-local",
    topic: str = "se.vila.app",
    fcm_tls: bool = False,
) -> Emulators:
    """Start both stand-ins (and the control endpoint unless `control_port` is None). Port 0 picks
    a free port; the URLs returned say which."""
    tempdir = None
    if state_dir is None:
        tempdir = tempfile.TemporaryDirectory(prefix="vila-emulators-")
        state_dir = Path(tempdir.name)
    ca = make_local_ca(state_dir / "tls")
    fcm = FcmEmulator(project_id=project_id)
    apns = ApnsEmulator(topic=topic)
    fcm_ctx = server_ssl_context(ca, alpn=["http/1.1"]) if fcm_tls else None
    fcm_url = await fcm.start(host, fcm_port, fcm_ctx)
    apns_url = await apns.start(host, apns_port, server_ssl_context(ca, alpn=["h2"]))
    emulators = Emulators(fcm, apns, ca, fcm_url, apns_url, "", _tempdir=tempdir)
    if control_port is not None:
        runner = web.AppRunner(control_app(emulators), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, control_port)
        await site.start()
        server: Any = site._server
        emulators._runner = runner
        emulators.control_url = f"http://{host}:{server.sockets[0].getsockname()[1]}"
    return emulators


def control_app(emulators: Emulators) -> web.Application:
    def target(request: web.Request) -> FcmEmulator | ApnsEmulator:
        provider = request.match_info["provider"]
        if provider == "fcm":
            return emulators.fcm
        if provider == "apns":
            return emulators.apns
        raise web.HTTPNotFound(text="provider is fcm or apns")

    async def received(request: web.Request) -> web.Response:
        items = target(request).recorder.received
        return web.json_response([r.to_json() for r in items])

    async def summary(request: web.Request) -> web.Response:
        return web.json_response(target(request).recorder.summary())

    async def get_faults(request: web.Request) -> web.Response:
        return web.json_response(target(request).faults.to_json())

    async def put_faults(request: web.Request) -> web.Response:
        emulator = target(request)
        try:
            emulator.faults = FaultPlan.from_json(await request.json())
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=422)
        return web.json_response(emulator.faults.to_json())

    async def reset(request: web.Request) -> web.Response:
        target(request).reset()
        return web.json_response({"reset": True})

    async def expire(request: web.Request) -> web.Response:
        emulators.apns.expire_provider_tokens()
        return web.json_response({"expired_before": emulators.apns.tokens_not_before})

    app = web.Application()
    app.router.add_get("/{provider}/received", received)
    app.router.add_get("/{provider}/summary", summary)
    app.router.add_get("/{provider}/faults", get_faults)
    app.router.add_put("/{provider}/faults", put_faults)
    app.router.add_post("/{provider}/reset", reset)
    app.router.add_post("/apns/expire-provider-tokens", expire)
    return app
