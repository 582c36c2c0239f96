"""How a Vila delivery looks on the wire: ONE table from (kind, priority) to provider fields.

    kind     priority   APNs prio  loudest level    FCM Android  Web Push Urgency  channel          default TTL
    message  info       5          passive          normal       low               vila_info        3 d
    message  normal     10         active           high         normal            vila_normal      1 d
    message  urgent     10         time-sensitive   high         high              vila_urgent      4 h
    message  emergency  10         critical (*)     high         high              vila_emergency   4 h
    digest   (any)      5          passive          normal       normal            vila_digest      1 d
    recall   (any)      5          passive          normal       normal            vila_info        1 d

- The decision's interruption level is used as given, but never louder than the row allows; a
  passive push is sent with APNs priority 5, FCM priority normal and Web Push Urgency at most
  normal whatever the row says, so `info` and digests are never high priority.
- Web Push (RFC 8030): `TTL` is the TTL below, `Topic` (a push service keeps only the newest
  message per topic) is derived from the collapse identifier below.
  The payload is JSON for the staff app's service worker: a passive push is a `silent`
  notification, a time-sensitive or critical one stays until the person dismisses it, and a
  message that asks for an acknowledgement carries a "Kvittera" action. The push service limits
  the encrypted body to 4,096 bytes.
- (*) `critical` only when the configuration says the iOS app holds Apple's critical-alert
  entitlement; otherwise `time-sensitive`.
- `apns-push-type` is `alert` for every row: each push shows a notification.
- TTL: until `expires_at` when the delivery has one (at most FCM's 28 days), else the row's.
- Collapse: every push carries one, so a resend replaces rather than stacks: the sender's collapse
  key when given, else the message id (APNs `apns-collapse-id`, FCM Android `collapse_key` and
  notification `tag`, Web Push `Topic` and the notification's `tag`); digests collapse on
  `vila-digest` so only the newest digest stays on the lock screen.
- Sensitive deliveries are content-free: a neutral text in the recipient's language and the
  message id; the app fetches the text from Vila. Title, body, data, thread and the sender's
  collapse key stay home; the message id is the collapse identifier.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal
from uuid import UUID

from firebase_admin import messaging

from kernel.errors import PayloadTooLarge
from kernel.i18n import text
from notify.transports.base import InterruptionLevel, Kind, Priority, PushRequest

PAYLOAD_LIMIT_BYTES: Final = 4096
FCM_MAX_TTL: Final = timedelta(days=28)
DIGEST_COLLAPSE_KEY: Final = "vila-digest"
APNS_COLLAPSE_ID_MAX_BYTES: Final = 64
# An aes128gcm body (RFC 8188, RFC 8291) of one record: salt (16), record size (4), key id length
# (1), the sender's public key (65), then the payload, its padding delimiter (1) and the tag (16).
WEBPUSH_RECORD_OVERHEAD: Final = 16 + 4 + 1 + 65 + 1 + 16
WEBPUSH_TOPIC_MAX: Final = 32

Urgency = Literal["very-low", "low", "normal", "high"]
_URGENCY_RANK: Final[dict[Urgency, int]] = {"very-low": 0, "low": 1, "normal": 2, "high": 3}

ApnsLevel = Literal["passive", "active", "time-sensitive", "critical"]
_LOUDNESS: Final[dict[InterruptionLevel, int]] = {
    "passive": 0,
    "active": 1,
    "time_sensitive": 2,
    "critical": 3,
}


@dataclass(frozen=True, slots=True)
class Row:
    apns_priority: int
    loudest: InterruptionLevel
    fcm_priority: Literal["normal", "high"]
    urgency: Urgency
    channel: str
    ttl: timedelta


TABLE: Final[dict[tuple[Kind, Priority], Row]] = {
    ("message", "info"): Row(5, "passive", "normal", "low", "vila_info", timedelta(days=3)),
    ("message", "normal"): Row(10, "active", "high", "normal", "vila_normal", timedelta(days=1)),
    ("message", "urgent"): Row(10, "time_sensitive", "high", "high", "vila_urgent", timedelta(hours=4)),
    ("message", "emergency"): Row(10, "critical", "high", "high", "vila_emergency", timedelta(hours=4)),
    **{
        ("digest", p): Row(5, "passive", "normal", "normal", "vila_digest", timedelta(days=1))
        for p in ("info", "normal", "urgent", "emergency")
    },
    # A recall notice replaces the recalled push (same collapse identifier) without a sound.
    **{
        ("recall", p): Row(5, "passive", "normal", "normal", "vila_info", timedelta(days=1))
        for p in ("info", "normal", "urgent", "emergency")
    },
}


@dataclass(frozen=True, slots=True)
class Wire:
    """The provider-neutral result of the table for one delivery."""

    level: InterruptionLevel
    apns_priority: int
    fcm_priority: Literal["normal", "high"]
    urgency: Urgency
    channel: str
    ttl_s: int
    collapse_key: str
    title: str
    body: str
    data: dict[str, str]
    thread_id: str | None
    badge: int | None
    sensitive: bool

    @property
    def apns_level(self) -> ApnsLevel:
        return "time-sensitive" if self.level == "time_sensitive" else self.level


def wire(request: PushRequest, *, now: datetime, critical_alerts_entitled: bool) -> Wire:
    row = TABLE[(request.kind, request.priority)]
    level = request.interruption_level
    if _LOUDNESS[level] > _LOUDNESS[row.loudest]:
        level = row.loudest
    if level == "critical" and not critical_alerts_entitled:
        level = "time_sensitive"
    passive = level == "passive"

    ttl = row.ttl
    if request.expires_at is not None:
        ttl = min(request.expires_at - now, FCM_MAX_TTL)
    ttl_s = max(0, int(ttl.total_seconds()))

    # Every push collapses: a resend of the same message replaces it on the device, never stacks.
    collapse = request.collapse_key or (DIGEST_COLLAPSE_KEY if request.kind == "digest" else request.message_id)

    if request.sensitive:
        title, body = (
            text("notice.content_free.title", request.language),
            text("notice.content_free.body", request.language),
        )
        data = {"message_id": request.message_id}
        thread_id, collapse = None, request.message_id  # the sender's key stays home; the id is sent anyway
    else:
        title, body = request.title, request.body
        data = {**request.data, "message_id": request.message_id}
        thread_id = request.thread_id
    return Wire(
        level=level,
        apns_priority=5 if passive else row.apns_priority,
        fcm_priority="normal" if passive else row.fcm_priority,
        urgency=min(row.urgency, "normal", key=_URGENCY_RANK.__getitem__) if passive else row.urgency,
        channel=row.channel,
        ttl_s=ttl_s,
        collapse_key=collapse,
        title=title,
        body=body,
        data=data,
        thread_id=thread_id,
        badge=request.badge,
        sensitive=request.sensitive,
    )


# --- APNs -------------------------------------------------------------------------------------


def collapse_id(key: str) -> str:
    """APNs takes at most 64 bytes."""
    return key.encode()[:APNS_COLLAPSE_ID_MAX_BYTES].decode(errors="ignore")


def apns_payload(w: Wire) -> dict[str, Any]:
    aps: dict[str, Any] = {
        "alert": {"title": w.title, "body": w.body},
        "interruption-level": w.apns_level,
    }
    if w.level == "critical":
        aps["sound"] = {"critical": 1, "name": "default", "volume": 1.0}
    elif w.level != "passive":
        aps["sound"] = "default"
    if w.badge is not None:
        aps["badge"] = w.badge
    if w.thread_id:
        aps["thread-id"] = w.thread_id
    if w.sensitive:
        # Lets the app's notification service extension fetch the text from Vila.
        aps["mutable-content"] = 1
    return {"aps": aps, **w.data}


def apns_headers(w: Wire, *, now: datetime) -> dict[str, str]:
    """The headers APNs sees, besides apns-id, apns-topic and authorization."""
    headers = {
        "apns-push-type": "alert",
        "apns-priority": str(w.apns_priority),
        "apns-expiration": str(int(now.timestamp()) + w.ttl_s),
    }
    if w.collapse_key:
        headers["apns-collapse-id"] = collapse_id(w.collapse_key)
    return headers


# --- FCM --------------------------------------------------------------------------------------


def fcm_message(request: PushRequest, w: Wire) -> messaging.Message:
    """A firebase-admin `Message` for one delivery (Android, web, or iOS through FCM)."""
    android = apns = webpush = None
    if request.platform == "android":
        android = messaging.AndroidConfig(
            priority=w.fcm_priority,
            ttl=w.ttl_s,
            collapse_key=w.collapse_key,
            notification=messaging.AndroidNotification(channel_id=w.channel, tag=w.collapse_key),
        )
    elif request.platform == "ios":
        ios_headers = {
            "apns-push-type": "alert",
            "apns-priority": str(w.apns_priority),
        }
        if w.collapse_key:
            ios_headers["apns-collapse-id"] = collapse_id(w.collapse_key)
        sound: Any = None
        if w.level == "critical":
            sound = messaging.CriticalSound("default", critical=True, volume=1.0)
        elif w.level != "passive":
            sound = "default"
        apns = messaging.APNSConfig(
            headers=ios_headers,
            payload=messaging.APNSPayload(
                aps=messaging.Aps(
                    badge=w.badge,
                    sound=sound,
                    thread_id=w.thread_id,
                    mutable_content=True if w.sensitive else None,
                    custom_data={"interruption-level": w.apns_level},
                )
            ),
        )
    else:
        webpush = messaging.WebpushConfig(
            headers={
                "TTL": str(w.ttl_s),
                "Urgency": "normal" if w.level == "passive" else "high",
                "Topic": webpush_topic(request, w),
            }
        )
    message = messaging.Message(
        data=w.data,
        notification=messaging.Notification(title=w.title, body=w.body),
        android=android,
        apns=apns,
        webpush=webpush,
    )
    # Devices register FCM registration tokens, which the v1 API takes as `token`; firebase-admin
    # 7 warns on the constructor argument as it moves to installation ids, the encoder still
    # writes it.
    message.token = request.token
    return message


def fcm_body(message: messaging.Message) -> dict[str, Any]:
    """The JSON body of `messages:send`, through firebase-admin's own encoder and validation."""
    encoded: dict[str, Any] = messaging._MessagingService.encode_message(message)
    return {"message": encoded}


# --- Web Push ---------------------------------------------------------------------------------


def webpush_topic(request: PushRequest, w: Wire) -> str:
    """RFC 8030 `Topic`: at most 32 characters of the URL-safe base64 alphabet, so derived from the
    collapse key (or the message id) by a hash: the same key always gives the same topic."""
    key = w.collapse_key
    digest = hashlib.sha256(key.encode()).digest()[:24]  # 24 bytes are 32 base64 characters
    return base64.urlsafe_b64encode(digest).decode()


def webpush_payload(request: PushRequest, w: Wire) -> dict[str, Any]:
    """What the staff app's service worker receives: the notification to show, in the shape of the
    Notifications API's options."""
    payload: dict[str, Any] = {
        "title": w.title,
        "body": w.body,
        "tag": w.collapse_key,
        "data": {**w.data, "kind": request.kind},
    }
    if w.level == "passive":
        payload["silent"] = True
    elif w.level in ("time_sensitive", "critical"):
        payload["requireInteraction"] = True
    if request.requires_ack and request.kind == "message":
        payload["actions"] = [{"action": "ack", "title": text("notice.ack", request.language)}]
    return payload


def webpush_body(request: PushRequest, w: Wire) -> bytes:
    """The plaintext that is encrypted for one subscription."""
    return json.dumps(webpush_payload(request, w), ensure_ascii=False, separators=(",", ":")).encode()


def webpush_headers(request: PushRequest, w: Wire) -> dict[str, str]:
    """The headers the push service sees, besides Authorization and the body's."""
    return {"TTL": str(w.ttl_s), "Urgency": w.urgency, "Topic": webpush_topic(request, w)}


def webpush_record_size(plaintext_bytes: int) -> int:
    """Bytes of the encrypted body that carries `plaintext_bytes` (what the 4 KB limit counts)."""
    return plaintext_bytes + WEBPUSH_RECORD_OVERHEAD


# --- Size -------------------------------------------------------------------------------------


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def payload_sizes(request: PushRequest, *, now: datetime, critical_alerts_entitled: bool = True) -> dict[str, int]:
    """Bytes each provider counts against its 4 KB limit: the APNs JSON payload; for FCM the
    notification and data (what the device receives); for Web Push the encrypted body."""
    w = wire(request, now=now, critical_alerts_entitled=critical_alerts_entitled)
    fcm_counted = {
        "notification": {"title": w.title, "body": w.body},
        "data": w.data,
        "android": {"notification": {"channel_id": w.channel}},
    }
    return {
        "apns": _json_size(apns_payload(w)),
        "fcm": _json_size(fcm_counted),
        "webpush": webpush_record_size(len(webpush_body(request, w))),
    }


def largest_push(
    *,
    title: str,
    body: str,
    data: dict[str, str] | None = None,
    message_id: str = "00000000-0000-0000-0000-000000000000",
    thread_id: str | None = None,
    now: datetime,
) -> dict[str, int]:
    """Bytes per provider of the loudest rendering (critical, badge) of a message: what no later
    decision can make bigger. The compose page's counter and the 413 below count the same."""
    probe = PushRequest(
        delivery_id=UUID(int=0),
        provider="apns",
        platform="ios",
        token="0" * 64,
        priority="emergency",
        interruption_level="critical",
        title=title,
        body=body,
        data=data or {},
        message_id=message_id,
        thread_id=thread_id,
        badge=9999,
        requires_ack=True,
    )
    return payload_sizes(probe, now=now)


def check_fits(
    *,
    title: str,
    body: str,
    data: dict[str, str] | None = None,
    message_id: str = "00000000-0000-0000-0000-000000000000",
    thread_id: str | None = None,
    now: datetime,
) -> None:
    """Raise `PayloadTooLarge` (413) when a message would not fit in a push to either provider.

    For the API to call before it accepts a message: it checks the loudest rendering (critical,
    badge) so that no decision later can make the push too big.
    """
    sizes = largest_push(title=title, body=body, data=data, message_id=message_id, thread_id=thread_id, now=now)
    worst = max(sizes.values())
    if worst > PAYLOAD_LIMIT_BYTES:
        raise PayloadTooLarge(
            f"the push would be {worst} bytes; providers take at most {PAYLOAD_LIMIT_BYTES}",
            details={"sizes": sizes, "limit": PAYLOAD_LIMIT_BYTES, "bytes": worst},
        )
