"""HR policies and the rest ledger over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.db import unit_of_work
from policies.availability import create_shift
from policies.core.engine import decide
from policies.core.types import MessageFacts
from policies.ledger import record_contact
from policies.rest_policies import policies_for
from policies.schemas.availability import ShiftCreate
from policies.states import load_states
from tests.factories import Factory

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _body(name: str = "Akutvård", **params: object) -> dict[str, object]:
    return {
        "name": name,
        "effective_from": (NOW - timedelta(days=1)).isoformat(),
        "approval_note": "Beslutad i samverkan 2026-11-20",
        **params,
    }


def test_hr_creates_versions_and_assigns_a_policy_that_people_inherit(client: TestClient, make: Factory) -> None:
    region = make.group(kind="region")
    unit = make.group(parent=region)
    nurse = make.actor(groups=[unit])
    hr = make.actor(roles=["hr"])
    r = client.post(
        "/api/v1/policies", json=_body(urgent_override_allowed=True, override_weekly_cap=3), headers=hr.headers
    )
    assert r.status_code == 201, r.text
    policy = r.json()
    assert policy["versions"][0]["version"] == 1 and policy["versions"][0]["author_id"] == str(hr.id)
    assert client.post("/api/v1/policies", json=_body(), headers=hr.headers).status_code == 422  # same name

    v2 = {"effective_from": (NOW + timedelta(days=7)).isoformat(), "approval_note": "Ny", "daily_rest_hours": 12}
    r = client.post(f"/api/v1/policies/{policy['id']}/versions", json=v2, headers=hr.headers)
    assert r.status_code == 201 and r.json()["version"] == 2

    assigned = client.put(f"/api/v1/policies/{policy['id']}/groups/{region.id}", headers=hr.headers)
    assert assigned.status_code == 200 and assigned.json()["groups"] == [str(region.id)]
    in_force = client.get(f"/api/v1/people/{nurse.id}/policy", headers=nurse.headers).json()
    assert (in_force["name"], in_force["version"]) == ("Akutvård", 1)
    assert [p["name"] for p in client.get("/api/v1/policies", headers=hr.headers).json()] == ["Akutvård"]
    assert len(client.get(f"/api/v1/policies/{policy['id']}", headers=hr.headers).json()["versions"]) == 2

    assert client.delete(f"/api/v1/groups/{region.id}/policy", headers=hr.headers).status_code == 204
    assert client.get(f"/api/v1/people/{nurse.id}/policy", headers=nurse.headers).json()["name"] == "default"


def test_policy_input_is_validated(client: TestClient, make: Factory) -> None:
    hr = make.actor(roles=["hr"])
    for bad in (
        _body(daily_rest_hours=-1),
        _body(weekly_rest_hours=200),
        _body(override_weekly_cap=-2),
        _body(compensatory_days=-14),
        _body(working_time=["shift", "lunch"]),
        _body(hold_target="whenever"),
        {**_body(), "effective_from": "2026-11-23T00:00:00"},
        {**_body(), "approval_note": "  "},
    ):
        r = client.post("/api/v1/policies", json=bad, headers=hr.headers)
        assert r.status_code == 422, bad
    assert (
        client.post(
            "/api/v1/policies/00000000-0000-0000-0000-000000000000/versions", json=_body(), headers=hr.headers
        ).status_code
        == 422
    )
    unknown = {"effective_from": NOW.isoformat(), "approval_note": "x"}
    assert (
        client.post(
            "/api/v1/policies/00000000-0000-0000-0000-000000000000/versions", json=unknown, headers=hr.headers
        ).status_code
        == 404
    )


def test_only_hr_and_admin_change_policies(client: TestClient, make: Factory) -> None:
    unit = make.group()
    manager = make.actor(roles=["manager"], manages=[unit])
    nurse = make.actor(groups=[unit])
    assert client.post("/api/v1/policies", json=_body(), headers=manager.headers).status_code == 403
    assert client.post("/api/v1/policies", json=_body(), headers=nurse.headers).status_code == 403
    assert client.get("/api/v1/policies", headers=nurse.headers).status_code == 403
    assert client.get("/api/v1/policies", headers=manager.headers).status_code == 200
    admin = make.actor(roles=["admin"])
    policy = client.post("/api/v1/policies", json=_body(), headers=admin.headers).json()
    assert client.put(f"/api/v1/policies/{policy['id']}/groups/{unit.id}", headers=manager.headers).status_code == 403
    missing = client.put(
        f"/api/v1/policies/{policy['id']}/groups/00000000-0000-0000-0000-000000000000", headers=admin.headers
    )
    assert missing.status_code == 404


def test_rest_ledger_per_person_and_group_and_grants(
    client: TestClient, make: Factory, session_factory: sessionmaker[Session]
) -> None:
    unit = make.group()
    nurse = make.actor(groups=[unit])
    colleague = make.actor(groups=[unit])
    hr = make.actor(roles=["hr"])
    with unit_of_work(session_factory) as s:
        create_shift(
            session=s,
            person_id=nurse.id,
            data=ShiftCreate(planned_start=NOW - timedelta(hours=12), planned_end=NOW - timedelta(hours=4)),
            now=NOW,
        )
        create_shift(
            session=s,
            person_id=nurse.id,
            data=ShiftCreate(planned_start=NOW + timedelta(hours=4), planned_end=NOW + timedelta(hours=12)),
            now=NOW,
        )
        state = load_states(session=s, person_ids=[nurse.id], at=NOW)[nurse.id]
        policy = policies_for(session=s, person_ids=[nurse.id], at=NOW)[nurse.id]
        message = MessageFacts(priority="emergency", sender_id=hr.id, override_reason="Masskadeläge")
        decision = decide(state, message, policy, NOW)
        record_contact(session=s, person_id=nurse.id, decision=decision, message=message, policy=policy, at=NOW)

    since = (NOW - timedelta(days=1)).isoformat()
    until = (NOW + timedelta(hours=1)).isoformat()
    params = {"since": since, "until": until}
    by_group = client.get("/api/v1/rest-ledger", params={**params, "group_id": str(unit.id)}, headers=hr.headers)
    assert by_group.status_code == 200, by_group.text
    page = by_group.json()
    assert page["total"] == 1 and page["owed_minutes"] == 7 * 60
    entry = page["items"][0]
    assert entry["kind"] == "emergency" and entry["reason"] == "Masskadeläge" and entry["states"] == ["daily_rest"]
    own = client.get("/api/v1/rest-ledger", params={**params, "person_id": str(nurse.id)}, headers=nurse.headers)
    assert own.json()["total"] == 1
    assert (
        client.get(
            "/api/v1/rest-ledger", params={**params, "person_id": str(nurse.id)}, headers=colleague.headers
        ).status_code
        == 403
    )
    assert client.get("/api/v1/rest-ledger", params=params, headers=nurse.headers).status_code == 403
    inverted = {"since": until, "until": since}
    assert client.get("/api/v1/rest-ledger", params=inverted, headers=hr.headers).status_code == 422

    granted = client.post(f"/api/v1/rest-ledger/{entry['id']}/grant", json={"minutes": 120}, headers=hr.headers)
    assert granted.status_code == 200 and granted.json()["granted_minutes"] == 120
    too_much = client.post(f"/api/v1/rest-ledger/{entry['id']}/grant", json={"minutes": 400}, headers=hr.headers)
    assert too_much.status_code == 422 and "owed" in too_much.json()["message"]
    assert (
        client.post(f"/api/v1/rest-ledger/{entry['id']}/grant", json={"minutes": -1}, headers=hr.headers).status_code
        == 422
    )
    assert (
        client.post(f"/api/v1/rest-ledger/{entry['id']}/grant", json={"minutes": 10}, headers=nurse.headers).status_code
        == 403
    )
