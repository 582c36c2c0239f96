"""The pilot's report prices its devices with the fleet register's real figures: the average
purchase price of the phones and tablets its people have in the register, named as the source."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import ManualClock
from kernel.db import unit_of_work
from kernel.directory.models import Person
from notify.fleet.models import Asset, Assignment
from pilot import pilots, usage
from tests.factories import Factory
from vila import demo


def test_the_demo_pilot_report_uses_the_fleet_s_prices_of_its_people_s_devices(
    client: TestClient, session_factory: sessionmaker[Session], clock: ManualClock, make: Factory
) -> None:
    with unit_of_work(session_factory) as session:
        people: dict[str, Person] = demo.load(session=session, now=clock.now())
    headers = {"Authorization": f"Bearer {make.token(people['evaluator'], roles=['evaluator'])}"}
    r = client.get("/api/v1/pilots/mobil-2026/report", headers=headers)
    assert r.status_code == 200, r.text
    inputs = r.json()["costs"]["inputs"]
    with session_factory() as s:
        found = pilots.require(session=s, ref="mobil-2026")
        pilot_people = usage.active_people(session=s, pilot_id=found.id)  # the pilot arm, as the report asks
        held = select(Assignment.asset_id).where(Assignment.ended_at.is_(None), Assignment.person_id.in_(pilot_people))
        for kind in ("phone", "tablet"):
            n, total = s.execute(
                select(func.count(), func.sum(Asset.purchase_price_ore)).where(
                    Asset.id.in_(held), Asset.kind == kind, Asset.state != "retired"
                )
            ).one()
            assert n > 0
            expected = (Decimal(total) / n / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            entry = inputs[f"{kind}_price"]
            assert entry["source"] == "fleet" and entry["fleet_devices"] == n, kind
            assert Decimal(str(entry["value"])) == expected, kind
