""" "Min vilotid" in a real browser: a staff member finds their rest record in the menu, switches
year and language, and downloads it; HR sees the weekly-rest and jour sections on the dashboard."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

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
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("row;period_start;period_end")
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
    assert download.value.path().read_text(encoding="utf-8-sig").startswith("group;people_over_48h_in_four_weeks")


def test_a_manager_is_warned_before_an_override_breaks_the_jour_limit(page: Page, served: Served) -> None:
    zone = ZoneInfo("Europe/Stockholm")
    today = datetime.now(zone).date()
    with served.api("manager") as api:
        units = api.get("/api/v1/groups", params={"kind": "unit", "limit": 100}).json()["items"]
        akuten = next(g for g in units if g["code"] == "akuten")
        bakjour = next(r for r in api.get("/api/v1/rosters").json() if r["role"] == "Bakjour akuten")
        doctors = bakjour["layers"][0]["participants"]
        names = {p["id"]: p["name"] for p in api.get(f"/api/v1/groups/{akuten['id']}").json()["members"]}
        day = (today + timedelta(days=20)).isoformat()
        created = api.post(
            "/api/v1/rosters",
            json={
                "group_id": akuten["id"],
                "name": "Nattjour test",
                "role": "Nattjour test",
                "kind": "jour",
                "layers": [
                    {
                        "rotation": "daily",
                        "start_date": day,
                        "end_date": (today + timedelta(days=21)).isoformat(),
                        "handoff_time": "08:00",
                        "participants": doctors[:1],
                    }
                ],
            },
        )
        assert created.status_code == 201, created.text
    roster_id = created.json()["id"]
    cover = doctors[1]
    start, end = (today + timedelta(days=10)).isoformat(), (today + timedelta(days=13)).isoformat()
    try:
        login(page, served, "manager")
        ready(page, "/rosters", served)
        roster = page.get_by_role("region", name="Nattjour test")
        roster.get_by_label("Vem tar över").select_option(label=names[cover])
        roster.get_by_label("Från (Europe/Stockholm)").fill(start + "T08:00")
        roster.get_by_label("Till (Europe/Stockholm)").fill(end + "T08:00")
        roster.get_by_role("button", name="Lägg till undantag").click()
        # Three days of jour in a row: 72 hours, above 48 in four weeks. Warned, nothing saved yet.
        warning = roster.locator(".warning")
        expect(warning).to_contain_text("skulle ge avvikelser")
        expect(warning).to_contain_text(names[cover] + ": 72 timmar jour (fyra veckor), gränsen är 48 timmar")
        with served.api("manager") as api:
            assert api.get(f"/api/v1/rosters/{roster_id}").json()["overrides"] == []
        roster.get_by_role("button", name="Spara ändå").click()
        expect(page.get_by_role("status")).to_have_text("Undantaget är sparat.")
        with served.api("manager") as api:
            assert len(api.get(f"/api/v1/rosters/{roster_id}").json()["overrides"]) == 1
    finally:
        with served.api("manager") as api:
            api.delete(f"/api/v1/rosters/{roster_id}")
