"""Web pages. They are thin: each renders a shell and its script calls the REST API with the session
cookie and the CSRF header, so every change goes through the audited REST routes."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from api.deps import CSRF_HEADER, SESSION_COOKIE, ClockDep, SessionDep, authenticate, csrf_token
from api.web import i18n
from kernel.auth.service import Principal
from kernel.clock import Clock

HERE = Path(__file__).parent
LANG_COOKIE = "vila_lang"
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
    "policies": ("policies.html", ("hr", "admin")),
    "ledger": ("ledger.html", ("hr", "admin")),
    "dashboard": ("dashboard.html", ("hr", "admin")),
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


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, clock: ClockDep) -> Response:
    principal = _principal(request, session, clock)
    if principal is None:
        return _render(request, "login.html", None, "login", error=False)
    return _render(request, "home.html", principal, "home")


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return _render(request, "login.html", None, "login", error=False)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request, session: SessionDep, clock: ClockDep, token: Annotated[str, Form(max_length=500)] = ""
) -> Response:
    principal = authenticate(request, session, clock.now(), token.strip()) if token.strip() else None
    if principal is None:
        response = _render(request, "login.html", None, "login", error=True)
        response.status_code = 401
        return response
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token.strip(),
        max_age=SESSION_AGE,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
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
