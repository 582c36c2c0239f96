"""The pages people use most, without a mouse and on small screens: compose, "Med patient" and the
inbox by keyboard alone; every signed-in page at 200 % zoom and 320 CSS pixels wide without
scrolling sideways (WCAG 2.1.1, 1.4.4, 1.4.10); the accessibility statement linked from every page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import Served, login, ready

pytestmark = pytest.mark.e2e

_FOCUSED = "(selector) => { const a = document.activeElement; return !!a && a.matches(selector); }"


def tab_to(page: Page, selector: str, *, limit: int = 120) -> None:
    """Press Tab until the element matching `selector` has the focus, as a keyboard user would."""
    for _ in range(limit):
        if page.evaluate(_FOCUSED, selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def _staff_id(served: Served) -> str:
    with served.api("staff") as api:
        return str(api.get("/api/v1/people/me").json()["id"])


def test_a_manager_composes_and_sends_by_keyboard_alone(page: Page, served: Served) -> None:
    login(page, served, "manager")
    ready(page, "/compose", served)
    tab_to(page, 'input[name="groups"]')
    page.keyboard.press("Space")
    expect(page.locator('input[name="groups"]').first).to_be_checked()
    tab_to(page, "#title")
    page.keyboard.type("Tangentbordet räcker")
    tab_to(page, "#body")
    page.keyboard.type("Skickat utan mus. Å, ä och ö tar två byte var.")
    # The counter counts bytes of the push, as the send does.
    expect(page.locator("#size")).to_have_text(re.compile(r"^\d[\d\s]* av 4\s?096 byte i pushnotisen$"))
    tab_to(page, "#priority")
    page.keyboard.press("ArrowDown")  # normal -> urgent but respecting rest
    expect(page.locator("#priority")).to_have_value("urgent_rest")
    tab_to(page, "#requires-ack")
    page.keyboard.press("Space")
    expect(page.locator("#ack-minutes")).to_be_visible()
    expect(page.locator("#preview .summary li").first).to_be_visible()
    assert_accessible(page, "compose, filled in")
    tab_to(page, "#send")
    page.keyboard.press("Enter")
    # Urgent but respecting rest asks for no reason: nobody's rest is broken by an override.
    page.wait_for_url(re.compile(r".*/messages/[0-9a-f-]{36}$"))
    expect(page.locator("#status")).to_contain_text("Brådskande")


def test_with_a_patient_starts_and_ends_by_keyboard_alone(page: Page, served: Served) -> None:
    login(page, served, "staff")
    ready(page, "/me", served)
    if page.locator("#dnd-active").is_visible():  # left on by an earlier test
        page.locator("#dnd-end").click()
    tab_to(page, 'input[name="dnd-minutes"]:checked')
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_label("15 min")).to_be_checked()
    tab_to(page, "#dnd-button")
    page.keyboard.press("Enter")
    expect(page.get_by_role("timer")).to_contain_text(re.compile(r"1[45]:\d\d"))
    expect(page.locator("#dnd-end")).to_be_focused()
    assert_accessible(page, "with a patient, on")
    page.keyboard.press("Enter")
    expect(page.locator("#dnd-button")).to_be_visible()
    expect(page.locator("#dnd-button")).to_be_focused()


def test_the_inbox_is_read_and_acknowledged_by_keyboard_alone(page: Page, served: Served) -> None:
    staff_id = _staff_id(served)
    with served.api("manager") as api:
        sent = api.post(
            "/api/v1/messages",
            json={
                "title": "Kvittera rutinen",
                "body": "Bekräfta att du läst.",
                "priority": "urgent",
                "requires_ack": True,
                "audience": {"people": [staff_id]},
            },
        )
        assert sent.status_code == 202, sent.text
    login(page, served, "staff")
    ready(page, "/inbox", served)
    item = page.get_by_role("article", name="Kvittera rutinen")
    ack = item.get_by_role("button", name=re.compile("Kvittera"))
    tab_to(page, f"#{item.get_attribute('aria-labelledby')} ~ .row button.primary")
    expect(ack).to_be_focused()
    page.keyboard.press("Enter")
    item = page.get_by_role("article", name="Kvittera rutinen")
    expect(item.locator(".acked")).to_be_visible()
    read = item.get_by_role("button", name="Markera som läst")
    if read.count():
        tab_to(page, f"#{item.get_attribute('aria-labelledby')} ~ .row button")
        page.keyboard.press("Enter")
        expect(
            page.get_by_role("article", name="Kvittera rutinen").get_by_role("button", name="Markera som läst")
        ).to_have_count(0)


_WIDE = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.mark.parametrize(("width", "height", "what"), [(640, 450, "200 % zoom"), (320, 640, "320 px")])
def test_pages_reflow_at_200_percent_and_320_pixels(
    page: Page, served: Served, width: int, height: int, what: str
) -> None:
    """A 1280-pixel window at 200 % zoom is 640 CSS pixels wide; 320 is 1280 at 400 %. The page
    must not scroll sideways (a wide table scrolls inside its own focusable box)."""
    page.set_viewport_size({"width": width, "height": height})
    for role, paths in (
        ("manager", ["/", "/compose", "/messages"]),
        ("staff", ["/me", "/inbox", "/devices", "/rosters"]),
    ):
        page.context.clear_cookies()
        login(page, served, role)
        for path in paths:
            ready(page, path, served)
            overflow = page.evaluate(_WIDE)
            assert overflow <= 1, f"{what}: {path} scrolls sideways by {overflow} px"
            expect(page.get_by_role("link", name="Tillgänglighetsredogörelse")).to_be_visible()
            if path == "/compose":
                page.get_by_role("button", name="Skicka", exact=True).scroll_into_view_if_needed()
                expect(page.get_by_role("button", name="Skicka", exact=True)).to_be_visible()


def test_the_accessibility_statement_is_public_in_swedish_and_english(page: Page, served: Served) -> None:
    page.goto(served.base + "/accessibility")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tillgänglighet för Vila")
    expect(page.get_by_text("EN 301 549")).to_be_visible()
    expect(page.get_by_role("heading", name="Rapportera brister")).to_be_visible()
    assert_accessible(page, "accessibility statement")
    page.get_by_role("link", name="In English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accessibility of Vila")
    expect(page.get_by_role("link", name="Accessibility statement")).to_have_attribute("href", "/accessibility")
