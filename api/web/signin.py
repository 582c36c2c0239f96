"""Signing in and out of the web app: the login form with a pasted token, OIDC sign-in, and sign-out,
each audited in its own request's unit of work."""

from __future__ import annotations

import hmac
import logging
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import SESSION_COOKIE, ClockDep, SessionDep, SettingsDep, UowDep, authenticate, csrf_token, request_meta
from api.web.pages import LOGIN_COOKIE, _login_page, _principal, _render, _set_cookie, _start_session
from kernel.audit import service as audit
from kernel.auth import oidc as oidc_login
from kernel.auth.service import end_web_session, exchange_for_web_session, issue_web_session
from kernel.clock import Clock
from kernel.settings import Settings
from kernel.uow import UnitOfWork
from notify import devices

OIDC_COOKIE = "vila_oidc"
OIDC_FLOW_AGE = 600  # the provider's sign-in page must be finished within this many seconds

log = logging.getLogger("vila.web")

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, settings: SettingsDep) -> Response:
    return _login_page(request, settings)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    uow: UowDep,
    clock: ClockDep,
    settings: SettingsDep,
    token: Annotated[str, Form(max_length=500)] = "",
    nonce: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(nonce.encode(), expected.encode()):
        return _login_page(request, settings, error="login.stale", status=403)
    now = clock.now()
    principal = authenticate(request, session, now, token.strip()) if token.strip() else None
    if principal is None:
        return _login_page(request, settings, error="login.invalid", status=401)
    # The browser keeps a short-lived session of its own, never the pasted (long-lived) token.
    web_token, secret = exchange_for_web_session(
        session=session, principal=principal, now=now, ttl=timedelta(hours=settings.web_session_hours)
    )
    exchanged = str(principal.token_id) if principal.token_id else None
    after = {"method": "token", "roles": sorted(principal.roles), "session": str(web_token.id), "exchanged": exchanged}
    _audit_login(request, session, now, person_id=principal.person_id, label=principal.label, after=after)
    uow.commit()
    response = RedirectResponse("/", status_code=303)
    _start_session(response, request, settings, secret)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


def _audit_login(
    request: Request, session: Session, now: datetime, *, person_id: uuid.UUID, label: str, after: dict[str, Any]
) -> None:
    """`auth.login`, in the sign-in's transaction; never with a secret."""
    audit.record(
        session=session,
        now=now,
        actor_id=person_id,
        actor_label=label,
        action="auth.login",
        target_type="person",
        target_id=person_id,
        meta=request_meta(request),
        after=after,
    )
    request.state.audited = True


def _oidc_client(request: Request) -> oidc_login.OidcClient | None:
    client: oidc_login.OidcClient | None = request.app.state.oidc
    return client


def _redirect_uri(request: Request, settings: Settings) -> str:
    """Registered at the provider as Vila's redirect URI; behind a proxy, VILA_PUBLIC_URL names it."""
    if settings.public_url:
        return settings.public_url.rstrip("/") + "/login/oidc/callback"
    return str(request.url_for("oidc_callback"))


@router.get("/login/oidc")
def oidc_start(request: Request, settings: SettingsDep) -> Response:
    client = _oidc_client(request)
    if client is None:
        return Response("sign-in with an organisation account is not configured", status_code=404)
    try:
        auth = client.start(redirect_uri=_redirect_uri(request, settings))
    except oidc_login.OidcError as exc:
        log.warning("OIDC sign-in could not start: %s", exc)
        return _login_page(request, settings, error="oidc.unavailable", status=502)
    response = RedirectResponse(auth.url, status_code=303)
    # Lax, not Strict: the provider sends the browser back with a cross-site top-level GET.
    flow = f"{auth.state}.{auth.nonce}.{auth.verifier}"
    _set_cookie(
        response, request, settings, OIDC_COOKIE, flow, max_age=OIDC_FLOW_AGE, path="/login/oidc", samesite="lax"
    )
    return response


@router.get("/login/oidc/callback", name="oidc_callback")
def oidc_callback(
    request: Request,
    uow: UowDep,
    clock: ClockDep,
    settings: SettingsDep,
    code: Annotated[str, Query(max_length=4000)] = "",
    state: Annotated[str, Query(max_length=200)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    client = _oidc_client(request)
    if client is None:
        return Response("sign-in with an organisation account is not configured", status_code=404)
    response = _oidc_finish(request, uow, clock, settings, client, code=code, state=state, error=error)
    response.delete_cookie(OIDC_COOKIE, path="/login/oidc")  # one try per flow: a state is never reused
    return response


def _oidc_finish(
    request: Request,
    uow: UnitOfWork,
    clock: Clock,
    settings: Settings,
    client: oidc_login.OidcClient,
    *,
    code: str,
    state: str,
    error: str,
) -> Response:
    expected_state, _, rest = request.cookies.get(OIDC_COOKIE, "").partition(".")
    nonce, _, verifier = rest.partition(".")
    if not (expected_state and nonce and verifier and hmac.compare_digest(state.encode(), expected_state.encode())):
        return _login_page(request, settings, error="oidc.stale", status=400)
    if error:
        log.info("the identity provider answered the sign-in with %s", error[:60])
        denied = error == "access_denied"
        return _login_page(request, settings, error="oidc.denied" if denied else "oidc.refused", status=403)
    if not code:
        return _login_page(request, settings, error="oidc.refused", status=400)
    now = clock.now()
    session = uow.session
    try:
        claims = client.finish(
            code=code, verifier=verifier, nonce=nonce, redirect_uri=_redirect_uri(request, settings), now=now
        )
    except oidc_login.ProviderUnavailable as exc:
        log.warning("OIDC sign-in failed at the provider: %s", exc)
        return _login_page(request, settings, error="oidc.unavailable", status=502)
    except oidc_login.SignInRefused as exc:
        log.warning("OIDC sign-in refused: %s", exc)
        return _login_page(request, settings, error="oidc.refused", status=400)
    try:
        result = oidc_login.sign_in(session=session, claims=claims, config=client.config, now=now)
    except oidc_login.UnknownPerson as exc:
        log.warning("OIDC sign-in refused: %s (sub %s)", exc, claims.get("sub"))
        return _login_page(request, settings, error="oidc.unknown", status=403)
    person = result.person
    _, secret = issue_web_session(
        session=session, person=person, roles=result.roles, now=now, ttl=timedelta(hours=settings.web_session_hours)
    )
    meta = request_meta(request)
    if result.roles_before is not None:
        audit.record(
            session=session,
            now=now,
            actor_id=person.id,
            actor_label=f"{person.email} (identity provider)",
            action="person.roles_from_provider",
            target_type="person",
            target_id=person.id,
            meta=meta,
            before={"roles": result.roles_before},
            after={"roles": sorted(result.roles)},
        )
    after = {"method": "oidc", "roles": sorted(result.roles)}
    _audit_login(request, session, now, person_id=person.id, label=person.email, after=after)
    uow.commit()
    # Not a redirect: a redirect chain that began at the provider is cross-site, so the browser would
    # not send the new SameSite=Strict cookie to "/". A same-site page that moves on does.
    response = _render(request, "signed_in.html", None, "login")
    _start_session(response, request, settings, secret)
    return response


@router.post("/logout")
def logout(
    request: Request,
    session: SessionDep,
    uow: UowDep,
    clock: ClockDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
    webpush_device: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE, "")
    response = RedirectResponse("/login", status_code=303)
    if cookie and csrf != csrf_token(cookie):
        return Response("missing or wrong CSRF token", status_code=403)
    if cookie and webpush_device:
        _forget_browser(request, session, clock, webpush_device)
    if cookie:
        # The web session ends here; the API token it may have been exchanged for keeps working.
        ended = end_web_session(session=session, secret=cookie, now=clock.now())
        if ended is not None:
            audit.record(
                session=session,
                now=clock.now(),
                actor_id=ended.person_id,
                actor_label=ended.prefix,
                action="auth.logout",
                target_type="api_token",
                target_id=ended.id,
                meta=request_meta(request),
            )
            request.state.audited = True
        uow.commit()
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _forget_browser(request: Request, session: Session, clock: Clock, device: str) -> None:
    """Signing out of the staff app removes this browser's push subscription (the page names its
    device), in the same request, so nothing is left to do after the session has ended."""
    principal = _principal(request, session, clock)
    try:
        device_id = uuid.UUID(device)
    except ValueError:
        return
    if principal is None:
        return
    now = clock.now()
    removed = devices.remove_browser(session=session, person_id=principal.person_id, device_id=device_id, now=now)
    if removed is not None:
        audit.record(
            session=session,
            now=now,
            actor_id=principal.person_id,
            actor_label=principal.label,
            action="device.remove",
            target_type="device",
            target_id=removed.id,
            meta=request_meta(request),
            after={"state": removed.state, "reason": removed.state_reason},
        )
