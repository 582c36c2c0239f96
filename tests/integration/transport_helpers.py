"""Shared pieces of the transport tests: stand-ins, transports pointed at them, requests."""

from __future__ import annotations

import uuid
from typing import Any

from notify.emulators import Emulators
from notify.transports.apns import ApnsTransport
from notify.transports.base import PushRequest
from notify.transports.config import ApnsSettings, FcmSettings
from notify.transports.fcm import FcmTransport

FAST_RETRY: dict[str, Any] = {"retry_base_delay_s": 0.01, "retry_max_delay_s": 0.05, "retry_max_attempts": 4}


def fcm_transport(emulators: Emulators, **settings: Any) -> FcmTransport:
    return FcmTransport(FcmSettings(**{"endpoint": emulators.fcm_url, "timeout_s": 5, **FAST_RETRY, **settings}))


def apns_transport(emulators: Emulators, **settings: Any) -> ApnsTransport:
    values = {
        "host": emulators.apns_host,
        "port": emulators.apns_port,
        "ca_file": emulators.ca.ca_file,
        "timeout_s": 5,
        **FAST_RETRY,
        **settings,
    }
    return ApnsTransport(ApnsSettings(**values))


def fcm_token(i: int | str) -> str:
    return f"device-{i}:APA91bHun4MxP5egoKMwt2KZFBaFUH"


def apns_token(i: int) -> str:
    return f"{i:064x}"


def push(provider: str, token: str, **overrides: Any) -> PushRequest:
    values: dict[str, Any] = {
        "delivery_id": uuid.uuid4(),
        "provider": provider,
        "platform": "ios" if provider == "apns" else "android",
        "token": token,
        "priority": "normal",
        "title": "Personalmöte",
        "body": "Flyttas till torsdag kl. 14",
        "message_id": "msg-1",
    }
    values.update(overrides)
    return PushRequest(**values)
