"""FCM HTTP v1 transport: firebase-admin for credentials, message model, encoding and error types;
a lean HTTP/1.1 keep-alive client (`http1.py`) for the wire.

Why not `messaging.send_each_async` (about 500-740 msg/s here; docs/benchmarks.md has the profile):
it sends each message as its own request through httpx with HTTP/2, and per message pays
- httpcore's `current_async_library()`, which tries `import sniffio` for every lock it makes; with
  no sniffio installed (anyio 4 no longer needs it) each failed import walks sys.path again;
- httpcore's pool, which re-scans its whole request queue each time it assigns one request: with
  500 queued, quadratic work per batch;
- a deep copy of firebase-admin's retry configuration, an auth flow, and pure-Python HTTP/2
  (h2/hpack) framing, all funnelled through one connection;
and it takes at most 500 messages per call. HTTP/1.1 keep-alive over a sized set of connections,
one request in flight per connection, costs a fraction of that per message, and a server closing
connections (FCM does) costs one reconnect instead of failing streams.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import firebase_admin
import google.auth.credentials
import google.auth.transport
import google.auth.transport.requests
import httpx
import requests
from firebase_admin import _utils as firebase_utils
from firebase_admin import credentials as firebase_credentials
from firebase_admin import exceptions as firebase_exceptions
from firebase_admin import messaging

from kernel.clock import Clock, SystemClock
from notify.transports import mapping
from notify.transports.base import (
    PermanentFailure,
    PushRequest,
    PushResult,
    Sent,
    TokenInvalid,
    TransientFailure,
)
from notify.transports.config import FcmSettings
from notify.transports.http1 import ConnectFailed, Disconnected, Http1Client, ResponseError
from notify.transports.proxy import Proxy
from notify.transports.retry import RetryStats, parse_retry_after, send_with_retries

_TRANSIENT_ERRORS = (
    messaging.QuotaExceededError,
    firebase_exceptions.UnavailableError,
    firebase_exceptions.InternalError,
    firebase_exceptions.DeadlineExceededError,
    firebase_exceptions.ResourceExhaustedError,
    firebase_exceptions.UnauthenticatedError,
)


_PLACEHOLDER_TOKEN = "vila-placeholder-token-5f0c1c1e"  # noqa: S105 - not a secret
_TEMPLATE_CACHE_SIZE = 1024
# The data fields that differ from one push to the next where the rest is the same: a digest's
# id (and the message id the push names, which is the digest's). They get placeholders too.
_PER_PUSH = ("message_id", "digest_id")
_PLACEHOLDER = {name: f"vila-placeholder-{name}-5f0c1c1e" for name in _PER_PUSH}
_HOLES = re.compile(rb'"(vila-placeholder-(?:token|message_id|digest_id)-5f0c1c1e)"')


def load_credential(
    settings: FcmSettings,
) -> tuple[google.auth.credentials.Credentials, str]:
    """The Google credential and the project id, as firebase-admin would load them."""
    if settings.credentials == "emulator":
        # What firebase-admin uses against its own emulators: a fixed token, no Google auth.
        return firebase_utils.EmulatorAdminCredentials(), settings.project_id
    if settings.credentials == "service_account":
        if settings.credentials_file is None:
            raise ValueError("VILA_FCM_CREDENTIALS_FILE is required for service_account")
        cert = firebase_credentials.Certificate(str(settings.credentials_file))
        return cert.get_credential(), settings.project_id or cert.project_id
    adc = firebase_credentials.ApplicationDefault()
    project = settings.project_id or adc.project_id
    if not project:
        raise ValueError("VILA_FCM_PROJECT_ID is required with application default credentials")
    return adc.get_credential(), project


class _ProxiedTokenRequest(google.auth.transport.Request):
    """google-auth's `requests` transport, through the push proxy unless the token endpoint's host
    bypasses it. The endpoint is known only per call (a service account's token URI, the metadata
    server for application default credentials), hence the choice per call."""

    def __init__(self, proxy: Proxy, *, ca_file: Path | None) -> None:
        self._proxy = proxy
        proxied = requests.Session()
        proxied.trust_env = False  # VILA_PUSH_PROXY decides, not HTTPS_PROXY
        proxied.proxies = {"http": proxy.url, "https": proxy.url}
        direct = requests.Session()
        direct.trust_env = False
        if ca_file is not None:
            proxied.verify = direct.verify = str(ca_file)
        self._proxied = google.auth.transport.requests.Request(proxied)
        self._direct = google.auth.transport.requests.Request(direct)

    def __call__(self, url: str, *args: Any, **kwargs: Any) -> google.auth.transport.Response:
        host = urlsplit(url).hostname or ""
        chosen = self._proxied if self._proxy.applies_to(host) else self._direct
        response: google.auth.transport.Response = chosen(url, *args, **kwargs)
        return response

    def close(self) -> None:
        self._proxied.session.close()
        self._direct.session.close()


def token_transport(proxy: Proxy | None, *, ca_file: Path | None = None) -> google.auth.transport.Request:
    """How the OAuth access token is fetched: through `proxy` when one is set; otherwise
    google-auth's default (`requests`, which itself honours HTTPS_PROXY and NO_PROXY). `ca_file`
    (VILA_FCM_CA_FILE) is the trust for the token endpoint as for the FCM endpoint."""
    if proxy is not None:
        return _ProxiedTokenRequest(proxy, ca_file=ca_file)
    if ca_file is None:
        return google.auth.transport.requests.Request()
    session = requests.Session()
    session.verify = str(ca_file)
    return google.auth.transport.requests.Request(session)


def classify_error(status: int, headers: Mapping[str, str], body: bytes, *, url: str, clock: Clock) -> PushResult:
    """Map an FCM error response to a result through firebase-admin's own error mapping."""
    request = httpx.Request("POST", url)
    response = httpx.Response(status, headers=list(headers.items()), content=body, request=request)
    error = httpx.HTTPStatusError(f"HTTP {status}", request=request, response=response)
    exc = firebase_utils.handle_platform_error_from_httpx(error, messaging._MessagingService._build_fcm_error_httpx)
    reason = f"{_fcm_error_code(body) or exc.code}: {str(exc)[:200]}"
    if isinstance(exc, messaging.UnregisteredError):
        return TokenInvalid(reason)
    if isinstance(exc, _TRANSIENT_ERRORS) or status >= 500:
        retry_after = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
        return TransientFailure(reason, parse_retry_after(retry_after, clock=clock))
    return PermanentFailure(reason)


def _fcm_error_code(body: bytes) -> str | None:
    try:
        details = json.loads(body).get("error", {}).get("details", [])
    except (ValueError, AttributeError):
        return None
    for detail in details:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    return None


class FcmTransport:
    def __init__(
        self,
        settings: FcmSettings,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock or SystemClock()
        self._rng = rng
        self._policy = settings.retry_policy
        self._proxy = settings.proxy_config
        self._credential, project_id = load_credential(settings)
        self._token_transport = token_transport(self._proxy, ca_file=settings.ca_file)
        self.url = f"{settings.endpoint.rstrip('/')}/v1/projects/{project_id}/messages:send"
        self._path = urlsplit(self.url).path
        self.stats = RetryStats()
        self._client: Http1Client | None = None
        self._free_slots: asyncio.Queue[int] | None = None
        self._token_lock: asyncio.Lock | None = None
        self._token_stale = False
        self._closed = False
        self._templates: dict[tuple[object, ...], list[bytes]] = {}

    def encode(self, request: PushRequest) -> bytes:
        """The request body, built and validated by firebase-admin.

        A broadcast sends one message to many devices, and only the token differs between their
        bodies; a release sends a digest of the same messages to many people, and only the token
        and the digest's id differ. firebase-admin builds and validates the body once per distinct
        content, with placeholders that are then swapped for each push's (JSON-escaped) values.
        """
        if not request.token:
            raise ValueError("Message.token must be a non-empty string")
        w = mapping.wire(
            request,
            now=self._clock.now(),
            critical_alerts_entitled=self._settings.critical_alerts_entitled,
        )
        key = (
            request.platform,
            w.level,
            w.apns_priority,
            w.fcm_priority,
            w.channel,
            w.ttl_s,
            w.collapse_key,
            w.title,
            w.body,
            tuple((k, None if k in _PER_PUSH else v) for k, v in w.data.items()),
            w.thread_id,
            w.badge,
            w.sensitive,
        )
        template = self._templates.get(key)
        if template is None:
            placeholder = replace(request, token=_PLACEHOLDER_TOKEN)
            data = {k: _PLACEHOLDER[k] if k in _PER_PUSH else v for k, v in w.data.items()}
            body = mapping.fcm_body(mapping.fcm_message(placeholder, replace(w, data=data)))
            template = _HOLES.split(json.dumps(body, separators=(",", ":")).encode())
            if len(self._templates) >= _TEMPLATE_CACHE_SIZE:
                self._templates.pop(next(iter(self._templates)))
            self._templates[key] = template
        values = {_PLACEHOLDER_TOKEN: request.token, **{_PLACEHOLDER[k]: w.data[k] for k in _PER_PUSH if k in w.data}}
        # split() leaves the text between the holes at even places and each hole's name at odd ones.
        return b"".join(
            part if i % 2 == 0 else json.dumps(values[part.decode()]).encode() for i, part in enumerate(template)
        )

    async def send(self, batch: Sequence[PushRequest]) -> list[PushResult]:
        if self._closed:
            raise RuntimeError("FcmTransport is closed")
        results: list[PushResult | None] = [None] * len(batch)
        bodies: dict[int, bytes] = {}
        todo: list[PushRequest] = []
        for i, request in enumerate(batch):
            try:
                bodies[id(request)] = self.encode(request)
                todo.append(request)
            except ValueError as exc:
                results[i] = PermanentFailure(f"INVALID_ARGUMENT: {exc}", attempts=0)
        if not todo:
            return [r for r in results if r is not None]

        async def attempt(items: Sequence[PushRequest]) -> list[PushResult]:
            return await self._attempt([bodies[id(r)] for r in items])

        sent = iter(
            await send_with_retries(
                todo,
                attempt,
                policy=self._policy,
                stats=self.stats,
                provider="fcm",
                rng=self._rng,
            )
        )
        return [r if r is not None else next(sent) for r in results]

    async def _attempt(self, bodies: Sequence[bytes]) -> list[PushResult]:
        client, free_slots = self._ensure_client()
        headers = {
            "Authorization": f"Bearer {await self._access_token()}",
            "Content-Type": "application/json; charset=UTF-8",
            "X-GOOG-API-FORMAT-VERSION": "2",
            "X-FIREBASE-CLIENT": f"fire-admin-python/{firebase_admin.__version__}",
        }
        head = client.request_head("POST", self._path, headers)
        results: list[PushResult] = [TransientFailure("not attempted")] * len(bodies)
        positions = iter(range(len(bodies)))

        async def worker() -> None:
            slot = await free_slots.get()  # a connection of our own while this worker runs
            try:
                for i in positions:
                    results[i] = await self._post(client, slot, client.with_body(head, bodies[i]))
            finally:
                free_slots.put_nowait(slot)

        workers = min(len(bodies), self._settings.connections)
        await asyncio.gather(*(worker() for _ in range(workers)))
        return results

    async def _post(self, client: Http1Client, slot: int, data: bytes) -> PushResult:
        try:
            response = await client.request(slot, data, timeout=self._settings.timeout_s)
        except TimeoutError:
            return TransientFailure("DEADLINE_EXCEEDED: no answer in time", uncertain=True)
        except ConnectFailed as exc:
            return TransientFailure(f"UNAVAILABLE: {exc}")
        except Disconnected as exc:
            return TransientFailure(f"UNAVAILABLE: {exc}")
        except ResponseError as exc:
            return TransientFailure(f"UNKNOWN: {exc}")
        if response.status == 200:
            try:
                return Sent(str(json.loads(response.body).get("name", "")))
            except (ValueError, AttributeError):
                return Sent("")
        if response.status == 401:
            self._token_stale = True
        return classify_error(response.status, response.headers, response.body, url=self.url, clock=self._clock)

    def _ensure_client(self) -> tuple[Http1Client, asyncio.Queue[int]]:
        if self._client is None or self._free_slots is None:
            context = None
            if self._settings.ca_file is not None:
                context = ssl.create_default_context(cafile=str(self._settings.ca_file))
            self._client = Http1Client(
                self.url, slots=self._settings.connections, ssl_context=context, proxy=self._proxy
            )
            self._free_slots = asyncio.Queue()
            for slot in range(self._settings.connections):
                self._free_slots.put_nowait(slot)
        return self._client, self._free_slots

    async def _access_token(self) -> str:
        if self._token_lock is None:
            self._token_lock = asyncio.Lock()
        async with self._token_lock:
            credential: Any = self._credential
            if self._token_stale or not credential.valid:
                # google-auth refreshes synchronously over `requests`; keep it off the loop.
                await asyncio.to_thread(credential.refresh, self._token_transport)
                self._token_stale = False
            return str(credential.token)

    async def aclose(self) -> None:
        self._closed = True
        if isinstance(self._token_transport, _ProxiedTokenRequest):
            self._token_transport.close()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
