"""FCM bodies built from a template per distinct content are byte for byte what firebase-admin
builds for each push: for a broadcast (only the token differs) and for a release's digests
(the token and the digest's id differ)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from kernel.clock import ManualClock
from notify.transports import mapping
from notify.transports.base import PushRequest
from notify.transports.config import FcmSettings
from notify.transports.fcm import FcmTransport

NOW = datetime(2026, 3, 2, 6, 45, tzinfo=UTC)


def _direct(request: PushRequest) -> bytes:
    w = mapping.wire(request, now=NOW, critical_alerts_entitled=False)
    return json.dumps(mapping.fcm_body(mapping.fcm_message(request, w)), separators=(",", ":")).encode()


def _digest(n: int, platform: str) -> PushRequest:
    digest_id = str(uuid.uuid4())
    return PushRequest(
        delivery_id=uuid.uuid4(),
        provider="fcm",
        platform=platform,  # type: ignore[arg-type]  # android or ios
        token=f'tok-{n}-"\\-ö-{uuid.uuid4().hex}',  # characters JSON must escape
        priority="normal",
        kind="digest",
        title="4 meddelanden från Avdelning 12",
        body="Senaste: Personalmöte",
        message_id=digest_id,
        data={"digest_id": digest_id, "count": "4"},
        thread_id="vila",
    )


@pytest.mark.parametrize("platform", ["android", "ios"])
def test_digests_to_many_people_share_one_template_and_match_firebase_admin(platform: str) -> None:
    transport = FcmTransport(FcmSettings(), clock=ManualClock(NOW))
    requests = [_digest(n, platform) for n in range(50)]
    bodies = [transport.encode(r) for r in requests]
    assert bodies == [_direct(r) for r in requests]
    assert len(set(bodies)) == len(requests)
    for request, body in zip(requests, bodies, strict=True):
        assert json.loads(body)["message"]["data"]["digest_id"] == request.data["digest_id"]
    assert len(transport._templates) == 1, "a digest's id should not make its content distinct"


def test_different_contents_and_sensitive_messages_still_match_firebase_admin() -> None:
    transport = FcmTransport(FcmSettings(), clock=ManualClock(NOW))
    base = _digest(0, "android")
    other = PushRequest(
        delivery_id=uuid.uuid4(),
        provider="fcm",
        platform="android",
        token="t" * 40,
        priority="urgent",
        title="Larm",
        body="Kom direkt.",
        message_id=str(uuid.uuid4()),
        data={"link": "vila://m/1"},
        sensitive=True,
    )
    requests = [base, other, _digest(1, "android"), PushRequest(**{**_fields(other), "sensitive": False})]
    assert [transport.encode(r) for r in requests] == [_direct(r) for r in requests]


def _fields(request: PushRequest) -> dict[str, object]:
    return {name: getattr(request, name) for name in PushRequest.__dataclass_fields__}
