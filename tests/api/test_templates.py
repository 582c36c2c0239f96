"""Message templates per group: kept by the group's managers, seen by those who may send to it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Factory


def test_templates_per_group(client: TestClient, make: Factory) -> None:
    unit = make.group("Akuten")
    other = make.group("Vårdcentralen")
    boss = make.actor(roles=["staff", "manager"], manages=[unit], name="Chef")
    other_boss = make.actor(roles=["staff", "manager"], manages=[other], name="Annan chef")
    staff = make.actor(groups=[unit], name="Sara")
    teams = {
        "group_id": str(unit.id),
        "name": "Teams-möte",
        "title": "Teams-möte i dag",
        "body": "Vi ses på Teams kl 14.",
        "deep_link": "https://teams.microsoft.com/l/meetup-join/abc",
    }
    r = client.post("/api/v1/templates", headers=boss.headers, json=teams)
    assert r.status_code == 201, r.text
    assert r.json()["priority"] == "normal"
    for name in ("Personalmöte", "Utbildning i Saba Cloud"):
        body = {"group_id": str(unit.id), "name": name, "title": name, "body": f"{name}: se kalendern."}
        assert client.post("/api/v1/templates", headers=boss.headers, json=body).status_code == 201
    assert client.post("/api/v1/templates", headers=boss.headers, json=teams).status_code == 409
    assert client.post("/api/v1/templates", headers=other_boss.headers, json=teams).status_code == 403
    assert client.post("/api/v1/templates", headers=staff.headers, json=teams).status_code == 403
    bad = client.post("/api/v1/templates", headers=boss.headers, json={**teams, "name": "X", "deep_link": "ftp://x"})
    assert bad.status_code == 422
    names = [t["name"] for t in client.get("/api/v1/templates", headers=boss.headers).json()]
    assert names == ["Personalmöte", "Teams-möte", "Utbildning i Saba Cloud"]
    assert client.get("/api/v1/templates", headers=other_boss.headers).json() == []
    assert client.get("/api/v1/templates", headers=staff.headers).json() == []
    tid = r.json()["id"]
    assert client.delete(f"/api/v1/templates/{tid}", headers=other_boss.headers).status_code == 403
    assert client.delete(f"/api/v1/templates/{tid}", headers=boss.headers).status_code == 204
    assert client.delete(f"/api/v1/templates/{tid}", headers=boss.headers).status_code == 404
    assert len(client.get("/api/v1/templates", headers=boss.headers, params={"group": str(unit.id)}).json()) == 2
