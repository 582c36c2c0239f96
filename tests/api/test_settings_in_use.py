"""Settings that are documented are used: a person created without a time zone or language gets
VILA_DEFAULT_TIMEZONE and VILA_DEFAULT_LANGUAGE, and what they give is kept, whichever way they come
in (the REST API, SCIM provisioning one by one or in bulk, a CSV directory import)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.outbox import NullWaker
from tests.factories import Factory
from tests.scim_helpers import entra_user


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


@pytest.fixture
def finnish(clock: ManualClock, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """An installation in Finland that writes English: VILA_DEFAULT_TIMEZONE and VILA_DEFAULT_LANGUAGE set."""
    monkeypatch.setenv("VILA_DEFAULT_TIMEZONE", "Europe/Helsinki")
    monkeypatch.setenv("VILA_DEFAULT_LANGUAGE", "en")
    configured = Settings(database_url=settings.database_url, data_dir=settings.data_dir, load_demo=False)
    with TestClient(create_app(configured, clock=clock, waker=NullWaker())) as client:
        yield client


def _zone_and_language(client: TestClient, headers: dict[str, str], email: str) -> tuple[str, str]:
    found = client.get("/api/v1/people", headers=headers, params={"q": email}).json()["items"]
    person = next(p for p in found if p["email"] == email)
    return person["timezone"], person["language"]


def test_a_person_provisioned_by_scim_gets_the_defaults_unless_the_user_names_a_zone(
    finnish: TestClient, make: Factory
) -> None:
    entra, admin = make.actor(roles=["integration"]), make.actor(roles=["staff", "admin"])
    r = finnish.post("/scim/v2/Users", headers=entra.headers, json=entra_user("aino.virtanen@region.fi"))
    assert r.status_code == 201, r.text
    assert _zone_and_language(finnish, admin.headers, "aino.virtanen@region.fi") == ("Europe/Helsinki", "en")

    given = entra_user("karin.lind@region.se") | {"timezone": "Europe/Stockholm", "preferredLanguage": "sv-SE"}
    r = finnish.post("/scim/v2/Users", headers=entra.headers, json=given)
    assert r.status_code == 201, r.text
    assert _zone_and_language(finnish, admin.headers, "karin.lind@region.se") == ("Europe/Stockholm", "sv")

    r = finnish.post(
        "/scim/v2/Users", headers=entra.headers, json=entra_user("x@region.se") | {"timezone": "Europe/Stokholm"}
    )
    assert r.status_code == 400 and "time zone" in r.text, "a misspelt zone is refused, not replaced"


def test_people_provisioned_in_bulk_or_imported_from_csv_get_the_defaults(finnish: TestClient, make: Factory) -> None:
    entra, hr = make.actor(roles=["integration"]), make.actor(roles=["staff", "hr"])
    bulk = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": entra_user("eero.aalto@region.fi")},
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "b",
                "data": entra_user("sara.ek@region.se") | {"timezone": "Europe/Stockholm", "locale": "sv_SE"},
            },
        ],
    }
    r = finnish.post("/scim/v2/Bulk", headers=entra.headers, json=bulk)
    assert r.status_code == 200, r.text
    assert _zone_and_language(finnish, hr.headers, "eero.aalto@region.fi") == ("Europe/Helsinki", "en")
    assert _zone_and_language(finnish, hr.headers, "sara.ek@region.se") == ("Europe/Stockholm", "sv")

    r = finnish.post(
        "/api/v1/directory/import/people",
        headers={**hr.headers, "Content-Type": "text/csv"},
        content=b"name,email\nMikko Laine,mikko.laine@region.fi\n",
    )
    assert r.status_code == 200 and r.json()["created"] == 1, r.text
    assert _zone_and_language(finnish, hr.headers, "mikko.laine@region.fi") == ("Europe/Helsinki", "en")
