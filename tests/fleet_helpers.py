"""Build fleet data for tests straight through the fleet's services: assets, assignments, installs."""

from __future__ import annotations

import itertools
import uuid

from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import Clock
from kernel.db import unit_of_work
from kernel.directory.models import Group, Person
from notify.fleet import assets, installs
from notify.fleet.identifiers import luhn_ok
from notify.fleet.lifecycle import By
from notify.fleet.models import Asset
from notify.fleet.schemas import AssetCreate, AssignmentCreate
from notify.models import Device
from notify.schemas import DeviceCreate

_seq = itertools.count(1)
IT = By.system("test")


def valid_imei(body: str) -> str:
    """A 14-digit body with its Luhn check digit appended."""
    return next(body + str(d) for d in range(10) if luhn_ok(body + str(d)))


class Fleet:
    def __init__(self, session_factory: sessionmaker[Session], clock: Clock) -> None:
        self.session_factory = session_factory
        self.clock = clock

    def asset(self, *, kind: str = "phone", site: str | None = None, price: int | None = 6000) -> Asset:
        n = next(_seq)
        with unit_of_work(self.session_factory) as session:
            return assets.create(
                session=session,
                data=AssetCreate(
                    kind=kind,  # type: ignore[arg-type]
                    model="Galaxy XCover 7" if kind == "phone" else "iPad 10",
                    serial=f"SN{n:05d}{uuid.uuid4().hex[:6].upper()}",
                    imei=valid_imei(f"35{n:012d}") if kind == "phone" else None,
                    site=site,
                    purchase_price=price,  # type: ignore[arg-type]
                ),
                by=IT,
                now=self.clock.now(),
            )

    def assign(
        self, asset: Asset, *, person: Person | None = None, group: Group | None = None, role: str | None = None
    ) -> None:
        with unit_of_work(self.session_factory) as session:
            assets.assign(
                session=session,
                data=AssignmentCreate(
                    asset_id=asset.id,
                    person_id=person.id if person else None,
                    group_id=group.id if group else None,
                    role=role,
                ),
                by=IT,
                now=self.clock.now(),
            )

    def install(self, asset: Asset, *, token: str, platform: str = "android") -> Device:
        with unit_of_work(self.session_factory) as session:
            fresh = session.get(Asset, asset.id)
            assert fresh is not None
            return installs.install(
                session=session,
                asset=fresh,
                data=DeviceCreate(
                    platform=platform,  # type: ignore[arg-type]
                    provider="apns" if platform == "ios" else "fcm",
                    token=token,
                    name="Arbetstelefon",
                ),
                by=IT,
                now=self.clock.now(),
            )

    def phone_for(self, person: Person, *, token: str) -> tuple[Asset, Device]:
        """A phone in the register, assigned to the person, with the app installed."""
        asset = self.asset()
        self.assign(asset, person=person)
        return asset, self.install(asset, token=token)

    def move(self, asset: Asset, target: str) -> None:
        with unit_of_work(self.session_factory) as session:
            fresh = session.get(Asset, asset.id)
            assert fresh is not None
            assets.move(session=session, asset=fresh, target=target, by=IT, now=self.clock.now())
