"""Vila's VAPID key: made once, kept, read back from the setting or the data directory; tokens
signed once per push service and renewed before they expire."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from py_vapid import jwt as vapid_jwt

from kernel.clock import ManualClock
from notify.transports import vapid


def test_the_key_file_is_made_once_and_only_its_owner_reads_it(tmp_path: Path) -> None:
    first, created = vapid.load_or_create(tmp_path / "var" / vapid.KEY_FILE_NAME)
    again, created_again = vapid.load_or_create(tmp_path / "var" / vapid.KEY_FILE_NAME)
    assert created and not created_again
    assert first.public_key == again.public_key
    mode = stat.S_IMODE((tmp_path / "var" / vapid.KEY_FILE_NAME).stat().st_mode)
    assert mode == 0o600


def test_the_setting_takes_base64url_or_pem_and_wins_over_the_file(tmp_path: Path) -> None:
    key = vapid.VapidKey.generate()
    assert vapid.VapidKey.parse(key.private_key).public_key == key.public_key
    assert vapid.VapidKey.parse(key.pem().decode()).public_key == key.public_key
    vapid.load_or_create(tmp_path / vapid.KEY_FILE_NAME)
    resolved = vapid.resolve(key.private_key, tmp_path, create=False)
    assert resolved is not None and resolved.public_key == key.public_key
    # The public key is the uncompressed P-256 point a browser subscribes with: 65 bytes.
    assert len(key.public_key) == 87 and key.public_key.startswith("B")


def test_without_a_setting_or_a_file_web_push_is_off_unless_asked_to_make_one(tmp_path: Path) -> None:
    assert vapid.resolve("", tmp_path, create=False) is None
    made = vapid.resolve("", tmp_path, create=True)
    assert made is not None and (tmp_path / vapid.KEY_FILE_NAME).exists()


def test_a_bad_key_says_what_is_wrong() -> None:
    with pytest.raises(vapid.VapidKeyError, match="base64url nor PEM"):
        vapid.VapidKey.parse("not a key")


def test_tokens_are_signed_once_per_push_service_and_renewed_at_half_life() -> None:
    clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    key = vapid.VapidKey.generate()
    signer = vapid.VapidSigner(key, subject="mailto:it@region.example", ttl_s=12 * 3600, clock=clock)
    fcm = signer.authorization("https://fcm.googleapis.com")
    assert signer.authorization("https://fcm.googleapis.com") == fcm
    apple = signer.authorization("https://web.push.apple.com")
    assert apple != fcm and signer.signed == 2

    token = fcm.split("t=")[1].split(",")[0]
    claims = vapid_jwt.decode(token, key.public_key)
    assert claims["aud"] == "https://fcm.googleapis.com"
    assert claims["exp"] == int(clock.now().timestamp()) + 12 * 3600
    assert claims["sub"] == "mailto:it@region.example"

    clock.advance(timedelta(hours=5, minutes=59))
    assert signer.authorization("https://fcm.googleapis.com") == fcm
    clock.advance(timedelta(minutes=2))
    assert signer.authorization("https://fcm.googleapis.com") != fcm
    signer.forget("https://web.push.apple.com")
    assert signer.authorization("https://web.push.apple.com") != apple
