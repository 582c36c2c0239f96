"""A union or safety representative (role `union`) sees why and how often rest is broken, as counts
per group and week and overrides per sender, and reads the policies; never a person's own
contacts, the people register, the audit log, and changes nothing."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from kernel.clock import ManualClock
from tests.factories import Actor, Factory
from tests.web_login import log_in


def _after_hours_contact(client: TestClient, make: Factory, clock: ManualClock) -> Actor:
    """A manager reaches a nurse in her daily rest once (an emergency); the ledger and the report
    record it. Returns the nurse."""
    unit = make.group("Akutmottagningen")
    boss = make.actor(roles=["staff", "manager"], manages=[unit], name="Chef Chefsson")
    nurse = make.actor(groups=[unit], name="Sara Syster")
    hr = make.actor(roles=["staff", "hr"])
    night = clock.now().replace(hour=0, minute=0) - timedelta(hours=3)
    shift = {"planned_start": night.isoformat(), "planned_end": (night + timedelta(hours=9)).isoformat()}
    assert client.post(f"/api/v1/people/{nurse.id}/shifts", headers=hr.headers, json=shift).status_code == 201
    body = {
        "title": "Stor olycka",
        "body": "Kom in om du kan.",
        "priority": "emergency",
        "override_reason": "Storbrand",
        "audience": {"people": [str(nurse.id)]},
    }
    assert client.post("/api/v1/messages", headers=boss.headers, json=body).status_code == 202
    return nurse


def test_a_representative_reads_the_compliance_report_and_policies(
    client: TestClient, make: Factory, clock: ManualClock
) -> None:
    _after_hours_contact(client, make, clock)
    rep = make.actor(roles=["staff", "union"], name="Siv Skyddsombud")
    report = client.get("/api/v1/reports/compliance", headers=rep.headers, params={"weeks": 4})
    assert report.status_code == 200, report.text
    data = report.json()
    assert sum(sum(weeks.values()) for weeks in data["after_hours"].values()) == 1
    assert "Sara Syster" not in report.text, "counts per group and week, not the person contacted"
    csv = client.get("/api/v1/reports/compliance/broken-rest.csv", headers=rep.headers)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert client.get("/api/v1/policies", headers=rep.headers).status_code == 200


def test_a_representative_sees_no_person_and_changes_nothing(
    client: TestClient, make: Factory, clock: ManualClock
) -> None:
    nurse = _after_hours_contact(client, make, clock)
    rep = make.actor(roles=["staff", "union"])
    refused = {
        "the ledger of someone else": client.get(
            "/api/v1/rest-ledger", headers=rep.headers, params={"person_id": str(nurse.id)}
        ),
        "the whole ledger": client.get("/api/v1/rest-ledger", headers=rep.headers),
        "the people register": client.get("/api/v1/people", headers=rep.headers),
        "the audit log": client.get("/api/v1/audit", headers=rep.headers),
        "a new policy": client.post(
            "/api/v1/policies",
            headers=rep.headers,
            json={"name": "Egen", "approval_note": "x", "effective_from": clock.now().isoformat()},
        ),
        "a message": client.post(
            "/api/v1/messages",
            headers=rep.headers,
            json={"title": "Hej", "body": "Hej", "audience": {"people": [str(nurse.id)]}},
        ),
    }
    for what, answer in refused.items():
        assert answer.status_code == 403, f"{what}: {answer.status_code} {answer.text}"
    own = client.get("/api/v1/rest-ledger", headers=rep.headers, params={"person_id": str(rep.id)})
    assert own.status_code == 200 and own.json()["total"] == 0, "their own entries, as anyone's"


def test_the_web_app_shows_the_representative_the_dashboard_and_policies_read_only(
    client: TestClient, make: Factory
) -> None:
    rep = make.actor(roles=["staff", "union"], name="Siv Skyddsombud")
    log_in(client, rep.token)
    home = client.get("/").text
    assert 'href="/dashboard"' in home and 'href="/policies"' in home
    assert 'href="/ledger"' not in home, "the ledger names people: HR's"
    assert client.get("/ledger").status_code == 403
    policies = client.get("/policies")
    assert policies.status_code == 200
    assert 'data-editor="0"' in policies.text and 'id="new-policy"' not in policies.text
    assert "HR ändrar dem" in policies.text
