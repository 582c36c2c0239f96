"""An APNs stand-in: HTTP/2 over TLS (ALPN h2) with a local CA, `apns-id` echoed.

It checks what APNs checks (path and device token, apns-id, topic, push type against payload,
priority, expiration, collapse id, the 4 KB payload, the provider token or client certificate),
records every request and answers with Apple's status codes and reasons. Faults come from its
`FaultPlan`; `goaway_after` ends a connection the HTTP/2 way after N requests: it answers those,
sends GOAWAY naming the last stream it processed, and closes; later streams were not processed and
may be sent again. `expire_provider_tokens()` makes every JWT issued until now expired, and
`provider_tokens` lists the distinct tokens seen, so a test can count JWT refreshes.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import ssl
import time
import uuid
from typing import Any, cast

import jwt
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RequestReceived,
    StreamEnded,
    StreamReset,
)
from h2.exceptions import ProtocolError
from h2.settings import SettingCodes

from tools.standins.faults import Fault, FaultPlan, Received, Recorder

TOKEN_RE = re.compile(r"^(?:[0-9a-fA-F]{2}){32,100}$")
PUSH_TYPES = {
    "alert",
    "background",
    "voip",
    "complication",
    "fileprovider",
    "mdm",
    "liveactivity",
    "location",
    "pushtotalk",
    "widgets",
    "controls",
}
PAYLOAD_LIMIT = 4096
TOKEN_MAX_AGE_S = 3600
TOKEN_UPDATE_MIN_INTERVAL_S = 20 * 60

_FAULTS: dict[Fault, tuple[int, str]] = {
    "unregistered": (410, "Unregistered"),
    "quota": (429, "TooManyRequests"),
    "unavailable": (503, "ServiceUnavailable"),
    "internal": (500, "InternalServerError"),
    "invalid_argument": (400, "BadDeviceToken"),
    "sender_id_mismatch": (400, "DeviceTokenNotForTopic"),
    "third_party_auth": (403, "InvalidProviderToken"),
}


class _Reject(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class ApnsEmulator:
    def __init__(
        self,
        *,
        topic: str = "se.vila.app",
        faults: FaultPlan | None = None,
        max_concurrent_streams: int = 500,
    ) -> None:
        self.topic = topic
        self.faults = faults or FaultPlan()
        self.recorder = Recorder()
        self.max_concurrent_streams = max_concurrent_streams
        self.provider_tokens: list[str] = []
        self.tokens_not_before = 0.0
        self.connections_opened = 0
        self._server: asyncio.base_events.Server | None = None
        self._protocols: set[_ApnsServerProtocol] = set()
        self.url = ""

    async def start(self, host: str, port: int, ssl_context: ssl.SSLContext) -> str:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _ApnsServerProtocol(self), host, port, ssl=ssl_context)
        bound = self._server.sockets[0].getsockname()[1]
        self.url = f"https://{host}:{bound}"
        return self.url

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for protocol in list(self._protocols):
                protocol.abort()
            await self._server.wait_closed()
            self._server = None

    def reset(self) -> None:
        self.recorder.clear()
        self.faults = FaultPlan()
        self.provider_tokens.clear()
        self.tokens_not_before = 0.0

    def expire_provider_tokens(self) -> None:
        """From now on, APNs calls every token issued so far expired."""
        self.tokens_not_before = time.time()

    # -- one request -----------------------------------------------------------------------

    def answer(
        self, headers: dict[str, str], body: bytes, client_topic: str | None
    ) -> tuple[int, str | None, str, str, Any]:
        """(status, reason, apns-id, token, payload) for one request."""
        apns_id = headers.get("apns-id") or str(uuid.uuid4()).upper()
        token, payload = "", None
        try:
            if headers.get(":method") != "POST":
                raise _Reject(405, "MethodNotAllowed")
            path = headers.get(":path", "")
            if not path.startswith("/3/device/"):
                raise _Reject(404, "BadPath")
            token = path.removeprefix("/3/device/")
            if not token:
                raise _Reject(400, "MissingDeviceToken")
            if "apns-id" in headers:
                try:
                    uuid.UUID(headers["apns-id"])
                except ValueError:
                    raise _Reject(400, "BadMessageId") from None
            self._check_auth(headers, client_topic)
            topic = headers.get("apns-topic") or client_topic
            if not topic:
                raise _Reject(400, "MissingTopic")
            if topic != self.topic:
                raise _Reject(400, "DeviceTokenNotForTopic" if client_topic is None else "TopicDisallowed")
            if not TOKEN_RE.match(token):
                raise _Reject(400, "BadDeviceToken")
            push_type = headers.get("apns-push-type")
            if push_type not in PUSH_TYPES:
                raise _Reject(400, "InvalidPushType")
            priority = headers.get("apns-priority", "10")
            if priority not in ("1", "5", "10"):
                raise _Reject(400, "BadPriority")
            expiration = headers.get("apns-expiration")
            if expiration is not None and not expiration.isdigit():
                raise _Reject(400, "BadExpirationDate")
            if len(headers.get("apns-collapse-id", "").encode()) > 64:
                raise _Reject(400, "BadCollapseId")
            if not body:
                raise _Reject(400, "PayloadEmpty")
            if len(body) > PAYLOAD_LIMIT:
                raise _Reject(413, "PayloadTooLarge")
            try:
                payload = json.loads(body)
            except ValueError:
                raise _Reject(400, "BadPayload") from None
            aps = payload.get("aps") if isinstance(payload, dict) else None
            if not isinstance(aps, dict):
                raise _Reject(400, "BadPayload")
            _check_push_type(push_type, priority, aps)
            fault = self.faults.decide(token)
            if fault is not None:
                raise _Reject(*_FAULTS[fault])
        except _Reject as rejected:
            return rejected.status, rejected.reason, apns_id, token, payload
        return 200, None, apns_id, token, payload

    def _check_auth(self, headers: dict[str, str], client_topic: str | None) -> None:
        auth = headers.get("authorization")
        if auth is None:
            if client_topic is None:
                raise _Reject(403, "MissingProviderToken")
            return
        if not auth.lower().startswith("bearer "):
            raise _Reject(403, "InvalidProviderToken")
        token = auth[7:]
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _Reject(403, "InvalidProviderToken") from None
        if header.get("alg") != "ES256" or not header.get("kid") or not claims.get("iss"):
            raise _Reject(403, "InvalidProviderToken")
        issued = float(claims.get("iat", 0))
        # iat has whole seconds: a token from the second of the expiry call counts as new.
        if issued < math.floor(self.tokens_not_before) or issued < time.time() - TOKEN_MAX_AGE_S:
            raise _Reject(403, "ExpiredProviderToken")
        if token not in self.provider_tokens:
            self.provider_tokens.append(token)


def _check_push_type(push_type: str, priority: str, aps: dict[str, Any]) -> None:
    if push_type == "alert" and not any(k in aps for k in ("alert", "badge", "sound")):
        raise _Reject(400, "InvalidPushType")
    if push_type == "background":
        if priority != "5":
            raise _Reject(400, "BadPriority")
        if aps.get("content-available") != 1 or "alert" in aps:
            raise _Reject(400, "InvalidPushType")
    level = aps.get("interruption-level")
    if level is not None and level not in ("passive", "active", "time-sensitive", "critical"):
        raise _Reject(400, "BadPayload")


class _ApnsServerProtocol(asyncio.Protocol):
    def __init__(self, emulator: ApnsEmulator) -> None:
        self.emulator = emulator
        self.conn = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        self.transport: asyncio.Transport | None = None
        self.streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        self.client_topic: str | None = None
        self.handled = 0
        self.pending = 0
        self.draining = False
        self.last_stream = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport; uvloop's do not subclass asyncio.Transport, so no isinstance check.
        self.transport = cast(asyncio.Transport, transport)
        self.emulator._protocols.add(self)
        self.emulator.connections_opened += 1
        peer = transport.get_extra_info("peercert")
        if peer:
            for rdn in peer.get("subject", ()):
                for key, value in rdn:
                    if key == "userId":
                        self.client_topic = value
        self.conn.initiate_connection()
        self.conn.update_settings(
            {
                SettingCodes.MAX_CONCURRENT_STREAMS: self.emulator.max_concurrent_streams,
                SettingCodes.INITIAL_WINDOW_SIZE: 1 << 20,
            }
        )
        # Like APNs, a large connection window: many pushes in flight at once.
        self.conn.increment_flow_control_window(1 << 24)
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.emulator._protocols.discard(self)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def flush(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(self.conn.data_to_send())

    def data_received(self, data: bytes) -> None:
        try:
            events = self.conn.receive_data(data)
        except ProtocolError:
            self.flush()
            self.abort()
            return
        for event in events:
            if isinstance(event, RequestReceived):
                headers = {str(k): str(v) for k, v in event.headers or ()}
                self.streams[event.stream_id] = (headers, bytearray())
            elif isinstance(event, DataReceived):
                if event.stream_id in self.streams and event.data:
                    self.streams[event.stream_id][1].extend(event.data)
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, StreamEnded):
                self.request_complete(event.stream_id)
            elif isinstance(event, StreamReset):
                self.streams.pop(event.stream_id, None)
            elif isinstance(event, ConnectionTerminated):
                self.abort()
                return
        self.flush()

    def request_complete(self, stream_id: int) -> None:
        headers, body = self.streams.pop(stream_id, ({}, bytearray()))
        if self.draining:
            return  # after the cut-off: not processed, the client sends it again elsewhere
        self.handled += 1
        self.pending += 1
        self.last_stream = max(self.last_stream, stream_id)
        limit = self.emulator.faults.goaway_after
        if limit is not None and self.handled >= limit:
            self.draining = True
        status, reason, apns_id, token, payload = self.emulator.answer(headers, bytes(body), self.client_topic)
        self.emulator.recorder.add(Received(token, status, reason, headers, payload, key=apns_id.lower()))
        latency = self.emulator.faults.latency_s
        if latency:
            asyncio.get_running_loop().call_later(latency, self.respond, stream_id, status, reason, apns_id)
        else:
            self.respond(stream_id, status, reason, apns_id)

    def respond(self, stream_id: int, status: int, reason: str | None, apns_id: str) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.pending -= 1
        headers = [(":status", str(status)), ("apns-id", apns_id)]
        try:
            if reason is None:
                self.conn.send_headers(stream_id, headers, end_stream=True)
            else:
                data: dict[str, Any] = {"reason": reason}
                if status == 410:
                    data["timestamp"] = int(time.time() * 1000)
                body = json.dumps(data).encode()
                headers += [("content-type", "application/json"), ("content-length", str(len(body)))]
                self.conn.send_headers(stream_id, headers)
                self.conn.send_data(stream_id, body, end_stream=True)
        except ProtocolError:
            pass
        if self.draining and self.pending == 0:
            self.conn.close_connection(ErrorCodes.NO_ERROR, last_stream_id=self.last_stream)
            self.flush()
            if self.transport is not None:
                self.transport.close()
            return
        self.flush()
