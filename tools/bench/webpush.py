"""`vila bench transport`, the Web Push part: the Web Push transport against a fast stand-in, and
pywebpush's `webpush()` as its users call it (one subscription after another) against the same.

Every push goes to a subscription of its own (a real P-256 key pair and auth secret each), so
every payload is encrypted anew, as in production. The subscriptions are spread over three
origins, as a region's are over FCM's, Mozilla's and Apple's push services. The fast stand-in is
Debian's nginx answering `201` on three TLS ports; without nginx, three Python stand-ins (which
also decrypt, and are far slower) take their place and the result says so.

`profile_us` splits one push's cost: key generation, ECDH, HKDF, AES-GCM (each timed alone, as
http_ece calls them), and the rest of the wall time per push (HTTP, headers, scheduling). VAPID
signing is shown apart: it is paid once per push service and then reused.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import json
import os
import pstats
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kernel.clock import SystemClock
from notify.transports import mapping
from notify.transports.base import PushRequest, PushResult, Sent, TokenInvalid, WebPushKeys
from notify.transports.config import WebPushSettings
from notify.transports.vapid import VapidKey, VapidSigner
from notify.transports.webpush import Subscription, WebPushTransport, encrypt
from tools.bench.transports import NGINX_CONF, free_port, run_nginx
from tools.standins.faults import FaultPlan
from tools.standins.tls import LocalCa, make_local_ca
from tools.standins.webpush import b64url, serve_webpush

ORIGINS = 3
CONNECTIONS_PER_ORIGIN = 8
SUBJECT = "mailto:bench@vila.example"

# Push services answer 201 Created; nginx reads and drops the encrypted body.
PUSH_LOCATION = "        location /push/ { return 201 ''; }"


@contextlib.asynccontextmanager
async def _stand_in(directory: Path, prefer_nginx: bool) -> AsyncIterator[tuple[str, list[str], LocalCa]]:
    """(kind, the origins, the CA that signed them)."""
    ca = make_local_ca(directory / "tls")
    if prefer_nginx and (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        ports = [free_port() for _ in range(ORIGINS)]
        listen = " ".join(f"listen 127.0.0.1:{p} ssl;" for p in ports)
        conf = NGINX_CONF.format(
            dir=directory, listen=listen, cert=ca.server_cert_file, key=ca.server_key_file, locations=PUSH_LOCATION
        )
        async with run_nginx(directory, conf, ports[-1]):
            yield "nginx", [f"https://127.0.0.1:{p}" for p in ports], ca
        return
    running = [await serve_webpush(ca=ca) for _ in range(ORIGINS)]
    try:
        yield "python-stand-in", [r.url for r in running], ca
    finally:
        for r in running:
            await r.stop()


def _requests(origins: list[str], n: int) -> list[PushRequest]:
    """`n` pushes, each to a subscription of its own with a fresh key pair."""
    result = []
    priorities = ("info", "normal", "urgent", "emergency")
    for i in range(n):
        browser_key = ec.generate_private_key(ec.SECP256R1()).public_key()
        p256dh = browser_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        result.append(
            PushRequest(
                delivery_id=uuid.uuid4(),
                provider="webpush",
                platform="web",
                token=f"{origins[i % len(origins)]}/push/bench-{i:07d}-{uuid.uuid4().hex}",
                priority=priorities[i % 4],  # type: ignore[arg-type]
                title="Personalmöte flyttas",
                body="Mötet på avdelning 12 flyttas till torsdag kl. 14.",
                message_id=str(uuid.uuid4()),
                requires_ack=i % 2 == 0,
                webpush_keys=WebPushKeys(b64url(p256dh), b64url(os.urandom(16))),
            )
        )
    return result


def _baseline(requests: list[PushRequest], key: VapidKey, ca: LocalCa) -> float:
    """Seconds for pywebpush's `webpush()` to send these, one after another, as its README shows."""
    from pywebpush import webpush

    clock = SystemClock()
    bodies = [
        mapping.webpush_body(r, mapping.wire(r, now=clock.now(), critical_alerts_entitled=False)).decode()
        for r in requests
    ]
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = str(ca.ca_file)  # how a `requests` user trusts a private CA
    try:
        start = time.perf_counter()
        for request, body in zip(requests, bodies, strict=True):
            assert request.webpush_keys is not None  # noqa: S101 - built above
            keys = {"p256dh": request.webpush_keys.p256dh, "auth": request.webpush_keys.auth}
            response = webpush(
                {"endpoint": request.token, "keys": keys},
                data=body,
                vapid_private_key=key.private_key,
                vapid_claims={"sub": SUBJECT},
                ttl=86400,
            )
            if getattr(response, "status_code", 201) != 201:
                raise RuntimeError(f"pywebpush got {response}")
        return time.perf_counter() - start
    finally:
        if previous is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous


def _per_op_us(fn: Callable[[], object], n: int = 2000) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return round((time.perf_counter() - start) / n * 1e6, 1)


def _components(request: PushRequest, key: VapidKey) -> dict[str, float]:
    """The crypto of one push, each step timed alone with the arguments http_ece gives it."""
    subscription = Subscription.of(request)
    browser = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), subscription.p256dh)
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    secret = ephemeral.exchange(ec.ECDH(), browser)
    plaintext = b"x" * 200
    content_key = os.urandom(16)
    signer = VapidSigner(key, subject=SUBJECT, ttl_s=3600, clock=SystemClock())
    origins = iter(range(10**9))
    return {
        "keygen": _per_op_us(lambda: ec.generate_private_key(ec.SECP256R1())),
        "ecdh": _per_op_us(lambda: ephemeral.exchange(ec.ECDH(), browser)),
        "hkdf_x3": _per_op_us(
            lambda: [HKDF(hashes.SHA256(), 32, subscription.auth, b"i" * 144).derive(secret) for _ in range(3)]
        ),
        "aes_gcm": _per_op_us(lambda: AESGCM(content_key).encrypt(os.urandom(12), plaintext, None)),
        "encrypt_total": _per_op_us(lambda: encrypt(plaintext, subscription)),
        "vapid_sign_once_per_origin": _per_op_us(lambda: signer.authorization(f"https://h{next(origins)}.example")),
        "vapid_cached": _per_op_us(lambda: signer.authorization("https://h0.example")),
    }


def _share(items: list[PushRequest], turn: int, turns: int) -> list[PushRequest]:
    """The `turn`-th of `turns` nearly equal slices of `items`."""
    return items[turn * len(items) // turns : (turn + 1) * len(items) // turns]


async def throughput(
    messages: int, *, prefer_nginx: bool = True, baseline_messages: int = 500, rounds: int = 4
) -> dict[str, Any]:
    """The transport and the baseline take turns, `rounds` times each, so that a change in the
    machine's load between them (it is shared) does not decide their ratio."""
    key = VapidKey.generate()
    seconds = baseline_s = 0.0
    results: list[PushResult] = []
    with tempfile.TemporaryDirectory(prefix="vila-bench-webpush-") as tmp:
        async with _stand_in(Path(tmp), prefer_nginx) as (kind, origins, ca):
            settings = WebPushSettings(ca_file=ca.ca_file, connections=CONNECTIONS_PER_ORIGIN, subject=SUBJECT)
            transport = WebPushTransport(settings, key)
            batch = _requests(origins, messages)
            baseline_batch = _requests(origins, min(messages, baseline_messages))
            try:
                await transport.send(_requests(origins, 300))  # open the connections
                for turn in range(rounds):
                    start = time.perf_counter()
                    results += await transport.send(_share(batch, turn, rounds))
                    seconds += time.perf_counter() - start
                    baseline_s += _baseline(_share(baseline_batch, turn, rounds), key, ca)
            finally:
                await transport.aclose()
    if not all(isinstance(r, Sent) for r in results):
        raise RuntimeError(f"webpush: not every push was sent: {Counter(type(r).__name__ for r in results)}")
    per_s = messages / seconds
    baseline_per_s = len(baseline_batch) / baseline_s
    components = _components(batch[0], key)
    wall_us = 1e6 / per_s
    report: dict[str, Any] = {
        "webpush_per_s": round(per_s),
        "baseline_pywebpush_per_s": round(baseline_per_s),
        "webpush_vs_pywebpush": round(per_s / baseline_per_s, 1),
        "webpush_messages": messages,
        "webpush_baseline_messages": len(baseline_batch),
        "webpush_origins": len(origins),
        "webpush_connections_per_origin": CONNECTIONS_PER_ORIGIN,
        "webpush_rounds": rounds,
        "webpush_stand_in": kind,
        "webpush_profile_us": {
            **components,
            "wall_per_push": round(wall_us, 1),
            "http_and_rest": round(wall_us - components["encrypt_total"], 1),
        },
    }
    if kind != "nginx":
        report["webpush_note"] = "nginx not found: the Python stand-ins (which decrypt) limit these figures"
    return report


async def profile(messages: int) -> str:
    """cProfile of the transport sending `messages` pushes to nginx: the top functions by own time."""
    key = VapidKey.generate()
    with tempfile.TemporaryDirectory(prefix="vila-bench-webpush-") as tmp:
        async with _stand_in(Path(tmp), True) as (_, origins, ca):
            transport = WebPushTransport(WebPushSettings(ca_file=ca.ca_file, subject=SUBJECT), key)
            batch = _requests(origins, messages)
            await transport.send(_requests(origins, 100))
            profiler = cProfile.Profile()
            profiler.enable()
            await transport.send(batch)
            profiler.disable()
            await transport.aclose()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    return out.getvalue()


async def fault_run(messages: int, *, seed: int = 3) -> dict[str, Any]:
    """2% 429 (Retry-After 1 s), 1% 503, 3% gone subscriptions against the decrypting stand-in:
    every push must end sent or pruned, none accepted twice."""
    key = VapidKey.generate()
    with tempfile.TemporaryDirectory(prefix="vila-bench-webpush-") as tmp:
        plan = FaultPlan(rate_429=0.02, rate_503=0.01, rate_unregistered=0.03, retry_after_s=1, seed=seed)
        running = await serve_webpush(state_dir=Path(tmp), faults=plan)
        try:
            subs = [running.standin.subscribe() for _ in range(messages)]
            requests = [
                PushRequest(
                    delivery_id=uuid.uuid4(),
                    provider="webpush",
                    platform="web",
                    token=s.endpoint,
                    priority="normal",
                    title="Personalmöte",
                    body="Flyttas till torsdag",
                    message_id=str(uuid.uuid4()),
                    webpush_keys=WebPushKeys(**s.to_json()["keys"]),
                )
                for s in subs
            ]
            transport = WebPushTransport(WebPushSettings(ca_file=running.ca.ca_file, subject=SUBJECT), key)
            start = time.perf_counter()
            results = await transport.send(requests)
            await transport.aclose()
            summary = running.standin.recorder.summary()
        finally:
            await running.stop()
    counts = Counter(type(r).__name__ for r in results)
    sent, pruned = counts.get(Sent.__name__, 0), counts.get(TokenInvalid.__name__, 0)
    return {
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


def describe(result: dict[str, Any]) -> list[str]:
    profile_us = result["webpush_profile_us"]
    lines = [
        f"web push: {result['webpush_messages']} pushes, each to a subscription of its own, over "
        f"{result['webpush_origins']} push services ({result['webpush_stand_in']})",
        f"  webpush transport        {result['webpush_per_s']:>7} push/s",
        f"  pywebpush webpush()      {result['baseline_pywebpush_per_s']:>7} push/s "
        f"({result['webpush_baseline_messages']} pushes)",
        f"  webpush / pywebpush      {result['webpush_vs_pywebpush']:>7}x",
        "  one push, microseconds:  " + json.dumps(profile_us),
    ]
    if "webpush_note" in result:
        lines.append(f"  note: {result['webpush_note']}")
    run = result.get("faults", {}).get("webpush")
    if run:
        lines.append(
            f"faults webpush: sent {run['sent']}, pruned {run['pruned']}, other {run['other']}, "
            f"accepted twice {run['accepted_twice']}, retries {run['retries']} "
            f"in {run['seconds']} s: {'ok' if run['ok'] else 'FAILED'}"
        )
    return lines
