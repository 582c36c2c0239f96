"""A Web Push service stand-in (RFC 8030, 8291, 8292) that reads every push as the phone would.

It holds subscriptions with real key pairs (`subscribe()`, or `POST /webpush/subscriptions`), and
for each push to `/push/{id}` it checks what a push service checks (the VAPID token's signature
against its `k=` key, `aud` the origin, `exp` in the future and at most 24 hours away, `sub`; the
subscription's application server key when it has one; `TTL`, `Urgency`, `Topic`, the content
encoding, the 4,096-byte body), then DECRYPTS the body with the subscription's private key and
records the plaintext. Faults come from the FCM and APNs stand-ins' `FaultPlan`: 410 for
unregistered subscriptions, 429 and 503 (with Retry-After), slow answers, closed or cut
connections. Deliveries are counted per subscription and message, so a push accepted twice shows.

Control (same server): POST /webpush/subscriptions   make one: {"application_server_key"?,
                                                      "private_key"?, "auth"?} -> {id, endpoint, keys}
                       GET  /webpush/received        what arrived, decrypted (?subscription=ID)
                       GET  /webpush/summary         counts, pushes accepted twice
                       GET|PUT /webpush/faults        the FaultPlan as JSON
                       POST /webpush/reset           forget records and faults
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import secrets
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import jwt as vapid_jwt

from tools.standins.faults import Fault, FaultPlan, Received, Recorder, RequestCounter
from tools.standins.tls import LocalCa, make_local_ca

BODY_LIMIT = 4096
MAX_JWT_LIFETIME_S = 24 * 3600
URGENCIES = {"very-low", "low", "normal", "high"}
TOPIC_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
VAPID_RE = re.compile(r"^vapid\s+(.+)$", re.IGNORECASE)

_FAULTS: dict[Fault, tuple[int, str]] = {
    "unregistered": (410, "push subscription has unsubscribed or expired"),
    "quota": (429, "too many requests"),
    "unavailable": (503, "service unavailable"),
    "internal": (500, "internal server error"),
    "invalid_argument": (400, "bad request"),
    "sender_id_mismatch": (403, "the VAPID key does not match the subscription"),
    "third_party_auth": (401, "unauthorized"),
}


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


@dataclass
class StandInSubscription:
    """A browser's subscription as the push service holds it, with the browser's private key."""

    id: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    application_server_key: str | None = None

    @property
    def p256dh(self) -> str:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(raw)

    def to_json(self) -> dict[str, Any]:
        """What `PushSubscription.toJSON()` gives a page, plus the stand-in's id."""
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)},
        }


class _Reject(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class WebPushStandIn:
    faults: FaultPlan = field(default_factory=FaultPlan)
    recorder: Recorder = field(default_factory=Recorder)
    subscriptions: dict[str, StandInSubscription] = field(default_factory=dict)
    url: str = ""
    vapid_tokens_seen: set[str] = field(default_factory=set)
    vapid_tokens_revoked: set[str] = field(default_factory=set)
    _per_connection: RequestCounter = field(default_factory=RequestCounter)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    # -- subscriptions ------------------------------------------------------------------------

    def subscribe(
        self,
        *,
        private_key: ec.EllipticCurvePrivateKey | None = None,
        auth: bytes | None = None,
        application_server_key: str | None = None,
    ) -> StandInSubscription:
        """A new subscription; a real key pair and auth secret unless the caller brings its own."""
        if not self.url:
            raise RuntimeError("start the stand-in first: the endpoint names its address")
        sub_id = secrets.token_urlsafe(24)
        subscription = StandInSubscription(
            id=sub_id,
            endpoint=f"{self.url}/push/{sub_id}",
            private_key=private_key or ec.generate_private_key(ec.SECP256R1()),
            auth=auth or secrets.token_bytes(16),
            application_server_key=application_server_key,
        )
        self.subscriptions[sub_id] = subscription
        return subscription

    def unsubscribe(self, sub_id: str) -> None:
        """The browser dropped it: pushes to it get 410 from now on."""
        self.subscriptions.pop(sub_id, None)

    def revoke_vapid_tokens(self) -> None:
        """Refuse (401) every VAPID token seen so far, as a push service does with one it no
        longer trusts: the sender must sign a new one."""
        self.vapid_tokens_revoked |= self.vapid_tokens_seen

    def delivered(self, sub_id: str) -> list[Any]:
        """The decrypted payloads the subscription's phone would have shown, in order."""
        return [r.payload for r in self.recorder.accepted() if r.token == sub_id]

    def reset(self) -> None:
        self.recorder.clear()
        self.faults = FaultPlan()
        self._per_connection.clear()
        self.vapid_tokens_seen.clear()
        self.vapid_tokens_revoked.clear()

    # -- server -------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_post("/push/{id}", self._push)
        app.router.add_post("/webpush/subscriptions", self._create_subscription)
        app.router.add_get("/webpush/received", self._received)
        app.router.add_get("/webpush/summary", self._summary)
        app.router.add_get("/webpush/faults", self._get_faults)
        app.router.add_put("/webpush/faults", self._put_faults)
        app.router.add_post("/webpush/reset", self._reset)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=ssl_context)
        await site.start()
        server: Any = site._server
        bound = server.sockets[0].getsockname()[1]
        self.url = f"{'https' if ssl_context else 'http'}://{host}:{bound}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- one push -----------------------------------------------------------------------------

    async def _push(self, request: web.Request) -> web.StreamResponse:
        count = self._per_connection.next(id(request.transport))
        plan = self.faults
        if plan.drops(count):
            if request.transport is not None:
                request.transport.abort()  # cut before reading: nothing was processed
            raise asyncio.CancelledError
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        sub_id = request.match_info["id"]
        payload: Any = None
        try:
            subscription = self.subscriptions.get(sub_id)
            if subscription is None:
                raise _Reject(404, "no such subscription")
            self._check_vapid(headers, f"{request.scheme}://{request.host}", subscription)
            _check_headers(headers)
            if len(body) > BODY_LIMIT:
                raise _Reject(413, f"payload of {len(body)} bytes is over {BODY_LIMIT}")
            payload = _decrypt(body, subscription)
            fault = plan.decide(sub_id)
            if fault is not None:
                raise _Reject(*_FAULTS[fault])
        except _Reject as rejected:
            self.recorder.add(
                Received(sub_id, rejected.status, rejected.reason, headers, payload, _key(sub_id, payload))
            )
            response = web.Response(status=rejected.status, text=rejected.reason)
            retry_after = plan.retry_after_header()
            if rejected.status in (429, 503) and retry_after is not None:
                response.headers["Retry-After"] = retry_after
            if plan.closes(count):
                response.force_close()
            await _slow(plan)
            return response
        number = next(self._ids)
        self.recorder.add(Received(sub_id, 201, None, headers, payload, _key(sub_id, payload)))
        response = web.Response(status=201, headers={"Location": f"{self.url}/message/{number}", "TTL": headers["ttl"]})
        if plan.closes(count):
            response.force_close()
        await _slow(plan)
        return response

    def _check_vapid(self, headers: dict[str, str], origin: str, subscription: StandInSubscription) -> None:
        match = VAPID_RE.match(headers.get("authorization", ""))
        if match is None:
            raise _Reject(401, "missing 'Authorization: vapid t=..., k=...'")
        params = dict(part.strip().partition("=")[::2] for part in match.group(1).split(","))
        token, key = params.get("t", ""), params.get("k", "")
        try:
            claims = vapid_jwt.decode(token, key)
        except (InvalidSignature, ValueError):
            raise _Reject(401, "the VAPID token's signature does not verify with its k= key") from None
        if claims.get("aud") != origin:
            raise _Reject(401, f"the VAPID token's aud is {claims.get('aud')!r}, not {origin!r}")
        expires = claims.get("exp")
        now = time.time()
        if not isinstance(expires, int) or expires <= now:
            raise _Reject(401, "the VAPID token has expired")
        if expires > now + MAX_JWT_LIFETIME_S:
            raise _Reject(401, "the VAPID token's exp is more than 24 hours away")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise _Reject(401, "the VAPID token's sub is not a mailto: or https: contact")
        if token in self.vapid_tokens_revoked:
            raise _Reject(401, "the VAPID token is no longer accepted")
        expected = subscription.application_server_key
        if expected is not None and key != expected:
            raise _Reject(403, "the VAPID key is not the one the subscription was made with")
        self.vapid_tokens_seen.add(token)

    # -- control ------------------------------------------------------------------------------

    async def _create_subscription(self, request: web.Request) -> web.Response:
        data = await request.json() if request.can_read_body else {}
        try:
            key = None
            if data.get("private_key"):
                scalar = int.from_bytes(unb64url(str(data["private_key"])), "big")
                key = ec.derive_private_key(scalar, ec.SECP256R1())
            auth = unb64url(str(data["auth"])) if data.get("auth") else None
        except ValueError as exc:
            return web.json_response({"error": f"bad key: {exc}"}, status=422)
        subscription = self.subscribe(
            private_key=key, auth=auth, application_server_key=data.get("application_server_key")
        )
        return web.json_response(subscription.to_json(), status=201)

    async def _received(self, request: web.Request) -> web.Response:
        wanted = request.query.get("subscription")
        items = [r.to_json() for r in self.recorder.received if wanted is None or r.token == wanted]
        return web.json_response(items)

    async def _summary(self, request: web.Request) -> web.Response:
        return web.json_response(self.recorder.summary())

    async def _get_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.faults.to_json())

    async def _put_faults(self, request: web.Request) -> web.Response:
        try:
            self.faults = FaultPlan.from_json(await request.json())
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=422)
        return web.json_response(self.faults.to_json())

    async def _reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"reset": True})


async def _slow(plan: FaultPlan) -> None:
    """A slow push service has taken the push (it is recorded) and answers late: a client that
    gives up first does not know it was accepted."""
    if plan.latency_s:
        await asyncio.sleep(plan.latency_s)


def _check_headers(headers: dict[str, str]) -> None:
    ttl = headers.get("ttl")
    if ttl is None or not ttl.isdigit():
        raise _Reject(400, "the TTL header is missing or not a number of seconds")
    if headers.get("urgency", "normal") not in URGENCIES:
        raise _Reject(400, f"Urgency must be one of {', '.join(sorted(URGENCIES))}")
    topic = headers.get("topic")
    if topic is not None and not TOPIC_RE.match(topic):
        raise _Reject(400, "Topic must be at most 32 characters of the URL-safe base64 alphabet")
    if headers.get("content-encoding") != "aes128gcm":
        raise _Reject(400, "Content-Encoding must be aes128gcm")


def _decrypt(body: bytes, subscription: StandInSubscription) -> Any:
    try:
        plaintext = http_ece.decrypt(
            body, private_key=subscription.private_key, auth_secret=subscription.auth, version="aes128gcm"
        )
    except Exception as exc:  # http_ece raises its own, struct's and cryptography's errors
        raise _Reject(400, f"the payload does not decrypt for this subscription: {exc}") from None
    try:
        return json.loads(plaintext)
    except ValueError:
        return plaintext.decode("utf-8", "replace")


def _key(sub_id: str, payload: Any) -> str:
    """Deliveries count per subscription and message: the same message twice is a duplicate."""
    data = payload.get("data", {}) if isinstance(payload, dict) else {}
    message = data.get("message_id") or data.get("digest_id") or ""
    return f"{sub_id}:{message}"


@dataclass
class RunningStandIn:
    standin: WebPushStandIn
    ca: LocalCa

    @property
    def url(self) -> str:
        return self.standin.url

    async def stop(self) -> None:
        await self.standin.stop()


async def serve_webpush(
    *,
    state_dir: Path | None = None,
    ca: LocalCa | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: FaultPlan | None = None,
) -> RunningStandIn:
    """The stand-in over TLS, as a real push service is https: with a local CA made in
    `state_dir`, or with `ca` (so that several stand-ins, several origins, share one trust)."""
    if ca is None:
        if state_dir is None:
            raise ValueError("give a state_dir for a new local CA, or a ca")
        ca = make_local_ca(state_dir / "tls")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(ca.server_cert_file, ca.server_key_file)
    context.set_alpn_protocols(["http/1.1"])
    standin = WebPushStandIn(faults=faults or FaultPlan())
    await standin.start(host, port, context)
    return RunningStandIn(standin, ca)
