"""CSV import of people, groups and memberships: all or nothing, a report per row, idempotent."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.directory.models import Group, GroupMember, Person
from tests.factories import Factory

PEOPLE = """name;email;external_id;profession;employee_number;department;manager
Maria Öberg;maria.oberg@region.se;HR-1;Läkare;E-1;Akuten;
Åsa Åberg;asa.aberg@region.se;HR-2;Sjuksköterska;E-2;Akuten;maria.oberg@region.se
"""
GROUPS = """name,external_id,parent
Akutkliniken,AK,
Akuten avd 1,AK1,AK
"""
MEMBERS = """group,person
AK1,asa.aberg@region.se
AK1,HR-1
"""


def _post(client: TestClient, headers: dict[str, str], kind: str, data: str, **params: object) -> object:
    return client.post(
        f"/api/v1/directory/import/{kind}",
        headers={**headers, "Content-Type": "text/csv"},
        content=data.encode(),
        params=params,
    )


def test_people_groups_and_memberships_from_csv(
    client: TestClient, make: Factory, session_factory: sessionmaker[Session]
) -> None:
    hr = make.actor(roles=["staff", "hr"])
    r = _post(client, hr.headers, "people", PEOPLE)
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    assert r.json()["created"] == 2  # type: ignore[attr-defined]
    assert _post(client, hr.headers, "groups", GROUPS).json()["created"] == 2  # type: ignore[attr-defined]
    assert _post(client, hr.headers, "memberships", MEMBERS).json()["created"] == 2  # type: ignore[attr-defined]
    with session_factory() as s:
        asa = s.scalar(select(Person).where(Person.email == "asa.aberg@region.se"))
        maria = s.scalar(select(Person).where(Person.email == "maria.oberg@region.se"))
        assert asa is not None and maria is not None
        assert (asa.profession, asa.employee_number, asa.manager_id) == ("sjuksköterska", "E-2", maria.id)
        child = s.scalar(select(Group).where(Group.external_id == "AK1"))
        top = s.scalar(select(Group).where(Group.external_id == "AK"))
        assert child is not None and top is not None and child.parent_id == top.id
        assert s.scalar(select(func.count()).where(GroupMember.group_id == child.id)) == 2
    # The same files again change nothing.
    again = _post(client, hr.headers, "people", PEOPLE).json()  # type: ignore[attr-defined]
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert _post(client, hr.headers, "memberships", MEMBERS).json()["unchanged"] == 2  # type: ignore[attr-defined]


def test_one_bad_row_writes_nothing_and_the_report_names_it(
    client: TestClient, make: Factory, session_factory: sessionmaker[Session]
) -> None:
    admin = make.actor(roles=["staff", "admin"])
    data = PEOPLE + "Utan Adress;inte-en-adress;HR-3;;;;\nDubbel;maria.oberg@region.se;HR-4;;;;\n"
    r = _post(client, admin.headers, "people", data)
    assert r.status_code == 422  # type: ignore[attr-defined]
    rejected = r.json()["details"]["rejected"]  # type: ignore[attr-defined]
    assert [row["line"] for row in rejected] == [4, 5]
    assert "e-mail" in rejected[0]["reason"] and "row" in rejected[1]["reason"]
    with session_factory() as s:
        assert s.scalar(select(Person.id).where(Person.email == "maria.oberg@region.se")) is None
    bad_header = _post(client, admin.headers, "groups", "namn,kod\nX,Y\n")
    assert bad_header.status_code == 422 and "name" in bad_header.json()["message"]  # type: ignore[attr-defined]
    dry = _post(client, admin.headers, "people", PEOPLE, dry_run=True)
    assert dry.status_code == 200 and dry.json()["written"] is False  # type: ignore[attr-defined]
    with session_factory() as s:
        assert s.scalar(select(Person.id).where(Person.email == "maria.oberg@region.se")) is None


def test_only_admin_and_hr_import(client: TestClient, make: Factory) -> None:
    for roles in (["staff"], ["staff", "manager"], ["integration"]):
        actor = make.actor(roles=roles)
        assert _post(client, actor.headers, "people", PEOPLE).status_code == 403  # type: ignore[attr-defined]
