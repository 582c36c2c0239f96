"""Input hygiene over HTTP: control characters in any text are a 422 naming the field, instants
outside the sane span are a 422, and a database that cannot be reached is a 503 with Retry-After
(and /readyz failing), never a 500."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.outbox import NullWaker
from tests.factories import Actor, Factory


class Setup:
    def __init__(self, make: Factory) -> None:
        self.unit = make.group("Akuten")
        self.admin: Actor = make.actor(roles=["staff", "admin"])
        self.boss: Actor = make.actor(roles=["staff", "manager"], manages=[self.unit])
        self.nurse: Actor = make.actor(groups=[self.unit])


@pytest.fixture
def setup(make: Factory) -> Setup:
    return Setup(make)


def _cases(s: Setup, bad: str) -> list[tuple[Actor, str, str, dict[str, object], str]]:
    """(who, method, path, body, field): a text field of each kind of input, carrying `bad`."""
    unit = str(s.unit.id)
    return [
        (s.admin, "POST", "/api/v1/people", {"name": f"A{bad}", "email": "a@exempel.se"}, "name"),
        (s.admin, "POST", "/api/v1/people", {"name": "A", "email": "b@exempel.se", "profession": bad}, "profession"),
        (s.admin, "POST", "/api/v1/groups", {"name": f"G{bad}", "code": "g1", "kind": "unit"}, "name"),
        (
            s.boss,
            "POST",
            "/api/v1/messages",
            {"title": f"T{bad}", "body": "B", "audience": {"groups": [unit]}},
            "title",
        ),
        (
            s.boss,
            "POST",
            "/api/v1/messages/preview",
            {"title": "T", "body": f"B{bad}", "audience": {"groups": [unit]}},
            "body",
        ),
        (
            s.boss,
            "POST",
            "/api/v1/messages",
            {"title": "T", "body": "B", "category": bad, "audience": {"groups": [unit]}},
            "category",
        ),
        (s.nurse, "POST", "/api/v1/tokens", {"name": f"n{bad}"}, "name"),
        (
            s.nurse,
            "POST",
            "/api/v1/devices",
            {"platform": "android", "provider": "fcm", "token": f"token-{bad}-12345", "name": "Telefon"},
            "token",
        ),
        (
            s.boss,
            "POST",
            "/api/v1/messages",
            {"title": "T", "body": "B", "audience": {"roles": [f"Jour{bad}"]}},
            "audience.roles",
        ),
    ]


@pytest.mark.parametrize("bad", ["\x00", "\x1b[31m", "\x7f", "\ud800"], ids=["nul", "escape", "del", "surrogate"])
def test_control_characters_in_any_text_field_are_a_422_naming_the_field(
    client: TestClient, setup: Setup, bad: str
) -> None:
    for who, method, path, body, field in _cases(setup, bad):
        # json.dumps escapes a lone surrogate as \\ud800, which a client library would refuse to encode.
        raw = json.dumps(body).encode()
        r = client.request(method, path, headers={**who.headers, "Content-Type": "application/json"}, content=raw)
        assert r.status_code == 422, (path, field, r.status_code, r.text)
        answer = r.json()
        # A lone surrogate is refused by the JSON parser of the string type itself, also with the field.
        said = ("control character", "unicode string")
        assert any(d["field"].startswith(field) and any(w in d["message"] for w in said) for d in answer["details"]), (
            path,
            answer,
        )


def test_control_characters_in_query_parameters_are_a_422(client: TestClient, setup: Setup) -> None:
    for path in ("/api/v1/people?q=a%00b", "/api/v1/groups?q=%1b", "/api/v1/professions?q=%00"):
        r = client.get(path, headers=setup.admin.headers)
        assert r.status_code == 422, (path, r.text)
        assert "control character" in r.json()["message"]


def test_newlines_and_tabs_in_a_message_body_are_fine(client: TestClient, setup: Setup) -> None:
    body = {"title": "Möte", "body": "Rad 1\nRad 2\r\n\tindrag", "audience": {"groups": [str(setup.unit.id)]}}
    assert client.post("/api/v1/messages", headers=setup.boss.headers, json=body).status_code == 202


@pytest.mark.parametrize("year", ["9999", "0001"])
def test_explain_at_the_ends_of_the_calendar_is_a_422(client: TestClient, setup: Setup, year: str) -> None:
    r = client.post(
        f"/api/v1/people/{setup.nurse.id}/explain",
        headers=setup.boss.headers,
        json={"priority": "normal", "at": f"{year}-06-01T10:00:00Z"},
    )
    assert r.status_code == 422, r.text
    assert "between 2000-01-01 and 2100-12-31" in r.json()["message"]


class TestDatabaseDown:
    """The database's port is closed: every call that needs it is a 503 that says to come back."""

    @pytest.fixture
    def down(self, tmp_path: Path, clock: ManualClock) -> TestClient:
        settings = Settings(
            database_url="postgresql+psycopg://vila@127.0.0.1:9/vila?connect_timeout=2",
            data_dir=tmp_path,
            broker_url="",
            load_demo=False,
        )
        return TestClient(create_app(settings, clock=clock, waker=NullWaker()), raise_server_exceptions=False)

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/api/v1/people/me"),
            ("GET", "/api/v1/inbox"),
            ("POST", "/api/v1/messages"),
            ("GET", "/api/v1/groups"),
        ],
    )
    def test_api_calls_are_503_with_retry_after(self, down: TestClient, method: str, path: str) -> None:
        r = down.request(method, path, headers={"Authorization": "Bearer vila_x"}, json={})
        assert r.status_code == 503, r.text
        assert int(r.headers["Retry-After"]) > 0
        assert "database" in r.json()["message"]
        assert "127.0.0.1" not in r.text  # no connection details to the caller

    def test_readyz_fails_and_healthz_lives(self, down: TestClient) -> None:
        ready = down.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable"
        assert down.get("/healthz").status_code == 200


@pytest.mark.parametrize("query", ["from=0000-01", "to=0000-01", "from=9999-01&to=9999-12"])
def test_a_fleet_cost_period_outside_the_sane_span_is_a_422(client: TestClient, make: Factory, query: str) -> None:
    it = make.actor(roles=["staff", "it"])
    for path in ("/api/v1/fleet/costs", "/api/v1/fleet/costs.csv"):
        r = client.get(f"{path}?{query}", headers=it.headers)
        assert r.status_code == 422, (path, r.text)


def test_control_characters_in_a_web_form_are_a_422(client: TestClient) -> None:
    r = client.post("/login", data={"token": "vila_\x00abc", "nonce": "n"})
    assert r.status_code == 422, r.text
    assert "token" in r.json()["message"] and "control character" in r.json()["message"]


@pytest.mark.parametrize(
    ("roles", "path"),
    [
        (["staff", "it"], "/api/v1/fleet/imports/intune"),
        (["staff", "it"], "/api/v1/fleet/imports/subscriptions"),
        (["staff", "hr"], "/api/v1/shifts/import"),
    ],
)
def test_a_csv_file_the_csv_module_cannot_read_is_a_4xx(
    client: TestClient, make: Factory, roles: list[str], path: str
) -> None:
    who = make.actor(roles=roles)
    headers = {**who.headers, "Content-Type": "text/csv"}
    for raw in (b"0\r0", b'a,b\n"x\ry",2\r\n1'):
        r = client.post(path, headers=headers, content=raw)
        assert 400 <= r.status_code < 500, (path, raw, r.status_code, r.text)
