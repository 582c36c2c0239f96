"""People and groups API: create, read, update, deactivate, nesting, pagination, validation."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import ManualClock
from kernel.settings import Settings
from notify.jobs import registry
from notify.outbox import JobContext, run_due
from tests.factories import Actor, Factory


@pytest.fixture
def admin(make: Factory) -> Actor:
    return make.actor(roles=["staff", "admin"])


def test_create_person_defaults_and_read_back(client: TestClient, admin: Actor) -> None:
    r = client.post(
        "/api/v1/people",
        headers=admin.headers,
        json={"name": "Karin Lindqvist", "email": "Karin.Lindqvist@Exempel.se", "profession": "undersköterska"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["timezone"] == "Europe/Stockholm"
    assert body["email"] == "karin.lindqvist@exempel.se"
    assert body["language"] == "sv"
    assert body["roles"] == ["staff"]
    got = client.get(f"/api/v1/people/{body['id']}", headers=admin.headers).json()
    assert got["name"] == "Karin Lindqvist"


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({"name": "A", "email": "a@exempel.se", "timezone": "Europe/Stokholm"}, "timezone", "unknown time zone"),
        ({"name": "A", "email": "not-an-email"}, "email", "valid email"),
        ({"name": "A" * 201, "email": "a@exempel.se"}, "name", "at most 200"),
        ({"name": "", "email": "a@exempel.se"}, "name", "at least 1"),
        ({"name": 12, "email": "a@exempel.se"}, "name", "valid string"),
        ({"name": "A", "email": "a@exempel.se", "roles": ["boss"]}, "roles.0", "staff"),
        ({"name": "A", "email": "a@exempel.se", "language": "de"}, "language", "'sv' or 'en'"),
        ({"name": "A", "email": "a@exempel.se", "shoe_size": 42}, "shoe_size", "not permitted"),
    ],
)
def test_invalid_person_is_422_with_the_field_and_reason(
    client: TestClient, admin: Actor, payload: dict[str, object], field: str, words: str
) -> None:
    r = client.post("/api/v1/people", headers=admin.headers, json=payload)
    assert r.status_code == 422
    body = r.json()
    assert any(d["field"] == field and words in d["message"] for d in body["details"]), body
    assert field in body["message"]


def test_unknown_group_is_422_and_nothing_is_written(client: TestClient, admin: Actor) -> None:
    r = client.post(
        "/api/v1/people",
        headers=admin.headers,
        json={"name": "A", "email": "ghost@exempel.se", "groups": [str(uuid.uuid4())]},
    )
    assert r.status_code == 422
    assert "unknown group" in r.json()["message"]
    assert client.get("/api/v1/people", headers=admin.headers, params={"q": "ghost"}).json()["total"] == 0


def test_duplicate_email_is_409(client: TestClient, admin: Actor) -> None:
    body = {"name": "A", "email": "same@exempel.se"}
    assert client.post("/api/v1/people", headers=admin.headers, json=body).status_code == 201
    r = client.post("/api/v1/people", headers=admin.headers, json=body)
    assert r.status_code == 409
    assert "already exists" in r.json()["message"]


def test_a_taken_external_id_is_409_and_says_which_field(client: TestClient, admin: Actor) -> None:
    first = {"name": "A", "email": "a@exempel.se", "external_id": "HSA-1"}
    assert client.post("/api/v1/people", headers=admin.headers, json=first).status_code == 201
    r = client.post("/api/v1/people", headers=admin.headers, json={**first, "email": "b@exempel.se"})
    assert r.status_code == 409
    assert "external_id" in r.json()["message"] and "HSA-1" not in r.json()["message"]


def test_malformed_json_and_bad_ids_are_4xx(client: TestClient, admin: Actor) -> None:
    r = client.post("/api/v1/people", headers={**admin.headers, "content-type": "application/json"}, content=b"{nope")
    assert r.status_code == 422
    assert client.get("/api/v1/people/not-a-uuid", headers=admin.headers).status_code == 422
    assert client.get(f"/api/v1/people/{uuid.uuid4()}", headers=admin.headers).status_code == 404
    assert client.get("/api/v1/people", headers=admin.headers, params={"limit": 0}).status_code == 422


def test_update_and_deactivate_person(
    client: TestClient,
    admin: Actor,
    make: Factory,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
) -> None:
    person = make.actor()
    r = client.patch(
        f"/api/v1/people/{person.id}", headers=admin.headers, json={"timezone": "Europe/Helsinki", "language": "en"}
    )
    assert r.status_code == 200
    assert (r.json()["timezone"], r.json()["language"]) == ("Europe/Helsinki", "en")
    assert (
        client.patch(f"/api/v1/people/{person.id}", headers=admin.headers, json={"timezone": "Nowhere"}).status_code
        == 422
    )
    r = client.post(f"/api/v1/people/{person.id}/deactivate", headers=admin.headers)
    assert r.json()["active"] is False
    assert client.get("/api/v1/people", headers=admin.headers, params={"active": False}).json()["total"] == 1
    # The offboarding job revokes the person's tokens.
    ran = run_due(JobContext(settings=settings, session_factory=session_factory, clock=clock), registry)
    assert ran == 1
    tokens = client.get("/api/v1/tokens", headers=admin.headers)
    assert tokens.status_code == 200
    with session_factory() as session:
        from kernel.auth.service import list_tokens

        assert all(t.revoked_at is not None for t in list_tokens(session=session, person_id=person.id))


def test_pagination_and_filters(client: TestClient, admin: Actor, make: Factory) -> None:
    ward = make.group("Medicinavdelning 12")
    for i in range(7):
        make.person(groups=[ward], profession="läkare" if i < 2 else "sjuksköterska")
    page1 = client.get("/api/v1/people", headers=admin.headers, params={"group": str(ward.id), "limit": 5}).json()
    page2 = client.get(
        "/api/v1/people", headers=admin.headers, params={"group": str(ward.id), "limit": 5, "offset": 5}
    ).json()
    assert page1["total"] == 7
    assert len(page1["items"]) == 5
    assert len(page2["items"]) == 2
    assert not {p["id"] for p in page1["items"]} & {p["id"] for p in page2["items"]}
    doctors = client.get(
        "/api/v1/people", headers=admin.headers, params={"group": str(ward.id), "profession": "läkare"}
    ).json()
    assert doctors["total"] == 2


def test_an_offset_beyond_any_list_is_refused_clearly(client: TestClient, make: Factory) -> None:
    admin = make.actor(roles=["admin"])
    for path in ("/api/v1/people", "/api/v1/inbox", "/api/v1/messages"):
        r = client.get(path, headers=admin.headers, params={"offset": 2935725167033419164079357952})
        assert r.status_code == 422, (path, r.text)
        assert "offset" in r.json()["message"]


def test_nested_groups_members_include_subgroups(client: TestClient, admin: Actor) -> None:
    region = client.post(
        "/api/v1/groups", headers=admin.headers, json={"name": "Region Exempel", "code": "region", "kind": "region"}
    ).json()
    unit = client.post(
        "/api/v1/groups",
        headers=admin.headers,
        json={"name": "Akutmottagningen", "code": "akuten", "parent_id": region["id"]},
    ).json()
    team = client.post(
        "/api/v1/groups",
        headers=admin.headers,
        json={"name": "Akuten natt", "code": "akuten-natt", "kind": "team", "parent_id": unit["id"]},
    ).json()
    nurse = client.post(
        "/api/v1/people",
        headers=admin.headers,
        json={"name": "Sara Berg", "email": "sara.berg@exempel.se", "groups": [team["id"]]},
    ).json()
    in_region = client.get("/api/v1/people", headers=admin.headers, params={"group": region["id"]}).json()
    assert [p["id"] for p in in_region["items"]] == [nurse["id"]]
    detail = client.get(f"/api/v1/groups/{unit['id']}", headers=admin.headers).json()
    assert [g["code"] for g in detail["subgroups"]] == ["akuten-natt"]
    # A group cannot be moved below its own subgroup.
    r = client.patch(f"/api/v1/groups/{region['id']}", headers=admin.headers, json={"parent_id": team["id"]})
    assert r.status_code == 422
    assert "below itself" in r.json()["message"]


@pytest.mark.parametrize(
    ("payload", "status", "words"),
    [
        ({"name": "X", "code": "Has Spaces"}, 422, "code"),
        ({"name": "X", "code": "x", "kind": "planet"}, 422, "kind"),
        ({"name": "X", "code": "x", "parent_id": "00000000-0000-0000-0000-000000000001"}, 422, "unknown parent"),
    ],
)
def test_invalid_group(client: TestClient, admin: Actor, payload: dict[str, object], status: int, words: str) -> None:
    r = client.post("/api/v1/groups", headers=admin.headers, json=payload)
    assert r.status_code == status
    assert words in r.json()["message"]


def test_membership_with_unknown_person_is_422(client: TestClient, admin: Actor, make: Factory) -> None:
    unit = make.group()
    r = client.post(
        f"/api/v1/groups/{unit.id}/members", headers=admin.headers, json={"person_ids": [str(uuid.uuid4())]}
    )
    assert r.status_code == 422
    assert "unknown person" in r.json()["message"]


def test_adding_a_manager_grants_the_role(client: TestClient, admin: Actor, make: Factory) -> None:
    unit = make.group()
    person = make.person()
    r = client.post(f"/api/v1/groups/{unit.id}/managers", headers=admin.headers, json={"person_ids": [str(person.id)]})
    assert r.json() == {"added": 1}
    assert "manager" in client.get(f"/api/v1/people/{person.id}", headers=admin.headers).json()["roles"]
    detail = client.get(f"/api/v1/groups/{unit.id}", headers=admin.headers).json()
    assert [m["id"] for m in detail["managers"]] == [str(person.id)]
