"""Settings from the environment (`VILA_...`), with defaults that run the embedded mode as is.

Settings are built by the composition root (`create_app()`, the CLI, worker start) and passed
down; nothing reads the environment at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kernel.app_role import AppRole
from kernel.directory.fields import DEFAULT_PROVISIONED, PROVISIONABLE, parse_fields
from kernel.timezones import validate_timezone
from kernel.vocabulary import Language

# `release` carries the morning release of held messages and its digests, so it never delays
# urgent sends or small normal messages.
Queue = Literal["urgent", "default", "bulk", "release"]
QUEUES: tuple[Queue, ...] = ("urgent", "default", "bulk", "release")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VILA_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="Where the embedded mode keeps its files.")
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL. Empty: a SQLite file in the data directory.",
    )
    broker_url: str = Field(
        default="",
        description="Celery broker (redis://, amqp://). Empty: the in-process runner.",
    )
    broker_namespace: str = Field(
        default="", description="A prefix for every broker key, so several Vila installations can share one Redis."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str = Field(
        default="", description="The URL people use; shown in links. With https://, cookies are always Secure."
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Reverse proxies whose X-Forwarded-Proto and X-Forwarded-For are believed (comma-separated, or *).",
    )
    default_timezone: str = "Europe/Stockholm"
    default_language: Language = "sv"
    holiday_calendar: str = Field(
        default="SE",
        description="Public holidays for working hours that skip them: a country code, e.g. SE, NO, DE-BY.",
    )
    calendar_allow_http: bool = Field(
        default=False, description="Let linked calendars use plain http:// and private addresses (tests only)."
    )
    db_app_role: str = Field(
        default="",
        description=(
            "PostgreSQL: the role the API and workers connect as. `vila migrate` (run as the tables' owner) "
            "creates it when it can and grants it everything but changing the audit log. Empty: no such role."
        ),
    )
    db_app_password: str = Field(
        default="", description="The password `vila migrate` gives the app role when it creates it."
    )
    token_ttl_days: int = Field(default=90, ge=1, le=3650, description="The longest lifetime of an API token.")
    web_session_hours: int = Field(
        default=12, ge=1, le=24 * 14, description="How long a web sign-in lasts; logout ends it sooner."
    )
    sweep_interval_s: float = Field(default=15.0, gt=0)
    job_lease_s: float = Field(default=300.0, gt=0)
    urgent_lease_s: float = Field(
        default=10.0,
        gt=0,
        description="The lease of urgent work, renewed while a worker works: a dead worker's urgent batch "
        "is taken over after this plus at most one sweep interval.",
    )
    job_max_attempts: int = Field(default=8, ge=1)
    job_redispatch_after_s: float = Field(
        default=60.0, gt=0, description="A job still pending this long after it was queued is queued again."
    )
    fanout_inline_max: int = Field(
        default=1000, ge=0, description="Audiences up to this size are decided inside the send request."
    )
    fanout_chunk: int = Field(default=5000, ge=1, description="Recipients per fan-out job for larger audiences.")
    bulk_threshold: int = Field(
        default=1000,
        ge=1,
        description=(
            "A message to more people than this is decided and sent on the `bulk` queue (urgent and emergency "
            "ones always on `urgent`), so a broadcast never delays small messages."
        ),
    )
    release_batch: int = Field(
        default=500, ge=1, le=10_000, description="People per release job: each gets all their due held messages."
    )
    device_stale_days: int = Field(default=60, ge=1, description="Devices not seen this long go stale.")
    metrics_token: str = Field(
        default="",
        description=(
            "GET /metrics needs 'Authorization: Bearer <this>' (Prometheus: bearer_token). Empty: `vila api` "
            "answers /metrics with 403; only `vila serve` on a loopback address serves it without a token."
        ),
    )
    message_retention_days: int = Field(
        default=0,
        ge=0,
        description=(
            "Delete messages, their decisions and deliveries this many days after they were sent; "
            "0 keeps them. The rest ledger and the audit log are kept either way."
        ),
    )
    oidc_issuer: str = Field(
        default="",
        description=(
            "Sign in to the web app with this OpenID Connect provider, e.g. "
            "https://login.microsoftonline.com/<tenant>/v2.0. Empty: only the token form."
        ),
    )
    oidc_client_id: str = Field(default="", description="Vila's application (client) id at the provider.")
    oidc_client_secret: str = Field(default="", description="Vila's client secret at the provider.")
    oidc_roles_claim: str = Field(default="roles", description="The ID token claim that lists the app roles.")
    oidc_role_map: str = Field(
        default="",
        description=(
            "Provider app roles to Vila roles, e.g. Vila.Manager=manager,Vila.HR=hr. When set, the provider "
            "decides manager/hr/admin/union at every sign-in; empty: Vila's own roles apply."
        ),
    )
    oidc_allow_http: bool = Field(
        default=False, description="Let the OIDC provider use plain http:// (a local stand-in in tests only)."
    )
    oidc_api_audience: str = Field(
        default="",
        description=(
            "The REST API also accepts the provider's access tokens issued to this audience (Entra: "
            "api://<client id>, or the client id); empty: the client id. The app then needs no Vila token."
        ),
    )
    test_installation: bool = Field(
        default=False,
        description=(
            "This installation is for tests: `vila api` and `vila worker` may then start with provider "
            "settings that point at the local stand-ins (otherwise they refuse)."
        ),
    )
    smtp_host: str = Field(
        default="",
        description=(
            "The SMTP server of the e-mail channel (held messages and digests as one e-mail at release). "
            "Empty: no e-mail is sent; `vila serve` then uses its local SMTP stand-in."
        ),
    )
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = Field(default="vila@localhost", description="The From address of Vila's e-mails.")
    smtp_starttls: bool = Field(default=False, description="Upgrade the connection with STARTTLS (port 587).")
    smtp_tls: bool = Field(default=False, description="Connect over TLS from the start (port 465).")
    smtp_timeout_s: float = Field(default=30.0, gt=0)
    provisioned_fields: str = Field(
        default=DEFAULT_PROVISIONED,
        description=(
            "Person fields the identity system (SCIM, Entra ID) provides and overwrites; the others stay "
            "Vila's own. Comma-separated, from: " + ", ".join(PROVISIONABLE)
        ),
    )
    scim_group_separator: str = Field(
        default="",
        max_length=8,
        description=(
            "Nest provisioned groups by name: with ' / ', the group 'Medicin / Avd 12' goes below the group "
            "'Medicin'. Empty: groups nest only through the parent attribute of Vila's group extension."
        ),
    )
    log_level: str = "INFO"
    log_json: bool = False
    load_demo: bool = Field(default=True, description="`vila serve` loads the demo region into an empty database.")

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return validate_timezone(value)

    @field_validator("provisioned_fields")
    @classmethod
    def _provisioned(cls, value: str) -> str:
        parse_fields(value)
        return value

    @field_validator("db_app_role")
    @classmethod
    def _role_name(cls, value: str) -> str:
        return AppRole(value).name if value else value

    @model_validator(mode="after")
    def _oidc(self) -> Settings:
        given = {
            "VILA_OIDC_ISSUER": self.oidc_issuer,
            "VILA_OIDC_CLIENT_ID": self.oidc_client_id,
            "VILA_OIDC_CLIENT_SECRET": self.oidc_client_secret,
        }
        missing = [name for name, value in given.items() if not value]
        if missing and len(missing) < len(given):
            raise ValueError(f"OIDC sign-in is half configured: set {', '.join(missing)} as well")
        if self.oidc_issuer and not self.oidc_issuer.startswith("https://"):
            if not (self.oidc_allow_http and self.oidc_issuer.startswith("http://")):
                raise ValueError("VILA_OIDC_ISSUER must be an https:// address")
        return self

    @property
    def app_role(self) -> AppRole | None:
        """The app's own database role, for `vila migrate` to set up; None when none is configured."""
        return AppRole(self.db_app_role, self.db_app_password) if self.db_app_role else None

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'vila.db').resolve()}"

    @property
    def broker_transport_options(self) -> dict[str, object]:
        options: dict[str, object] = {"visibility_timeout": 3600}
        if self.broker_namespace and self.broker_url.startswith(("redis://", "rediss://")):
            options["global_keyprefix"] = f"{self.broker_namespace}:"
        return options

    @property
    def embedded(self) -> bool:
        """True when no broker is configured: jobs run in-process."""
        return not self.broker_url

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"
