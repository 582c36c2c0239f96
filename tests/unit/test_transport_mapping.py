"""The priority table: what each Vila priority and kind looks like to APNs and FCM."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kernel.errors import PayloadTooLarge
from notify.transports import mapping
from notify.transports.base import PushRequest

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def push(**overrides: Any) -> PushRequest:
    values: dict[str, Any] = {
        "delivery_id": uuid.uuid4(),
        "provider": "apns",
        "platform": "ios",
        "token": "ab" * 32,
        "priority": "normal",
        "title": "Personalmöte",
        "body": "Flyttas till torsdag",
        "message_id": "m-1",
        "interruption_level": "critical",  # the loudest; the table caps it
    }
    values.update(overrides)
    return PushRequest(**values)


@pytest.mark.parametrize(
    ("priority", "kind", "entitled", "apns_priority", "level", "fcm_priority", "urgency", "channel"),
    [
        ("info", "message", False, 5, "passive", "normal", "low", "vila_info"),
        ("normal", "message", False, 10, "active", "high", "normal", "vila_normal"),
        ("urgent", "message", False, 10, "time_sensitive", "high", "high", "vila_urgent"),
        ("emergency", "message", False, 10, "time_sensitive", "high", "high", "vila_emergency"),
        ("emergency", "message", True, 10, "critical", "high", "high", "vila_emergency"),
        ("urgent", "digest", True, 5, "passive", "normal", "normal", "vila_digest"),
        ("emergency", "digest", True, 5, "passive", "normal", "normal", "vila_digest"),
    ],
)
def test_the_table(
    priority: str,
    kind: str,
    entitled: bool,
    apns_priority: int,
    level: str,
    fcm_priority: str,
    urgency: str,
    channel: str,
) -> None:
    w = mapping.wire(push(priority=priority, kind=kind), now=NOW, critical_alerts_entitled=entitled)
    assert (w.apns_priority, w.level, w.fcm_priority, w.urgency, w.channel) == (
        apns_priority,
        level,
        fcm_priority,
        urgency,
        channel,
    )


def test_a_quieter_decision_wins_and_passive_is_never_high_priority() -> None:
    w = mapping.wire(push(priority="urgent", interruption_level="passive"), now=NOW, critical_alerts_entitled=True)
    assert (w.level, w.apns_priority, w.fcm_priority, w.urgency) == ("passive", 5, "normal", "normal")
    assert mapping.webpush_payload(push(), w)["silent"] is True
    assert "sound" not in mapping.apns_payload(w)["aps"]


def test_apns_payload_and_headers() -> None:
    request = push(priority="emergency", collapse_key="incident-7" * 10, thread_id="t1", badge=3)
    w = mapping.wire(request, now=NOW, critical_alerts_entitled=True)
    payload = mapping.apns_payload(w)
    assert payload["aps"]["interruption-level"] == "critical"
    assert payload["aps"]["sound"] == {"critical": 1, "name": "default", "volume": 1.0}
    assert payload["aps"]["thread-id"] == "t1" and payload["aps"]["badge"] == 3
    headers = mapping.apns_headers(w, now=NOW)
    assert headers["apns-push-type"] == "alert"
    assert headers["apns-priority"] == "10"
    assert int(headers["apns-expiration"]) == int(NOW.timestamp()) + 4 * 3600
    assert len(headers["apns-collapse-id"].encode()) <= 64


def test_ttl_follows_expiry_and_is_capped() -> None:
    soon = mapping.wire(push(expires_at=NOW + timedelta(minutes=30)), now=NOW, critical_alerts_entitled=False)
    assert soon.ttl_s == 1800
    far = mapping.wire(push(expires_at=NOW + timedelta(days=90)), now=NOW, critical_alerts_entitled=False)
    assert far.ttl_s == 28 * 24 * 3600
    past = mapping.wire(push(expires_at=NOW - timedelta(minutes=1)), now=NOW, critical_alerts_entitled=False)
    assert past.ttl_s == 0


def test_digests_collapse_so_only_the_newest_stays() -> None:
    w = mapping.wire(push(kind="digest"), now=NOW, critical_alerts_entitled=False)
    assert w.collapse_key == mapping.DIGEST_COLLAPSE_KEY


@pytest.mark.parametrize(
    ("language", "title", "body"),
    [
        ("sv", "Nytt meddelande i Vila", "Öppna appen för att läsa det."),
        ("en", "New message in Vila", "Open the app to read it."),
    ],
)
def test_sensitive_pushes_carry_no_content(language: str, title: str, body: str) -> None:
    request = push(sensitive=True, language=language, data={"patient": "x"}, thread_id="ward-12", collapse_key="c")
    w = mapping.wire(request, now=NOW, critical_alerts_entitled=False)
    payload = mapping.apns_payload(w)
    assert payload == {
        "aps": {
            "alert": {"title": title, "body": body},
            "interruption-level": "active",
            "sound": "default",
            "mutable-content": 1,
        },
        "message_id": "m-1",
    }
    assert "Personalmöte" not in str(mapping.fcm_body(mapping.fcm_message(request, w)))


def test_fcm_body_goes_through_firebase_admin() -> None:
    request = push(provider="fcm", platform="android", priority="urgent", data={"group": "avd-12"})
    w = mapping.wire(request, now=NOW, critical_alerts_entitled=False)
    body = mapping.fcm_body(mapping.fcm_message(request, w))["message"]
    assert body["token"] == request.token
    assert body["android"] == {
        "priority": "high",
        "ttl": "14400s",
        "collapse_key": "m-1",  # the message id: a resend replaces, never stacks
        "notification": {"channel_id": "vila_urgent", "tag": "m-1"},
    }
    assert body["data"] == {"group": "avd-12", "message_id": "m-1"}


def test_fcm_ios_uses_apns_config() -> None:
    request = push(provider="fcm", platform="ios", priority="info", interruption_level="passive")
    w = mapping.wire(request, now=NOW, critical_alerts_entitled=False)
    apns = mapping.fcm_body(mapping.fcm_message(request, w))["message"]["apns"]
    assert apns["headers"]["apns-priority"] == "5"
    assert apns["payload"]["aps"]["interruption-level"] == "passive"


def test_check_fits_rejects_what_no_provider_takes() -> None:
    mapping.check_fits(title="Hej", body="kort", now=NOW)
    with pytest.raises(PayloadTooLarge) as raised:
        mapping.check_fits(title="Hej", body="å" * 2100, now=NOW)
    assert raised.value.details["limit"] == 4096


@pytest.mark.parametrize("key", ["m-1", "incident-7" * 6, str(uuid.UUID(int=7)), "vila-digest"])
def test_web_push_topic_is_short_url_safe_and_the_same_for_the_same_key(key: str) -> None:
    w = mapping.wire(push(collapse_key=key), now=NOW, critical_alerts_entitled=False)
    topic = mapping.webpush_headers(push(collapse_key=key), w)["Topic"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,32}", topic)
    again = mapping.wire(push(collapse_key=key, title="Ändrad"), now=NOW, critical_alerts_entitled=False)
    assert mapping.webpush_headers(push(collapse_key=key), again)["Topic"] == topic
    other = mapping.wire(push(collapse_key=key + "x"), now=NOW, critical_alerts_entitled=False)
    assert mapping.webpush_headers(push(collapse_key=key + "x"), other)["Topic"] != topic


def test_web_push_without_a_collapse_key_collapses_on_the_message_id() -> None:
    first, second = push(message_id="m-1"), push(message_id="m-1", body="ny text")
    w1 = mapping.wire(first, now=NOW, critical_alerts_entitled=False)
    w2 = mapping.wire(second, now=NOW, critical_alerts_entitled=False)
    assert mapping.webpush_headers(first, w1)["Topic"] == mapping.webpush_headers(second, w2)["Topic"]
    assert mapping.webpush_payload(first, w1)["tag"] == "m-1"


def test_web_push_payload_for_the_service_worker() -> None:
    urgent = push(priority="urgent", requires_ack=True, language="sv", interruption_level="time_sensitive")
    w = mapping.wire(urgent, now=NOW, critical_alerts_entitled=False)
    payload = mapping.webpush_payload(urgent, w)
    assert payload["requireInteraction"] is True and "silent" not in payload
    assert payload["actions"] == [{"action": "ack", "title": "Kvittera"}]
    assert payload["data"] == {"message_id": "m-1", "kind": "message"}
    headers = mapping.webpush_headers(urgent, w)
    assert (headers["Urgency"], headers["TTL"]) == ("high", "14400")

    digest = push(kind="digest", requires_ack=True, message_id="d-1")
    w = mapping.wire(digest, now=NOW, critical_alerts_entitled=False)
    payload = mapping.webpush_payload(digest, w)
    assert payload["tag"] == mapping.DIGEST_COLLAPSE_KEY and "actions" not in payload
    assert payload["data"]["kind"] == "digest"


def test_check_fits_counts_the_encrypted_web_push_body() -> None:
    probe = push(title="Hej", body="kort", requires_ack=True)
    sizes = mapping.payload_sizes(probe, now=NOW)
    w = mapping.wire(probe, now=NOW, critical_alerts_entitled=True)
    assert sizes["webpush"] == len(mapping.webpush_body(probe, w)) + 103
