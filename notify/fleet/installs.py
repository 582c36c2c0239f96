"""App installs: the push devices on the region's assets, linking them, and blocking them.

A device on an asset receives pushes only while the asset is with someone (assigned or lent). When
the asset leaves them (returned, lost, sent to repair, retired) or its person leaves, its devices
are blocked in the same transaction: nothing new is addressed to them, held deliveries to them are
dropped, and the send path drops whatever was already queued (`notify.devices.UNREACHABLE`).
Registering a blocked token again lifts the block only when its cause is gone.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from kernel.audit import service as audit
from kernel.errors import Conflict, InvalidInput, PermissionDenied
from notify.fleet.lifecycle import IN_USE, By
from notify.fleet.models import Asset, Assignment
from notify.models import Delivery, Device
from notify.schemas import DeviceCreate

_KEEP = ("removed", "pruned", "blocked")  # already out of reach: their state and reason stay as they are


def holder_of(session: Session, asset_id: uuid.UUID) -> Assignment | None:
    return session.scalar(select(Assignment).where(Assignment.asset_id == asset_id, Assignment.ended_at.is_(None)))


def with_person(session: Session, *, asset_id: uuid.UUID, person_id: uuid.UUID) -> bool:
    """Is the asset assigned or lent to this person now?"""
    asset = session.get(Asset, asset_id)
    holder = holder_of(session, asset_id)
    return asset is not None and asset.state in IN_USE and holder is not None and holder.person_id == person_id


def _block(session: Session, where: ColumnElement[bool], reason: str, now: datetime) -> list[uuid.UUID]:
    rows = session.execute(select(Device.id, Device.person_id).where(where, Device.state.not_in(_KEEP))).all()
    if not rows:
        return []
    ids = [r[0] for r in rows]
    session.execute(
        update(Device)
        .where(Device.id.in_(ids))
        .values(state="blocked", state_reason=reason[:200], updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    people = {r[1] for r in rows if r[1] is not None}
    if people:
        # Held deliveries are found through the index on held rows by person; the rest (pending,
        # already queued) are dropped by the send path, which checks the device at claim time.
        session.execute(
            update(Delivery)
            .where(Delivery.state == "held", Delivery.person_id.in_(people), Delivery.device_id.in_(ids))
            .values(state="dropped", error=f"device blocked: {reason}"[:500], not_before=None)
            .execution_options(synchronize_session=False)
        )
    return ids


def block_asset(session: Session, *, asset_id: uuid.UUID, reason: str, now: datetime) -> list[uuid.UUID]:
    """Block every device installed on the asset, at once."""
    return _block(session, Device.asset_id == asset_id, reason, now)


def block_person(session: Session, *, person_id: uuid.UUID, reason: str, now: datetime) -> list[uuid.UUID]:
    """Block every device of the person (work and private alike), at once."""
    return _block(session, Device.person_id == person_id, reason, now)


def may_reregister(session: Session, *, device: Device, person_id: uuid.UUID) -> bool:
    """A blocked device comes back only if its asset (if any) is with this person now."""
    if device.asset_id is None:
        return device.person_id == person_id
    return with_person(session, asset_id=device.asset_id, person_id=person_id)


def link_serial(session: Session, *, device: Device, serial: str, person_id: uuid.UUID) -> None:
    """The app says which asset it runs on (device management's app configuration gives it the
    serial number): link the install to that asset if it is with this person."""
    asset = session.scalar(select(Asset).where(Asset.serial == serial.strip()))
    if asset is None:
        raise InvalidInput(f"no asset with serial number {serial.strip()!r} in the fleet register")
    if not with_person(session, asset_id=asset.id, person_id=person_id):
        raise PermissionDenied(f"the asset {asset.serial} is not assigned or lent to you")
    device.asset_id, device.ownership = asset.id, "work"


def _audit(session: Session, *, device: Device, by: By, now: datetime) -> None:
    """An app install linked to its asset: audited on the asset."""
    audit.record(
        session=session,
        now=now,
        actor_id=by.person_id,
        actor_label=by.label,
        action="fleet.asset.install",
        target_type="asset",
        target_id=device.asset_id,
        meta=by.meta,
        after={
            "device_id": str(device.id),
            "person_id": str(device.person_id) if device.person_id else None,
            "platform": device.platform,
            "name": device.name,
        },
    )


def install(session: Session, *, asset: Asset, data: DeviceCreate, by: By, now: datetime) -> Device:
    """Register a push device on an asset for its holder; on a shared ward tablet the device
    belongs to no person, so personal messages can never reach it."""
    holder = holder_of(session, asset.id)
    if asset.state not in IN_USE or holder is None:
        raise Conflict(f"the asset is {asset.state}: install the app once it is assigned or lent to someone")
    person_id = None if asset.kind == "shared_tablet" else holder.person_id
    device = session.scalar(select(Device).where(Device.token == data.token))
    if device is None:
        device = Device(token=data.token, created_at=now)
        session.add(device)
    device.person_id, device.asset_id = person_id, asset.id
    device.platform, device.provider, device.ownership = data.platform, data.provider, "work"
    device.name, device.app_version, device.locale = data.name, data.app_version, data.locale
    device.state, device.state_reason = "active", None
    device.last_seen_at = device.updated_at = now
    session.flush()
    _audit(session, device=device, by=by, now=now)
    return device


def link(session: Session, *, asset: Asset, device: Device, by: By, now: datetime) -> Device:
    """Link a person's registered device to the asset it runs on (it must be with that person)."""
    if device.person_id is None or not with_person(session, asset_id=asset.id, person_id=device.person_id):
        raise Conflict("a device can be linked only to an asset that is assigned or lent to the device's person")
    device.asset_id, device.ownership, device.updated_at = asset.id, "work", now
    session.flush()
    _audit(session, device=device, by=by, now=now)
    return device


def installs_of(session: Session, asset_id: uuid.UUID) -> list[Device]:
    stmt = select(Device).where(Device.asset_id == asset_id).order_by(Device.created_at)
    return list(session.scalars(stmt).all())
