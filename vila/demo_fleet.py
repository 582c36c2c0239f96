"""The demo region's device fleet: about 80 phones and tablets in every state of their lifecycle,
with subscriptions, a shared tablet per ward, a loaner pool at two sites, one lost phone with a
loaner out, one phone in repair whose owner has waited too long, and two leavers' checklists.

Every change goes through the fleet's services, so the demo's history and audit log look like
the real thing. Deterministic, like the rest of the demo.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.directory import service as directory
from kernel.directory.models import Group, GroupMember, Person
from kernel.directory.schemas import PersonCreate
from notify import devices as device_service
from notify.fleet import assets, installs, loans, offboarding
from notify.fleet.identifiers import luhn_ok
from notify.fleet.lifecycle import By
from notify.fleet.models import Asset, Subscription
from notify.fleet.schemas import AssetCreate, AssignmentCreate, LoanCreate
from notify.models import Device
from notify.schemas import DeviceCreate

HOSPITAL = "Sjukhuset Exempelstad"
CLINIC = "Vårdcentralen Björkhagen"
PHONE = ("Samsung", "Galaxy XCover 7", 5490)
IPHONE = ("Apple", "iPhone 15", 7990)
TABLET = ("Apple", "iPad (10th generation)", 5290)


class _Fleet:
    def __init__(self, session: Session, now: datetime, by: By) -> None:
        self.session, self.now, self.by = session, now, by
        self.n = 0

    def asset(self, kind: str, spec: tuple[str, str, int], *, site: str | None, age_days: int) -> Asset:
        self.n += 1
        manufacturer, model, price = spec
        cellular = kind == "phone" or self.n % 3 == 0
        body = f"35{self.n:012d}"
        imei = next(body + str(d) for d in range(10) if luhn_ok(body + str(d))) if cellular else None
        bought = (self.now - timedelta(days=age_days)).date()
        asset = assets.create(
            session=self.session,
            data=AssetCreate(
                kind=kind,
                model=model,
                manufacturer=manufacturer,
                serial=f"{'R58N' if manufacturer == 'Samsung' else 'F2LX'}{self.n:05d}EX",
                imei=imei,
                purchase_date=bought,
                purchase_price=price,
                warranty_end=date(bought.year + 2, bought.month, min(bought.day, 28)),
                managed_account="managed" if self.n % 17 else "personal",
                mdm_id=str(uuid.UUID(int=0xDE0000 + self.n)),
                site=site,
            ),
            by=self.by,
            now=self.at(age_days),
        )
        if cellular:
            number = f"+467{(30000000 + self.n * 7919) % 100000000:08d}"
            self.session.add(
                Subscription(
                    number=number,
                    extension=f"4{self.n:03d}" if kind == "phone" else None,
                    operator="Telia" if self.n % 4 else "Tele2",
                    plan="Jobbmobil 10 GB" if kind == "phone" else "Mobilt bredband 20 GB",
                    monthly_cost_ore=24900 if kind == "phone" else 14900,
                    cost_centre=f"KC-{4700 + self.n % 4}",
                    asset_id=asset.id,
                    created_at=self.at(age_days),
                    updated_at=self.at(age_days),
                )
            )
        return asset

    def at(self, days_ago: float) -> datetime:
        return self.now - timedelta(days=days_ago)

    def move(self, asset: Asset, *targets: str, days_ago: float) -> None:
        for i, target in enumerate(targets):
            assets.move(session=self.session, asset=asset, target=target, by=self.by, now=self.at(days_ago - i * 0.01))

    def assign(self, asset: Asset, days_ago: float, **target: object) -> None:
        data = AssignmentCreate(asset_id=asset.id, **target)
        assets.assign(session=self.session, data=data, by=self.by, now=self.at(days_ago))


def load(*, session: Session, now: datetime) -> Person:
    """Add the fleet to a loaded demo region; returns its device administrator (role it)."""
    admin_group = session.scalar(select(Group).where(Group.code == "hsf"))
    it = directory.create_person(
        session=session,
        now=now,
        data=PersonCreate(
            name="Ingrid Teknik",
            email="ingrid.teknik@exempel.se",
            profession="IT-tekniker",
            roles=["staff", "it"],
            groups=[admin_group.id] if admin_group else [],
        ),
    )
    device_service.register(
        session=session,
        person_id=it.id,
        now=now,
        data=DeviceCreate(platform="android", provider="fcm", token=f"demo-fcm-it-{'0' * 16}", name="Arbetstelefon"),
    )
    by = By(person_id=it.id, label=it.email, roles=frozenset({"staff", "it"}))
    fleet = _Fleet(session, now, by)
    units = {g.code: g for g in session.scalars(select(Group).where(Group.kind == "unit"))}
    staff = list(
        session.scalars(select(Person).where(Person.active.is_(True)).order_by(Person.created_at, Person.email))
    )
    devices = {d.person_id: d for d in session.scalars(select(Device).where(Device.person_id.is_not(None)))}
    members: dict[uuid.UUID, set[uuid.UUID]] = {}
    for group_id, person_id in session.execute(select(GroupMember.group_id, GroupMember.person_id)):
        members.setdefault(group_id, set()).add(person_id)

    # Everyone's own device, bought over the last two years, with the app installed on it.
    own: dict[uuid.UUID, Asset] = {}
    for i, person in enumerate(staff):
        device = devices.get(person.id)
        tablet = device is not None and device.name == "Surfplatta"
        spec = TABLET if tablet else (IPHONE if device is not None and device.platform == "ios" else PHONE)
        age = 60 + (i * 11) % 600
        asset = fleet.asset("tablet" if tablet else "phone", spec, site=HOSPITAL, age_days=age)
        fleet.assign(asset, days_ago=age - 3, person_id=person.id)
        asset.last_check_in_at = fleet.at((i % 9) / 24)  # device management saw it within the last hours
        if device is not None:
            installs.link(session, asset=asset, device=device, by=by, now=fleet.at(age - 4))
        own[person.id] = asset

    # A shared tablet on each ward; the emergency department's stand-by doctor has one too.
    for code, unit in units.items():
        ward_tablet = fleet.asset("shared_tablet", TABLET, site=HOSPITAL, age_days=300)
        fleet.assign(ward_tablet, days_ago=280, group_id=unit.id)
        installs.install(session, asset=ward_tablet, data=_install(f"demo-ward-{code}"), by=by, now=fleet.at(280))
    role_tablet = fleet.asset("shared_tablet", TABLET, site=HOSPITAL, age_days=200)
    fleet.assign(role_tablet, days_ago=190, role="Bakjour akuten", cost_unit_id=units["akuten"].id)
    installs.install(session, asset=role_tablet, data=_install("demo-role-bakjour"), by=by, now=fleet.at(190))

    # The loaner pools, the stock, and assets further along their lives.
    for site, count in ((HOSPITAL, 3), (CLINIC, 2)):
        for _ in range(count):
            loaner = fleet.asset("phone", PHONE, site=site, age_days=400)
            fleet.move(loaner, "loaner", days_ago=390)
    for _ in range(5):
        fleet.asset("phone", PHONE, site=HOSPITAL, age_days=20)
    fleet.asset("tablet", TABLET, site=CLINIC, age_days=20)
    for steps in (("in_repair", "returned"), ("in_repair", "returned", "wiped")):
        old = fleet.asset("phone", PHONE, site=HOSPITAL, age_days=900)
        fleet.move(old, *steps, days_ago=40)
    broken = fleet.asset("phone", PHONE, site=HOSPITAL, age_days=1200)
    fleet.move(broken, "in_repair", days_ago=100)
    fleet.move(broken, "retired", days_ago=60)
    dropped = fleet.asset("phone", IPHONE, site=HOSPITAL, age_days=1000)
    fleet.move(dropped, "lost", "retired", days_ago=200)

    # One phone lost yesterday afternoon, with a loaner out; one in repair for five days, no loaner.
    ambulance = [p for p in staff if p.id in members.get(units["ambulans-norr"].id, set()) and p.id in own]
    lost_owner, waiting = ambulance[1], ambulance[2]
    fleet.move(own[lost_owner.id], "lost", days_ago=0.75)
    loan = LoanCreate(person_id=lost_owner.id, site=HOSPITAL, note="Telefonen tappad under utryckning")
    loans.lend(session=session, data=loan, by=by, now=fleet.at(0.7))
    fleet.move(own[waiting.id], "in_repair", days_ago=5)

    # Two leavers: one ten days ago with the phone back and wiped; one yesterday, nothing done yet.
    med12 = [p for p in staff if p.id in members.get(units["med12"].id, set()) and p.id in own]
    for leaver, days_ago in ((med12[3], 10), (med12[4], 1)):
        directory.deactivate_person(session=session, person=leaver, now=fleet.at(days_ago))
        offboarding.person_deactivated(session=session, person_id=leaver.id, by=by, now=fleet.at(days_ago))
    fleet.move(own[med12[3].id], "returned", "wiped", days_ago=8)
    session.flush()
    return it


def _install(token: str) -> DeviceCreate:
    return DeviceCreate(platform="android", provider="fcm", token=f"{token}-{'0' * 8}", name="Avdelningsplatta")
