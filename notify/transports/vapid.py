"""Vila's VAPID identity (RFC 8292): the key pair that signs every Web Push request, where it is
kept, and the signed tokens, cached per push service.

The key comes from `VILA_WEBPUSH_VAPID_PRIVATE_KEY` (production) or from a file in the data
directory (the embedded mode; `vila webpush keys` and `vila serve` create it once). The public key
is what the staff app subscribes with: a subscription made with one key only takes pushes signed by
it, so the key is generated once and kept.

A token names one push service (`aud`, its origin) and expires (`exp`). Signing costs an ECDSA
signature, so a token is reused for every push to that origin until half its lifetime is gone.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02, VapidException

from kernel.clock import Clock
from notify.transports.config import WebPushSettings

KEY_FILE_NAME = "webpush-vapid.pem"


class VapidKeyError(ValueError):
    """The configured VAPID key cannot be read."""


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class VapidKey:
    vapid: Vapid02

    @classmethod
    def generate(cls) -> VapidKey:
        vapid = Vapid02()
        vapid.generate_keys()
        return cls(vapid)

    @classmethod
    def parse(cls, value: str) -> VapidKey:
        """A private key as base64url (the raw 32-byte scalar, or DER) or PEM."""
        text = value.strip()
        try:
            if text.startswith("-----BEGIN"):
                return cls(Vapid02.from_pem(text.encode()))
            return cls(Vapid02.from_string(text))
        except (ValueError, TypeError, VapidException) as exc:
            raise VapidKeyError("the VAPID private key is neither base64url nor PEM of a P-256 key") from exc

    @property
    def public_key(self) -> str:
        """The application server key the browser subscribes with: the uncompressed point, base64url."""
        raw = self.vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return _b64url(raw)

    @property
    def private_key(self) -> str:
        """The private scalar as base64url: the value of VILA_WEBPUSH_VAPID_PRIVATE_KEY."""
        number = self.vapid.private_key.private_numbers().private_value
        return _b64url(number.to_bytes(32, "big"))

    def pem(self) -> bytes:
        return bytes(self.vapid.private_pem())


def load_or_create(path: Path) -> tuple[VapidKey, bool]:
    """The key in `path`, made (readable by its owner only) when there is none yet."""
    if path.exists():
        return VapidKey.parse(path.read_text(encoding="ascii")), False
    key = VapidKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(key.pem())
    return key, True


def resolve(configured: str, data_dir: Path, *, create: bool) -> VapidKey | None:
    """The key from the setting when it is set; otherwise the data directory's file (made when
    `create`). None: Web Push is not configured."""
    if configured.strip():
        return VapidKey.parse(configured)
    path = data_dir / KEY_FILE_NAME
    if create:
        return load_or_create(path)[0]
    if path.exists():
        return VapidKey.parse(path.read_text(encoding="ascii"))
    return None


@dataclass(frozen=True)
class WebPush:
    """What sending Web Push takes: its settings and Vila's key (None: Web Push is off here)."""

    settings: WebPushSettings
    key: VapidKey | None

    @classmethod
    def configure(cls, settings: WebPushSettings, data_dir: Path, *, create: bool) -> WebPush:
        return cls(settings, resolve(settings.vapid_private_key.get_secret_value(), data_dir, create=create))

    @property
    def push_services(self) -> tuple[str, ...] | None:
        """Where subscriptions may point; None when there is no key to send with."""
        return self.settings.allowed_push_services if self.key is not None else None


class VapidSigner:
    """`Authorization` header values per push service origin, signed once and reused."""

    def __init__(self, key: VapidKey, *, subject: str, ttl_s: int, clock: Clock) -> None:
        self._key = key
        self._subject = subject
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[str, float]] = {}  # origin -> (header, renew after)
        self.signed = 0

    def authorization(self, origin: str) -> str:
        now = self._clock.now().timestamp()
        cached = self._cache.get(origin)
        if cached is not None and now < cached[1]:
            return cached[0]
        expires = int(now) + self._ttl_s
        try:
            header = str(self._key.vapid.sign({"aud": origin, "exp": expires, "sub": self._subject})["Authorization"])
        except VapidException as exc:
            raise VapidKeyError(str(exc)) from exc
        self.signed += 1
        # Renew at half-life: a token never reaches a push service close to its expiry.
        self._cache[origin] = (header, now + self._ttl_s / 2)
        return header

    def forget(self, origin: str) -> None:
        """The push service refused the token: sign a new one next time."""
        self._cache.pop(origin, None)
