"""Settings that are documented are used: a person created without a time zone or language gets
VILA_DEFAULT_TIMEZONE and VILA_DEFAULT_LANGUAGE, and what they give is kept."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.outbox import NullWaker
from tests.factories import Factory


def test_a_person_created_without_zone_or_language_gets_the_installations_defaults(
    make: Factory, clock: ManualClock, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VILA_DEFAULT_TIMEZONE", "Europe/Helsinki")
    monkeypatch.setenv("VILA_DEFAULT_LANGUAGE", "en")
    configured = Settings(database_url=settings.database_url, data_dir=settings.data_dir, load_demo=False)
    assert (configured.default_timezone, configured.default_language) == ("Europe/Helsinki", "en")
    admin = make.actor(roles=["staff", "admin"])
    with TestClient(create_app(configured, clock=clock, waker=NullWaker())) as client:
        r = client.post("/api/v1/people", headers=admin.headers, json={"name": "Aino Virtanen", "email": "aino@ex.fi"})
        assert r.status_code == 201, r.text
        assert (r.json()["timezone"], r.json()["language"]) == ("Europe/Helsinki", "en")

        given = {"name": "Karin Lind", "email": "karin@ex.se", "timezone": "Europe/Stockholm", "language": "sv"}
        r = client.post("/api/v1/people", headers=admin.headers, json=given)
        assert r.status_code == 201, r.text
        assert (r.json()["timezone"], r.json()["language"]) == ("Europe/Stockholm", "sv"), "given values win"


def test_an_unknown_default_time_zone_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VILA_DEFAULT_TIMEZONE", "Europe/Stokholm")
    with pytest.raises(ValueError, match="time zone"):
        Settings()
