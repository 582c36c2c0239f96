"""The flows of the web app in a real browser: a manager's broadcast, a staff member's "Med patient",
HR's policy version showing on the compliance dashboard, and a manager covering an on-call turn."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Served, login, ready, shot

pytestmark = pytest.mark.e2e


def _unit(served: Served, code: str) -> dict[str, str]:
    with served.api("manager") as api:
        units = api.get("/api/v1/groups", params={"kind": "unit", "limit": 100}).json()["items"]
    return next(g for g in units if g["code"] == code)


def _on_shift(served: Served, person_ids: list[str]) -> None:
    """Put these people on a shift that runs now, so a normal message reaches them at once."""
    now = datetime.now(UTC)
    with served.api("admin") as api:
        for person_id in person_ids:
            response = api.post(
                f"/api/v1/people/{person_id}/shifts",
                json={
                    "planned_start": (now - timedelta(hours=1)).isoformat(),
                    "planned_end": (now + timedelta(hours=7)).isoformat(),
                },
            )
            # An earlier test may already have put this person on a shift that covers now.
            assert response.status_code in (201, 422), response.text


def _staff_id(served: Served) -> str:
    with served.api("staff") as api:
        return str(api.get("/api/v1/people/me").json()["id"])


def _count(page: Page, scope: str, key: str) -> int:
    return int(page.locator(f'{scope} [data-count="{key}"] strong').inner_text())


def test_the_login_page_explains_tokens_and_rejects_a_wrong_one(page: Page, served: Served) -> None:
    page.goto(served.base + "/")
    expect(page.get_by_role("heading", name="Logga in")).to_be_visible()
    expect(page.get_by_text("vila token create")).to_be_visible()
    shot(page, "login")
    page.get_by_label("API-token").fill("vila_wrong")
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("alert")).to_contain_text("okänd")
    # The session cookie alone cannot change anything without the page's CSRF header.
    login(page, served, "staff")
    cookie = next(c for c in page.context.cookies() if c["name"] == "vila_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    status = page.evaluate(
        "fetch('/api/v1/people/me/dnd', {method: 'POST', headers: {'Content-Type': 'application/json'},"
        " body: JSON.stringify({minutes: 15})}).then(r => r.status)"
    )
    assert status == 403
    page.get_by_role("link", name="In English").click()
    expect(page.get_by_role("link", name="My availability").first).to_be_visible()
    page.get_by_role("link", name="På svenska").click()
    page.get_by_role("button", name="Logga ut").click()
    page.wait_for_url(re.compile(r".*/login$"))


def test_a_manager_previews_and_sends_a_broadcast_and_sees_held_and_delivered(page: Page, served: Served) -> None:
    unit = _unit(served, "med12")
    login(page, served, "manager")
    ready(page, "/compose", served)
    # The demo manager leads the emergency department, not this unit: only their own groups are offered.
    expect(page.get_by_label(unit["name"], exact=True)).to_have_count(0)
    akuten = _unit(served, "akuten")
    with served.api("admin") as api:
        team = api.get("/api/v1/people", params={"group": akuten["id"], "limit": 100}).json()["items"]
    staff_id = _staff_id(served)
    # Half the unit works now; the other half is off and will get the message later.
    _on_shift(served, [p["id"] for p in team[: len(team) // 2] if p["id"] != staff_id])

    page.get_by_label(akuten["name"], exact=True).check()
    page.get_by_label("Rubrik").fill("Personalmöte flyttat")
    page.get_by_label("Text").fill("Mötet på torsdag börjar 14.00 i stället för 13.00.")
    preview = page.locator("#preview")
    expect(preview.locator('[data-count="deliver"] strong')).not_to_have_text("0")
    expect(preview.locator('[data-count="hold"] strong')).not_to_have_text("0")
    expect(preview.get_by_role("cell", name=re.compile("Mottagaren arbetar inte nu"))).not_to_have_count(0)
    delivered, held = _count(page, "#preview", "deliver"), _count(page, "#preview", "hold")
    assert delivered + held == len(team)
    shot(page, "compose-preview")
    # Editing the words does not decide for the whole unit again: the decisions do not depend on them.
    previews: list[str] = []
    page.on("request", lambda r: previews.append(r.url) if r.url.endswith("/messages/preview") else None)
    page.get_by_label("Text").fill("Mötet på torsdag börjar 14.00 i stället för 13.00. Välkomna!")
    page.wait_for_timeout(1000)  # well past the preview's 350 ms pause after typing
    assert previews == []

    page.get_by_role("button", name="Skicka").click()
    page.wait_for_url(re.compile(r".*/messages/[0-9a-f-]{36}$"))
    status = page.locator("#status")
    expect(status.locator('[data-count="deliver"] strong')).to_have_text(str(delivered))
    expect(status.locator('[data-count="hold"] strong')).to_have_text(str(held))
    expect(status.locator('[data-count="sent"] strong')).to_have_text(re.compile(r"[1-9]\d*"), timeout=20_000)
    shot(page, "message-status")

    # An emergency reaches everyone now: the second confirmation asks for the reason.
    ready(page, "/compose", served)
    page.get_by_label(akuten["name"], exact=True).check()
    page.get_by_label("Rubrik").fill("Stort larm")
    page.get_by_label("Text").fill("Alla som kan: kom till akuten.")
    page.get_by_label("Prioritet").select_option("emergency")
    expect(page.locator('#preview [data-count="deliver"] strong')).to_have_text(str(len(team)))
    page.get_by_role("button", name="Skicka", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    # The demo's night staff are in their daily rest now: the dialog says the message breaks rest.
    expect(dialog.get_by_role("heading")).to_have_text(re.compile("Meddelandet bryter vila|Katastrofmeddelande"))
    shot(page, "compose-confirm-rest", full_page=False)
    dialog.get_by_label("Skäl").fill("Masskadeläge: trafikolycka E4")
    dialog.get_by_role("button", name="Skicka ändå").click()
    page.wait_for_url(re.compile(r".*/messages/[0-9a-f-]{36}$"))
    expect(page.locator('#status [data-count="deliver"] strong')).to_have_text(str(len(team)))

    ready(page, "/messages", served)
    expect(page.get_by_role("link", name="Personalmöte flyttat")).to_be_visible()
    expect(page.get_by_role("link", name="Stort larm")).to_be_visible()
    shot(page, "history")


def test_a_staff_member_with_a_patient_sees_a_normal_message_held(page: Page, served: Served) -> None:
    staff_id = _staff_id(served)
    _on_shift(served, [staff_id])
    login(page, served, "staff")
    ready(page, "/me", served)
    # Keyboard only: the duration is a radio group, the button takes Enter.
    page.get_by_label("30 min").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_label("60 min")).to_be_checked()
    page.get_by_role("button", name="Med patient").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("timer")).to_contain_text(re.compile(r"(59|60):\d\d"))
    expect(page.get_by_role("button", name="Avsluta")).to_be_focused()
    expect(page.locator("#week .bar")).to_have_count(7)
    shot(page, "staff-availability")

    with served.api("manager") as api:
        sent = api.post(
            "/api/v1/messages",
            json={"title": "Ny rutin för läkemedel", "body": "Läs när du har tid.", "audience": {"people": [staff_id]}},
        )
        assert sent.status_code == 202, sent.text
        assert sent.json()["counts"]["hold"] == 1

    ready(page, "/inbox", served)
    item = page.get_by_role("article", name="Ny rutin för läkemedel")
    expect(item).to_have_attribute("data-decision", "hold")
    expect(item).to_contain_text("Väntar till")
    expect(item).to_contain_text("stör ej")
    expect(item).to_contain_text("Läs när du har tid.")
    shot(page, "inbox")

    ready(page, "/devices", served)
    page.get_by_label("Namn").first.fill("Min telefon")
    page.get_by_role("button", name="Byt namn").first.click()
    expect(page.get_by_role("heading", name="Min telefon")).to_be_visible()
    shot(page, "devices")

    ready(page, "/me", served)
    page.get_by_role("button", name="Avsluta").click()
    expect(page.get_by_role("button", name="Med patient")).to_be_visible()
    page.get_by_role("button", name="Lägg till period").click()
    page.get_by_role("button", name="Spara tysta timmar").click()
    expect(page.get_by_role("status")).to_have_text("Sparat.")
    next_week = datetime.now(UTC) + timedelta(days=7)
    page.get_by_label("Typ").select_option("vacation")
    page.locator("#leave-start").fill(next_week.strftime("%Y-%m-%dT08:00"))
    page.locator("#leave-end").fill((next_week + timedelta(days=5)).strftime("%Y-%m-%dT17:00"))
    page.get_by_role("button", name="Lägg in ledighet").click()
    expect(page.locator("#leave-list")).to_contain_text("Semester")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "staff-availability-phone")


def test_hr_creates_a_policy_version_and_sees_the_dashboard_change(page: Page, served: Served) -> None:
    login(page, served, "hr")
    ready(page, "/dashboard", served)
    before = int(page.locator('#changes [data-count="policy-changes"]').inner_text())

    ready(page, "/policies", served)
    new_policy = page.get_by_role("region", name="Ny policy")
    new_policy.get_by_label("Namn").fill("Akutvård – vila")
    new_policy.get_by_label("Beslutsnotering").fill("Beslut HR 2026-11")
    new_policy.get_by_role("button", name="Spara").click()
    policy = page.locator('section.policy[data-policy="Akutvård – vila"]')
    expect(policy).to_be_visible()
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT08:00")
    policy.get_by_label("Gäller från").fill(tomorrow)
    policy.get_by_label("Högst antal åsidosättanden per person och vecka").fill("1")
    policy.get_by_label("Beslutsnotering").fill("Färre åsidosättanden efter samverkan")
    policy.get_by_role("button", name="Ny version").click()
    expect(policy.get_by_role("cell", name="v2")).to_be_visible()
    policy.get_by_text("Skillnad mot föregående version").click()
    # The difference in words and local time: the field's name, the old and the new value.
    diff = policy.locator(".diff").last
    expect(diff.locator('[data-field="override_weekly_cap"]')).to_have_text(
        "Högst antal åsidosättanden per person och vecka: − 2 + 1"
    )
    expect(diff.locator('[data-field="effective_from"]')).to_contain_text("08:00")
    expect(diff).not_to_contain_text("T08:00")
    policy.get_by_label("Tilldela grupp").select_option(label="Akutmottagningen Exempelstad")
    policy.get_by_role("button", name="Tilldela grupp").click()
    expect(policy).to_contain_text("Tilldelade grupper: Akutmottagningen Exempelstad")
    shot(page, "hr-policies")

    ready(page, "/dashboard", served)
    expect(page.locator('#changes [data-count="policy-changes"]')).to_have_text(str(before + 2))
    expect(page.locator("#changes")).to_contain_text("Färre åsidosättanden efter samverkan")
    expect(page.locator("#after-hours svg[role=img]")).to_have_count(1)
    with page.expect_download() as download:
        page.locator("#changes").get_by_role("link", name="Ladda ner CSV").click()
    assert "Färre åsidosättanden" in download.value.path().read_text(encoding="utf-8")
    shot(page, "hr-dashboard")

    # Another period and one group: the charts, the CSV links and the page's address follow.
    week_columns = page.locator("#broken details table tr").first.locator("th")
    eight = week_columns.count()
    assert eight - 1 in (8, 9), "eight weeks back, the current week counted as begun"
    page.get_by_label("Period", exact=True).select_option(label="senaste 4 veckorna")
    expect(week_columns).not_to_have_count(eight)
    four = week_columns.count()
    assert four - 1 in (4, 5)
    page.get_by_label("Grupp (med undergrupper)").select_option(label="Akutmottagningen Exempelstad")
    expect(page).to_have_url(re.compile(r"/dashboard\?weeks=4&group=[0-9a-f-]{36}$"))
    link = page.locator("#changes").get_by_role("link", name="Ladda ner CSV")
    expect(link).to_have_attribute("href", re.compile(r"policy-changes\.csv\?weeks=4&group_id=[0-9a-f-]{36}$"))
    page.reload()
    page.wait_for_selector("body[data-ready]")
    expect(page.get_by_label("Period", exact=True)).to_have_value("4")
    expect(week_columns).to_have_count(four)

    ready(page, "/ledger", served)
    shot(page, "hr-ledger")


def test_a_manager_sees_who_is_on_call_and_covers_a_turn_with_an_override(page: Page, served: Served) -> None:
    akuten = _unit(served, "akuten")
    today = datetime.now(ZoneInfo("Europe/Stockholm")).date()
    with served.api("manager") as api:
        bakjour = next(r for r in api.get("/api/v1/rosters").json() if r["role"] == "Bakjour akuten")
        holder = api.get("/api/v1/on-call", params={"role": "Bakjour akuten"}).json()
        members = api.get(f"/api/v1/groups/{akuten['id']}").json()["members"]
        names = {p["id"]: p["name"] for p in members}
        doctors = bakjour["layers"][0]["participants"]
        # A second roster that ends in three days, so the page has a gap to warn about.
        short = api.post(
            "/api/v1/rosters",
            json={
                "group_id": akuten["id"],
                "name": "Primärjour akuten",
                "role": "Primärjour akuten",
                "kind": "jour",
                "layers": [
                    {
                        "rotation": "daily",
                        "start_date": (today - timedelta(days=1)).isoformat(),
                        "end_date": (today + timedelta(days=3)).isoformat(),
                        "handoff_time": "08:00",
                        "participants": doctors[:2],
                    }
                ],
            },
        )
        assert short.status_code == 201, short.text
    tomorrow = (today + timedelta(days=1)).isoformat()
    with served.api("manager") as api:
        noon = datetime.fromisoformat(tomorrow + "T12:00").replace(tzinfo=ZoneInfo("Europe/Stockholm"))
        turn = api.get("/api/v1/on-call", params={"role": "Bakjour akuten", "at": noon.isoformat()}).json()
    # Someone other than whoever has the turn tomorrow covers it.
    cover = next(d for d in doctors if d not in (holder["person_id"], turn["person_id"]))
    cover_name = names[cover]

    login(page, served, "manager")
    page.get_by_role("link", name="Jour och beredskap").first.click()
    page.wait_for_selector("body[data-ready]")
    expect(page.get_by_role("heading", name="Jour och beredskap", level=1)).to_be_visible()
    roster = page.get_by_role("region", name="Bakjour Akutmottagningen Exempelstad")
    expect(roster).to_contain_text("Grupp: Akutmottagningen Exempelstad")
    expect(roster.locator(".on-call-now")).to_have_text(
        re.compile("^Har beredskap nu: " + re.escape(holder["person_name"]))
    )
    expect(roster.get_by_role("row")).not_to_have_count(0)
    expect(roster.get_by_role("cell", name="undantag", exact=True)).to_have_count(0)
    primary = page.get_by_role("region", name="Primärjour akuten")
    gap_start = (today + timedelta(days=3)).isoformat() + " 08:00"
    expect(primary.locator(".alerts .gap")).to_contain_text("Lucka: ingen har jour " + gap_start)
    expect(primary.locator("tr.gap").first).to_contain_text("Ingen")

    roster.get_by_label("Vem tar över").select_option(label=cover_name)
    roster.get_by_label("Från (Europe/Stockholm)").fill(tomorrow + "T08:00")
    roster.get_by_label("Till (Europe/Stockholm)").fill(tomorrow + "T20:00")
    roster.get_by_label("Anteckning (valfri)").fill("Byte efter sjukdom")
    roster.get_by_role("button", name="Lägg till undantag").click()
    expect(page.get_by_role("status")).to_have_text("Undantaget är sparat.")
    roster = page.get_by_role("region", name="Bakjour Akutmottagningen Exempelstad")
    row = roster.get_by_role("row").filter(has=page.get_by_role("cell", name="undantag", exact=True))
    expect(row.get_by_role("cell")).to_have_text([f"{tomorrow} 08:00", f"{tomorrow} 20:00", cover_name, "undantag"])
    expect(roster.locator(".alerts .overlap")).to_contain_text(f"Överlapp {tomorrow} 08:00–20:00: undantag gäller före")
    expect(roster.locator("ul.overrides")).to_contain_text(
        cover_name + ", " + tomorrow + " 08:00–20:00 – Byte efter sjukdom"
    )
    shot(page, "rosters")

    # The same span again is refused by the API; its reason shows next to the form, not a blank failure.
    roster.get_by_label("Vem tar över").select_option(label=cover_name)
    roster.get_by_label("Från (Europe/Stockholm)").fill(tomorrow + "T10:00")
    roster.get_by_label("Till (Europe/Stockholm)").fill(tomorrow + "T12:00")
    roster.get_by_role("button", name="Lägg till undantag").click()
    expect(roster.get_by_role("alert")).to_contain_text("överlappar ett annat undantag")
    # A roster of a unit the manager does not lead: the form is there, the API says no, and why.
    other = page.get_by_role("region", name="Bakjour Medicinavdelning 12")
    other.get_by_label("Från (Europe/Stockholm)").fill(tomorrow + "T08:00")
    other.get_by_label("Till (Europe/Stockholm)").fill(tomorrow + "T20:00")
    other.get_by_role("button", name="Lägg till undantag").click()
    expect(other.get_by_role("alert")).to_contain_text("grupper du är chef för")

    roster.get_by_role("button", name=re.compile("^Ta bort undantaget för " + re.escape(cover_name))).click()
    expect(page.get_by_role("status")).to_have_text("Undantaget är borttaget.")
    roster = page.get_by_role("region", name="Bakjour Akutmottagningen Exempelstad")
    expect(roster.get_by_role("cell", name="undantag", exact=True)).to_have_count(0)
    expect(roster).to_contain_text("Inga kommande undantag.")

    # Staff read the same page, with who to call and without the forms.
    page.get_by_role("button", name="Logga ut").click()
    login(page, served, "staff")
    ready(page, "/rosters", served)
    roster = page.get_by_role("region", name="Bakjour Akutmottagningen Exempelstad")
    expect(roster.locator(".on-call-now")).to_contain_text(holder["person_name"])
    expect(page.get_by_role("button", name="Lägg till undantag")).to_have_count(0)
    page.get_by_role("link", name="In English").click()
    expect(page.get_by_role("heading", name="On call", level=1)).to_be_visible()
    expect(page.get_by_role("region", name="Primärjour akuten").locator(".alerts .gap")).to_contain_text(
        "Gap: nobody is on call " + gap_start
    )


def test_a_safety_representative_reads_compliance_and_policies_without_changing_them(
    page: Page, served: Served
) -> None:
    login(page, served, "union")
    nav = page.get_by_role("navigation")
    expect(nav.get_by_role("link", name="Uppföljning")).to_be_visible()
    expect(nav.get_by_role("link", name="Viloreskontra")).to_have_count(0)
    ready(page, "/dashboard", served)
    expect(page.locator("#broken svg[role=img]")).to_have_count(1)
    ready(page, "/policies", served)
    expect(page.locator("section.policy").first).to_be_visible()
    expect(page.get_by_text("HR ändrar dem")).to_be_visible()
    expect(page.get_by_role("button", name="Ny version")).to_have_count(0)
    expect(page.get_by_role("button", name="Spara")).to_have_count(0)
    shot(page, "union-policies")
