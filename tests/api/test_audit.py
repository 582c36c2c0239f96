"""Every state-changing request leaves an append-only audit record: who, what, when, from where."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from kernel.clock import ManualClock
from kernel.directory.models import Person
from kernel.settings import Settings
from notify.outbox import NullWaker
from tests.factories import Actor, Factory


@pytest.fixture
def from_address(app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    """A client whose direct peer is the given address (the app is closed after the test)."""
    with ExitStack() as stack:
        yield lambda host: stack.enter_context(TestClient(app, client=(host, 40000)))


def test_changes_are_audited_with_before_and_after(from_address: Callable[[str], TestClient], make: Factory) -> None:
    hr = make.actor(roles=["staff", "hr"])
    person = make.person(name="Eva Olsson")
    client = from_address("127.0.0.1")  # the trusted proxy of VILA_FORWARDED_ALLOW_IPS
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


def _audited_from(client: TestClient, hr: Actor, person: Person, forwarded: str | None) -> str | None:
    headers = {**hr.headers, **({"X-Forwarded-For": forwarded} if forwarded is not None else {})}
    assert (
        client.patch(f"/api/v1/people/{person.id}", headers=headers, json={"profession": "läkare"}).status_code == 200
    )
    records = client.get("/api/v1/audit", headers=hr.headers, params={"action": "person.update", "limit": 1})
    source: str | None = records.json()["items"][0]["source_ip"]
    return source


def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(
    from_address: Callable[[str], TestClient], make: Factory
) -> None:
    """X-Forwarded-For is believed only from a direct peer in VILA_FORWARDED_ALLOW_IPS (127.0.0.1 here):
    anyone else who sends it is recorded at their own address."""
    hr = make.actor(roles=["staff", "hr"])
    person = make.person()
    stranger = from_address("203.0.113.9")
    assert _audited_from(stranger, hr, person, "10.1.2.3") == "203.0.113.9"
    assert _audited_from(stranger, hr, person, None) == "203.0.113.9"


def test_behind_trusted_proxies_the_right_most_untrusted_address_is_the_client(
    settings: Settings, clock: ManualClock, make: Factory
) -> None:
    """Each proxy appends the address it saw; what the client wrote itself is on the left, so the
    client is the right-most address that is not one of the trusted proxies."""
    trusted = settings.model_copy(update={"forwarded_allow_ips": "127.0.0.1,10.0.0.0/8"})
    hr = make.actor(roles=["staff", "hr"])
    person = make.person()
    with TestClient(create_app(trusted, clock=clock, waker=NullWaker()), client=("127.0.0.1", 40000)) as proxy:
        assert _audited_from(proxy, hr, person, "198.51.100.7") == "198.51.100.7"
        # The client forged 6.6.6.6; the edge proxy appended the address it really saw; an inner proxy followed.
        assert _audited_from(proxy, hr, person, "6.6.6.6, 198.51.100.7, 10.9.9.9") == "198.51.100.7"
