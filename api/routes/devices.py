"""Devices: each person registers, renames, marks lost and removes their own work devices."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from api.deps import AuditDep, ClockDep, CurrentPerson, SendableDep, SessionDep, UowDep, WebPushDep
from api.permissions import acts_on, device_owner
from notify import devices
from notify.models import Device
from notify.schemas import DeviceCreate, DeviceRead, DeviceUpdate

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


def _snapshot(d: Device) -> dict[str, object]:
    return {
        "name": d.name,
        "platform": d.platform,
        "provider": d.provider,
        "ownership": d.ownership,
        "state": d.state,
        "person_id": str(d.person_id),
    }


@router.post("", response_model=DeviceRead, status_code=status.HTTP_201_CREATED)
def register(
    body: DeviceCreate,
    response: Response,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    webpush: WebPushDep,
    sendable: SendableDep,
    uow: UowDep,
) -> DeviceRead:
    """Register this device for push (or refresh it). A token known for another person moves to you.

    A browser (platform `web`, provider `webpush`) sends its subscription: the endpoint as `token`
    and `keys` as `PushSubscription.toJSON()` gives them; `replaces` names the endpoint it had
    before (`pushsubscriptionchange`), whose device is removed."""
    registered = devices.register(
        session=session,
        person_id=me.person_id,
        data=body,
        now=clock.now(),
        push_services=webpush.push_services,
        sendable=sendable,
    )
    device = registered.device
    audit.log(session, action="device.register", target_type="device", target_id=device.id, after=_snapshot(device))
    if registered.replaced is not None:
        old = registered.replaced
        audit.log(session, action="device.remove", target_type="device", target_id=old.id, after=_snapshot(old))
    uow.commit()
    if not registered.created:
        response.status_code = status.HTTP_200_OK
    return DeviceRead.model_validate(device)


@router.get("", response_model=list[DeviceRead])
def list_devices(session: SessionDep, me: CurrentPerson, person: uuid.UUID | None = None) -> list[DeviceRead]:
    """Your devices; admins and managers may name a person they have rights on."""
    person_id = person or me.person_id
    acts_on(session, me, person_id)
    return [DeviceRead.model_validate(d) for d in devices.list_for(session=session, person_id=person_id)]


@router.patch("/{device_id}", response_model=DeviceRead)
def update(
    device_id: uuid.UUID,
    body: DeviceUpdate,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> DeviceRead:
    device = devices.require(session=session, device_id=device_id, person_id=device_owner(me))
    before = _snapshot(device)
    devices.update_device(session=session, device=device, data=body, now=clock.now())
    audit.log(
        session,
        action="device.update",
        target_type="device",
        target_id=device.id,
        before=before,
        after=_snapshot(device),
    )
    uow.commit()
    return DeviceRead.model_validate(device)


@router.delete("/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove(
    device_id: uuid.UUID, session: SessionDep, me: CurrentPerson, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> None:
    device = devices.require(session=session, device_id=device_id, person_id=device_owner(me))
    before = _snapshot(device)
    devices.remove(session=session, device=device, now=clock.now())
    audit.log(session, action="device.remove", target_type="device", target_id=device.id, before=before)
    uow.commit()
