"""Authentication (401) and the role matrix (403) for each resource."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from kernel.clock import ManualClock
from kernel.directory.models import Person
from kernel.settings import Settings
from notify.outbox import NullWaker
from tests.factories import Factory


def test_missing_token_is_401_with_a_message(client: TestClient) -> None:
    r = client.get("/api/v1/people/me")
    assert r.status_code == 401
    assert "missing bearer token" in r.json()["message"]
    assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Basic abc", "Bearer ", "Bearer vila_not-a-real-token", "Bearer something-else"])
def test_wrong_token_is_401(client: TestClient, header: str) -> None:
    r = client.get("/api/v1/people/me", headers={"Authorization": header})
    assert r.status_code == 401
    assert r.json()["error"] == "not_authenticated"


def test_expired_token_is_401(client: TestClient, make: Factory, clock: ManualClock) -> None:
    actor = make.actor()
    assert client.get("/api/v1/people/me", headers=actor.headers).status_code == 200
    clock.advance(timedelta(days=91))
    r = client.get("/api/v1/people/me", headers=actor.headers)
    assert r.status_code == 401
    assert "expired" in r.json()["message"]


def test_revoked_token_is_401(client: TestClient, make: Factory) -> None:
    actor = make.actor()
    tokens = client.get("/api/v1/tokens", headers=actor.headers).json()
    assert len(tokens) == 1
    assert client.delete(f"/api/v1/tokens/{tokens[0]['id']}", headers=actor.headers).status_code == 200
    assert client.get("/api/v1/people/me", headers=actor.headers).status_code == 401


def test_token_is_stored_only_as_a_digest(client: TestClient, make: Factory) -> None:
    actor = make.actor()
    r = client.post("/api/v1/tokens", headers=actor.headers, json={"name": "phone"})
    assert r.status_code == 201
    secret = r.json()["token"]
    listed = client.get("/api/v1/tokens", headers=actor.headers).json()
    assert all("token" not in t for t in listed)
    assert secret not in str(listed)
    assert client.get("/api/v1/people/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_deactivated_person_cannot_authenticate(client: TestClient, make: Factory) -> None:
    admin = make.actor(roles=["staff", "admin"])
    victim = make.actor()
    r = client.post(f"/api/v1/people/{victim.id}/deactivate", headers=admin.headers)
    assert r.status_code == 200
    assert client.get("/api/v1/people/me", headers=victim.headers).status_code == 401


def test_token_scope_limits_roles(client: TestClient, make: Factory) -> None:
    person = make.person(roles=["staff", "hr"])
    staff_only = make.token(person, roles=["staff"])
    r = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {staff_only}"})
    assert r.status_code == 403
    full = make.token(person)
    assert client.get("/api/v1/audit", headers={"Authorization": f"Bearer {full}"}).status_code == 200


class TestMatrix:
    """For each role: a permitted call and a forbidden call per resource."""

    def test_staff(self, client: TestClient, make: Factory) -> None:
        unit = make.group()
        me = make.actor(groups=[unit])
        colleague = make.person(groups=[unit])
        assert client.get("/api/v1/people/me", headers=me.headers).status_code == 200
        assert client.get(f"/api/v1/people/{me.id}", headers=me.headers).status_code == 200
        r = client.get(f"/api/v1/people/{colleague.id}", headers=me.headers)
        assert r.status_code == 403
        assert "only on themselves" in r.json()["message"]
        assert client.get("/api/v1/people", headers=me.headers).status_code == 403
        assert client.post("/api/v1/groups", headers=me.headers, json={"name": "X", "code": "x"}).status_code == 403
        assert (
            client.post(
                f"/api/v1/groups/{unit.id}/members", headers=me.headers, json={"person_ids": [str(me.id)]}
            ).status_code
            == 403
        )
        assert client.get("/api/v1/audit", headers=me.headers).status_code == 403
        assert (
            client.post("/api/v1/tokens", headers=me.headers, json={"person_id": str(colleague.id)}).status_code == 403
        )

    def test_manager_acts_on_managed_groups_and_subgroups_only(self, client: TestClient, make: Factory) -> None:
        unit = make.group("Akuten")
        team = make.group("Akuten natt", parent=unit, kind="team")
        other = make.group("Vårdcentralen")
        boss = make.actor(roles=["staff", "manager"], manages=[unit])
        nurse = make.person(groups=[team])
        stranger = make.person(groups=[other])
        assert client.get(f"/api/v1/people/{nurse.id}", headers=boss.headers).status_code == 200
        r = client.get(f"/api/v1/people/{stranger.id}", headers=boss.headers)
        assert r.status_code == 403
        assert "not in a group you manage" in r.json()["message"]
        listed = client.get("/api/v1/people", headers=boss.headers).json()
        assert [p["id"] for p in listed["items"]] == [str(nurse.id)]
        newcomer = make.person()
        # Membership changes reach only people the manager already administers: a newcomer in no
        # group is placed by HR; a nurse of the unit may be moved into its team.
        assert (
            client.post(
                f"/api/v1/groups/{team.id}/members", headers=boss.headers, json={"person_ids": [str(newcomer.id)]}
            ).status_code
            == 403
        )
        assert (
            client.post(
                f"/api/v1/groups/{team.id}/members", headers=boss.headers, json={"person_ids": [str(nurse.id)]}
            ).status_code
            == 200
        )
        assert (
            client.post(
                f"/api/v1/groups/{other.id}/members", headers=boss.headers, json={"person_ids": [str(newcomer.id)]}
            ).status_code
            == 403
        )
        assert client.patch(f"/api/v1/people/{nurse.id}", headers=boss.headers, json={"name": "X"}).status_code == 403
        assert client.get("/api/v1/audit", headers=boss.headers).status_code == 403

    def test_hr(self, client: TestClient, make: Factory) -> None:
        hr = make.actor(roles=["staff", "hr"])
        anyone = make.person()
        assert client.get("/api/v1/audit", headers=hr.headers).status_code == 200
        assert (
            client.patch(f"/api/v1/people/{anyone.id}", headers=hr.headers, json={"profession": "läkare"}).status_code
            == 200
        )
        r = client.patch(f"/api/v1/people/{anyone.id}", headers=hr.headers, json={"roles": ["staff", "admin"]})
        assert r.status_code == 403
        assert "only an admin" in r.json()["message"]
        assert client.post("/api/v1/tokens", headers=hr.headers, json={"person_id": str(anyone.id)}).status_code == 403

    def test_admin(self, client: TestClient, make: Factory) -> None:
        admin = make.actor(roles=["staff", "admin"])
        anyone = make.person()
        r = client.post("/api/v1/tokens", headers=admin.headers, json={"person_id": str(anyone.id), "name": "support"})
        assert r.status_code == 201
        assert client.patch(
            f"/api/v1/people/{anyone.id}", headers=admin.headers, json={"roles": ["staff", "hr"]}
        ).json()["roles"] == ["hr", "staff"]
        mine = make.actor()
        theirs = client.get("/api/v1/tokens", headers=mine.headers).json()[0]["id"]
        other = make.actor()
        assert client.delete(f"/api/v1/tokens/{theirs}", headers=other.headers).status_code == 404
        assert client.delete(f"/api/v1/tokens/{theirs}", headers=admin.headers).status_code == 200


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_a_token_never_carries_more_than_the_credential_that_creates_it(client: TestClient, make: Factory) -> None:
    """A staff-limited token of an admin cannot mint an admin token: the creating credential's roles
    bound the new token, not the person's."""
    boss = make.person(roles=["staff", "admin"])
    staff_only = _bearer(make.token(boss, roles=["staff"]))
    r = client.post("/api/v1/tokens", headers=staff_only, json={"roles": ["admin"]})
    assert r.status_code == 403, r.text
    assert "lacks admin" in r.json()["message"]
    assert client.post("/api/v1/tokens", headers=staff_only, json={"roles": ["staff", "admin"]}).status_code == 403
    # Without a list the new token gets exactly the creating token's roles, and reads no audit log.
    minted = client.post("/api/v1/tokens", headers=staff_only, json={"name": "script"})
    assert minted.status_code == 201 and minted.json()["roles"] == ["staff"]
    assert client.get("/api/v1/audit", headers=_bearer(minted.json()["token"])).status_code == 403
    # The full credential may still narrow or keep its own roles.
    full = _bearer(make.token(boss))
    admin_token = client.post("/api/v1/tokens", headers=full, json={"roles": ["admin"]})
    assert admin_token.status_code == 201 and admin_token.json()["roles"] == ["admin"]
    assert client.get("/api/v1/audit", headers=_bearer(admin_token.json()["token"])).status_code == 200


def test_a_token_lives_no_longer_than_the_installation_allows(
    settings: Settings, clock: ManualClock, make: Factory
) -> None:
    app = create_app(settings.model_copy(update={"token_ttl_days": 30}), clock=clock, waker=NullWaker())
    nurse = make.actor()
    with TestClient(app) as client:
        too_long = client.post("/api/v1/tokens", headers=nurse.headers, json={"ttl_days": 31})
        assert too_long.status_code == 422
        assert "at most 30 days" in too_long.json()["message"]
        ok = client.post("/api/v1/tokens", headers=nurse.headers, json={"ttl_days": 30}).json()
        default = client.post("/api/v1/tokens", headers=nurse.headers, json={}).json()
    for issued in (ok, default):
        lifetime = datetime.fromisoformat(issued["expires_at"]) - datetime.fromisoformat(issued["created_at"])
        assert lifetime == timedelta(days=30)


class TestHrAndAdmins:
    """HR keeps the register, but an admin is acted on by admins only."""

    def test_hr_cannot_deactivate_an_admin_or_change_their_roles_or_sign_in_key(
        self, client: TestClient, make: Factory, session_factory: sessionmaker[Session]
    ) -> None:
        hr = make.actor(roles=["staff", "hr"])
        admin = make.actor(roles=["staff", "admin"], external_id="oid-admin")
        for change in ({"roles": ["staff", "admin", "manager"]}, {"external_id": "oid-of-hr"}, {"name": "X"}):
            r = client.patch(f"/api/v1/people/{admin.id}", headers=hr.headers, json=change)
            assert r.status_code == 403, change
            assert "only an admin" in r.json()["message"]
        r = client.post(f"/api/v1/people/{admin.id}/deactivate", headers=hr.headers)
        assert r.status_code == 403
        with session_factory() as session:
            stored = session.get(Person, admin.id)
            assert stored is not None and stored.active and stored.name == admin.person.name
            assert stored.external_id == "oid-admin" and stored.roles == ["admin", "staff"]

    def test_admins_can_and_hr_still_acts_on_everyone_else(
        self, client: TestClient, make: Factory, session_factory: sessionmaker[Session]
    ) -> None:
        hr = make.actor(roles=["staff", "hr"])
        admin = make.actor(roles=["staff", "admin"])
        other_admin = make.person(roles=["staff", "admin"])
        nurse = make.person()
        r = client.patch(f"/api/v1/people/{nurse.id}", headers=hr.headers, json={"external_id": "oid-nurse"})
        assert r.status_code == 200
        assert client.post(f"/api/v1/people/{nurse.id}/deactivate", headers=hr.headers).status_code == 200
        r = client.patch(f"/api/v1/people/{other_admin.id}", headers=admin.headers, json={"external_id": "oid-2"})
        assert r.status_code == 200
        assert client.post(f"/api/v1/people/{other_admin.id}/deactivate", headers=admin.headers).status_code == 200
        with session_factory() as session:
            assert [session.get(Person, p.id).external_id for p in (nurse, other_admin)] == ["oid-nurse", "oid-2"]  # type: ignore[union-attr]
