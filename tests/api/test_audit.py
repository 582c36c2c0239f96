"""Every state-changing request leaves an append-only audit record: who, what, when, from where."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import Factory


def test_changes_are_audited_with_before_and_after(client: TestClient, make: Factory) -> None:
    hr = make.actor(roles=["staff", "hr"])
    person = make.person(name="Eva Olsson")
    r = client.patch(
        f"/api/v1/people/{person.id}",
        headers={**hr.headers, "X-Forwarded-For": "10.1.2.3"},
        json={"name": "Eva Olofsson"},
    )
    assert r.status_code == 200
    records = client.get("/api/v1/audit", headers=hr.headers, params={"action": "person.update"}).json()
    assert records["total"] == 1
    rec = records["items"][0]
    assert rec["actor_id"] == str(hr.id)
    assert rec["target_id"] == str(person.id)
    assert rec["before"]["name"] == "Eva Olsson"
    assert rec["after"]["name"] == "Eva Olofsson"
    assert rec["source_ip"] == "10.1.2.3"
    assert rec["method"] == "PATCH"
    assert rec["request_id"] == r.headers["x-request-id"]


def test_refused_changes_leave_no_record(client: TestClient, make: Factory) -> None:
    hr = make.actor(roles=["staff", "hr"])
    staff = make.actor()
    assert client.post("/api/v1/groups", headers=staff.headers, json={"name": "X", "code": "x"}).status_code == 403
    assert client.get("/api/v1/audit", headers=hr.headers, params={"action": "group."}).json()["total"] == 0


def test_token_creation_is_audited(client: TestClient, make: Factory) -> None:
    hr = make.actor(roles=["staff", "hr"])
    client.post("/api/v1/tokens", headers=hr.headers, json={"name": "laptop"})
    recs = client.get("/api/v1/audit", headers=hr.headers, params={"action": "token.create"}).json()["items"]
    assert recs[0]["after"]["name"] == "laptop"


def test_the_database_refuses_to_change_the_audit_log(
    client: TestClient, make: Factory, session_factory: sessionmaker[Session]
) -> None:
    hr = make.actor(roles=["staff", "hr"])
    client.post("/api/v1/tokens", headers=hr.headers, json={"name": "x"})
    for statement in ("UPDATE audit_record SET actor_label = 'someone else'", "DELETE FROM audit_record"):
        with session_factory() as session, pytest.raises(DatabaseError, match="append-only"):
            session.execute(text(statement))
            session.commit()
    assert client.get("/api/v1/audit", headers=hr.headers).json()["items"][0]["actor_label"] == hr.person.email
