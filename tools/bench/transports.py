"""`vila bench transport`: throughput of the FCM and APNs transports against a fast stand-in, with
firebase-admin's own `send_each_async` to the same stand-in as the baseline; `--faults` adds a run
against the Python stand-ins with 2% 429, 1% 503 and 3% unregistered tokens.

The fast stand-in is Debian's nginx (HTTP/2 and HTTP/1.1 over TLS, `return 200`, apns-id echoed),
started here in a temporary directory. Without nginx the Python stand-ins are used, which are far
slower than the transports, and the result says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import firebase_admin
import httpx
from firebase_admin import _http_client, _retry, messaging
from firebase_admin import _utils as firebase_utils
from firebase_admin import credentials as firebase_credentials

from kernel.clock import SystemClock
from notify.transports import mapping
from notify.transports.apns import ApnsTransport
from notify.transports.base import PushRequest, PushResult, Sent, TokenInvalid
from notify.transports.config import ApnsSettings, FcmSettings
from notify.transports.fcm import FcmTransport
from tools.standins.providers import FaultPlan, serve_emulators
from tools.standins.tls import LocalCa, make_local_ca

BROADCAST_SIZE = 100

NGINX_CONF = """\
worker_processes 1;
daemon off;
master_process off;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    server {{
        {listen}
        ssl_certificate {cert};
        ssl_certificate_key {key};
{locations}
    }}
}}
"""
# FCM's messages:send and APNs' device path; the stand-in of the other benchmarks has its own.
PROVIDER_LOCATIONS = """\
        location ~ ^/v1/projects/[^/]+/messages:send$ {
            default_type application/json;
            return 200 '{"name":"projects/bench/messages/0:1"}';
        }
        location /3/device/ {
            add_header apns-id $http_apns_id always;
            return 200;
        }"""


@dataclass
class StandIn:
    kind: str
    fcm_endpoint: str
    apns_host: str
    apns_port: int
    ca: LocalCa


def stop_process_groups(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    """Stop the API and worker processes a benchmark started, each with its children: SIGTERM to
    all first, then SIGKILL to any group still running 20 s later."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def run_nginx(directory: Path, conf_text: str, port: int) -> AsyncIterator[None]:
    """Debian's nginx with `conf_text`, in `directory`, until it answers on `port`; stopped after."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    conf = directory / "nginx.conf"
    conf.write_text(conf_text)
    process = subprocess.Popen(  # noqa: S603 - fixed arguments, our own config
        [nginx, "-p", str(directory), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            if process.poll() is not None:
                raise RuntimeError(f"nginx did not start: {process.stderr.read()!r}")  # type: ignore[union-attr]
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
                break
            await asyncio.sleep(0.05)
        yield
    finally:
        process.terminate()
        process.wait(5)


@contextlib.asynccontextmanager
async def nginx_stand_in(directory: Path) -> AsyncIterator[StandIn]:
    ca = make_local_ca(directory / "tls")
    port = free_port()
    conf = NGINX_CONF.format(
        dir=directory,
        listen=f"listen 127.0.0.1:{port} ssl http2;",
        cert=ca.server_cert_file,
        key=ca.server_key_file,
        locations=PROVIDER_LOCATIONS,
    )
    async with run_nginx(directory, conf, port):
        yield StandIn("nginx", f"https://127.0.0.1:{port}", "127.0.0.1", port, ca)


@contextlib.asynccontextmanager
async def python_stand_in() -> AsyncIterator[StandIn]:
    emulators = await serve_emulators(control_port=None, project_id="bench", fcm_tls=True)
    try:
        yield StandIn(
            "python-emulators",
            emulators.fcm_url,
            emulators.apns_host,
            emulators.apns_port,
            emulators.ca,
        )
    finally:
        await emulators.stop()


def requests_for(provider: str, n: int, *, seed: int = 1, devices_per_message: int = 1) -> list[PushRequest]:
    """`n` deliveries: messages of the four priorities, each to `devices_per_message` devices."""
    rng = random.Random(seed)  # noqa: S311 - test data
    priorities = ("info", "normal", "urgent", "emergency")
    result = []
    message_id = ""
    for i in range(n):
        if i % devices_per_message == 0:
            message_id = str(uuid.UUID(int=rng.getrandbits(128)))
        token = (
            f"{rng.getrandbits(256):064x}"
            if provider == "apns"
            else (f"bench{i:07d}:APA91b{rng.getrandbits(300):076x}")
        )
        result.append(
            PushRequest(
                delivery_id=uuid.UUID(int=rng.getrandbits(128)),
                provider="apns" if provider == "apns" else "fcm",
                platform="ios" if provider == "apns" else "android",
                token=token,
                priority=priorities[(i // devices_per_message) % 4],  # type: ignore[arg-type]
                title="Personalmöte flyttas",
                body="Mötet på avdelning 12 flyttas till torsdag kl. 14.",
                message_id=message_id,
                data={"group": "avd-12"},
            )
        )
    return result


async def _timed(send: Any, batch: Sequence[PushRequest]) -> tuple[float, list[PushResult]]:
    start = time.perf_counter()
    results = await send(batch)
    return time.perf_counter() - start, results


class _EmulatorCredential(firebase_credentials.Base):  # type: ignore[misc]
    def get_credential(self) -> Any:
        return firebase_utils.EmulatorAdminCredentials()


async def baseline_send_each_async(stand_in: StandIn, batch: Sequence[PushRequest]) -> float:
    """firebase-admin's `messaging.send_each_async`, 500 messages per call (its limit), to the
    stand-in. Only the URL and the CA differ from what firebase-admin builds for FCM."""
    app = firebase_admin.initialize_app(
        _EmulatorCredential(), {"projectId": "bench"}, name=f"vila-bench-{uuid.uuid4()}"
    )
    try:
        service = messaging._get_messaging_service(app)
        service._fcm_url = f"{stand_in.fcm_endpoint}/v1/projects/bench/messages:send"
        context = ssl.create_default_context(cafile=str(stand_in.ca.ca_file))
        client = service._async_client
        transport = _retry.HttpxRetryTransport(verify=context)
        client._async_client = httpx.AsyncClient(
            http2=True,
            timeout=client.timeout,
            headers=client._headers,
            auth=_http_client.GoogleAuthCredentialFlow(service._credential),
            mounts={"https://": transport, "http://": transport},
        )
        clock = SystemClock()
        messages = [
            mapping.fcm_message(r, mapping.wire(r, now=clock.now(), critical_alerts_entitled=False)) for r in batch
        ]
        start = time.perf_counter()
        failures = 0
        for i in range(0, len(messages), 500):
            response = await messaging.send_each_async(messages[i : i + 500], app=app)
            failures += response.failure_count
        elapsed = time.perf_counter() - start
        await client.aclose()
        if failures:
            raise RuntimeError(f"send_each_async failed {failures} messages")
        return elapsed
    finally:
        # delete_app closes the service with asyncio.run(), which needs a thread without a loop.
        await asyncio.to_thread(firebase_admin.delete_app, app)


async def throughput(
    messages: int, *, devices_per_message: int = BROADCAST_SIZE, prefer_nginx: bool = True
) -> dict[str, Any]:
    """Messages per second through each transport, and through `send_each_async`, to the same
    stand-in. The workload is broadcasts (`devices_per_message` devices per message, what Vila
    sends most); `fcm_distinct_per_s` is the FCM transport when every message is different."""

    def batch(provider: str, per_message: int = devices_per_message) -> list[PushRequest]:
        return requests_for(provider, messages, devices_per_message=per_message)

    with tempfile.TemporaryDirectory(prefix="vila-bench-") as tmp:
        use_nginx = prefer_nginx and (shutil.which("nginx") or Path("/usr/sbin/nginx").exists())
        stand_in_cm = nginx_stand_in(Path(tmp)) if use_nginx else python_stand_in()
        async with stand_in_cm as stand_in:
            fcm = FcmTransport(
                FcmSettings(
                    endpoint=stand_in.fcm_endpoint,
                    project_id="bench",
                    ca_file=stand_in.ca.ca_file,
                    connections=16,
                )
            )
            apns = ApnsTransport(
                ApnsSettings(
                    host=stand_in.apns_host,
                    port=stand_in.apns_port,
                    ca_file=stand_in.ca.ca_file,
                    connections=1,  # one process, one loop: one HTTP/2 connection is the fastest
                    streams_per_connection=100,
                )
            )
            try:
                await fcm.send(requests_for("fcm", 200, seed=7))  # open the connections
                await apns.send(requests_for("apns", 200, seed=7))
                timings: dict[str, tuple[float, list[PushResult]]] = {
                    "fcm": await _timed(fcm.send, batch("fcm")),
                    "fcm_distinct": await _timed(fcm.send, batch("fcm", 1)),
                    "apns": await _timed(apns.send, batch("apns")),
                }
            finally:
                await fcm.aclose()
                await apns.aclose()
            baseline_s = await baseline_send_each_async(stand_in, batch("fcm"))
    for name, (_, results) in timings.items():
        if not all(isinstance(r, Sent) for r in results):
            raise RuntimeError(f"{name}: not every message was sent: {Counter(map(type, results))}")
    rate = {name: messages / seconds for name, (seconds, _) in timings.items()}
    baseline_per_s = messages / baseline_s
    report: dict[str, Any] = {
        "messages": messages,
        "devices_per_message": devices_per_message,
        "stand_in": stand_in.kind,
        "fcm_per_s": round(rate["fcm"]),
        "fcm_distinct_per_s": round(rate["fcm_distinct"]),
        "apns_per_s": round(rate["apns"]),
        "baseline_send_each_async_per_s": round(baseline_per_s),
        "fcm_vs_baseline": round(rate["fcm"] / baseline_per_s, 2),
    }
    if stand_in.kind != "nginx":
        report["note"] = "nginx not found: the Python stand-ins limit these figures"
    return report


async def fault_run(messages: int, *, seed: int = 3) -> dict[str, Any]:
    """2% 429 (Retry-After 1 s), 1% 503, 3% unregistered tokens: every message must end sent or
    pruned, none accepted twice."""
    emulators = await serve_emulators(control_port=None)
    report: dict[str, Any] = {"messages": messages}
    try:
        plan = {"rate_429": 0.02, "rate_503": 0.01, "rate_unregistered": 0.03, "retry_after_s": 1}
        emulators.fcm.faults = FaultPlan(**plan, seed=seed)  # type: ignore[arg-type]
        emulators.apns.faults = FaultPlan(**plan, seed=seed)  # type: ignore[arg-type]
        fcm = FcmTransport(FcmSettings(endpoint=emulators.fcm_url))
        apns = ApnsTransport(
            ApnsSettings(host=emulators.apns_host, port=emulators.apns_port, ca_file=emulators.ca.ca_file)
        )
        for name, transport, emulator in (
            ("fcm", fcm, emulators.fcm),
            ("apns", apns, emulators.apns),
        ):
            start = time.perf_counter()
            results = await transport.send(requests_for(name, messages, seed=seed))
            await transport.aclose()
            counts = Counter(type(r).__name__ for r in results)
            summary = emulator.recorder.summary()
            sent = counts.get(Sent.__name__, 0)
            pruned = counts.get(TokenInvalid.__name__, 0)
            report[name] = {
                "seconds": round(time.perf_counter() - start, 2),
                "sent": sent,
                "pruned": pruned,
                "other": messages - sent - pruned,
                "accepted_by_stand_in": summary["accepted"],
                "accepted_twice": len(summary["accepted_twice"]),
                "retries": transport.stats.retries,
                "retried_reasons": dict(transport.stats.retried_reasons),
                "ok": sent + pruned == messages and summary["accepted"] == sent and not summary["accepted_twice"],
            }
    finally:
        await emulators.stop()
    return report


def describe(result: dict[str, Any]) -> list[str]:
    lines = [
        f"stand-in: {result['stand_in']}, {result['messages']} messages per run, "
        f"{result['devices_per_message']} devices per message",
        f"  fcm transport            {result['fcm_per_s']:>7} msg/s",
        f"  fcm, all messages differ {result['fcm_distinct_per_s']:>7} msg/s",
        f"  apns transport           {result['apns_per_s']:>7} msg/s",
        f"  send_each_async          {result['baseline_send_each_async_per_s']:>7} msg/s",
        f"  fcm / send_each_async    {result['fcm_vs_baseline']:>7}x",
    ]
    if "note" in result:
        lines.append(f"  note: {result['note']}")
    for provider in ("fcm", "apns"):
        run = result.get("faults", {}).get(provider)
        if run:
            lines.append(
                f"faults {provider}: sent {run['sent']}, pruned {run['pruned']}, other {run['other']}, "
                f"accepted twice {run['accepted_twice']}, retries {run['retries']} "
                f"in {run['seconds']} s: {'ok' if run['ok'] else 'FAILED'}"
            )
    return lines
