"""An FCM HTTP v1 stand-in: an OAuth token endpoint and `v1/projects/{p}/messages:send`.

It answers like FCM (Google error bodies with `FcmError` details, Retry-After on 429/503),
validates what FCM validates that Vila can get wrong (exactly one target, token format, Android
priority and TTL, data types and reserved keys, the 4 KB payload), records every request, and
injects the faults of its `FaultPlan`. HTTP/1.1: `goaway_after` closes a connection gracefully
after N requests (`Connection: close`), `drop_after` cuts it without an answer.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
import ssl
import time
from typing import Any

import jwt
from aiohttp import web

from tools.standins.faults import Fault, FaultPlan, Received, Recorder, RequestCounter

TOKEN_RE = re.compile(r"^[A-Za-z0-9_:\-]{16,4096}$")
TTL_RE = re.compile(r"^\d+(\.\d{1,9})?s$")
MAX_TTL_S = 28 * 24 * 3600
PAYLOAD_LIMIT = 4096
RESERVED_DATA_KEYS = {"from", "notification", "message_type"}
EMULATOR_ACCESS_TOKEN = "owner"  # noqa: S105 - what firebase-admin's emulator credential sends

_STATUS: dict[Fault, tuple[int, str, str | None]] = {
    "unregistered": (404, "NOT_FOUND", "UNREGISTERED"),
    "quota": (429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"),
    "unavailable": (503, "UNAVAILABLE", "UNAVAILABLE"),
    "internal": (500, "INTERNAL", "INTERNAL"),
    "invalid_argument": (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"),
    "sender_id_mismatch": (403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"),
    "third_party_auth": (401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR"),
}


class _Reject(Exception):
    def __init__(self, status: int, grpc_status: str, fcm_code: str | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.grpc_status = grpc_status
        self.fcm_code = fcm_code
        self.message = message


def error_body(status: int, grpc_status: str, fcm_code: str | None, message: str) -> bytes:
    error: dict[str, Any] = {"code": status, "message": message, "status": grpc_status}
    if fcm_code:
        error["details"] = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code}]
    return json.dumps({"error": error}).encode()


class FcmEmulator:
    def __init__(self, *, project_id: str = "vila-local", faults: FaultPlan | None = None) -> None:
        self.project_id = project_id
        self.faults = faults or FaultPlan()
        self.recorder = Recorder()
        self.access_tokens: set[str] = {EMULATOR_ACCESS_TOKEN}
        self.token_requests = 0
        self._ids = itertools.count(1)
        self._per_connection = RequestCounter()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- server ----------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_post("/token", self._token)
        app.router.add_post("/v1/projects/{project}/messages:send", self._send)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=ssl_context)
        await site.start()
        server: Any = site._server
        bound = server.sockets[0].getsockname()[1]
        scheme = "https" if ssl_context else "http"
        self.url = f"{scheme}://{host}:{bound}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def reset(self) -> None:
        self.recorder.clear()
        self.faults = FaultPlan()
        self._per_connection.clear()

    # -- OAuth -----------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        assertion = str(form.get("assertion", ""))
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return web.json_response({"error": "invalid_grant"}, status=400)
        scope = str(claims.get("scope", ""))
        if not claims.get("iss") or ("firebase" not in scope and "cloud-platform" not in scope):
            return web.json_response({"error": "invalid_scope"}, status=400)
        if float(claims.get("exp", 0)) < time.time():
            return web.json_response({"error": "invalid_grant", "error_description": "expired"}, status=400)
        token = f"ya29.emulator-{secrets.token_urlsafe(16)}"
        self.access_tokens.add(token)
        self.token_requests += 1
        return web.json_response({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    # -- messages:send ---------------------------------------------------------------------

    async def _send(self, request: web.Request) -> web.StreamResponse:
        count = self._per_connection.next(id(request.transport))
        plan = self.faults
        if plan.drops(count):
            # Cut the connection before reading the request: nothing was processed.
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError

        raw = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        token, payload = "", None
        try:
            self._check_auth(headers)
            if request.match_info["project"] != self.project_id:
                raise _Reject(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", "Permission denied on the project")
            payload = _parse(raw)
            token = _validate(payload)
            fault = plan.decide(token)
            if fault is not None:
                status, grpc_status, code = _STATUS[fault]
                raise _Reject(status, grpc_status, code, f"Injected fault: {fault}")
        except _Reject as rejected:
            self.recorder.add(
                Received(token, rejected.status, rejected.fcm_code or rejected.grpc_status, headers, payload, key=token)
            )
            response = web.Response(
                status=rejected.status,
                body=error_body(rejected.status, rejected.grpc_status, rejected.fcm_code, rejected.message),
                content_type="application/json",
            )
            retry_after = plan.retry_after_header()
            if rejected.status in (429, 503) and retry_after is not None:
                response.headers["Retry-After"] = retry_after
            self._maybe_close(response, count)
            await self._slow(plan)
            return response

        name = f"projects/{self.project_id}/messages/{next(self._ids)}"
        self.recorder.add(Received(token, 200, None, headers, payload, key=token))
        response = web.json_response({"name": name})
        self._maybe_close(response, count)
        await self._slow(plan)
        return response

    @staticmethod
    async def _slow(plan: FaultPlan) -> None:
        """A slow provider has taken the request (it is recorded) and answers late: a client that
        gives up first does not know it was accepted."""
        if plan.latency_s:
            await asyncio.sleep(plan.latency_s)

    def _maybe_close(self, response: web.StreamResponse, count: int) -> None:
        if self.faults.closes(count):
            response.force_close()

    def _check_auth(self, headers: dict[str, str]) -> None:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.access_tokens:
            raise _Reject(401, "UNAUTHENTICATED", None, "Request had invalid authentication credentials.")


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError:
        raise _Reject(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid JSON payload") from None
    if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
        raise _Reject(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Missing message")
    return body


def _invalid(message: str) -> _Reject:
    return _Reject(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", message)


def _validate(body: dict[str, Any]) -> str:
    message = body["message"]
    targets = [t for t in ("token", "fid", "topic", "condition") if message.get(t)]
    if len(targets) != 1:
        raise _invalid("Exactly one of token, fid, topic or condition is required")
    token = str(message[targets[0]])
    if targets[0] in ("token", "fid") and not TOKEN_RE.match(token):
        raise _invalid("The registration token is not a valid FCM registration token")
    data = message.get("data") or {}
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise _invalid("data must map strings to strings")
    for key in data:
        if key in RESERVED_DATA_KEYS or key.startswith(("google.", "gcm.")):
            raise _invalid(f"Invalid data key: {key}")
    android = message.get("android") or {}
    if android.get("priority") not in (None, "normal", "high"):
        raise _invalid("Invalid value at 'message.android.priority'")
    ttl = android.get("ttl")
    if ttl is not None and (not TTL_RE.match(ttl) or float(ttl[:-1]) > MAX_TTL_S):
        raise _invalid("Invalid value at 'message.android.ttl'")
    apns_headers = (message.get("apns") or {}).get("headers") or {}
    if apns_headers.get("apns-priority") not in (None, "1", "5", "10"):
        raise _invalid("Invalid APNs priority")
    counted = {
        "notification": message.get("notification"),
        "data": data,
        "android": {"notification": android.get("notification")},
    }
    size = len(json.dumps(counted, ensure_ascii=False, separators=(",", ":")).encode())
    if size > PAYLOAD_LIMIT:
        raise _invalid(f"Message is too big ({size} bytes, limit {PAYLOAD_LIMIT})")
    return token
