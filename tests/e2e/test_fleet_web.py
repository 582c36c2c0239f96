"""Device administration's pages in a real browser: the register with its filters and a device's
history, the loaner pool and its goal, the offboarding queue, and costs per unit and month."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Served, login, ready, shot

pytestmark = pytest.mark.e2e


def _fits(page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"


def test_it_filters_the_register_and_follows_a_device_through_its_lifecycle(page: Page, served: Served) -> None:
    login(page, served, "it")
    expect(page.get_by_role("link", name="Enhetsregister").first).to_be_visible()
    ready(page, "/fleet", served)
    expect(page.locator("#fleet-count")).to_have_text(re.compile(r"^\d{2,} enheter$"))
    # Keyboard only: choose a state and submit the filter with Enter.
    page.get_by_label("Status").select_option("lost")
    page.get_by_label("Sök serienummer, IMEI, modell, nummer eller namn").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#fleet-count")).to_have_text("1 enheter")
    expect(page).to_have_url(re.compile(r"state=lost"))
    row = page.locator("#fleet-list tbody tr")
    expect(row).to_contain_text("Förlorad/stulen")
    page.get_by_label("Status").select_option("")
    page.get_by_role("button", name="Visa", exact=True).click()
    expect(page.locator("#fleet-count")).to_have_text(re.compile(r"^\d{2,} enheter$"))
    total = int(page.locator("#fleet-count").inner_text().split()[0])
    assert 80 <= total <= 100, "the demo's fleet: about 80 assets"
    expect(page.locator("#fleet-list tbody tr")).to_have_count(total)
    shot(page, "fleet-list")

    page.get_by_label("Status").select_option("lost")
    page.get_by_role("button", name="Visa", exact=True).click()
    # The filtered list first: a click before it has come opens the whole register's first device.
    expect(page.locator("#fleet-count")).to_have_text("1 enheter")
    expect(page.locator("#fleet-list tbody tr")).to_have_count(1)
    page.locator("#fleet-list tbody tr a").first.click()
    page.wait_for_selector("body[data-ready]")
    history = page.locator("#asset-history")
    expect(history).to_contain_text("Anmäl förlorad/stulen")
    expect(history).to_contain_text("Utlämnad → Förlorad/stulen")
    expect(page.locator("#asset-installs")).to_contain_text("spärrad")
    # The moves the lifecycle allows from lost, and no others.
    expect(page.locator("#asset-actions button")).to_have_text(["Hittad", "Utrangera"])
    shot(page, "fleet-device-history")

    # Register a phone, give it to someone, take it back: the page offers only what the table allows.
    ready(page, "/fleet", served)
    page.get_by_text("Registrera enhet").click()
    page.get_by_label("Modell", exact=True).fill("Galaxy XCover 7")
    page.get_by_label("Serienummer", exact=True).fill("E2E-SERIAL-1")
    page.get_by_label("IMEI (15 siffror)").fill("490154203237517")  # a wrong check digit
    page.get_by_role("button", name="Registrera", exact=True).click()
    expect(page.locator("#flash")).to_contain_text("IMEI-numret har fel kontrollsiffra")
    page.get_by_label("IMEI (15 siffror)").fill("490154203237518")
    page.get_by_role("button", name="Registrera", exact=True).click()
    expect(page.locator("#flash")).to_contain_text("E2E-SERIAL-1")
    page.get_by_label("Sök serienummer, IMEI, modell, nummer eller namn").fill("E2E-SERIAL-1")
    page.get_by_label("Status").select_option("")
    page.get_by_role("button", name="Visa", exact=True).click()
    page.get_by_role("link", name="E2E-SERIAL-1").click()
    page.wait_for_selector("body[data-ready]")
    page.get_by_label("Person (sök på namn)").fill("Lena")
    option = page.locator("#assign-options option").first
    expect(option).to_have_attribute("value", re.compile("Lena"))
    page.get_by_label("Person (sök på namn)").fill(option.get_attribute("value") or "")
    page.get_by_role("button", name="Lämna ut", exact=True).click()
    expect(page.locator("#asset-facts")).to_contain_text("Utlämnad")
    page.get_by_role("button", name="Ta emot retur").click()
    expect(page.locator("#asset-facts")).to_contain_text("Återlämnad")
    expect(page.locator("#asset-actions button")).to_have_text(
        ["Återställd (rensad)", "Skicka på reparation", "Anmäl förlorad/stulen", "Utrangera"]
    )
    _fits(page, 320)


def test_the_loaner_pool_shows_who_waits_too_long_and_lends_a_loaner(page: Page, served: Served) -> None:
    login(page, served, "it")
    ready(page, "/fleet/loans", served)
    verdict = page.locator("#goal-verdict")
    expect(verdict).to_have_text(re.compile("Målet nås inte: 1 har väntat mer än en arbetsdag"))
    expect(page.locator('[data-count="over"] strong')).to_have_text("1")
    expect(page.locator("#sites")).to_contain_text("Sjukhuset Exempelstad")
    expect(page.locator("#sites")).to_contain_text("Utlånade (1)")
    shot(page, "fleet-loaners")
    page.get_by_role("button", name=re.compile("^Låna ut till ")).first.click()
    expect(page.locator("#flash")).to_contain_text("är utlånad till")
    expect(verdict).to_have_text("Målet nås.")
    expect(page.locator("#without")).to_have_text("Alla har en fungerande enhet.")
    _fits(page, 320)


def test_the_offboarding_queue_shows_owners_and_overdue_steps_and_takes_them_done(page: Page, served: Served) -> None:
    login(page, served, "it")
    ready(page, "/fleet/offboarding", served)
    cards = page.locator("section.offboarding")
    expect(cards).to_have_count(2)
    expect(page.locator("tr.overdue").first).to_contain_text("Försenat")
    shot(page, "fleet-offboarding")
    step = cards.first.locator('tr[data-kind="subscription"]')
    step.get_by_role("combobox").select_option("ended")
    step.get_by_role("button", name="Markera klart").click()
    expect(page.locator("#flash")).to_have_text("Steget är klart.")
    expect(cards.first.locator('tr[data-kind="subscription"]')).to_contain_text("avslutat")
    _fits(page, 320)


def test_costs_per_unit_and_month_as_a_chart_a_table_and_csv(page: Page, served: Served) -> None:
    login(page, served, "it")
    ready(page, "/fleet/costs", served)
    chart = page.get_by_role("img", name="Kostnad per månad (kr), per enhet")
    expect(chart).to_be_visible()
    expect(page.locator("#costs-table tr.total")).to_contain_text("kr")
    expect(page.locator("#costs-table")).to_contain_text("Akutmottagningen Exempelstad")
    href = page.get_by_role("link", name="Ladda ner som CSV").get_attribute("href") or ""
    with served.api("it") as api:
        csv_text = api.get(href).text
    assert csv_text.splitlines()[0].startswith("\ufeffunit;") and "Akutmottagningen Exempelstad" in csv_text
    shot(page, "fleet-costs")
    page.get_by_role("link", name="In English").click()
    page.wait_for_selector("body[data-ready]")
    expect(page.get_by_role("heading", name="Costs per unit and month")).to_be_visible()
    page.get_by_role("link", name="På svenska").click()
    _fits(page, 320)


def test_the_fleet_pages_are_for_device_administration(page: Page, served: Served) -> None:
    login(page, served, "staff")
    response = page.goto(served.base + "/fleet/loans")
    assert response is not None and response.status == 403
    expect(page.get_by_role("link", name="Enhetsregister")).to_have_count(0)
