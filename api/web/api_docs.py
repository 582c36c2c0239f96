"""Swagger UI (/docs) and ReDoc (/redoc) served from Vila itself, so the API's documentation opens
on a network without internet. Their scripts come from the `fastapi-offline` package (Swagger UI
and ReDoc's standalone bundles in its wheel), installed like every other dependency."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = "/api-docs-assets"
# Only Vila itself: ReDoc would otherwise fetch its logo from its maker's CDN. The pages' own
# start-up scripts are inline, as FastAPI writes them.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _own_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_POLICY
    return page


def assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@cache
def redoc_script() -> bytes:
    """ReDoc's bundle with its sidebar logo pointed at Vila's icon: the bundle would fetch it from
    its maker's CDN on every visit. Read on first use, not at import."""
    script = (assets_dir() / "redoc.standalone.js").read_text(encoding="utf-8")
    return script.replace(REDOC_LOGO, "/static/icon.svg").encode("utf-8")


def install(app: FastAPI) -> None:
    """Needs an app made with `docs_url=None, redoc_url=None` (FastAPI's own pages load a CDN)."""

    @app.get(f"{ASSETS}/redoc.standalone.js", include_in_schema=False)
    def redoc_bundle() -> Response:
        return Response(redoc_script(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    app.mount(ASSETS, StaticFiles(directory=assets_dir()), name="api-docs-assets")
    title = f"{app.title} – API"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _own_only(
            get_swagger_ui_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=title,
                swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS}/swagger-ui.css",
                swagger_favicon_url="/static/icon.svg",
                oauth2_redirect_url="/docs/oauth2-redirect",
            )
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _own_only(
            get_redoc_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=title,
                redoc_js_url=f"{ASSETS}/redoc.standalone.js",
                redoc_favicon_url="/static/icon.svg",
                with_google_fonts=False,
            )
        )
