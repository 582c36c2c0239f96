""" "Min vilotid" in a real browser: a staff member finds their rest record in the menu, switches
year and language, and downloads it; HR sees the weekly-rest and jour sections on the dashboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Served, login, ready, shot

pytestmark = pytest.mark.e2e


def test_a_staff_member_reads_and_downloads_their_rest_record(page: Page, served: Served) -> None:
    login(page, served, "staff")
    page.get_by_role("navigation").get_by_role("link", name="Min vilotid").click()
    page.wait_for_selector("body[data-ready]")
    expect(page.get_by_role("heading", name="Min vilotid", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Kompensationsvila")).to_be_visible()
    expect(page.get_by_role("heading", name="Viloperioder med kontakter")).to_be_visible()
    expect(page.locator("#rest-outstanding")).to_contain_text("min")
    with page.expect_download() as download:
        page.get_by_role("link", name="Ladda ner som CSV").click()
    text = download.value.path().read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("row,period_start,period_end")
    shot(page, "staff-rest")
    years = page.get_by_role("navigation", name="År").get_by_role("link", name=re.compile(r"^\d{4}$"))
    expect(years).to_have_count(2)  # the current year is shown, the two before it are links
    years.first.click()
    page.wait_for_selector("body[data-ready]")
    expect(page.get_by_role("heading", name="Min vilotid", level=1)).to_be_visible()
    page.get_by_role("link", name="In English").click()
    page.wait_for_selector("body[data-ready]")
    expect(page.get_by_role("heading", name="My rest time", level=1)).to_be_visible()


def test_hr_sees_weekly_rest_and_jour_limits_on_the_dashboard(page: Page, served: Served) -> None:
    login(page, served, "hr")
    ready(page, "/dashboard", served)
    for section in ("#weekly-rest", "#jour-limits"):
        expect(page.locator(section)).to_be_visible()
        expect(page.locator(section).get_by_role("link", name="Ladda ner CSV")).to_be_visible()
    with page.expect_download() as download:
        page.locator("#jour-limits").get_by_role("link", name="Ladda ner CSV").click()
    assert download.value.path().read_text(encoding="utf-8").startswith("group,people_over_48h_in_four_weeks")
