"""Least privilege across units: a manager's group membership changes and audiences (groups, people,
roster roles) stay within the groups they manage, in preview as in send."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories import Actor, Factory


class Region:
    def __init__(self, make: Factory) -> None:
        self.medicine = make.group("Medicin")
        self.surgery = make.group("Kirurgi")
        self.boss: Actor = make.actor(roles=["staff", "manager"], manages=[self.medicine], name="Chef Medicin")
        self.other_boss: Actor = make.actor(roles=["staff", "manager"], manages=[self.surgery], name="Chef Kirurgi")
        self.hr: Actor = make.actor(roles=["staff", "hr"])
        self.mine = make.person(groups=[self.medicine], name="Mia Medicin")
        self.theirs = make.person(groups=[self.surgery], name="Kim Kirurgi")
        self.loose = make.person(name="Lo Utan Grupp")

    def roster(self, *, group_id: str, role: str, participant: str) -> dict[str, object]:
        return {
            "group_id": group_id,
            "name": f"Linje {role}",
            "role": role,
            "kind": "jour",
            "layers": [
                {
                    "rotation": "weekly",
                    "start_date": "2026-11-16",
                    "handoff_time": "08:00",
                    "participants": [participant],
                }
            ],
        }


@pytest.fixture
def region(make: Factory) -> Region:
    return Region(make)


def _members(client: TestClient, actor: Actor, group_id: object, *people: object, method: str = "POST") -> int:
    r = client.request(
        method,
        f"/api/v1/groups/{group_id}/members",
        headers=actor.headers,
        json={"person_ids": [str(p) for p in people]},
    )
    return r.status_code


class TestGroupMembership:
    def test_a_manager_cannot_pull_another_units_person_into_their_group(
        self, client: TestClient, region: Region
    ) -> None:
        r = client.post(
            f"/api/v1/groups/{region.medicine.id}/members",
            headers=region.boss.headers,
            json={"person_ids": [str(region.theirs.id)]},
        )
        assert r.status_code == 403, r.text
        assert "groups you manage" in r.json()["message"]
        assert str(region.theirs.id) in r.json()["message"]
        # ... and so gains no rights over them: their availability stays closed.
        assert client.get(f"/api/v1/people/{region.theirs.id}", headers=region.boss.headers).status_code in (403, 404)

    def test_a_person_in_no_group_is_not_the_managers_either(self, client: TestClient, region: Region) -> None:
        assert _members(client, region.boss, region.medicine.id, region.loose.id) == 403

    def test_one_outsider_refuses_the_whole_change(self, client: TestClient, region: Region) -> None:
        assert _members(client, region.boss, region.medicine.id, region.mine.id, region.theirs.id) == 403
        assert _members(client, region.boss, region.medicine.id, region.theirs.id, method="DELETE") == 403

    def test_a_manager_moves_their_own_people_and_hr_anyone(
        self, client: TestClient, region: Region, make: Factory
    ) -> None:
        team = make.group("Team medicin", parent=region.medicine, kind="team")
        assert _members(client, region.boss, team.id, region.mine.id) == 200
        assert _members(client, region.boss, team.id, region.mine.id, method="DELETE") == 200
        assert _members(client, region.hr, region.medicine.id, region.theirs.id) == 200


class TestAudienceScope:
    @pytest.fixture
    def surgery_role(self, client: TestClient, region: Region) -> str:
        role = "Jour kirurgi"
        body = region.roster(group_id=str(region.surgery.id), role=role, participant=str(region.theirs.id))
        r = client.post("/api/v1/rosters", headers=region.other_boss.headers, json=body)
        assert r.status_code == 201, r.text
        return role

    @pytest.mark.parametrize("path", ["/api/v1/messages", "/api/v1/messages/preview"])
    def test_another_units_on_call_role_is_refused_in_send_and_preview(
        self, client: TestClient, region: Region, surgery_role: str, path: str
    ) -> None:
        body = {"title": "Akut", "body": "Ring mig.", "priority": "urgent", "audience": {"roles": [surgery_role]}}
        r = client.post(path, headers=region.boss.headers, json=body)
        assert r.status_code == 403, r.text
        assert surgery_role in r.json()["message"]
        assert "Kim" not in r.text  # no names, no reasons of another unit's people
        sent = client.get("/api/v1/messages/sent", headers=region.boss.headers)
        assert sent.status_code != 200 or sent.json()["total"] == 0

    @pytest.mark.parametrize("path", ["/api/v1/messages", "/api/v1/messages/preview"])
    def test_own_role_is_allowed_and_the_owning_manager_reaches_it(
        self, client: TestClient, region: Region, surgery_role: str, path: str
    ) -> None:
        body = {"title": "Akut", "body": "Ring mig.", "priority": "urgent", "audience": {"roles": [surgery_role]}}
        r = client.post(path, headers=region.other_boss.headers, json=body)
        assert r.status_code in (200, 202), r.text

    @pytest.mark.parametrize("path", ["/api/v1/messages", "/api/v1/messages/preview"])
    @pytest.mark.parametrize("kind", ["groups", "people"])
    def test_another_units_groups_and_people_are_refused(
        self, client: TestClient, region: Region, path: str, kind: str
    ) -> None:
        target = region.surgery.id if kind == "groups" else region.theirs.id
        body = {"title": "Hej", "body": "Info.", "priority": "info", "audience": {kind: [str(target)]}}
        r = client.post(path, headers=region.boss.headers, json=body)
        assert r.status_code == 403, r.text
        assert "Kim" not in r.text

    def test_a_role_no_group_owns_is_refused_to_a_manager(self, client: TestClient, region: Region) -> None:
        body = {"title": "Akut", "body": "Ring.", "priority": "urgent", "audience": {"roles": ["Ingen sådan roll"]}}
        assert client.post("/api/v1/messages/preview", headers=region.boss.headers, json=body).status_code == 403


def test_a_manager_cannot_hang_a_slot_on_another_units_group(client: TestClient, region: Region) -> None:
    slot = {
        "person_id": str(region.mine.id),
        "role": "Jour kirurgi",
        "kind": "jour",
        "start": "2026-11-23T08:00:00Z",
        "end": "2026-11-23T16:00:00Z",
        "group_id": str(region.surgery.id),
    }
    r = client.post("/api/v1/on-call-slots", headers=region.boss.headers, json=slot)
    assert r.status_code == 403, r.text
    own = {**slot, "group_id": str(region.medicine.id), "role": "Jour medicin"}
    assert client.post("/api/v1/on-call-slots", headers=region.boss.headers, json=own).status_code == 201
