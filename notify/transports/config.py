"""Provider settings (`VILA_FCM_...`, `VILA_APNS_...`, `VILA_WEBPUSH_...`, and
`VILA_PUSH_PROXY`/`VILA_PUSH_NO_PROXY` shared by all three).

Built by the composition root (`vila serve`, worker start, the bench), never at import. The
defaults point at the local stand-ins that `vila emulate` and the embedded mode start, so a laptop
runs with no configuration; production sets the endpoints, credentials and CA to the real ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from notify.transports.proxy import Proxy
from notify.transports.retry import RetryPolicy

FCM_EMULATOR_PORT = 9310
APNS_EMULATOR_PORT = 9320
EMULATOR_CONTROL_PORT = 9330
WEBPUSH_EMULATOR_PORT = 9340

# The push services of the browsers Vila's staff app runs in. A subscription's endpoint must be on
# one of them: Vila POSTs to whatever URL a browser registered, so an open list would let anyone
# with a token make Vila's workers call any address (an internal service, say).
PUSH_SERVICES = (
    "fcm.googleapis.com",  # Chrome, Edge on Android, Samsung Internet
    "*.push.services.mozilla.com",  # Firefox
    "web.push.apple.com",  # Safari, and every browser on iOS/iPadOS 16.4+
    "*.notify.windows.com",  # Edge on Windows
)

APPLE_HOSTS = {
    "production": "api.push.apple.com",
    "sandbox": "api.sandbox.push.apple.com",
}


class _RetrySettings(BaseSettings):
    retry_max_attempts: int = Field(default=5, ge=1, le=20)
    retry_base_delay_s: float = Field(default=0.2, gt=0)
    retry_max_delay_s: float = Field(default=10.0, gt=0)
    retry_max_retry_after_s: float = Field(
        default=60.0,
        ge=0,
        description="Wait in-process for a provider's Retry-After up to this long; longer waits "
        "go back to the pipeline as a transient failure that carries the Retry-After.",
    )

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.retry_max_attempts,
            base_delay_s=self.retry_base_delay_s,
            max_delay_s=self.retry_max_delay_s,
            max_retry_after_s=self.retry_max_retry_after_s,
        )


class _ProxySettings(BaseSettings):
    # One proxy for both providers: read from VILA_PUSH_PROXY whatever the class's own prefix.
    # The standard HTTPS_PROXY variables are not read (see docs/providers.md).
    # Secret: it may carry the proxy password, which must not reach a log or an error message.
    proxy: SecretStr = Field(
        default=SecretStr(""),
        validation_alias="VILA_PUSH_PROXY",
        description="Outbound proxy for the providers, http://[user:password@]host:port; empty: connect directly.",
    )
    no_proxy: str = Field(
        default="",
        validation_alias="VILA_PUSH_NO_PROXY",
        description="Comma-separated hosts (and their subdomains), addresses or networks that bypass the proxy.",
    )

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, value: SecretStr) -> SecretStr:
        Proxy.parse(value.get_secret_value())
        return value

    @property
    def proxy_config(self) -> Proxy | None:
        return Proxy.parse(self.proxy.get_secret_value(), self.no_proxy)


class FcmSettings(_RetrySettings, _ProxySettings):
    model_config = SettingsConfigDict(
        env_prefix="VILA_FCM_", env_file=None, extra="ignore", populate_by_name=True, hide_input_in_errors=True
    )

    endpoint: str = Field(
        default=f"http://127.0.0.1:{FCM_EMULATOR_PORT}",
        description="Base URL of the FCM HTTP v1 API; https://fcm.googleapis.com in production.",
    )
    project_id: str = Field(
        default="vila-local",
        description="Firebase project; empty takes it from the service-account file.",
    )
    enabled: bool = Field(default=True, description="Send to FCM (false: refuse FCM devices at registration).")
    credentials: Literal["emulator", "service_account", "application_default"] = "emulator"
    credentials_file: Path | None = Field(default=None, description="Service-account JSON.")
    ca_file: Path | None = Field(default=None, description="Extra CA to trust (a stand-in's); empty: the system's.")
    connections: int = Field(default=16, ge=1, le=512, description="HTTP/1.1 keep-alive pool.")
    timeout_s: float = Field(default=10.0, gt=0)
    critical_alerts_entitled: bool = Field(
        default=False, description="The iOS app holds Apple's critical-alert entitlement."
    )


class ApnsSettings(_RetrySettings, _ProxySettings):
    model_config = SettingsConfigDict(
        env_prefix="VILA_APNS_", env_file=None, extra="ignore", populate_by_name=True, hide_input_in_errors=True
    )

    enabled: bool = Field(default=True, description="Send to APNs (false: refuse APNs devices at registration).")
    environment: Literal["production", "sandbox"] = "sandbox"
    host: str = Field(
        default="127.0.0.1",
        description="Server to connect to; empty: Apple's host for the environment.",
    )
    port: int = Field(default=APNS_EMULATOR_PORT, ge=1, le=65535)
    ca_file: Path | None = Field(default=None, description="Extra CA to trust (a stand-in's); empty: the system's.")
    auth: Literal["token", "certificate", "emulator"] = Field(
        default="emulator",
        description="token: a .p8 key (JWT); certificate: a client certificate; emulator: a key "
        "made up at start, which only a stand-in accepts.",
    )
    key_file: Path | None = None
    key_id: str = ""
    team_id: str = ""
    cert_file: Path | None = None
    topic: str = Field(default="se.vila.app", description="The app's bundle id.")
    connections: int = Field(default=2, ge=1, le=64)
    streams_per_connection: int = Field(
        default=100, ge=1, le=1000, description="Requests in flight per HTTP/2 connection."
    )
    timeout_s: float = Field(default=10.0, gt=0)
    critical_alerts_entitled: bool = Field(
        default=False, description="The iOS app holds Apple's critical-alert entitlement."
    )

    @property
    def resolved_host(self) -> str:
        return self.host or APPLE_HOSTS[self.environment]


class WebPushSettings(_RetrySettings, _ProxySettings):
    model_config = SettingsConfigDict(
        env_prefix="VILA_WEBPUSH_", env_file=None, extra="ignore", populate_by_name=True, hide_input_in_errors=True
    )

    vapid_private_key: SecretStr = Field(
        default=SecretStr(""),
        description="Vila's VAPID key (RFC 8292): the P-256 private key as base64url (what `vila webpush keys "
        "--env` prints) or PEM. Empty: the key file in the data directory, which `vila webpush keys` and "
        "`vila serve` create.",
    )
    subject: str = Field(
        default="mailto:vila@localhost",
        description="The VAPID contact push services see (mailto: or https:); Apple wants a real one.",
    )
    push_services: str = Field(
        default=",".join(PUSH_SERVICES),
        description="Comma-separated hosts (host[:port], *.domain) a subscription's endpoint may be on.",
    )
    ca_file: Path | None = Field(default=None, description="Extra CA to trust (a stand-in's); empty: the system's.")
    connections: int = Field(default=8, ge=1, le=256, description="HTTP/1.1 keep-alive connections per push service.")
    timeout_s: float = Field(default=10.0, gt=0)
    jwt_ttl_s: int = Field(
        default=12 * 3600,
        ge=600,
        le=24 * 3600,
        description="Lifetime of a VAPID token; push services refuse more than 24 hours.",
    )

    @property
    def allowed_push_services(self) -> tuple[str, ...]:
        return tuple(h.strip().lower() for h in self.push_services.split(",") if h.strip())


@dataclass(frozen=True)
class PushSettings:
    """Every provider's settings, read from the environment once, by the composition root (with
    `Settings`), and passed down to the transports; nothing reads them at the first push."""

    fcm: FcmSettings
    apns: ApnsSettings
    webpush: WebPushSettings

    @classmethod
    def from_environment(cls) -> PushSettings:
        return cls(fcm=FcmSettings(), apns=ApnsSettings(), webpush=WebPushSettings())

    def standins(self) -> list[str]:
        """The enabled providers whose settings point at the local stand-ins (the defaults)."""
        found = []
        if self.fcm.enabled and (self.fcm.credentials == "emulator" or self.fcm.endpoint.startswith(_LOCAL)):
            found.append("FCM (VILA_FCM_CREDENTIALS, VILA_FCM_ENDPOINT)")
        if self.apns.enabled and (self.apns.auth == "emulator" or self.apns.host in ("127.0.0.1", "localhost")):
            found.append("APNs (VILA_APNS_AUTH, VILA_APNS_HOST)")
        return found

    def check_for_production(self, *, test_installation: bool) -> None:
        """Refuse stand-in credentials outside a test installation: in production they would
        silently send every push to nowhere."""
        found = self.standins()
        if found and not test_installation:
            raise ValueError(
                f"provider settings point at the local stand-ins: {'; '.join(found)}. Configure the real "
                "provider, or turn it off (VILA_FCM_ENABLED=false, VILA_APNS_ENABLED=false), or set "
                "VILA_TEST_INSTALLATION=true if this installation is for tests"
            )


_LOCAL = ("http://127.0.0.1", "https://127.0.0.1", "http://localhost", "https://localhost")
