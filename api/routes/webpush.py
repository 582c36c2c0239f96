"""Web Push: the application server key (VAPID, RFC 8292) the staff app subscribes with."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import WebPushDep
from kernel.errors import NotFound
from notify.schemas import WebPushKeyRead

router = APIRouter(prefix="/api/v1/webpush", tags=["devices"])


@router.get("/key", response_model=WebPushKeyRead)
def public_key(webpush: WebPushDep) -> WebPushKeyRead:
    """Vila's VAPID public key, base64url: the `applicationServerKey` of `pushManager.subscribe()`.
    Public by nature, so it needs no token. 404 when this installation does not send Web Push."""
    if webpush.key is None:
        raise NotFound("this Vila installation does not send Web Push: it has no VAPID key (vila webpush keys)")
    return WebPushKeyRead(public_key=webpush.key.public_key)
