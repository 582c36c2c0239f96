"""Sign-in to the web app through the region's OpenID Connect provider (Microsoft Entra ID).

The authorization code flow with PKCE (S256), a state and a nonce. Vila is a confidential client:
it redeems the code with its client secret and the PKCE verifier, then validates the ID token
itself (RS256 only, the provider's JWKS, `iss`, `aud`, `exp`, `nonce`). The expiry is checked
against Vila's clock, not the wall clock, so the instant is an argument like everywhere else.

Errors, mapped to pages in `api/web/signin.py`:

    OidcError
    ├── ProviderUnavailable  the provider could not be reached or answered nonsense (502)
    ├── SignInRefused        the provider said no, or the code or ID token is not acceptable (400)
    └── UnknownPerson        a valid sign-in for someone Vila does not know, or no longer (403)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.auth.service import TOKEN_PREFIX, Principal
from kernel.directory.models import ROLES, Person
from kernel.settings import Settings

log = logging.getLogger("vila.auth.oidc")

ALGORITHMS = ["RS256"]
SCOPE = "openid profile email"


class OidcError(Exception):
    """Anything that stops an OIDC sign-in. The message is for the log and the page, never secret."""


class ProviderUnavailable(OidcError):
    pass


class SignInRefused(OidcError):
    pass


class UnknownPerson(OidcError):
    pass


def parse_role_map(text: str) -> dict[str, str]:
    """`Vila.Manager=manager,Vila.HR=hr` -> {"Vila.Manager": "manager", "Vila.HR": "hr"}."""
    mapping: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        provider_role, sep, vila_role = (s.strip() for s in item.partition("="))
        if not sep or not provider_role or not vila_role:
            raise ValueError(f"VILA_OIDC_ROLE_MAP: '{item}' is not 'ProviderRole=vila_role'")
        if vila_role not in ROLES:
            raise ValueError(f"VILA_OIDC_ROLE_MAP: unknown Vila role '{vila_role}'; roles are {', '.join(ROLES)}")
        mapping[provider_role] = vila_role
    return mapping


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    roles_claim: str = "roles"
    role_map: Mapping[str, str] = field(default_factory=dict)
    allow_http: bool = False
    api_audience: str = ""  # access tokens for the REST API; empty: the client id
    timeout_s: float = 10.0
    discovery_ttl_s: float = 3600.0
    leeway: timedelta = timedelta(seconds=60)

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcConfig | None:
        if not settings.oidc_enabled:
            return None
        return cls(
            issuer=settings.oidc_issuer,
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            roles_claim=settings.oidc_roles_claim,
            role_map=parse_role_map(settings.oidc_role_map),
            allow_http=settings.oidc_allow_http,
            api_audience=settings.oidc_api_audience,
        )


@dataclass(frozen=True)
class AuthRequest:
    """Where to send the browser, and what to keep (in a short-lived cookie) until it comes back."""

    url: str
    state: str
    nonce: str
    verifier: str


@dataclass(frozen=True)
class _Metadata:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class OidcClient:
    """Talks to the provider. Discovery is cached for an hour and signing keys by PyJWKClient."""

    def __init__(
        self, config: OidcConfig, *, http: httpx.Client | None = None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self._http = http or httpx.Client(timeout=config.timeout_s, follow_redirects=False)
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._metadata: tuple[_Metadata, jwt.PyJWKClient, float] | None = None

    def close(self) -> None:
        self._http.close()

    def _allowed(self, url: str) -> bool:
        return url.startswith("https://") or (self.config.allow_http and url.startswith("http://"))

    def _get_metadata(self) -> tuple[_Metadata, jwt.PyJWKClient]:
        with self._lock:
            if self._metadata and self._monotonic() - self._metadata[2] < self.config.discovery_ttl_s:
                return self._metadata[0], self._metadata[1]
            url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            try:
                response = self._http.get(url)
                response.raise_for_status()
                doc = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise ProviderUnavailable(f"the sign-in provider's configuration could not be read: {exc}") from exc
            try:
                meta = _Metadata(
                    authorization_endpoint=str(doc["authorization_endpoint"]),
                    token_endpoint=str(doc["token_endpoint"]),
                    jwks_uri=str(doc["jwks_uri"]),
                )
                issuer = str(doc["issuer"])
            except (KeyError, TypeError) as exc:
                raise ProviderUnavailable(f"the sign-in provider's configuration lacks {exc}") from exc
            if issuer != self.config.issuer:
                raise ProviderUnavailable(f"the provider calls itself {issuer}, not {self.config.issuer}")
            for url in (meta.authorization_endpoint, meta.token_endpoint, meta.jwks_uri):
                if not self._allowed(url):
                    raise ProviderUnavailable(f"the provider's endpoint {url} is not https")
            if self._metadata is not None and self._metadata[0].jwks_uri == meta.jwks_uri:
                jwks = self._metadata[1]  # keep its cached keys
            else:
                jwks = jwt.PyJWKClient(meta.jwks_uri, cache_keys=True, timeout=self.config.timeout_s)
            self._metadata = (meta, jwks, self._monotonic())
            return meta, jwks

    def start(self, *, redirect_uri: str) -> AuthRequest:
        meta, _ = self._get_metadata()
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        query = httpx.QueryParams(
            {
                "response_type": "code",
                "client_id": self.config.client_id,
                "redirect_uri": redirect_uri,
                "scope": SCOPE,
                "state": state,
                "nonce": nonce,
                "code_challenge": _challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if "?" in meta.authorization_endpoint else "?"
        return AuthRequest(f"{meta.authorization_endpoint}{separator}{query}", state, nonce, verifier)

    def finish(self, *, code: str, verifier: str, nonce: str, redirect_uri: str, now: datetime) -> dict[str, Any]:
        """Redeem the code and return the ID token's validated claims."""
        meta, _ = self._get_metadata()
        try:
            response = self._http.post(
                meta.token_endpoint,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "client_id": self.config.client_id,
                    "client_secret": self.config.client_secret,
                    "code_verifier": verifier,
                },
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"the sign-in provider could not be reached: {exc}") from exc
        if response.status_code in (400, 401):
            # invalid_grant and friends: a used, expired or foreign code. Never echo the body: it may
            # carry details of the request.
            raise SignInRefused(f"the provider refused the sign-in code ({_error_code(response)})")
        if response.status_code != 200:
            raise ProviderUnavailable(f"the provider's token endpoint answered {response.status_code}")
        try:
            id_token = str(response.json()["id_token"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderUnavailable("the provider's token answer has no ID token") from exc
        return self.validate(id_token, nonce=nonce, now=now)

    def validate(self, id_token: str, *, nonce: str, now: datetime) -> dict[str, Any]:
        claims = self._decode(id_token, audience=self.config.client_id, now=now, what="ID token", extra=["nonce"])
        audience = claims["aud"]
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != self.config.client_id:
            raise SignInRefused("the ID token was issued to another party (azp)")
        if not hmac.compare_digest(str(claims["nonce"]).encode(), nonce.encode()):
            raise SignInRefused("the ID token's nonce does not match this sign-in")
        return claims

    def validate_access_token(self, token: str, *, now: datetime) -> dict[str, Any]:
        """An access token the provider issued for Vila's API (the app's calls): signature, issuer,
        audience (`api_audience`, else the client id) and expiry; no nonce, no code."""
        return self._decode(
            token, audience=self.config.api_audience or self.config.client_id, now=now, what="access token"
        )

    def _decode(
        self, token: str, *, audience: str, now: datetime, what: str, extra: list[str] | None = None
    ) -> dict[str, Any]:
        _, jwks = self._get_metadata()
        try:
            key = jwks.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as exc:
            raise ProviderUnavailable(f"the provider's signing keys could not be read: {exc}") from exc
        except (jwt.PyJWKClientError, jwt.PyJWTError) as exc:
            raise SignInRefused(f"the {what}'s signing key is unknown: {exc}") from exc
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=audience,
                issuer=self.config.issuer,
                options={
                    "require": ["iss", "aud", "exp", "iat", "sub", *(extra or [])],
                    "verify_exp": False,  # checked below against Vila's clock
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise SignInRefused(f"the {what} is not valid: {exc}") from exc
        instant = now.timestamp()
        leeway = self.config.leeway.total_seconds()
        if not isinstance(claims["exp"], int | float) or claims["exp"] <= instant - leeway:
            raise SignInRefused(f"the {what} has expired")
        if isinstance(claims.get("nbf"), int | float) and claims["nbf"] > instant + leeway:
            raise SignInRefused(f"the {what} is not valid yet")
        return claims


def _error_code(response: httpx.Response) -> str:
    try:
        value = response.json().get("error")
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"
    return str(value)[:60] if value else f"HTTP {response.status_code}"


# Who signed in -----------------------------------------------------------------------------------


def find_person(*, session: Session, claims: Mapping[str, Any]) -> Person | None:
    """By the provider's stable id (Entra's `oid`, else `sub`) in `Person.external_id`; else by the
    email address, but only for a person with no external id yet: someone whose external id names
    another account is not taken over by an address that was moved or reused."""
    for claim in ("oid", "sub"):
        value = claims.get(claim)
        if isinstance(value, str) and value:
            person = session.scalar(select(Person).where(Person.external_id == value))
            if person is not None:
                return person
    if claims.get("email_verified") is False:
        return None
    for claim in ("email", "preferred_username"):
        value = claims.get(claim)
        if isinstance(value, str) and "@" in value:
            person = session.scalar(select(Person).where(Person.email == value.strip().lower()))
            if person is not None and person.external_id is None:
                return person
    return None


def granted_roles(*, claims: Mapping[str, Any], config: OidcConfig) -> set[str]:
    """Vila roles from the provider's app roles; everyone who signs in is staff."""
    raw = claims.get(config.roles_claim) or []
    values = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    return {"staff"} | {config.role_map[v] for v in values if isinstance(v, str) and v in config.role_map}


def roles_for(*, person: Person, claims: Mapping[str, Any], config: OidcConfig) -> set[str]:
    """The person's roles under these claims: with a role map the provider decides the roles it
    names, and Vila keeps the rest; without one Vila's roles apply. Always staff."""
    if config.role_map:
        governed = set(config.role_map.values()) - {"staff"}
        return (set(person.roles) - governed) | granted_roles(claims=claims, config=config)
    return set(person.roles) | {"staff"}


@dataclass(frozen=True)
class SignIn:
    person: Person
    roles: frozenset[str]
    roles_before: list[str] | None = None  # set when the provider changed the person's roles


def sign_in(*, session: Session, claims: Mapping[str, Any], config: OidcConfig, now: datetime) -> SignIn:
    """The person behind a validated ID token, and their roles from now on.

    The provider's app roles are the source of truth for every Vila role named in the role map:
    a role granted there is added to the person, a role taken away there is removed, at each
    sign-in (and so for the person's API tokens too). Roles the map does not name stay as Vila
    has them. Nobody is created here: the directory is provisioned separately."""
    person = find_person(session=session, claims=claims)
    if person is None:
        raise UnknownPerson("the account is not in Vila's directory")
    if not person.active:
        raise UnknownPerson("the account is no longer active in Vila")
    before = sorted(person.roles)
    roles = roles_for(person=person, claims=claims, config=config)
    changed = sorted(roles) != before
    if changed:
        person.roles = sorted(roles)
        person.updated_at = now
        session.flush()
    return SignIn(person=person, roles=frozenset(roles), roles_before=before if changed else None)


class AccessTokenProvider:
    """The REST API's second `IdentityProvider`: the provider's own access tokens, so the app that
    signed its user in through Entra calls Vila without a Vila token. The person is found as at a
    web sign-in and gets the roles the token grants for this request; nothing is written (a web
    sign-in is what records role changes)."""

    def __init__(self, client: OidcClient) -> None:
        self._client = client

    def authenticate(self, *, session: Session, credential: str, now: datetime) -> Principal | None:
        if credential.startswith(TOKEN_PREFIX) or credential.count(".") != 2:
            return None  # a Vila token, or not a JWT at all
        try:
            claims = self._client.validate_access_token(credential, now=now)
        except ProviderUnavailable:
            log.warning("an access token could not be checked: the provider's keys are unreachable", exc_info=True)
            return None
        except OidcError as exc:
            log.info("access token refused: %s", exc)
            return None
        person = find_person(session=session, claims=claims)
        if person is None or not person.active:
            log.info("access token for someone not (or no longer) in the directory: %s", claims.get("sub"))
            return None
        return Principal(
            person_id=person.id,
            name=person.name,
            email=person.email,
            roles=frozenset(roles_for(person=person, claims=claims, config=self._client.config)),
            method="oidc",
            language=person.language,
        )
