"""Rows of a morning release: many people, each with several messages held until one instant.

Written straight into the database (COPY on PostgreSQL), as the fan-out would have written them:
one unit, its manager, `messages` broadcasts held for every member until `release_at`, a shift
for everyone from that instant, one work phone each (and a second on every fifth person). For the
release tests and `vila bench release`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from kernel.db import bulk_insert, new_id, unit_of_work
from kernel.directory.models import Group, GroupManager, GroupMember, Person
from notify.models import Delivery, Device, Message, Recipient
from policies.models import Shift

HOLD_REASON = [{"rule": "off_duty", "sv": "Ledig: väntar till arbetstid.", "en": "Off duty: held until work."}]
SENSITIVE_TITLE = "HEMLIGT: patientärende"


@dataclass
class Held:
    unit_id: uuid.UUID
    manager_id: uuid.UUID
    people: list[uuid.UUID]
    messages: list[uuid.UUID]
    sensitive: set[uuid.UUID]
    devices: dict[uuid.UUID, list[str]] = field(default_factory=dict)  # person -> tokens

    @property
    def tokens(self) -> list[str]:
        return [t for tokens in self.devices.values() for t in tokens]


def _person(pid: uuid.UUID, n: int, now: datetime, roles: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": pid,
        "name": f"Person {n}",
        "email": f"p{n}.{pid.hex[:8]}@held.exempel.se",
        "timezone": "Europe/Stockholm",
        "profession": "undersköterska",
        "language": "sv",
        "roles": roles or ["staff"],
        "active": True,
        "created_at": now,
        "updated_at": now,
    }


def seed_held(
    factory: sessionmaker[Session],
    *,
    people: int,
    messages: int,
    release_at: datetime,
    now: datetime,
    shift_start: datetime | None = None,
    platform: str = "android",
    second_device_every: int = 5,
    sensitive_index: int | None = 1,
    sensitive_every: int = 0,
    title_length: int = 40,
    chunk: int = 5000,
) -> Held:
    """Write the rows; message number `sensitive_index` (if any) is sensitive, and with
    `sensitive_every` every message whose number it divides. Everyone's shift begins at
    `shift_start` (default: the release instant)."""
    unit_id, manager_id = uuid.uuid4(), uuid.uuid4()
    provider = "apns" if platform == "ios" else "fcm"
    with unit_of_work(factory) as s:
        s.add(
            Group(
                id=unit_id, name="Släppenheten", code=f"rel-{unit_id.hex[:8]}", kind="unit", active=True,
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
        s.flush()
        bulk_insert(s, Person, [_person(manager_id, 0, now, ["staff", "manager"])])
        bulk_insert(s, GroupManager, [{"group_id": unit_id, "person_id": manager_id}])
        message_rows = []
        for i in range(messages):
            sensitive = i == sensitive_index or bool(sensitive_every and i % sensitive_every == 0)
            title = f"{SENSITIVE_TITLE} {i}" if sensitive else f"Meddelande {i}: " + "x" * max(0, title_length - 14)
            message_rows.append(
                {
                    "id": new_id(),
                    "sender_id": manager_id,
                    "title": title[:200],
                    "body": "Läs i Vila.",
                    "priority": "normal",
                    "requires_ack": False,
                    "sensitive": sensitive,
                    "audience": {"groups": [str(unit_id)]},
                    "audience_label": "Släppenheten",
                    "sender_roles": ["manager", "staff"],
                    "state": "decided",
                    "recipients_total": people,
                    "chunks_total": 1,
                    "created_at": release_at - timedelta(hours=10) + timedelta(minutes=i),
                }
            )
        bulk_insert(s, Message, message_rows)
    held = Held(
        unit_id=unit_id,
        manager_id=manager_id,
        people=[],
        messages=[uuid.UUID(str(m["id"])) for m in message_rows],
        sensitive={uuid.UUID(str(m["id"])) for m in message_rows if m["sensitive"]},
    )
    for start in range(0, people, chunk):
        ids = [uuid.uuid4() for _ in range(min(chunk, people - start))]
        held.people.extend(ids)
        with unit_of_work(factory) as s:
            bulk_insert(s, Person, [_person(pid, start + i + 1, now) for i, pid in enumerate(ids)])
            bulk_insert(s, GroupMember, [{"group_id": unit_id, "person_id": pid} for pid in ids])
            bulk_insert(
                s,
                Shift,
                [
                    {
                        "id": uuid.uuid4(),
                        "person_id": pid,
                        "planned_start": shift_start or release_at,
                        "planned_end": (shift_start or release_at) + timedelta(hours=8),
                        "kind": "planned",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for pid in ids
                ],
            )
            devices: list[dict[str, Any]] = []
            for i, pid in enumerate(ids):
                count = 2 if second_device_every and (start + i) % second_device_every == 0 else 1
                for d in range(count):
                    token = f"{pid.hex}{d:032x}" if platform == "ios" else f"held-{pid.hex}-{d}"
                    held.devices.setdefault(pid, []).append(token)
                    devices.append(
                        {
                            "id": uuid.uuid4(),
                            "person_id": pid,
                            "name": "Arbetstelefon",
                            "platform": platform,
                            "provider": provider,
                            "token": token,
                            "ownership": "work",
                            "state": "active",
                            "last_seen_at": now,
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
            bulk_insert(s, Device, devices)
            by_person: dict[uuid.UUID, list[uuid.UUID]] = {}
            for device in devices:
                by_person.setdefault(device["person_id"], []).append(device["id"])
            recipients: list[dict[str, Any]] = []
            deliveries: list[dict[str, Any]] = []
            for message in message_rows:
                for pid in ids:
                    rid = new_id()
                    recipients.append(
                        {
                            "id": rid,
                            "message_id": message["id"],
                            "person_id": pid,
                            "decision": "hold",
                            "level": "active",
                            "release_at": release_at,
                            "reasons": HOLD_REASON,
                            "decided_at": message["created_at"],
                        }
                    )
                    for device_id in by_person[pid]:
                        deliveries.append(
                            {
                                "id": new_id(),
                                "message_id": message["id"],
                                "recipient_id": rid,
                                "person_id": pid,
                                "device_id": device_id,
                                "kind": "message",
                                "state": "held",
                                "level": "active",
                                "not_before": release_at,
                                "attempts": 0,
                                "provider": provider,
                                "content_free": message["sensitive"],
                                "created_at": message["created_at"],
                            }
                        )
            bulk_insert(s, Recipient, recipients)
            bulk_insert(s, Delivery, deliveries)
    return held
