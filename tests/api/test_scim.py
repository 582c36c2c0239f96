"""SCIM 2.0 provisioning driven the way Entra ID drives it, checked in Vila's own records."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.audit.models import AuditRecord
from kernel.auth.models import ApiToken
from kernel.clock import ManualClock
from kernel.directory.models import Group, GroupMember, Person
from kernel.settings import Settings
from notify.fleet.models import Offboarding
from notify.jobs import registry
from notify.models import Device
from notify.outbox import JobContext, run_due
from tests.factories import Actor, Factory
from tests.messaging_helpers import Facts
from tests.scim_helpers import ENTERPRISE, ERROR, entra_group, entra_user, patch

BASE = "/scim/v2"


@pytest.fixture
def entra(make: Factory) -> Actor:
    """The enterprise application's provisioning token: a person of the integration role only."""
    return make.actor(roles=["integration"], name="Entra ID provisioning")


def _create(client: TestClient, entra: Actor, user_name: str, **kw: object) -> dict[str, object]:
    r = client.post(f"{BASE}/Users", headers=entra.headers, json=entra_user(user_name, **kw))  # type: ignore[arg-type]
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("application/scim+json")
    return r.json()  # type: ignore[no-any-return]


def test_entra_creates_a_user_and_finds_it_by_user_name(
    client: TestClient, entra: Actor, session_factory: sessionmaker[Session]
) -> None:
    # Entra first asks whether the user exists, then creates it.
    r = client.get(f"{BASE}/Users", headers=entra.headers, params={"filter": 'userName eq "anna.aberg@region.se"'})
    assert r.status_code == 200, r.text
    assert r.json()["totalResults"] == 0 and r.json().get("Resources", []) == []
    body = _create(client, entra, "Anna.Aberg@region.se")
    assert body["userName"] == "anna.aberg@region.se"
    assert body[ENTERPRISE]["employeeNumber"] == "E-10442"
    found = client.get(
        f"{BASE}/Users", headers=entra.headers, params={"filter": 'userName eq "ANNA.ABERG@region.se"'}
    ).json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == body["id"]
    with session_factory() as s:
        person = s.get(Person, uuid.UUID(str(body["id"])))
        assert person is not None
        assert (person.name, person.profession, person.department) == (
            "Anna Åberg",
            "sjuksköterska",
            "Akutmottagningen",
        )
        assert person.roles == ["staff"] and person.active
        assert "profession" in (person.provisioned or [])
        assert s.scalar(select(AuditRecord.id).where(AuditRecord.action == "scim.person.create")) is not None


def test_patch_active_false_as_a_string_deactivates_and_offboards(
    client: TestClient,
    entra: Actor,
    session_factory: sessionmaker[Session],
    clock: ManualClock,
    settings: Settings,
    make: Factory,
) -> None:
    body = _create(client, entra, "bo.ek@region.se")
    pid = uuid.UUID(str(body["id"]))
    with session_factory() as s:
        person = s.get(Person, pid)
        assert person is not None
    Facts(session_factory, clock).device(person)
    make.token(person)
    r = client.patch(
        f"{BASE}/Users/{pid}", headers=entra.headers, json=patch({"op": "Replace", "path": "active", "value": "False"})
    )
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    run_due(JobContext(settings=settings, session_factory=session_factory, clock=clock), registry)
    with session_factory() as s:
        person = s.get(Person, pid)
        assert person is not None and person.active is False and person.deactivated_at is not None
        assert [d.state for d in s.scalars(select(Device).where(Device.person_id == pid))] == ["blocked"]
        assert s.scalar(select(Offboarding).where(Offboarding.person_id == pid)) is not None
        assert all(t.revoked_at is not None for t in s.scalars(select(ApiToken).where(ApiToken.person_id == pid)))
    # Active again: the person is back, but their devices and tokens stay ended.
    r = client.patch(
        f"{BASE}/Users/{pid}", headers=entra.headers, json=patch({"op": "replace", "value": {"active": True}})
    )
    assert r.json()["active"] is True


def test_delete_deactivates_and_keeps_the_person(
    client: TestClient, entra: Actor, session_factory: sessionmaker[Session]
) -> None:
    body = _create(client, entra, "cecilia@region.se")
    r = client.delete(f"{BASE}/Users/{body['id']}", headers=entra.headers)
    assert r.status_code == 204
    with session_factory() as s:
        person = s.get(Person, uuid.UUID(str(body["id"])))
        assert person is not None and not person.active
    assert client.get(f"{BASE}/Users/{body['id']}", headers=entra.headers).json()["active"] is False


def test_patch_work_email_department_manager_and_name(
    client: TestClient, entra: Actor, session_factory: sessionmaker[Session]
) -> None:
    boss = _create(client, entra, "chef@region.se", given="Maria", family="Öberg")
    body = _create(client, entra, "david@region.se")
    r = client.patch(
        f"{BASE}/Users/{body['id']}",
        headers=entra.headers,
        json=patch(
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "david.new@region.se"},
            {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Medicin"},
            {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": boss["id"]},
            {"op": "Replace", "path": "displayName", "value": "David Ärlig"},
            {"op": "Replace", "path": "userName", "value": "david.new@region.se"},
        ),
    )
    assert r.status_code == 200, r.text
    with session_factory() as s:
        person = s.get(Person, uuid.UUID(str(body["id"])))
        assert person is not None
        assert (person.email, person.department, person.name) == ("david.new@region.se", "Medicin", "David Ärlig")
        assert person.manager_id == uuid.UUID(str(boss["id"]))


def test_groups_members_added_and_removed_the_entra_way(
    client: TestClient, entra: Actor, session_factory: sessionmaker[Session]
) -> None:
    a = _create(client, entra, "a@region.se")["id"]
    b = _create(client, entra, "b@region.se")["id"]
    c = _create(client, entra, "c@region.se")["id"]
    r = client.post(f"{BASE}/Groups", headers=entra.headers, json=entra_group("Avdelning 12", members=[str(a)]))
    assert r.status_code == 201, r.text
    gid = r.json()["id"]
    assert [m["value"] for m in r.json()["members"]] == [a]
    ok = client.patch(
        f"{BASE}/Groups/{gid}",
        headers=entra.headers,
        json=patch({"op": "Add", "path": "members", "value": [{"value": b}, {"value": c}]}),
    )
    assert ok.status_code == 204, ok.text
    # Entra's two removal forms: a value list, and a value filter in the path.
    for op in (
        {"op": "Remove", "path": "members", "value": [{"value": a}]},
        {"op": "Remove", "path": f'members[value eq "{b}"]'},
    ):
        r = client.patch(f"{BASE}/Groups/{gid}", headers=entra.headers, json=patch(op))
        assert r.status_code == 204, r.text
    with session_factory() as s:
        members = set(s.scalars(select(GroupMember.person_id).where(GroupMember.group_id == uuid.UUID(gid))))
    assert members == {uuid.UUID(str(c))}
    found = client.get(
        f"{BASE}/Groups",
        headers=entra.headers,
        params={"filter": 'displayName eq "Avdelning 12"', "excludedAttributes": "members"},
    ).json()
    assert found["totalResults"] == 1 and "members" not in found["Resources"][0]
    # Renamed in Entra, then removed: the group stays, inactive, with its members.
    client.patch(
        f"{BASE}/Groups/{gid}",
        headers=entra.headers,
        json=patch({"op": "Replace", "path": "displayName", "value": "Avd 12"}),
    )
    assert client.delete(f"{BASE}/Groups/{gid}", headers=entra.headers).status_code == 204
    with session_factory() as s:
        group = s.get(Group, uuid.UUID(gid))
        assert group is not None and group.name == "Avd 12" and not group.active
        assert s.scalar(select(GroupMember.person_id).where(GroupMember.group_id == group.id)) == uuid.UUID(str(c))


def test_groups_nest_by_the_parent_attribute(
    client: TestClient, entra: Actor, session_factory: sessionmaker[Session]
) -> None:
    top = client.post(f"{BASE}/Groups", headers=entra.headers, json=entra_group("Medicin", external_id="med")).json()
    body = entra_group("Avd 12", external_id="avd12")
    body["schemas"].append("urn:vila:params:scim:schemas:extension:vila:2.0:Group")
    body["urn:vila:params:scim:schemas:extension:vila:2.0:Group"] = {"parent": "med"}
    child = client.post(f"{BASE}/Groups", headers=entra.headers, json=body)
    assert child.status_code == 201, child.text
    with session_factory() as s:
        group = s.get(Group, uuid.UUID(child.json()["id"]))
        assert group is not None and group.parent_id == uuid.UUID(top["id"])


def test_pagination_with_start_index_and_count(client: TestClient, entra: Actor) -> None:
    ids = [_create(client, entra, f"p{i}@region.se")["id"] for i in range(5)]
    first = client.get(f"{BASE}/Users", headers=entra.headers, params={"startIndex": 1, "count": 2}).json()
    rest = client.get(f"{BASE}/Users", headers=entra.headers, params={"startIndex": 3, "count": 10}).json()
    everyone = client.get(f"{BASE}/Users", headers=entra.headers).json()
    assert everyone["totalResults"] == 6  # the five and the provisioning account
    assert first["totalResults"] == 6 and first["itemsPerPage"] == 2 and first["startIndex"] == 1
    paged = [u["id"] for u in first["Resources"]] + [u["id"] for u in rest["Resources"]]
    assert paged == [u["id"] for u in everyone["Resources"]]
    assert paged[1:] == ids
    assert rest["startIndex"] == 3


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "scim_type"),
    [
        ("get", "/Users?filter=userName%20eq", None, 400, "invalidFilter"),
        ("get", "/Users?filter=title%20eq%20%22x%22", None, 400, "invalidFilter"),
        ("get", f"/Users/{uuid.uuid4()}", None, 404, None),
        ("post", "/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}, 400, None),
        (
            "patch",
            "/Users/{id}",
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "jump", "path": "active"}],
            },
            400,
            "invalidValue",
        ),
        (
            "patch",
            "/Users/{id}",
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "nosuch", "value": 1}],
            },
            400,
            None,
        ),
        (
            "post",
            "/Groups",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "X",
                "members": [{"value": "not-an-id"}],
            },
            400,
            "invalidValue",
        ),
    ],
)
def test_scim_errors_have_status_and_scim_type(
    client: TestClient, entra: Actor, method: str, path: str, body: object, status: int, scim_type: str | None
) -> None:
    uid = _create(client, entra, "err@region.se")["id"]
    r = client.request(method.upper(), BASE + path.replace("{id}", str(uid)), headers=entra.headers, json=body)
    assert r.status_code == status, r.text
    error = r.json()
    assert error["schemas"] == [ERROR] and error["status"] == str(status) and error["detail"]
    if scim_type:
        assert error["scimType"] == scim_type
    else:
        assert r.status_code != 400 or error.get("scimType")


def test_a_duplicate_user_is_a_uniqueness_conflict(client: TestClient, entra: Actor) -> None:
    _create(client, entra, "dup@region.se")
    r = client.post(f"{BASE}/Users", headers=entra.headers, json=entra_user("dup@region.se", external_id="other"))
    assert r.status_code == 409
    assert r.json()["scimType"] == "uniqueness"


def test_discovery(client: TestClient, entra: Actor) -> None:
    config = client.get(f"{BASE}/ServiceProviderConfig", headers=entra.headers).json()
    assert config["patch"]["supported"] is True and config["filter"]["supported"] is True
    types = client.get(f"{BASE}/ResourceTypes", headers=entra.headers).json()
    assert {t["id"] for t in types["Resources"]} == {"User", "Group"}
    schemas = client.get(f"{BASE}/Schemas", headers=entra.headers).json()
    assert ENTERPRISE in {s["id"] for s in schemas["Resources"]}
    assert client.get(f"{BASE}/Schemas/{ENTERPRISE}", headers=entra.headers).json()["id"] == ENTERPRISE


def test_only_an_integration_token_provisions_and_it_does_nothing_else(
    client: TestClient, entra: Actor, make: Factory
) -> None:
    admin = make.actor(roles=["staff", "admin"])
    r = client.get(f"{BASE}/Users", headers=admin.headers)
    assert r.status_code == 403 and r.json()["schemas"] == [ERROR]
    r = client.get(f"{BASE}/Users")
    assert r.status_code == 401 and r.json()["schemas"] == [ERROR]
    r = client.get(f"{BASE}/Users", headers={"Authorization": "Bearer vila_nonsense"})
    assert r.status_code == 401
    for method, path in [
        ("GET", "/api/v1/people"),
        ("GET", "/api/v1/people/me"),
        ("GET", "/api/v1/groups"),
        ("POST", "/api/v1/people"),
        ("GET", "/api/v1/audit"),
        ("GET", "/api/v1/devices"),
        ("GET", "/api/v1/tokens"),
        ("GET", "/api/v1/messages/inbox"),
    ]:
        r = client.request(method, path, headers=entra.headers, json={} if method == "POST" else None)
        assert r.status_code == 403, (method, path, r.status_code)


def test_a_field_changed_in_vila_is_kept_unless_provisioned(
    settings: Settings, clock: ManualClock, make: Factory, session_factory: sessionmaker[Session]
) -> None:
    from api.main import create_app
    from notify.outbox import NullWaker

    # This region lets Entra provide names and e-mail but keeps professions in Vila.
    app = create_app(
        settings.model_copy(update={"provisioned_fields": "name,email,external_id,active"}),
        clock=clock,
        waker=NullWaker(),
    )
    entra = make.actor(roles=["integration"])
    admin = make.actor(roles=["staff", "admin"])
    with TestClient(app) as client:
        body = _create(client, entra, "eva@region.se", title="Undersköterska")
        pid = body["id"]
        read = client.get(f"/api/v1/people/{pid}", headers=admin.headers).json()
        assert read["profession"] is None and set(read["provisioned"]) == {"name", "email", "external_id", "active"}
        ok = client.patch(f"/api/v1/people/{pid}", headers=admin.headers, json={"profession": "barnmorska"})
        assert ok.status_code == 200, ok.text
        refused = client.patch(f"/api/v1/people/{pid}", headers=admin.headers, json={"name": "Eva Annan"})
        assert refused.status_code == 409 and "Entra" in refused.json()["message"]
        replaced = entra_user("eva@region.se", given="Eva", family="Ny", title="Sjuksköterska")
        assert client.put(f"{BASE}/Users/{pid}", headers=entra.headers, json=replaced).status_code == 200
    with session_factory() as s:
        person = s.get(Person, uuid.UUID(str(pid)))
        assert person is not None
        assert (person.name, person.profession) == ("Eva Ny", "barnmorska")


def test_bulk_creates_users_and_groups_with_bulk_ids_atomically(
    client: TestClient, entra: Actor, session_factory: sessionmaker[Session]
) -> None:
    ops: list[dict[str, object]] = [
        {"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": entra_user(f"bulk{i}@region.se")}
        for i in range(3)
    ]
    ops.append(
        {
            "method": "POST",
            "path": "/Groups",
            "bulkId": "g",
            "data": entra_group("Avd 7", members=["bulkId:u0", "bulkId:u1"]),
        }
    )
    ops.append(
        {
            "method": "PATCH",
            "path": "/Groups/bulkId:g",
            "data": patch({"op": "add", "path": "members", "value": [{"value": "bulkId:u2"}]}),
        }
    )
    bulk = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops}
    r = client.post(f"{BASE}/Bulk", headers=entra.headers, json=bulk)
    assert r.status_code == 200, r.text
    assert [o["status"] for o in r.json()["Operations"]] == ["201", "201", "201", "201", "204"]
    gid = uuid.UUID(r.json()["Operations"][3]["location"].rsplit("/", 1)[1])
    with session_factory() as s:
        assert len(set(s.scalars(select(GroupMember.person_id).where(GroupMember.group_id == gid)))) == 3
        assert s.scalar(select(Person.profession).where(Person.email == "bulk1@region.se")) == "sjuksköterska"
    # A second request with one taken e-mail among new ones writes nothing.
    again = {"schemas": bulk["schemas"], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "n", "data": entra_user("new@region.se")},
        {"method": "POST", "path": "/Users", "bulkId": "d", "data": entra_user("bulk0@region.se", external_id="x")},
    ]}  # fmt: skip
    r = client.post(f"{BASE}/Bulk", headers=entra.headers, json=again)
    assert r.status_code == 409 and r.json()["scimType"] == "uniqueness"
    assert "operation 2" in r.json()["detail"]
    with session_factory() as s:
        assert s.scalar(select(Person.id).where(Person.email == "new@region.se")) is None


def test_groups_nest_by_a_naming_rule_the_admin_configures(
    settings: Settings, clock: ManualClock, make: Factory, session_factory: sessionmaker[Session]
) -> None:
    from api.main import create_app
    from notify.outbox import NullWaker

    app = create_app(settings.model_copy(update={"scim_group_separator": " / "}), clock=clock, waker=NullWaker())
    entra = make.actor(roles=["integration"])
    with TestClient(app) as client:
        top = client.post(f"{BASE}/Groups", headers=entra.headers, json=entra_group("Medicin")).json()
        child = client.post(f"{BASE}/Groups", headers=entra.headers, json=entra_group("Medicin / Avd 12")).json()
        orphan = client.post(f"{BASE}/Groups", headers=entra.headers, json=entra_group("Kirurgi / Avd 3"))
        assert orphan.status_code == 400 and orphan.json()["scimType"] == "invalidValue"
        assert "Kirurgi" in orphan.json()["detail"]
        status = client.get("/api/v1/groups", headers=make.actor(roles=["staff", "admin"]).headers)
        assert status.status_code == 200
    with session_factory() as s:
        group = s.get(Group, uuid.UUID(child["id"]))
        assert group is not None and group.parent_id == uuid.UUID(top["id"])
        from kernel.directory.provisioning import ProvisioningError

        kept = s.scalars(select(ProvisioningError)).all()
        assert [(e.status, e.scim_type) for e in kept] == [(400, "invalidValue")]


def test_a_bulk_request_over_the_limit_is_refused_whole(client: TestClient, entra: Actor) -> None:
    ops = [{"method": "POST", "path": "/Users", "data": entra_user(f"m{i}@region.se")} for i in range(1001)]
    r = client.post(f"{BASE}/Bulk", headers=entra.headers, json={"Operations": ops})
    assert r.status_code == 400 and r.json()["scimType"] == "tooMany"
    assert client.get(f"{BASE}/Users", headers=entra.headers).json()["totalResults"] == 1  # the account alone


def test_the_same_user_sent_twice_at_once_is_created_once(
    client: TestClient, entra: Actor, session_factory: sessionmaker[Session]
) -> None:
    """Entra retries a create whose answer it did not get: two requests race, one person results."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(4)

    def send(_: int) -> int:
        c = TestClient(client.app)  # not entered: the app's lifespan is the fixture's, run once
        barrier.wait()
        return c.post(f"{BASE}/Users", headers=entra.headers, json=entra_user("race@region.se")).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(send, range(4)))
    assert statuses == [201, 409, 409, 409]
    with session_factory() as s:
        assert len(s.scalars(select(Person.id).where(Person.email == "race@region.se")).all()) == 1
