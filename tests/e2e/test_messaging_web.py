"""Messaging's newer web flows in a real browser: a manager recalls a message from its status page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Served, login, ready

pytestmark = pytest.mark.e2e


def test_a_manager_recalls_a_message_from_its_status_page(page: Page, served: Served) -> None:
    with served.api("manager") as api:
        units = api.get("/api/v1/groups", params={"kind": "unit", "limit": 100}).json()["items"]
        akuten = next(g for g in units if g["code"] == "akuten")
        sent = api.post(
            "/api/v1/messages",
            json={"title": "Fel mottagare", "body": "Skickat av misstag.", "audience": {"groups": [akuten["id"]]}},
        )
        assert sent.status_code == 202, sent.text
        message_id = sent.json()["message_id"]
    login(page, served, "manager")
    ready(page, f"/messages/{message_id}", served)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Återkalla meddelandet").click()
    expect(page.locator("#recalled")).to_have_text(re.compile("^Återkallat "))
    expect(page.get_by_role("button", name="Återkalla meddelandet")).to_have_count(0)
    with served.api("manager") as api:
        status = api.get(f"/api/v1/messages/{message_id}").json()
    assert status["message"]["recalled_at"] is not None
    assert status["deliveries"]["held"] == 0 and status["deliveries"]["pending"] == 0


def test_a_manager_schedules_a_message_from_the_compose_page(page: Page, served: Served) -> None:
    login(page, served, "manager")
    ready(page, "/compose", served)
    with served.api("manager") as api:
        units = api.get("/api/v1/groups", params={"kind": "unit", "limit": 100}).json()["items"]
    akuten = next(g for g in units if g["code"] == "akuten")
    page.get_by_label(akuten["name"], exact=True).check()
    page.get_by_label("Rubrik").fill("Utbildning i Saba Cloud")
    page.get_by_label("Text").fill("Kursen öppnar i morgon.")
    when = (datetime.now(UTC) + timedelta(days=2)).replace(hour=9, minute=30)  # the browser runs in UTC here
    page.get_by_label("Skicka vid (valfritt)").fill(when.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Skicka", exact=True).click()
    page.wait_for_url(re.compile(r".*/messages/[0-9a-f-]{36}$"))
    expect(page.locator("#scheduled")).to_contain_text("Schemalagt: skickas")
    message_id = page.url.rsplit("/", 1)[-1]
    with served.api("manager") as api:
        status = api.get(f"/api/v1/messages/{message_id}").json()
    assert status["message"]["state"] == "scheduled"
    assert status["message"]["send_at"].startswith(when.strftime("%Y-%m-%d"))


def test_a_template_fills_in_the_compose_page(page: Page, served: Served) -> None:
    with served.api("manager") as api:
        units = api.get("/api/v1/groups", params={"kind": "unit", "limit": 100}).json()["items"]
        akuten = next(g for g in units if g["code"] == "akuten")
        made = api.post(
            "/api/v1/templates",
            json={
                "group_id": akuten["id"],
                "name": "Teams-möte (e2e)",
                "title": "Teams-möte kl 14",
                "body": "Länken finns nedan.",
                "deep_link": "https://teams.microsoft.com/l/meetup-join/e2e",
            },
        )
        assert made.status_code == 201, made.text
    login(page, served, "manager")
    ready(page, "/compose", served)
    page.get_by_label("Mall").select_option(label="Teams-möte (e2e)")
    expect(page.get_by_label("Rubrik")).to_have_value("Teams-möte kl 14")
    expect(page.get_by_label(akuten["name"], exact=True)).to_be_checked()
    expect(page.get_by_label("Länk (valfri, https://)")).to_have_value("https://teams.microsoft.com/l/meetup-join/e2e")
    expect(page.locator('#preview [data-count="deliver"]')).to_be_visible()


def test_the_status_page_shows_the_escalation_step_by_step(page: Page, served: Served) -> None:
    with served.api("staff") as api:
        staff_id = api.get("/api/v1/people/me").json()["id"]
    with served.api("manager") as api:
        units = api.get("/api/v1/groups", params={"kind": "unit", "limit": 100}).json()["items"]
        akuten = next(g for g in units if g["code"] == "akuten")
        team = api.get("/api/v1/people", params={"group": akuten["id"], "limit": 100}).json()["items"]
        target = next(p for p in team if p["id"] != staff_id)
        chain = api.post(
            "/api/v1/escalation-chains",
            json={"name": "E2E-kedja", "steps": [{"who": "person", "person_id": staff_id, "after_minutes": 0}]},
        )
        assert chain.status_code == 201, chain.text
        sent = api.post(
            "/api/v1/messages",
            json={
                "title": "Akut: svara",
                "body": "Kvittera.",
                "priority": "urgent",
                "requires_ack": True,
                "override_reason": "Test av eskalering",
                "escalation_chain_id": chain.json()["id"],
                "audience": {"people": [target["id"]]},
            },
        )
        assert sent.status_code == 202, sent.text
    login(page, served, "manager")
    ready(page, "/messages/" + sent.json()["message_id"], served)
    # The embedded runner's escalation job runs every 30 seconds; the page refreshes every 5.
    expect(page.get_by_role("heading", name="Eskalering steg för steg")).to_be_visible(timeout=60_000)
    expect(page.locator('tr[data-step="1"]')).to_contain_text("Eskaleringssteg 1")


def test_a_staff_member_chooses_email_on_their_page(page: Page, served: Served) -> None:
    login(page, served, "staff")
    ready(page, "/me", served)
    page.get_by_label("Skicka även e-post").check()
    page.get_by_label("E-postadress").fill("sara.e2e@region.example")
    page.locator("#email-choice").get_by_role("button", name="Spara").click()
    expect(page.get_by_role("status")).to_have_text("E-postvalet är sparat.")
    with served.api("staff") as api:
        choice = api.get("/api/v1/people/me/email").json()
    assert (choice["enabled"], choice["address"]) == (True, "sara.e2e@region.example")
