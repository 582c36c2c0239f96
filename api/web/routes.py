"""Web pages. They are thin: each renders a shell and its script calls the REST API with the session
cookie and the CSRF header, so every change goes through the audited REST routes."""

from __future__ import annotations

import hmac
import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import (
    CSRF_HEADER,
    SESSION_COOKIE,
    ClockDep,
    SessionDep,
    SettingsDep,
    authenticate,
    csrf_token,
    request_meta,
)
from api.web import i18n
from kernel import formats
from kernel.audit import service as audit
from kernel.auth import oidc as oidc_login
from kernel.auth.service import Principal, end_web_session, exchange_for_web_session, issue_web_session
from kernel.clock import Clock
from kernel.directory.models import Person
from kernel.settings import Settings
from notify import devices
from notify.fleet.access import FLEET_ROLES
from pilot import i18n as pilot_texts

HERE = Path(__file__).parent
DEFAULT_ZONE = "Europe/Stockholm"
LANG_COOKIE = "vila_lang"
LOGIN_COOKIE = "vila_login"
LOGIN_FORM_AGE = 3600  # a login form left open longer than this is refused and shown again
OIDC_COOKIE = "vila_oidc"
OIDC_FLOW_AGE = 600  # the provider's sign-in page must be finished within this many seconds

log = logging.getLogger("vila.web")

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")
# An instant as a person reads it, in their zone and language: {{ at|when(zone, lang) }}.
templates.env.filters["when"] = lambda at, tz, language: formats.full(at, tz, language)

# page name -> (template, roles that see it; empty: everyone)
PAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "compose": ("compose.html", ("manager", "admin")),
    "messages": ("history.html", ("manager", "admin", "hr")),
    "me": ("me.html", ()),
    "rest": ("rest.html", ()),  # served with its data by api.web.rest_pages
    "rosters": ("rosters.html", ()),
    "inbox": ("inbox.html", ()),
    "devices": ("devices.html", ()),
    "policies": ("policies.html", ("hr", "admin", "union")),
    "ledger": ("ledger.html", ("hr", "admin")),
    "dashboard": ("dashboard.html", ("hr", "admin", "union")),
    "surveys": ("surveys.html", ()),
    "pilots": ("pilots.html", ("evaluator", "hr", "admin")),
    "fleet": ("fleet.html", FLEET_ROLES),
    "fleet/loans": ("fleet_loans.html", FLEET_ROLES),
    "fleet/offboarding": ("fleet_offboarding.html", FLEET_ROLES),
    "fleet/costs": ("fleet_costs.html", FLEET_ROLES),
    "admin/people": ("admin_people.html", ("admin", "hr")),  # served by api/web/admin_pages.py
}
NAV = [
    ("compose", "nav.compose"),
    ("messages", "nav.history"),
    ("me", "nav.me"),
    ("rest", "nav.rest"),
    ("rosters", "nav.rosters"),
    ("inbox", "nav.inbox"),
    ("devices", "nav.devices"),
    ("policies", "nav.policies"),
    ("ledger", "nav.ledger"),
    ("dashboard", "nav.dashboard"),
    ("surveys", "nav.surveys"),
    ("pilots", "nav.pilots"),
    ("fleet", "nav.fleet"),
    ("admin/people", "nav.admin"),
]
# Pages whose texts live in a catalog of their own, merged into the page's `t`.
PAGE_TEXTS: dict[str, Callable[[str], dict[str, str]]] = {
    "surveys": pilot_texts.catalog,
    "pilots": pilot_texts.catalog,
}


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


def _principal(request: Request, session: Session, clock: Clock) -> Principal | None:
    cookie = request.cookies.get(SESSION_COOKIE, "").strip()
    if not cookie:
        return None
    principal = authenticate(request, session, clock.now(), cookie)
    if principal is not None:
        # The page shows times in the reader's own zone (`data-zone`, read by app.js).
        request.state.zone = session.scalar(select(Person.timezone).where(Person.id == principal.person_id))
    return principal


def _language(request: Request, principal: Principal | None) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in i18n.LANGUAGES:
        return chosen
    return i18n.pick(principal.language if principal else None)


def _visible(principal: Principal, page: str) -> bool:
    roles = PAGES[page][1]
    return not roles or principal.has(*roles)


def _render(request: Request, template: str, principal: Principal | None, page: str, **extra: Any) -> Response:
    lang = _language(request, principal)
    t = i18n.texts(lang)
    if page in PAGE_TEXTS:
        t |= PAGE_TEXTS[page](lang)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    context = {
        "lang": lang,
        "t": t,
        "page": page,
        "me": principal,
        "csrf": csrf_token(cookie) if principal else "",
        "csrf_header": CSRF_HEADER,
        "nav": [(p, t[k]) for p, k in NAV if principal and _visible(principal, p)],
        "zone": getattr(request.state, "zone", None) or DEFAULT_ZONE,
        **extra,
    }
    response = templates.TemplateResponse(request, template, context)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _secure(request: Request, settings: Settings) -> bool:
    """Cookies carry the Secure flag when the request came over HTTPS (behind a proxy: as its
    X-Forwarded-Proto says, from the addresses in VILA_FORWARDED_ALLOW_IPS) or when Vila's public
    address is https."""
    return request.url.scheme == "https" or settings.public_url.startswith("https://")


def _set_cookie(
    response: Response,
    request: Request,
    settings: Settings,
    name: str,
    value: str,
    *,
    max_age: int,
    path: str = "/",
    samesite: Literal["strict", "lax"] = "strict",
    httponly: bool = True,
) -> None:
    """Every cookie the web app sets: Secure by the same rule (`_secure`), SameSite=Strict unless a
    flow needs Lax, HttpOnly unless a page script must read it."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=httponly,
        samesite=samesite,
        secure=_secure(request, settings),
        path=path,
    )


def _start_session(response: Response, request: Request, settings: Settings, credential: str) -> None:
    """The session cookie: a web session token of its own, the same kind for a pasted token and an
    OIDC sign-in, for VILA_WEB_SESSION_HOURS (a working day by default)."""
    _set_cookie(response, request, settings, SESSION_COOKIE, credential, max_age=settings.web_session_hours * 3600)


def _login_page(request: Request, settings: Settings, *, error: str | None = None, status: int = 200) -> Response:
    """The login form, with a fresh login-CSRF value both in the form and in a SameSite=Strict
    cookie: a form posted from another site carries no such cookie and is refused, so nobody can
    sign a colleague's browser in with the poster's own token."""
    nonce = secrets.token_urlsafe(24)
    oidc = request.app.state.oidc is not None
    response = _render(request, "login.html", None, "login", error=error, login_nonce=nonce, oidc=oidc)
    response.status_code = status
    _set_cookie(response, request, settings, LOGIN_COOKIE, nonce, max_age=LOGIN_FORM_AGE, path="/login")
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep) -> Response:
    principal = _principal(request, session, clock)
    if principal is None:
        return _login_page(request, settings)
    return _render(request, "home.html", principal, "home")


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, settings: SettingsDep) -> Response:
    return _login_page(request, settings)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
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
    session.commit()
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
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    code: Annotated[str, Query(max_length=4000)] = "",
    state: Annotated[str, Query(max_length=200)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    client = _oidc_client(request)
    if client is None:
        return Response("sign-in with an organisation account is not configured", status_code=404)
    response = _oidc_finish(request, session, clock, settings, client, code=code, state=state, error=error)
    response.delete_cookie(OIDC_COOKIE, path="/login/oidc")  # one try per flow: a state is never reused
    return response


def _oidc_finish(
    request: Request,
    session: Session,
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
    session.commit()
    # Not a redirect: a redirect chain that began at the provider is cross-site, so the browser would
    # not send the new SameSite=Strict cookie to "/". A same-site page that moves on does.
    response = _render(request, "signed_in.html", None, "login")
    _start_session(response, request, settings, secret)
    return response


@router.post("/logout")
def logout(
    request: Request,
    session: SessionDep,
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
            session.commit()
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
        session.commit()


@router.get("/language/{lang}")
def language(lang: str, request: Request, settings: SettingsDep) -> Response:
    if lang not in i18n.LANGUAGES:
        return Response("unknown language; use sv or en", status_code=404)
    back = request.headers.get("referer", "/")
    target = back if back.startswith(str(request.base_url)) else "/"
    response = RedirectResponse(target, status_code=303)
    _set_cookie(response, request, settings, LANG_COOKIE, lang, max_age=365 * 86400, httponly=False)
    return response


def _page(name: str) -> Any:
    template, _ = PAGES[name]

    def handler(request: Request, session: SessionDep, clock: ClockDep) -> Response:
        principal = _principal(request, session, clock)
        if principal is None:
            return RedirectResponse("/login", status_code=303)
        if not _visible(principal, name):
            response = _render(request, "home.html", principal, "home")
            response.status_code = 403
            return response
        return _render(request, template, principal, name)

    return handler


for _name in PAGES:
    if _name == "rest" or _name.startswith("admin/"):  # their own handlers (rest_pages, admin_pages)
        continue
    router.add_api_route(f"/{_name}", _page(_name), methods=["GET"], response_class=HTMLResponse)


@router.get("/fleet/assets/{asset_id}", response_class=HTMLResponse)
def asset_page(asset_id: uuid.UUID, request: Request, session: SessionDep, clock: ClockDep) -> Response:
    principal = _principal(request, session, clock)
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    if not _visible(principal, "fleet"):
        response = _render(request, "home.html", principal, "home")
        response.status_code = 403
        return response
    return _render(request, "fleet_asset.html", principal, "fleet/asset", asset_id=str(asset_id))


@router.get("/messages/{message_id}", response_class=HTMLResponse)
def message_page(message_id: uuid.UUID, request: Request, session: SessionDep, clock: ClockDep) -> Response:
    principal = _principal(request, session, clock)
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    return _render(request, "status.html", principal, "status", message_id=str(message_id))
