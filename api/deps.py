"""Request dependencies as `Annotated` aliases: one place for sessions, settings, clock and identity."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from kernel.audit import service as audit
from kernel.audit.service import RequestMeta
from kernel.auth.service import IdentityProvider, Principal
from kernel.clock import Clock
from kernel.errors import NotAuthenticated, PermissionDenied
from kernel.settings import Settings
from kernel.uow import UnitOfWork
from notify.transports.vapid import WebPush


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_webpush(request: Request) -> WebPush:
    webpush: WebPush = request.app.state.webpush
    return webpush


def get_sendable(request: Request) -> frozenset[str]:
    """The providers this installation has a transport for (`notify.push.sendable`)."""
    sendable: frozenset[str] = request.app.state.sendable
    return sendable


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_session(request: Request) -> Iterator[Session]:
    """A session for this request. The route owns the transaction and commits; anything left
    uncommitted is rolled back."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
WebPushDep = Annotated[WebPush, Depends(get_webpush)]
SendableDep = Annotated[frozenset[str], Depends(get_sendable)]
SessionDep = Annotated[Session, Depends(get_session)]


def get_uow(session: SessionDep, clock: ClockDep) -> UnitOfWork:
    """The request's unit of work, on the request's session: a write route authorises, calls one
    use case and ends with `uow.commit()`, which also writes the follow-up jobs of its events."""
    return UnitOfWork(session, clock)


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


# A path segment that is itself a credential: the calendar feed's secret (calendar apps cannot send a
# bearer token). Logs and the audit get the path with it masked.
_SECRET_IN_PATH = re.compile(r"(/calendar-feeds/)[^/]+")


def loggable_path(request: Request) -> str:
    """The request's path as logs and the audit may keep it: without secrets."""
    return _SECRET_IN_PATH.sub(r"\1<secret>", request.url.path)


def request_meta(request: Request) -> RequestMeta:
    """Who asked, for the audit. The client address is the one `create_app` installs for every request:
    X-Forwarded-For is believed only from a direct peer in VILA_FORWARDED_ALLOW_IPS, and then its
    right-most address that is not itself a trusted proxy (uvicorn's rule), so a client cannot
    forge its address by sending the header itself."""
    return RequestMeta(
        source_ip=request.client.host if request.client else None,
        request_id=getattr(request.state, "request_id", None),
        method=request.method,
        path=loggable_path(request),
    )


SESSION_COOKIE = "vila_session"
CSRF_HEADER = "X-CSRF-Token"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def csrf_token(credential: str) -> str:
    """The value a cookie-authenticated page must send back in `X-CSRF-Token`. Derived from the
    session, so a page on another site, which cannot read the HttpOnly cookie, cannot forge it."""
    return hmac.new(credential.encode(), b"vila-csrf", hashlib.sha256).hexdigest()


def _credential(request: Request) -> str:
    """The bearer token from the Authorization header, or else from the web session cookie. A
    state-changing request that relies on the cookie must carry the CSRF header as well."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise NotAuthenticated("the Authorization header must be 'Bearer <token>'")
        return credential.strip()
    cookie = request.cookies.get(SESSION_COOKIE, "").strip()
    if not cookie:
        raise NotAuthenticated("missing bearer token: send 'Authorization: Bearer <token>'")
    if request.method in _UNSAFE:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), csrf_token(cookie).encode()):
            raise PermissionDenied(f"a request authenticated by the session cookie needs the {CSRF_HEADER} header")
    return cookie


def authenticate(
    request: Request, session: Session, now: datetime, credential: str, *, integration: bool = False
) -> Principal | None:
    """Who the credential is, in a short transaction of its own: the coarse last-used stamp (at
    most every few minutes) commits there, never inside the request's unit of work, which then
    commits only the request's own work. `session` is the request's, unused (kept for callers).
    A credential of the `integration` role (the identity system's provisioning client) is good for
    /scim/v2 only (`integration=True`), and only it is."""
    providers: list[IdentityProvider] = request.app.state.identity_providers
    with request.app.state.session_factory() as own:
        for provider in providers:
            principal = provider.authenticate(session=own, credential=credential, now=now)
            if principal is not None:
                if own.dirty:
                    own.commit()
                if principal.has("integration") != integration:
                    raise PermissionDenied(
                        "a provisioning (integration) token may be used for /scim/v2 only"
                        if not integration
                        else "provisioning at /scim/v2 needs a token of the integration role"
                    )
                return principal
    return None


def current_principal(request: Request, session: SessionDep, clock: ClockDep) -> Principal:
    credential = _credential(request)
    principal = authenticate(request, session, clock.now(), credential)
    if principal is None:
        raise NotAuthenticated("the token is unknown, expired or revoked")
    request.state.principal = principal
    return principal


CurrentPerson = Annotated[Principal, Depends(current_principal)]


@dataclass
class Auditor:
    """Writes audit records for this request into the route's transaction."""

    request: Request
    principal: Principal | None
    clock: Clock

    def log(
        self,
        session: Session,
        *,
        action: str,
        target_type: str,
        target_id: str | uuid.UUID | None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        audit.record(
            session=session,
            now=self.clock.now(),
            actor_id=self.principal.person_id if self.principal else None,
            actor_label=self.principal.label if self.principal else "anonymous",
            action=action,
            target_type=target_type,
            target_id=target_id,
            meta=request_meta(self.request),
            before=before,
            after=after,
        )
        self.request.state.audited = True

    def exempt(self) -> None:
        """This change is deliberately not audited: a read receipt's time is private (no surveillance
        of rest), and an audit record would expose it to whoever reads the log."""
        self.request.state.audited = True


def get_auditor(request: Request, principal: CurrentPerson, clock: ClockDep) -> Auditor:
    return Auditor(request=request, principal=principal, clock=clock)


AuditDep = Annotated[Auditor, Depends(get_auditor)]


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many items.")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000, description="Skip this many items.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]
