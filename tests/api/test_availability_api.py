"""Availability over HTTP: quiet hours, DND, leave, shifts, on-call slots, availability, explain."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.audit.models import AuditRecord
from kernel.clock import ManualClock
from tests.factories import Factory

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 10:00 in Stockholm


def iso(value: datetime) -> str:
    return value.isoformat()


def _actions(session_factory: sessionmaker[Session]) -> list[str]:
    with session_factory() as s:
        return list(s.scalars(select(AuditRecord.action)).all())


def test_staff_set_their_own_quiet_hours_and_invalid_windows_are_refused(
    client: TestClient, make: Factory, session_factory: sessionmaker[Session]
) -> None:
    nurse = make.actor()
    body = {"windows": [{"days": [1, 2, 3, 4, 5], "start": "22:00", "end": "07:00"}]}
    r = client.put("/api/v1/people/me/quiet-hours", json=body, headers=nurse.headers)
    assert r.status_code == 200, r.text
    assert (
        r.json()["windows"][0]["days"] == [1, 2, 3, 4, 5] and r.json()["windows"][0]["timezone"] == "Europe/Stockholm"
    )
    assert (
        client.get("/api/v1/people/me/quiet-hours", headers=nurse.headers).json()["windows"][0]["start"] == "22:00:00"
    )
    assert "availability.quiet_hours" in _actions(session_factory)

    overlapping = {
        "windows": [
            {"days": [7], "start": "22:00", "end": "07:00"},
            {"days": [1], "start": "06:00", "end": "08:00"},
        ]
    }
    r = client.put("/api/v1/people/me/quiet-hours", json=overlapping, headers=nurse.headers)
    assert r.status_code == 422 and "overlap" in r.json()["message"]
    empty = {"windows": [{"days": [1], "start": "08:00", "end": "08:00"}]}
    assert client.put("/api/v1/people/me/quiet-hours", json=empty, headers=nurse.headers).status_code == 422
    zone = {"windows": [], "timezone": "Europe/Stockholmm"}
    r = client.put("/api/v1/people/me/quiet-hours", json=zone, headers=nurse.headers)
    assert r.status_code == 422 and "time zone" in r.json()["message"]
    bad_day = {"windows": [{"days": [8], "start": "22:00", "end": "07:00"}]}
    assert client.put("/api/v1/people/me/quiet-hours", json=bad_day, headers=nurse.headers).status_code == 422


def test_nobody_else_changes_a_persons_quiet_hours(client: TestClient, make: Factory) -> None:
    unit = make.group()
    nurse = make.actor(groups=[unit])
    manager = make.actor(roles=["manager"], manages=[unit])
    body = {"windows": [{"days": [1], "start": "22:00", "end": "07:00"}]}
    r = client.put(f"/api/v1/people/{nurse.id}/quiet-hours", json=body, headers=manager.headers)
    assert r.status_code == 403
    assert client.get(f"/api/v1/people/{nurse.id}/quiet-hours", headers=manager.headers).status_code == 200
    other = make.actor()
    assert client.get(f"/api/v1/people/{nurse.id}/quiet-hours", headers=other.headers).status_code == 403
    assert client.get("/api/v1/people/me/quiet-hours").status_code == 401


def test_dnd_starts_ends_by_itself_and_cannot_be_in_the_past(
    client: TestClient, make: Factory, clock: ManualClock
) -> None:
    nurse = make.actor()
    r = client.post("/api/v1/people/me/dnd", json={"minutes": 20, "note": "Hos patient"}, headers=nurse.headers)
    assert r.status_code == 201, r.text
    assert client.get("/api/v1/people/me/dnd", headers=nurse.headers).json()["note"] == "Hos patient"
    clock.advance(timedelta(minutes=21))
    assert client.get("/api/v1/people/me/dnd", headers=nurse.headers).json() is None
    past = client.post(
        "/api/v1/people/me/dnd", json={"until": iso(clock.now() - timedelta(minutes=1))}, headers=nurse.headers
    )
    assert past.status_code == 422 and "future" in past.json()["message"]
    assert client.post("/api/v1/people/me/dnd", json={"minutes": -5}, headers=nurse.headers).status_code == 422
    assert client.post("/api/v1/people/me/dnd", json={}, headers=nurse.headers).status_code == 422
    client.post("/api/v1/people/me/dnd", json={"minutes": 30}, headers=nurse.headers)
    ended = client.post("/api/v1/people/me/dnd/end", headers=nurse.headers)
    assert ended.status_code == 200 and ended.json()["ended_at"] is not None
    assert client.post("/api/v1/people/me/dnd/end", headers=nurse.headers).status_code == 404
    other = make.actor()
    assert client.post(f"/api/v1/people/{other.id}/dnd", json={"minutes": 5}, headers=nurse.headers).status_code == 403


def test_leave_is_registered_listed_and_removed(client: TestClient, make: Factory) -> None:
    nurse = make.actor()
    body = {"kind": "vacation", "start": iso(NOW + timedelta(days=1)), "end": iso(NOW + timedelta(days=8))}
    r = client.post("/api/v1/people/me/leave", json=body, headers=nurse.headers)
    assert r.status_code == 201, r.text
    again = client.post("/api/v1/people/me/leave", json=body, headers=nurse.headers)
    assert again.status_code == 422 and "overlaps" in again.json()["message"]
    inverted = {"kind": "sick", "start": iso(NOW + timedelta(days=20)), "end": iso(NOW + timedelta(days=19))}
    assert client.post("/api/v1/people/me/leave", json=inverted, headers=nurse.headers).status_code == 422
    naive = {"kind": "sick", "start": "2026-12-20T08:00:00", "end": "2026-12-21T08:00:00"}
    assert client.post("/api/v1/people/me/leave", json=naive, headers=nurse.headers).status_code == 422
    listed = client.get("/api/v1/people/me/leave", headers=nurse.headers).json()
    assert [item["kind"] for item in listed] == ["vacation"]
    assert client.delete(f"/api/v1/leave/{listed[0]['id']}", headers=nurse.headers).status_code == 204
    assert client.get("/api/v1/people/me/leave", headers=nurse.headers).json() == []


def test_schedules_are_kept_by_managers_not_by_staff(client: TestClient, make: Factory) -> None:
    unit = make.group()
    nurse = make.actor(groups=[unit])
    manager = make.actor(roles=["manager"], manages=[unit])
    shift = {"planned_start": iso(NOW + timedelta(hours=1)), "planned_end": iso(NOW + timedelta(hours=9))}
    assert client.post("/api/v1/people/me/shifts", json=shift, headers=nurse.headers).status_code == 403
    r = client.post(f"/api/v1/people/{nurse.id}/shifts", json=shift, headers=manager.headers)
    assert r.status_code == 201, r.text
    shift_id = r.json()["id"]
    clash = client.post(f"/api/v1/people/{nurse.id}/shifts", json=shift, headers=manager.headers)
    assert clash.status_code == 422
    inverted = {"planned_start": iso(NOW + timedelta(days=2)), "planned_end": iso(NOW + timedelta(days=1))}
    assert client.post(f"/api/v1/people/{nurse.id}/shifts", json=inverted, headers=manager.headers).status_code == 422
    late = client.patch(
        f"/api/v1/shifts/{shift_id}", json={"actual_end": iso(NOW + timedelta(hours=10))}, headers=manager.headers
    )
    assert late.status_code == 200 and late.json()["actual_end"] is not None
    assert [s["id"] for s in client.get("/api/v1/people/me/shifts", headers=nurse.headers).json()] == [shift_id]
    hours = {"windows": [{"days": [1, 2, 3, 4, 5], "start": "08:00", "end": "16:30"}]}
    assert (
        client.put(f"/api/v1/people/{nurse.id}/working-hours", json=hours, headers=manager.headers).status_code == 200
    )
    assert client.put("/api/v1/people/me/working-hours", json=hours, headers=nurse.headers).status_code == 403
    assert (
        client.get("/api/v1/people/me/working-hours", headers=nurse.headers).json()["windows"][0]["end"] == "16:30:00"
    )
    assert client.delete(f"/api/v1/shifts/{shift_id}", headers=nurse.headers).status_code == 403
    assert client.delete(f"/api/v1/shifts/{shift_id}", headers=manager.headers).status_code == 204


def test_on_call_slots_and_availability_for_the_next_week(client: TestClient, make: Factory) -> None:
    unit = make.group()
    nurse = make.actor(groups=[unit])
    hr = make.actor(roles=["hr"])
    client.post(
        f"/api/v1/people/{nurse.id}/shifts",
        json={"planned_start": iso(NOW - timedelta(hours=2)), "planned_end": iso(NOW + timedelta(hours=6))},
        headers=hr.headers,
    )
    slot = {
        "person_id": str(nurse.id),
        "role": "ssk-beredskap",
        "kind": "beredskap",
        "start": iso(NOW + timedelta(hours=10)),
        "end": iso(NOW + timedelta(hours=22)),
    }
    assert client.post("/api/v1/on-call-slots", json=slot, headers=nurse.headers).status_code == 403
    assert client.post("/api/v1/on-call-slots", json=slot, headers=hr.headers).status_code == 201
    assert client.post("/api/v1/on-call-slots", json={**slot, "kind": "vakt"}, headers=hr.headers).status_code == 422
    ghost = str(uuid.uuid4())
    unknown_person = client.post("/api/v1/on-call-slots", json={**slot, "person_id": ghost}, headers=hr.headers)
    assert unknown_person.status_code == 404 and ghost in unknown_person.json()["message"]
    unknown_group = client.post("/api/v1/on-call-slots", json={**slot, "group_id": ghost}, headers=hr.headers)
    assert unknown_group.status_code == 404 and "group" in unknown_group.json()["message"]
    assert client.get("/api/v1/people/me/on-call", headers=nurse.headers).json()[0]["role"] == "ssk-beredskap"
    view = client.get("/api/v1/people/me/availability", headers=nurse.headers)
    assert view.status_code == 200, view.text
    data = view.json()
    assert data["now"]["status"] == "reachable"
    statuses = [i["status"] for i in data["intervals"]]
    assert "held" in statuses and "on_call" in statuses
    assert data["intervals"][-1]["end"].startswith("2026-11-30")
    held = next(i for i in data["intervals"] if i["status"] == "held")
    assert held["held_until"] is not None and "daily_rest" in held["states"]


def test_explain_says_why_for_anyone_with_rights(client: TestClient, make: Factory) -> None:
    unit = make.group()
    nurse = make.actor(groups=[unit])
    manager = make.actor(roles=["manager"], manages=[unit])
    stranger = make.actor()
    client.put(
        f"/api/v1/people/{nurse.id}/working-hours",
        json={"windows": [{"days": [1, 2, 3, 4, 5], "start": "08:00", "end": "16:30"}]},
        headers=manager.headers,
    )
    evening = iso(NOW + timedelta(hours=10))  # 20:00
    r = client.post(
        f"/api/v1/people/{nurse.id}/explain", json={"priority": "normal", "at": evening}, headers=manager.headers
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "hold" and body["release_at"].startswith("2026-11-24T07:00")
    assert body["reasons"][0]["rule"] == "daily_rest" and body["reasons"][0]["sv"] == "Mottagaren har dygnsvila."
    now = client.post(f"/api/v1/people/{nurse.id}/explain", json={"priority": "urgent"}, headers=manager.headers)
    assert now.json()["kind"] == "deliver" and now.json()["level"] == "time_sensitive"
    alarm = client.post(
        f"/api/v1/people/{nurse.id}/explain",
        json={"priority": "emergency", "at": evening, "override_reason": "Stort larm"},
        headers=manager.headers,
    )
    assert alarm.json()["level"] == "critical" and alarm.json()["ledger"]["states"] == ["daily_rest"]
    no_reason = client.post(
        f"/api/v1/people/{nurse.id}/explain", json={"priority": "emergency"}, headers=manager.headers
    )
    assert no_reason.status_code == 422
    assert (
        client.post(
            f"/api/v1/people/{nurse.id}/explain", json={"priority": "loud"}, headers=manager.headers
        ).status_code
        == 422
    )
    assert (
        client.post(
            f"/api/v1/people/{nurse.id}/explain", json={"priority": "normal"}, headers=stranger.headers
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/people/not-a-person/explain", json={"priority": "normal"}, headers=nurse.headers
        ).status_code
        == 404
    )


SPAN = "between 2000-01-01 and 2100-12-31"


def _refused_for_its_date(r: httpx.Response, field: str) -> None:
    assert r.status_code == 422, r.text
    assert SPAN in r.json()["message"] and field in r.json()["message"], r.json()["message"]


def test_dates_outside_2000_to_2100_are_refused_with_the_span(client: TestClient, make: Factory) -> None:
    """Leave from year 1 to 9999 and an explain at year 9999 were accepted (or answered 500)."""
    unit = make.group()
    nurse = make.actor(groups=[unit])
    manager = make.actor(roles=["manager"], manages=[unit])
    leave = client.post(
        "/api/v1/people/me/leave",
        json={"kind": "vacation", "start": "0001-01-01T00:00:00+00:00", "end": "9999-12-31T00:00:00+00:00"},
        headers=nurse.headers,
    )
    _refused_for_its_date(leave, "start")
    late_leave = {"kind": "vacation", "start": iso(NOW), "end": "2101-01-01T00:00:00+00:00"}
    _refused_for_its_date(client.post("/api/v1/people/me/leave", json=late_leave, headers=nurse.headers), "end")
    early = {"planned_start": "1999-12-31T22:00:00+00:00", "planned_end": "2000-01-01T06:00:00+00:00"}
    shift = client.post(f"/api/v1/people/{nurse.id}/shifts", json=early, headers=manager.headers)
    _refused_for_its_date(shift, "planned_start")
    ok = {"planned_start": iso(NOW + timedelta(hours=1)), "planned_end": iso(NOW + timedelta(hours=9))}
    shift_id = client.post(f"/api/v1/people/{nurse.id}/shifts", json=ok, headers=manager.headers).json()["id"]
    end = {"actual_end": "9999-12-31T23:59:59-05:00"}
    _refused_for_its_date(client.patch(f"/api/v1/shifts/{shift_id}", json=end, headers=manager.headers), "actual_end")
    dnd = client.post("/api/v1/people/me/dnd", json={"until": "9999-01-01T00:00:00+00:00"}, headers=nurse.headers)
    _refused_for_its_date(dnd, "until")
    for field, value in (("at", "9999-12-31T23:00:00+00:00"), ("at", "0001-01-01T01:00:00+05:00")):
        asked = client.post(
            f"/api/v1/people/{nurse.id}/explain", json={"priority": "normal", field: value}, headers=manager.headers
        )
        _refused_for_its_date(asked, field)
    expires = {"priority": "normal", "expires_at": "9999-01-01T00:00:00+00:00"}
    _refused_for_its_date(
        client.post(f"/api/v1/people/{nurse.id}/explain", json=expires, headers=manager.headers), "expires_at"
    )
    # The span's own edges are inside it.
    edges = {"kind": "other", "start": "2000-01-01T00:00:00+00:00", "end": "2100-12-31T23:00:00+00:00"}
    assert client.post("/api/v1/people/me/leave", json=edges, headers=nurse.headers).status_code == 201
