"""Shared pieces of the transport tests: stand-ins, transports pointed at them, requests."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from notify.transports.apns import ApnsTransport
from notify.transports.base import PushRequest
from notify.transports.config import ApnsSettings, FcmSettings
from notify.transports.fcm import FcmTransport
from tools.standins.providers import Emulators

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


def service_account_file(tmp_path: Path, token_uri: str) -> Path:
    """A Google service-account key file of a fresh key, whose tokens come from `token_uri`."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    account = {
        "type": "service_account",
        "project_id": "vila-local",
        "private_key_id": "k1",
        "private_key": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        "client_email": "vila@vila-local.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    }
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(account))
    return path
