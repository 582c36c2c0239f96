"""The pilot pages in a real browser: a participant answers a survey (also on a 320 px phone), and
the evaluator reads the demo pilot's report, edits the cost model and downloads the PDF."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Served, login, shot

pytestmark = pytest.mark.e2e


def _open_survey(served: Served, roles: tuple[str, ...]) -> str:
    """A new pilot with its baseline open now, with the demo's token holders enrolled; returns its code."""
    now = datetime.now(UTC)
    code = f"e2e-{uuid.uuid4().hex[:8]}"
    with served.api("admin") as admin:
        ids = []
        for role in roles:
            with served.api(role) as api:
                ids.append(api.get("/api/v1/people/me").json()["id"])
        body = {
            "code": code,
            "name": "Surfplattor på vårdcentralen",
            "start_date": now.date().isoformat(),
            "end_date": (now + timedelta(days=30)).date().isoformat(),
            "surveys": [
                {
                    "wave": "baseline",
                    "opens_at": (now - timedelta(hours=1)).isoformat(),
                    "closes_at": (now + timedelta(days=7)).isoformat(),
                }
            ],
        }
        assert admin.post("/api/v1/pilots", json=body).status_code == 201
        people = [{"person_id": i, "device_kind": "tablet", "profession": "undersköterska"} for i in ids]
        r = admin.post(f"/api/v1/pilots/{code}/participants", json={"participants": people})
        assert r.status_code == 200, r.text
    return code


def _answer_in_the_page(page: Page, name: str) -> None:
    survey = page.locator("section.survey", has_text=name)
    expect(survey).to_be_visible()
    statements = survey.locator("fieldset")
    expect(statements).to_have_count(5)
    # Sending with a statement left out says which is missing, and sends nothing.
    for i in range(4):
        statements.nth(i).get_by_label("4 – Stämmer ganska bra").check()
    survey.get_by_role("button", name="Skicka mina svar").click()
    expect(survey.get_by_role("alert")).to_have_text("Svara på alla påståenden.")
    statements.nth(4).get_by_label("2 – Stämmer dåligt").check()
    survey.get_by_label("Vill du berätta något mer? (frivilligt)").fill("Bra att få läsa utbildningen när det passar.")
    survey.get_by_role("button", name="Skicka mina svar").click()
    expect(survey.get_by_text("Tack! Ditt svar är sparat anonymt.")).to_be_visible()


def test_a_participant_answers_a_survey_once(page: Page, served: Served) -> None:
    _open_survey(served, ("staff",))
    login(page, served, "staff")
    page.goto(served.base + "/surveys")
    page.wait_for_selector("#surveys[data-loaded]")
    expect(page.locator("#anonymity")).to_contain_text("minst 5 svar")
    shot(page, "pilot-survey")
    _answer_in_the_page(page, "Surfplattor på vårdcentralen")
    page.reload()
    page.wait_for_selector("#surveys[data-loaded]")
    survey = page.locator("section.survey", has_text="Surfplattor på vårdcentralen")
    expect(survey.get_by_text("Du har svarat. Tack!")).to_be_visible()
    expect(survey.locator("fieldset")).to_have_count(0)


def test_the_survey_works_on_a_narrow_phone(browser: Browser, served: Served) -> None:
    _open_survey(served, ("union",))
    context = browser.new_context(viewport={"width": 320, "height": 640}, locale="sv-SE", is_mobile=True)
    page = context.new_page()
    try:
        login(page, served, "union")
        page.goto(served.base + "/surveys")
        page.wait_for_selector("#surveys[data-loaded]")
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, "nothing wider than the phone"
        shot(page, "pilot-survey-phone")
        _answer_in_the_page(page, "Surfplattor på vårdcentralen")
    finally:
        context.close()


def test_the_evaluator_reads_the_report_and_edits_the_costs(page: Page, served: Served) -> None:
    login(page, served, "evaluator")
    page.goto(served.base + "/pilots")
    page.wait_for_selector("#pilots[data-loaded]")
    card = page.locator("section.pilot", has_text="Arbetstelefoner och surfplattor i vården")
    expect(card).to_contain_text("20 deltagare, 6 i jämförelsegruppen")
    shot(page, "pilot-list")
    card.get_by_role("link", name="Öppna rapporten").click()
    page.wait_for_url("**/pilots/mobil-2026")
    page.wait_for_selector("body[data-ready]")
    report = page.locator("article.pilot-report")
    for heading in ("Sammanfattning", "Nytta per yrke", "Oron att alltid vara nåbar", "Kostnader", "Öppna frågor"):
        expect(report.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(report.locator("#anonymity")).to_contain_text("minst 5 svar")
    expect(report.get_by_role("img", name="Förbättring före → efter per yrke")).to_be_visible()
    expect(report.locator("#survey-table")).to_contain_text("färre än 5")  # four doctors at the mid-point
    shot(page, "pilot-report")
    # The cost model: more training gives a higher cost of introduction, recalculated on the page.
    # (The demo's device prices come from the fleet register, which replaces those inputs.)
    with served.api("evaluator") as api:
        people = api.get("/api/v1/pilots/mobil-2026/report").json()["costs"]["pilot"]["people"]
    before = report.locator("#costs-table-2 tbody tr").last.locator("td").nth(3).inner_text()
    training = page.get_by_label("Utbildning, timmar per person")
    hours = training.input_value()
    hourly = Decimal(page.get_by_label("Timkostnad för deltagarnas tid").input_value())
    training.fill(str(Decimal(hours) + 1))
    page.get_by_role("button", name="Spara och räkna om").click()
    expect(page.locator("#flash")).to_have_text("Sparat. Rapporten räknas om.")
    after = page.locator("#costs-table-2 tbody tr").last.locator("td").nth(3).inner_text()
    assert _kronor(after) - _kronor(before) == people * hourly, "an hour more for each participant"
    with page.expect_download() as download:
        page.get_by_role("link", name="PDF").click()
    assert download.value.suggested_filename == "pilot-mobil-2026.pdf"
    page.get_by_role("link", name="In English").click()
    expect(page.get_by_role("heading", name="Benefit per profession")).to_be_visible()
    page.get_by_role("link", name="På svenska").click()
    # Put the demo's figure back for the other tests and the screenshots.
    page.get_by_label("Utbildning, timmar per person").fill(hours)
    page.get_by_role("button", name="Spara och räkna om").click()
    expect(page.locator("#flash")).to_have_text("Sparat. Rapporten räknas om.")


def _kronor(text: str) -> int:
    return int("".join(ch for ch in text if ch.isdigit()))


def test_a_manager_has_no_pilot_page(page: Page, served: Served) -> None:
    login(page, served, "manager")
    expect(page.get_by_role("link", name="Pilotutvärdering")).to_have_count(0)
    response = page.goto(served.base + "/pilots/mobil-2026")
    assert response is not None and response.status == 403
