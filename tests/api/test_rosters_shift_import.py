"""Shift schedules imported from CSV: bad rows reported with reasons and nothing half-written,
re-import changes nothing, and the imported shifts carry unit and type; call-outs recorded after."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.audit.models import AuditRecord
from kernel.db import unit_of_work
from kernel.directory.models import Person
from policies.models import Shift
from tests.factories import Actor, Factory


class Ward:
    def __init__(self, make: Factory, session_factory: sessionmaker[Session]) -> None:
        self.unit = make.group("Akutmottagningen")
        self.boss: Actor = make.actor(roles=["staff", "manager"], manages=[self.unit])
        self.anna = make.actor(groups=[self.unit], name="Anna Andersson")
        self.bo = make.actor(groups=[self.unit], name="Bo Berg")
        with unit_of_work(session_factory) as s:
            bo = s.get(Person, self.bo.id)
            assert bo is not None
            bo.external_id = "E-10442"

    def csv(self, *rows: str, sep: str = ",") -> bytes:
        header = sep.join(["person", "start", "end", "unit", "shift_type"])
        return "\n".join([header, *rows]).encode()


@pytest.fixture
def ward(make: Factory, session_factory: sessionmaker[Session]) -> Ward:
    return Ward(make, session_factory)


def _post(client: TestClient, ward: Ward, body: bytes, **params: str) -> tuple[int, dict[str, object]]:
    r = client.post(
        "/api/v1/shifts/import",
        headers={**ward.boss.headers, "Content-Type": "text/csv"},
        content=body,
        params=params,
    )
    return r.status_code, r.json()


def _count(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(Shift)) or 0


def test_a_valid_schedule_is_imported_and_reimport_changes_nothing(
    client: TestClient, ward: Ward, session_factory: sessionmaker[Session]
) -> None:
    code = ward.unit.code
    body = ward.csv(
        f"{ward.anna.person.email},2026-11-24 07:00,2026-11-24 15:30,{code},Dag",
        f"E-10442,2026-11-24T21:00+01:00,2026-11-25T07:15+01:00,{code},Natt",
        "",
        f"{ward.anna.person.email.upper()},2026-11-25 13:00,2026-11-25 21:30,,Kväll",
    )
    status, report = _post(client, ward, body)
    assert status == 200, report
    assert (report["created"], report["unchanged"], report["written"]) == (3, 0, True)
    shifts = client.get(f"/api/v1/people/{ward.bo.id}/shifts", headers=ward.boss.headers).json()
    assert [(s["planned_start"], s["shift_type"], s["unit_id"]) for s in shifts] == [
        ("2026-11-24T20:00:00Z", "Natt", str(ward.unit.id))
    ]
    status, again = _post(client, ward, body)
    assert status == 200
    assert (again["created"], again["unchanged"]) == (0, 3)
    assert _count(session_factory) == 3
    with session_factory() as s:
        assert s.scalar(select(func.count()).where(AuditRecord.action == "shift.import")) == 2


def test_bad_rows_are_reported_and_nothing_is_written(
    client: TestClient, ward: Ward, session_factory: sessionmaker[Session]
) -> None:
    anna = ward.anna.person.email
    body = ward.csv(
        f"{anna},2026-11-24 07:00,2026-11-24 15:30,,Dag",  # good
        "okand@exempel.se,2026-11-24 07:00,2026-11-24 15:30,,Dag",  # unknown person
        f"{anna},2026-11-26 15:30,2026-11-26 07:00,,Dag",  # end before start
        f"{anna},2026-11-24 15:00,2026-11-24 23:00,,Kväll",  # overlaps line 2
        f"{anna},den 27 nov 07:00,2026-11-27 15:30,,Dag",  # malformed date
        "E-10442,2026-11-28 07:00,2026-11-28 15:30,NOPE,Dag",  # unknown unit
    )
    status, problem = _post(client, ward, body)
    assert status == 422
    assert problem["message"] == "5 of 6 rows were rejected; nothing was imported"
    rejected = {r["line"]: r["reason"] for r in problem["details"]["rejected"]}  # type: ignore[index]
    assert "unknown person" in rejected[3]
    assert rejected[4] == "the shift ends before it starts"
    assert rejected[5] == "overlaps the shift on line 2"
    assert "is not a date and time" in rejected[6]
    assert rejected[7] == "unknown unit 'NOPE'"
    assert 2 not in rejected
    assert _count(session_factory) == 0


def test_overlap_with_a_stored_shift_is_rejected_and_dry_run_writes_nothing(
    client: TestClient, ward: Ward, session_factory: sessionmaker[Session]
) -> None:
    anna = ward.anna.person.email
    assert _post(client, ward, ward.csv(f"{anna},2026-11-24 07:00,2026-11-24 15:30,,Dag"))[0] == 200
    status, problem = _post(client, ward, ward.csv(f"{anna},2026-11-24 14:00,2026-11-24 22:00,,Kväll"))
    assert status == 422
    assert "overlaps a stored shift 2026-11-24 06:00-2026-11-24 14:30 UTC" in str(problem["details"])
    status, preview = _post(
        client, ward, ward.csv(f"{anna};2026-11-25 07:00;2026-11-25 15:30;;Dag", sep=";"), dry_run="true"
    )
    assert status == 200
    assert (preview["created"], preview["written"]) == (1, False)
    assert _count(session_factory) == 1


def test_import_needs_the_right_to_keep_schedules(client: TestClient, ward: Ward, make: Factory) -> None:
    outsider = make.actor(name="Utomstående")
    body = ward.csv(f"{outsider.person.email},2026-11-24 07:00,2026-11-24 15:30,,Dag")
    status, problem = _post(client, ward, body)
    assert status == 422
    assert "not in a group whose schedule you keep" in str(problem["details"])
    r = client.post("/api/v1/shifts/import", headers={**ward.anna.headers, "Content-Type": "text/csv"}, content=body)
    assert r.status_code == 403
    status, problem = _post(client, ward, b"who,when\nx,y")
    assert status == 422
    assert "the header lacks the column(s) person, start, end" in str(problem["message"])
    assert _post(client, ward, body, timezone="Mars/Olympus")[0] == 422


def test_a_call_out_after_import_records_the_actual_end(client: TestClient, ward: Ward) -> None:
    anna = ward.anna.person.email
    _post(client, ward, ward.csv(f"{anna},2026-11-24 07:00,2026-11-24 15:30,,Dag"))
    shift = client.get(f"/api/v1/people/{ward.anna.id}/shifts", headers=ward.boss.headers).json()[0]
    r = client.patch(
        f"/api/v1/shifts/{shift['id']}", headers=ward.boss.headers, json={"actual_end": "2026-11-24T17:45:00+00:00"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["actual_end"] == "2026-11-24T17:45:00Z"
    assert datetime.fromisoformat(r.json()["planned_end"]) == datetime(2026, 11, 24, 14, 30, tzinfo=UTC)
