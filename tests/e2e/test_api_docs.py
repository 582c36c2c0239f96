"""The API documentation opens in a browser that reaches nothing but Vila: Swagger UI at /docs and
ReDoc at /redoc render the whole API from Vila's own files (the `page` fixture fails the test on
any request to another host; the pages' policy keeps the browser from even asking)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import Served

pytestmark = pytest.mark.e2e


def _offline(page: Page, served: Served) -> list[str]:
    """Answer every request to another host with a network error, as on a ward without internet."""
    refused: list[str] = []

    def refuse(route: Route) -> None:
        if route.request.url.startswith(served.base):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", refuse)
    return refused


def test_swagger_ui_and_redoc_render_without_internet(page: Page, served: Served) -> None:
    refused = _offline(page, served)
    page.goto(served.base + "/docs")
    # Both render the whole API in the browser: slow on a busy machine, so they get time.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Vila", timeout=30_000)
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    expect(page.get_by_text("/api/v1/messages/size").first).to_be_attached()
    page.goto(served.base + "/redoc")
    expect(page.locator("h1").first).to_contain_text("Vila", timeout=30_000)
    expect(page.get_by_text("/api/v1/messages/preview").first).to_be_attached(timeout=30_000)
    assert refused == []
