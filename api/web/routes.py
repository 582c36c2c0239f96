"""Web pages. They are thin: each renders a shell and its script calls the REST API with the session
cookie and the CSRF header, so every change goes through the audited REST routes."""

from __future__ import annotations

import hmac
import secrets
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from api.deps import CSRF_HEADER, SESSION_COOKIE, ClockDep, SessionDep, SettingsDep, authenticate, csrf_token
from api.web import i18n
from kernel.auth.service import Principal
from kernel.clock import Clock
from kernel.settings import Settings

HERE = Path(__file__).parent
LANG_COOKIE = "vila_lang"
LOGIN_COOKIE = "vila_login"
LOGIN_FORM_AGE = 3600  # a login form left open longer than this is refused and shown again
SESSION_AGE = 12 * 3600  # a working day; the token itself may live longer

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")

# page name -> (template, roles that see it; empty: everyone)
PAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "compose": ("compose.html", ("manager", "admin")),
    "messages": ("history.html", ("manager", "admin", "hr")),
    "me": ("me.html", ()),
    "rosters": ("rosters.html", ()),
    "inbox": ("inbox.html", ()),
    "devices": ("devices.html", ()),
    "policies": ("policies.html", ("hr", "admin", "union")),
    "ledger": ("ledger.html", ("hr", "admin")),
    "dashboard": ("dashboard.html", ("hr", "admin", "union")),
}
NAV = [
    ("compose", "nav.compose"),
    ("messages", "nav.history"),
    ("me", "nav.me"),
    ("rosters", "nav.rosters"),
    ("inbox", "nav.inbox"),
    ("devices", "nav.devices"),
    ("policies", "nav.policies"),
    ("ledger", "nav.ledger"),
    ("dashboard", "nav.dashboard"),
]


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


def _principal(request: Request, session: Session, clock: Clock) -> Principal | None:
    cookie = request.cookies.get(SESSION_COOKIE, "").strip()
    if not cookie:
        return None
    return authenticate(request, session, clock.now(), cookie)


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
    cookie = request.cookies.get(SESSION_COOKIE, "")
    context = {
        "lang": lang,
        "t": t,
        "page": page,
        "me": principal,
        "csrf": csrf_token(cookie) if principal else "",
        "csrf_header": CSRF_HEADER,
        "nav": [(p, t[k]) for p, k in NAV if principal and _visible(principal, p)],
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


def _login_page(request: Request, settings: Settings, *, error: str | None = None, status: int = 200) -> Response:
    """The login form, with a fresh login-CSRF value both in the form and in a SameSite=Strict
    cookie: a form posted from another site carries no such cookie and is refused, so nobody can
    sign a colleague's browser in with the poster's own token."""
    nonce = secrets.token_urlsafe(24)
    response = _render(request, "login.html", None, "login", error=error, login_nonce=nonce)
    response.status_code = status
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=LOGIN_FORM_AGE,
        httponly=True,
        samesite="strict",
        secure=_secure(request, settings),
        path="/login",
    )
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
    principal = authenticate(request, session, clock.now(), token.strip()) if token.strip() else None
    if principal is None:
        return _login_page(request, settings, error="login.invalid", status=401)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token.strip(),
        max_age=SESSION_AGE,
        httponly=True,
        samesite="strict",
        secure=_secure(request, settings),
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    cookie = request.cookies.get(SESSION_COOKIE, "")
    response = RedirectResponse("/login", status_code=303)
    if cookie and csrf != csrf_token(cookie):
        return Response("missing or wrong CSRF token", status_code=403)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/language/{lang}")
def language(lang: str, request: Request) -> Response:
    if lang not in i18n.LANGUAGES:
        return Response("unknown language; use sv or en", status_code=404)
    back = request.headers.get("referer", "/")
    target = back if back.startswith(str(request.base_url)) else "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="strict", path="/")
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
    router.add_api_route(f"/{_name}", _page(_name), methods=["GET"], response_class=HTMLResponse)


@router.get("/messages/{message_id}", response_class=HTMLResponse)
def message_page(message_id: uuid.UUID, request: Request, session: SessionDep, clock: ClockDep) -> Response:
    principal = _principal(request, session, clock)
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    return _render(request, "status.html", principal, "status", message_id=str(message_id))
