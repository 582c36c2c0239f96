"""Devices: a person's push endpoints. A token belongs to one person; a rejected token is pruned."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple
from urllib.parse import urlsplit

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from kernel.audit import service as audit
from kernel.db import among
from kernel.directory.models import Person
from kernel.errors import Conflict, InvalidInput, NotFound
from notify.fleet import installs
from notify.models import Delivery, Device
from notify.schemas import DeviceCreate, DeviceUpdate

SENDABLE = ("active",)
# A delivery already queued for a device in one of these states is dropped, not sent.
UNREACHABLE = ("blocked", "lost", "removed", "pruned")


class Registered(NamedTuple):
    device: Device
    created: bool  # new to this person
    replaced: Device | None  # the person's device this registration took the place of


def register(
    *,
    session: Session,
    person_id: uuid.UUID,
    data: DeviceCreate,
    now: datetime,
    push_services: Sequence[str] | None = None,
    sendable: Collection[str] | None = None,
) -> Registered:
    """Register a device, or refresh it. A token registered again by another person moves to them
    (a phone handed on). A Web Push endpoint must be on one of `push_services` (None: this
    installation has no Web Push). `data.replaces` names the person's device this one takes the
    place of (a browser's new subscription), which is removed. `sendable` lists the providers
    this installation has a transport for (None: all): a device of another could never be reached."""
    if data.provider == "webpush":
        check_push_service(data.token, push_services)
    if sendable is not None and data.provider not in sendable:
        raise InvalidInput(
            f"this Vila installation does not send through {data.provider} (VILA_{data.provider.upper()}_ENABLED "
            f"is false); it sends through: {', '.join(sorted(sendable)) or 'no provider'}",
            details={"provider": data.provider, "sendable": sorted(sendable)},
        )
    device = session.scalar(select(Device).where(Device.token == data.token))
    if device is not None and device.person_id is None:
        raise Conflict("this token is a shared ward tablet's: it cannot become a person's device")
    if (
        device is not None
        and device.state == "blocked"
        and not installs.may_reregister(session, device=device, person_id=person_id)
    ):
        raise Conflict(f"this device is blocked by device administration ({device.state_reason}); ask IT")
    created = device is None or device.person_id != person_id
    if device is None:
        device = Device(token=data.token, person_id=person_id, created_at=now)
        session.add(device)
    device.person_id = person_id
    device.platform = data.platform
    device.provider = data.provider
    device.webpush_p256dh = data.keys.p256dh if data.keys else None
    device.webpush_auth = data.keys.auth if data.keys else None
    device.ownership = data.ownership
    device.name = data.name
    device.app_version = data.app_version
    device.locale = data.locale
    device.state = "active"
    device.state_reason = None
    device.last_seen_at = now
    device.updated_at = now
    if data.serial:
        installs.link_serial(session, device=device, serial=data.serial, person_id=person_id)
    elif device.asset_id is not None and not installs.with_person(
        session, asset_id=device.asset_id, person_id=person_id
    ):
        device.asset_id = None  # the phone was handed on outside the register: no longer the asset's install
    replaced = None
    if data.replaces and data.replaces != data.token:
        mine = (Device.token == data.replaces, Device.person_id == person_id, Device.state != "removed")
        replaced = session.scalar(select(Device).where(*mine))
        if replaced is not None:
            replaced.state, replaced.state_reason = "removed", "replaced by a new subscription"
            replaced.updated_at = now
    session.flush()
    return Registered(device, created, replaced)


def check_push_service(endpoint: str, push_services: Sequence[str] | None) -> None:
    """A Web Push endpoint must be on a known push service: Vila's workers POST to it."""
    if push_services is None:
        raise InvalidInput(
            "this Vila installation does not send Web Push: it has no VAPID key (VILA_WEBPUSH_VAPID_PRIVATE_KEY, "
            "made by `vila webpush keys`)"
        )
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    with_port = f"{host}:{parts.port}" if parts.port else host
    for allowed in push_services:
        if allowed in (host, with_port) or (allowed.startswith("*.") and host.endswith(allowed[1:])):
            return
    raise InvalidInput(
        f"{host or 'the endpoint'} is not a push service this installation sends to "
        f"({', '.join(push_services)}; VILA_WEBPUSH_PUSH_SERVICES)"
    )


def require(*, session: Session, device_id: uuid.UUID, person_id: uuid.UUID | None = None) -> Device:
    device = session.get(Device, device_id)
    if device is None or (person_id is not None and device.person_id != person_id) or device.state == "removed":
        raise NotFound(f"no device with id {device_id}")
    return device


def update_device(*, session: Session, device: Device, data: DeviceUpdate, now: datetime) -> Device:
    changes = data.model_dump(exclude_unset=True)
    lost = changes.pop("lost", None)
    for key, value in changes.items():
        if value is not None:
            setattr(device, key, value)
    if lost is True:
        device.state, device.state_reason = "lost", "reported lost by its owner"
    elif lost is False and device.state == "lost":
        device.state, device.state_reason = "active", None
    device.updated_at = now
    session.flush()
    return device


def remove(*, session: Session, device: Device, now: datetime) -> None:
    device.state, device.state_reason, device.updated_at = "removed", "removed by its owner", now
    session.flush()


def remove_browser(*, session: Session, person_id: uuid.UUID, device_id: uuid.UUID, now: datetime) -> Device | None:
    """The person signed out of the staff app in the browser that is this device: nothing more is
    sent to it, so the next person on a shared phone does not get this one's messages."""
    device = session.get(Device, device_id)
    if device is None or device.person_id != person_id or device.provider != "webpush" or device.state == "removed":
        return None
    device.state, device.state_reason, device.updated_at = "removed", "signed out of the staff app", now
    session.flush()
    return device


def list_for(*, session: Session, person_id: uuid.UUID) -> list[Device]:
    stmt = select(Device).where(Device.person_id == person_id, Device.state != "removed").order_by(Device.created_at)
    return list(session.scalars(stmt).all())


class Target(NamedTuple):
    """What the pipeline needs of a device to address a push to it."""

    id: uuid.UUID
    person_id: uuid.UUID
    provider: str
    ownership: str
    asset_id: uuid.UUID | None


def sendable(
    *, session: Session, person_ids: Iterable[uuid.UUID], allow_private: dict[uuid.UUID, bool] | None = None
) -> dict[uuid.UUID, list[Target]]:
    """Active devices per person. Where the person's policy forbids private devices, only devices
    installed on one of the region's assets count as work devices (the fleet register's link, not
    the ownership a device declares); and those are active only while the asset is with them."""
    ids = list(person_ids)
    result: dict[uuid.UUID, list[Target]] = defaultdict(list)
    columns = (Device.id, Device.person_id, Device.provider, Device.ownership, Device.asset_id)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for row in session.execute(
            select(*columns).where(among(session, Device.person_id, chunk), Device.state.in_(SENDABLE))
        ):
            target = Target(*row)  # type: ignore[arg-type]  # selected by person: never a shared tablet's
            if target.asset_id is None and allow_private is not None and not allow_private.get(target.person_id, True):
                continue
            result[target.person_id].append(target)
    return result


def unreachable(session: Session, delivery_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Deliveries that must not go out, with why: their device was blocked, lost or removed, or
    their person deactivated, after they were queued. The send path asks at claim time."""
    rows = session.execute(
        select(Delivery.id, Device.state, Person.active)
        .join(Device, Device.id == Delivery.device_id)
        .outerjoin(Person, Person.id == Delivery.person_id)
        .where(
            among(session, Delivery.id, delivery_ids),
            or_(Device.state.in_(UNREACHABLE), Person.active.is_(False)),
        )
    )
    return {
        delivery_id: f"device {state}" if state in UNREACHABLE else "person deactivated"
        for delivery_id, state, _ in rows
    }


def prune(*, session: Session, device_id: uuid.UUID, reason: str, now: datetime) -> bool:
    """The provider says the token is gone: stop sending to it at once, and record why."""
    device = session.get(Device, device_id)
    if device is None or device.state == "pruned":
        return False
    device.state, device.state_reason, device.updated_at = "pruned", reason[:200], now
    audit.record(
        session=session,
        now=now,
        actor_id=None,
        actor_label="system",
        action="device.prune",
        target_type="device",
        target_id=device.id,
        meta=audit.SYSTEM,
        after={"person_id": str(device.person_id), "reason": reason[:200]},
    )
    return True


def mark_stale(*, session: Session, now: datetime, after: timedelta) -> int:
    """Devices not seen for `after` go stale: nothing is sent to them until they check in again."""
    result = session.execute(
        update(Device)
        .where(Device.state == "active", Device.last_seen_at < now - after)
        .values(state="stale", state_reason=f"not seen for {after.days} days", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
