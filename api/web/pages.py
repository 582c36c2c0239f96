"""Web pages: which page each role sees, how a page shell is rendered in the reader's language and
zone, and the cookies the web app sets. The pages are thin: each renders a shell and its script calls
the REST API with the session cookie and the CSRF header, so every change goes through the audited
REST routes."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import CSRF_HEADER, SESSION_COOKIE, ClockDep, SessionDep, SettingsDep, authenticate, csrf_token
from api.web import i18n
from kernel import formats
from kernel.auth.service import Principal
from kernel.clock import Clock
from kernel.directory.models import Person
from kernel.i18n import catalog
from kernel.i18n import pilot as pilot_texts
from kernel.settings import Settings
from notify.fleet.access import FLEET_ROLES

HERE = Path(__file__).parent
DEFAULT_ZONE = "Europe/Stockholm"
LANG_COOKIE = "vila_lang"
LOGIN_COOKIE = "vila_login"
LOGIN_FORM_AGE = 3600  # a login form left open longer than this is refused and shown again

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
PAGE_AREAS: dict[str, ModuleType] = {"surveys": pilot_texts, "pilots": pilot_texts}


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
    return formats.language_of(principal.language if principal else None)


def _visible(principal: Principal, page: str) -> bool:
    roles = PAGES[page][1]
    return not roles or principal.has(*roles)


def _render(request: Request, template: str, principal: Principal | None, page: str, **extra: Any) -> Response:
    lang = _language(request, principal)
    t = i18n.texts(lang)
    if page in PAGE_AREAS:
        t |= catalog(lang, PAGE_AREAS[page])
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
