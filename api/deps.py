"""Request dependencies as `Annotated` aliases: one place for sessions, settings, clock and identity."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from kernel.audit import service as audit
from kernel.audit.service import RequestMeta
from kernel.auth.service import IdentityProvider, Principal
from kernel.clock import Clock
from kernel.errors import NotAuthenticated
from kernel.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


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
SessionDep = Annotated[Session, Depends(get_session)]


def request_meta(request: Request) -> RequestMeta:
    forwarded = request.headers.get("x-forwarded-for")
    ip = forwarded.split(",")[0].strip() if forwarded else (request.client.host if request.client else None)
    return RequestMeta(
        source_ip=ip,
        request_id=getattr(request.state, "request_id", None),
        method=request.method,
        path=request.url.path,
    )


def current_principal(request: Request, session: SessionDep, clock: ClockDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if not header:
        raise NotAuthenticated("missing bearer token: send 'Authorization: Bearer <token>'")
    if scheme.lower() != "bearer" or not credential.strip():
        raise NotAuthenticated("the Authorization header must be 'Bearer <token>'")
    providers: list[IdentityProvider] = request.app.state.identity_providers
    now = clock.now()
    for provider in providers:
        principal = provider.authenticate(session=session, credential=credential.strip(), now=now)
        if principal is not None:
            session.commit()  # persists the coarse last-used stamp
            request.state.principal = principal
            return principal
    raise NotAuthenticated("the token is unknown, expired or revoked")


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
    offset: Annotated[int, Query(ge=0, description="Skip this many items.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]
