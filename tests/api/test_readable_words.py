"""What a person reads from the API: the preview in the page's language with times as the language
writes them, counted words, validation errors without field jargon, the push size the compose
page counts against, and the API documentation served without internet."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import ManualClock
from kernel.formats import instant, plural
from notify.digests import Item, digest_text
from notify.models import Message
from tests.factories import Actor, Factory
from tests.messaging_helpers import Facts, workday

ISO = re.compile(r"\d{4}-\d{2}-\d{2}T|\bUTC\b|Z\b")
ENGLISH_DAYS = re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b")


@pytest.fixture
def facts(session_factory: sessionmaker[Session], clock: ManualClock) -> Facts:
    return Facts(session_factory, clock)


@pytest.fixture
def ward(make: Factory, facts: Facts, clock: ManualClock) -> dict[str, Actor]:
    unit = make.group("Akutmottagningen")
    boss = make.actor(roles=["staff", "manager"], manages=[unit], name="Chef Chefsson")
    later = make.actor(groups=[unit], name="Bo Berg")
    other = make.actor(groups=[unit], name="Cecilia Ceder")
    start, end = workday(clock)
    facts.shift(later.person, start + timedelta(days=1), end + timedelta(days=1))  # tomorrow
    return {"boss": boss, "later": later, "other": other}


def _message(*people: Actor, **extra: object) -> dict[str, object]:
    return {
        "title": "Personalmöte",
        "body": "Möte kl 14.",
        "audience": {"people": [str(p.id) for p in people]},
        **extra,
    }


def test_the_preview_speaks_the_pages_language_with_its_own_dates(client: TestClient, ward: dict[str, Actor]) -> None:
    boss, later = ward["boss"], ward["later"]
    sv = client.post("/api/v1/messages/preview", headers=boss.headers, json=_message(later)).json()
    en = client.post("/api/v1/messages/preview?language=en", headers=boss.headers, json=_message(later)).json()
    held_sv = next(line for line in sv["summary"] if "väntar till" in line)
    held_en = next(line for line in en["summary"] if "held until" in line)
    # Tomorrow's release: the weekday and day as each language writes them, never English in Swedish.
    assert re.search(r"väntar till (mån|tis|ons|tors|fre|lör|sön) \d{1,2} \w+\.? \d\d:\d\d", held_sv), held_sv
    assert re.search(r"held until (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} \w+ \d\d:\d\d", held_en), held_en
    assert not ENGLISH_DAYS.search(held_sv) and not ISO.search(held_sv + held_en)
    assert en["recipients"][0]["reasons"][0]["text"] == en["recipients"][0]["reasons"][0]["en"]
    bad = client.post("/api/v1/messages/preview?language=fi", headers=boss.headers, json=_message(later))
    assert bad.status_code == 422


def test_a_counted_audience_uses_the_right_plural(client: TestClient, ward: dict[str, Actor]) -> None:
    boss, later, other = ward["boss"], ward["later"], ward["other"]
    one = client.post("/api/v1/messages", headers=boss.headers, json=_message(later)).json()
    two = client.post("/api/v1/messages", headers=boss.headers, json=_message(later, other)).json()
    labels = {
        m["id"]: m["audience_label"]
        for m in client.get("/api/v1/messages?limit=10", headers=boss.headers).json()["items"]
    }
    assert labels[one["message_id"]] == "1 person"
    assert labels[two["message_id"]] == "2 personer"


def test_the_size_counter_counts_what_the_413_counts(client: TestClient, ward: dict[str, Actor]) -> None:
    """Swedish text takes two bytes per å, ä, ö: the page's counter must say so, as the send does,
    below the 4,000 characters the form allows."""
    boss, later = ward["boss"], ward["later"]

    def measure(body: str) -> dict[str, object]:
        answer = client.post("/api/v1/messages/size", headers=boss.headers, json={"title": "Rutin", "body": body})
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def send(body: str) -> tuple[int, dict[str, object]]:
        answer = client.post(
            "/api/v1/messages", headers=boss.headers, json={**_message(later), "title": "Rutin", "body": body}
        )
        return answer.status_code, answer.json()

    small = measure("Kort.")
    assert small["fits"] and small["limit"] == 4096
    text = "Så här gör vi på avdelningen när någon är sjuk. " * 80
    assert len(text) < 4000
    size = measure(text)
    assert not size["fits"] and int(str(size["bytes"])) > 4096
    status, answer = send(text)
    assert status == 413
    details = answer["details"]
    assert isinstance(details, dict) and details["bytes"] == size["bytes"]
    # Shortened until the counter says it fits: the send is accepted.
    fitting = text[: len(text) * 3 // 4]
    assert measure(fitting)["fits"]
    assert send(fitting)[0] == 202


def test_a_whole_request_error_names_no_field_called_request(client: TestClient, ward: dict[str, Actor]) -> None:
    boss = ward["boss"]
    r = client.post("/api/v1/messages/preview", headers=boss.headers, json={"title": "x", "body": "y", "audience": {}})
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "invalid"
    assert "request" not in body["message"] and "Value error" not in body["message"]
    assert body["details"][0]["field"] == "audience"
    too_long = client.post(
        "/api/v1/messages/preview", headers=boss.headers, json={**_message(boss), "title": "x" * 201}
    )
    detail = too_long.json()["details"][0]
    assert detail["field"] == "title" and detail["type"] == "string_too_long" and detail["limits"]["max_length"] == 200


def _msg(title: str, label: str, minutes: int) -> Message:
    return Message(
        id=uuid.uuid4(),
        title=title,
        body="",
        audience_label=label,
        created_at=datetime(2026, 12, 3, 8, 0, tzinfo=UTC) + timedelta(minutes=minutes),
    )


def test_the_digest_says_the_messages_waited_not_that_the_person_was_on_leave() -> None:
    """A digest follows a patient meeting, rest or quiet hours as well as leave."""
    messages = [Item("Möte", "Akutmottagningen", False), Item("Lunch", "Akutmottagningen", False)]
    title, body = digest_text(messages, "sv")
    assert title == "2 meddelanden från Akutmottagningen"
    assert "ledig" not in body and body == "Senaste: Lunch · Möte"
    title, body = digest_text([*messages, Item("Ny rutin", "1 person", False)], "en")
    assert title == "3 messages from 2 senders" and "while you were off" not in body


def test_formats_follow_the_readers_language_and_zone() -> None:
    at = datetime(2026, 12, 3, 5, 45, tzinfo=UTC)
    assert instant(at, "Europe/Stockholm", "sv") == "tors 3 dec. 06:45"
    assert instant(at, "Europe/Stockholm", "en") == "Thu 3 Dec 06:45"
    assert instant(at, "Europe/Stockholm", "sv", today=at.date()) == "06:45"
    assert plural(1, "sv", "person", "personer") == "1 person"
    assert plural(1200, "sv", "person", "personer") == "1\xa0200 personer"


def test_the_api_documentation_opens_without_internet(client: TestClient) -> None:
    for path, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        page = client.get(path)
        assert page.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/") for s in sources), sources
        assert f"/api-docs-assets/{asset}" in sources
        script = client.get(f"/api-docs-assets/{asset}")
        assert script.status_code == 200 and len(script.content) > 100_000
    assert client.get("/api-docs-assets/swagger-ui.css").status_code == 200
    assert b"cdn.redoc.ly" not in client.get("/api-docs-assets/redoc.standalone.js").content
