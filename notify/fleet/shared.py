"""How a message reaches shared ward tablets without any tablet becoming a person's device.

A shared ward tablet is assigned to a unit or to an on-call role, and its app install is a push
device with no person (`device.person_id` empty). Personal audiences resolve to people and their
devices, so a personal message can never reach it. When a message names groups (and does not
narrow them to professions: a tablet is no profession) or roles, every active device on a shared
tablet assigned to one of those groups (or a group below them) or to one of those roles gets a
delivery of its own, with no recipient and no person.

A ward tablet stays on the ward: nobody takes it into their rest, so it is not held. It is pushed
at once, interrupting as much as the message's priority says: info passive, normal active, urgent
time-sensitive, emergency critical.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kernel.db import bulk_insert, new_id
from kernel.directory import service as directory
from notify.fleet.models import Assignment
from notify.models import Delivery, Device, Message
from notify.schemas import Audience

LEVELS = {"info": "passive", "normal": "active", "urgent": "time_sensitive", "emergency": "critical"}


def devices_for(session: Session, *, audience: Audience) -> list[tuple[uuid.UUID, str]]:
    """(device id, provider) of the shared tablets' devices the audience names."""
    groups = [] if audience.professions else list(audience.groups)
    roles = list(audience.roles)
    if not groups and not roles:
        return []
    tree = directory.descendant_ids(session=session, group_ids=groups) if groups else set()
    conditions = []
    if tree:
        conditions.append(Assignment.group_id.in_(tree))
    if roles:
        conditions.append(Assignment.role.in_(roles))
    stmt = (
        select(Device.id, Device.provider)
        .join(Assignment, Assignment.asset_id == Device.asset_id)
        .where(
            Device.person_id.is_(None),
            Device.state == "active",
            Assignment.ended_at.is_(None),
            or_(*conditions),
        )
        .order_by(Device.id)
    )
    return [(device_id, provider) for device_id, provider in session.execute(stmt)]


def address(session: Session, *, message: Message, audience: Audience, now: datetime) -> list[uuid.UUID]:
    """Write a delivery for each shared tablet the message reaches; return them, to send now."""
    rows: list[dict[str, Any]] = [
        {
            "id": new_id(),
            "message_id": message.id,
            "recipient_id": None,
            "person_id": None,
            "device_id": device_id,
            "kind": "message",
            "state": "pending",
            "level": LEVELS.get(message.priority, "active"),
            "not_before": None,
            "attempts": 0,
            "provider": provider,
            "created_at": now,
            "content_free": message.sensitive,
        }
        for device_id, provider in devices_for(session, audience=audience)
    ]
    bulk_insert(session, Delivery, rows)
    return [row["id"] for row in rows]
