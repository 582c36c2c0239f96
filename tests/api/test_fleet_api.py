"""The fleet API: who may do what, a 409 that says which moves are allowed, imports as CSV bodies,
offboarding through deactivation, costs and figures, and the OpenAPI description."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import ManualClock
from kernel.spreadsheet import read_csv
from notify.fleet.models import Asset
from tests.factories import Actor, Factory
from tests.fleet_helpers import Fleet, valid_imei
from tests.integration.test_fleet_imports import device, intune_csv


class People:
    def __init__(self, make: Factory) -> None:
        self.unit = make.group("Medicin 12")
        self.it = make.actor(roles=["staff", "it"])
        self.admin = make.actor(roles=["staff", "admin"])
        self.hr = make.actor(roles=["staff", "hr"])
        self.boss = make.actor(roles=["staff", "manager"], manages=[self.unit])
        self.other_boss = make.actor(roles=["staff", "manager"], manages=[make.group()])
        self.anna = make.actor(groups=[self.unit], name="Anna Andersson")
        self.bo = make.actor(groups=[self.unit])


@pytest.fixture
def people(make: Factory) -> People:
    return People(make)


def _asset(client: TestClient, who: Actor, **extra: object) -> dict[str, object]:
    body = {"kind": "phone", "model": "Galaxy XCover 7", "serial": "R58N111", "imei": valid_imei("35209900100001")}
    r = client.post("/api/v1/fleet/assets", headers=who.headers, json={**body, **extra})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_device_administration_runs_the_fleet_and_nobody_else(client: TestClient, people: People) -> None:
    body = {"kind": "phone", "model": "X", "serial": "S-1"}
    for who in (people.anna, people.hr, people.boss):
        r = client.post("/api/v1/fleet/assets", headers=who.headers, json=body)
        assert r.status_code == 403 and "role it or admin" in r.json()["message"]
    assert client.get("/api/v1/fleet/loans", headers=people.hr.headers).status_code == 403
    assert client.get("/api/v1/fleet/costs", headers=people.boss.headers).status_code == 403
    asset = _asset(client, people.it, purchase_price="6495.50")
    assert (asset["state"], asset["purchase_price"]) == ("in_stock", 6495.5)
    # The same serial number or IMEI again is a conflict that says which.
    r = client.post("/api/v1/fleet/assets", headers=people.admin.headers, json={**body, "serial": "R58N111"})
    assert r.status_code == 409 and "serial number R58N111" in r.json()["message"]
    bad = client.post("/api/v1/fleet/assets", headers=people.it.headers, json={**body, "imei": "490154203237517"})
    assert bad.status_code == 422 and "check digit" in bad.json()["message"]
    # it may look people up to give them devices; it may not grant roles or read the audit log.
    assert client.get("/api/v1/people", headers=people.it.headers).status_code == 200
    assert client.get("/api/v1/audit", headers=people.it.headers).status_code == 403
    grant = client.post(
        "/api/v1/people",
        headers=people.hr.headers,
        json={"name": "Ny IT", "email": "ny.it@exempel.se", "roles": ["staff", "it"]},
    )
    assert grant.status_code == 403 and "evaluator or it" in grant.json()["message"]
    assert client.get("/api/v1/fleet/figures", headers=people.hr.headers).status_code == 200
    assert client.get("/api/v1/fleet/figures", headers=people.anna.headers).status_code == 403


def test_an_illegal_move_is_a_409_that_lists_the_allowed_ones(client: TestClient, people: People) -> None:
    asset = _asset(client, people.it)
    r = client.post(f"/api/v1/fleet/assets/{asset['id']}/transitions", headers=people.it.headers, json={"to": "wiped"})
    assert r.status_code == 409
    body = r.json()
    assert body["message"].startswith("an asset that is in_stock cannot become wiped; allowed from in_stock:")
    assert {"action": "assign", "to": "assigned"} in body["details"]["allowed"]
    assert {a["to"] for a in body["details"]["allowed"]} == {"assigned", "loaner", "in_repair", "lost", "retired"}
    r = client.post(
        f"/api/v1/fleet/assets/{asset['id']}/transitions", headers=people.it.headers, json={"to": "assigned"}
    )
    assert r.status_code == 422 and "assignments or loans endpoint" in r.json()["message"]
    r = client.post(f"/api/v1/fleet/assets/{asset['id']}/transitions", headers=people.it.headers, json={"to": "broken"})
    assert r.status_code == 422


def test_the_holder_and_their_manager_may_report_a_phone_lost(
    client: TestClient, people: People, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    fleet = Fleet(session_factory, clock)
    phone, _ = fleet.phone_for(people.anna.person, token="fcm-anna-0001")
    other, _ = fleet.phone_for(people.bo.person, token="fcm-bo-0001")
    mine = client.get("/api/v1/fleet/assets", headers=people.anna.headers).json()
    assert [a["serial"] for a in mine["items"]] == [phone.serial]  # staff see only their own
    assert client.get(f"/api/v1/fleet/assets/{other.id}", headers=people.anna.headers).status_code == 404
    detail = client.get(f"/api/v1/fleet/assets/{phone.id}", headers=people.anna.headers).json()
    assert [t["to"] for t in detail["allowed"]] == ["lost"]
    r = client.post(
        f"/api/v1/fleet/assets/{phone.id}/transitions", headers=people.anna.headers, json={"to": "returned"}
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/fleet/assets/{other.id}/transitions", headers=people.other_boss.headers, json={"to": "lost"}
    )
    assert r.status_code == 404, "a manager of another unit does not see it"
    r = client.post(f"/api/v1/fleet/assets/{other.id}/transitions", headers=people.boss.headers, json={"to": "lost"})
    assert r.status_code == 200 and r.json()["state"] == "lost"
    history = client.get(f"/api/v1/fleet/assets/{other.id}/history", headers=people.it.headers).json()
    assert [h["action"] for h in history["items"]][:2] == ["fleet.asset.report_lost", "fleet.asset.install"]
    assert history["items"][0]["before"]["state"] == "assigned" and history["items"][0]["after"]["blocked_devices"] == 1


def test_lend_and_take_back_a_loaner(
    client: TestClient, people: People, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    fleet = Fleet(session_factory, clock)
    own, _ = fleet.phone_for(people.anna.person, token="fcm-anna-0002")
    fleet.move(own, "in_repair")
    loaner = fleet.asset(site="Sjukhuset")
    fleet.move(loaner, "loaner")
    pool = client.get("/api/v1/fleet/loans", headers=people.it.headers).json()
    assert pool["goal"] == {"without_device": 1, "over_goal": 0, "met": True}
    assert [a["serial"] for a in pool["sites"][0]["available"]] == [loaner.serial]
    r = client.post(
        "/api/v1/fleet/loans", headers=people.it.headers, json={"person_id": str(people.anna.id), "site": "Nowhere"}
    )
    assert r.status_code == 409 and "no loaner is available at Nowhere" in r.json()["message"]
    r = client.post(
        "/api/v1/fleet/loans", headers=people.it.headers, json={"person_id": str(people.anna.id), "site": "Sjukhuset"}
    )
    assert r.status_code == 201, r.text
    loan = r.json()
    assert loan["replaces_asset_id"] == str(own.id) and loan["kind"] == "loan"
    pool = client.get("/api/v1/fleet/loans", headers=people.it.headers).json()
    assert pool["without_device"] == [] and pool["sites"][0]["on_loan"][0]["person_name"] == "Anna Andersson"
    r = client.post(f"/api/v1/fleet/loans/{loan['id']}/return", headers=people.it.headers)
    assert r.status_code == 200 and r.json()["state"] == "returned"
    assert client.post(f"/api/v1/fleet/loans/{loan['id']}/return", headers=people.it.headers).status_code == 404


def test_imports_take_csv_bodies_and_reject_all_or_nothing(
    client: TestClient, people: People, session_factory: sessionmaker[Session]
) -> None:
    headers = {**people.it.headers, "Content-Type": "text/csv"}
    good = intune_csv([device(1, people.anna.person.email), device(2)])
    bad = intune_csv([device(1, people.anna.person.email), device(3, "okand@exempel.se")])
    r = client.post("/api/v1/fleet/imports/intune", headers=headers, content=bad)
    assert r.status_code == 422
    details = r.json()["details"]
    assert details["written"] is False and [x["line"] for x in details["rejected"]] == [3]
    r = client.post("/api/v1/fleet/imports/intune?dry_run=true", headers=headers, content=good)
    assert r.status_code == 200 and (r.json()["created"], r.json()["written"]) == (2, False)
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Asset)) == 0
    r = client.post("/api/v1/fleet/imports/intune", headers=headers, content=good.encode("utf-8"))
    assert r.status_code == 200 and r.json()["created"] == 2
    r = client.post("/api/v1/fleet/imports/intune", headers=headers, content=good)
    assert (r.json()["created"], r.json()["unchanged"]) == (0, 2)
    assert (
        client.post(
            "/api/v1/fleet/imports/intune", headers={**people.anna.headers, "Content-Type": "text/csv"}, content=good
        ).status_code
        == 403
    )
    r = client.post("/api/v1/fleet/imports/subscriptions", headers=headers, content="number;operator\n070;x\n")
    assert r.status_code == 422 and "lacks the column(s) plan, monthly_cost, cost_centre" in r.json()["message"]
    listing = (
        "number,operator,plan,monthly_cost,cost_centre,extension,serial\n0701234567,Telia,Bas,199,KC-1,,R58N000001\n"
    )
    r = client.post("/api/v1/fleet/imports/subscriptions", headers=headers, content=listing.encode("cp1252"))
    assert r.status_code == 200 and r.json()["created"] == 1
    subs = client.get("/api/v1/fleet/subscriptions", headers=people.it.headers).json()
    assert [(s["number"], s["monthly_cost"]) for s in subs] == [("+46701234567", 199.0)]


def test_deactivation_puts_the_leaver_in_the_offboarding_queue_and_the_manager_sees_their_steps(
    client: TestClient, people: People, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    fleet = Fleet(session_factory, clock)
    phone, _ = fleet.phone_for(people.anna.person, token="fcm-anna-0003")
    assert client.post(f"/api/v1/people/{people.anna.id}/deactivate", headers=people.hr.headers).status_code == 200
    queue = client.get("/api/v1/fleet/offboarding", headers=people.it.headers).json()
    assert [o["person_name"] for o in queue] == ["Anna Andersson"]
    steps = {s["kind"]: s for s in queue[0]["steps"]}
    assert steps["return_asset"]["owner_id"] == str(people.boss.id) and steps["return_asset"]["serial"] == phone.serial
    mine = client.get("/api/v1/fleet/offboarding", headers=people.boss.headers).json()
    assert [o["person_name"] for o in mine] == ["Anna Andersson"]
    assert client.get("/api/v1/fleet/offboarding", headers=people.bo.headers).json() == []
    url = f"/api/v1/fleet/offboarding/{queue[0]['id']}/steps/{steps['return_asset']['id']}/done"
    r = client.post(url, headers=people.boss.headers, json={"outcome": "returned", "note": "Lämnad i receptionen"})
    assert r.status_code == 200, r.text
    done = {s["kind"]: s for s in r.json()["steps"]}["return_asset"]
    assert (done["outcome"], done["note"]) == ("returned", "Lämnad i receptionen")
    assert client.get(f"/api/v1/fleet/assets/{phone.id}", headers=people.it.headers).json()["state"] == "returned"
    assert client.post(url, headers=people.boss.headers, json={"outcome": "returned"}).status_code == 409


def test_costs_csv_and_the_openapi_description(client: TestClient, people: People) -> None:
    _asset(client, people.it, purchase_price=7200, purchase_date="2026-01-15")
    r = client.get("/api/v1/fleet/costs?from=2026-01&to=2026-03", headers=people.it.headers)
    assert r.status_code == 200 and r.json()["months"] == ["2026-01", "2026-02", "2026-03"]
    assert r.json()["totals"]["2026-02"] == 200.0
    csv_body = client.get("/api/v1/fleet/costs.csv?from=2026-01&to=2026-03", headers=people.it.headers)
    assert csv_body.headers["content-type"].startswith("text/csv")
    assert csv_body.text.splitlines()[0] == "\ufeffunit;2026-01;2026-02;2026-03;total"
    assert read_csv(csv_body.text)[-1][2] == "200,00", "kronor with Swedish Excel's decimal comma"
    assert client.get("/api/v1/fleet/costs?from=2026-05&to=2026-01", headers=people.it.headers).status_code == 422
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/v1/fleet/assets",
        "/api/v1/fleet/assets/{asset_id}/transitions",
        "/api/v1/fleet/assignments",
        "/api/v1/fleet/loans",
        "/api/v1/fleet/offboarding",
        "/api/v1/fleet/imports/intune",
        "/api/v1/fleet/imports/subscriptions",
        "/api/v1/fleet/figures",
    ):
        operations = spec["paths"][path]
        for operation in operations.values():
            assert operation.get("description") or operation.get("summary"), path
            ok = next(v for k, v in operation["responses"].items() if k.startswith("2"))
            assert "content" in ok, f"{path} documents its response model"
    assert "409" in spec["paths"]["/api/v1/fleet/assets/{asset_id}/transitions"]["post"]["responses"]
