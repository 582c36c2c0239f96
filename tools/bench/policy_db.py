"""The preview benchmark: load availability for N people from a database and decide.

It never touches an existing database: given a PostgreSQL URL it creates a database of its own
on that server (and drops it afterwards); given a SQLite URL it uses a temporary file.
"""

from __future__ import annotations

import random
import time as clock
import uuid
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, make_url

from kernel import migrate
from kernel.db import make_engine, make_session_factory
from kernel.directory.models import Group, GroupMember, Person
from policies.core.engine import decide_many
from policies.core.types import MessageFacts
from policies.core.wallclock import wall_instant
from policies.models import (
    DndSession,
    Leave,
    OnCallSlotRow,
    PolicyAssignment,
    QuietHours,
    RestPolicy,
    RestPolicyVersion,
    Shift,
    WorkingHours,
)
from policies.rest_policies import policies_for
from policies.states import load_states

ZONE = "Europe/Stockholm"


def preview(database_url: str, recipients: int, *, at: datetime) -> dict[str, Any]:
    with migrate.scratch_database(database_url) as url:
        return _run(url, recipients, at)


def _run(url: str, recipients: int, at: datetime) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            ids = _populate(session, recipients, at)
            session.commit()
        message = MessageFacts(priority="normal", expires_at=at + timedelta(hours=24))
        timings = []
        for _ in range(3):
            with factory() as session:
                began = clock.perf_counter()
                states = load_states(session=session, person_ids=ids, at=at)
                loaded = clock.perf_counter()
                policies = policies_for(session=session, person_ids=ids, at=at)
                resolved = clock.perf_counter()
                decisions = decide_many(states.values(), message, policies, at)
                done = clock.perf_counter()
            timings.append((done - began, loaded - began, resolved - loaded, done - resolved, len(decisions)))
        best = min(timings)
        return {
            "backend": make_url(url).get_backend_name(),
            "recipients": best[4],
            "seconds": round(best[0], 4),
            "load_seconds": round(best[1], 4),
            "policies_seconds": round(best[2], 4),
            "decide_seconds": round(best[3], 4),
        }
    finally:
        engine.dispose()


def _populate(session: Any, count: int, at: datetime) -> list[uuid.UUID]:
    rng = random.Random(11)  # noqa: S311 - synthetic data, not security
    now = at
    region, unit = uuid.uuid4(), uuid.uuid4()
    session.execute(
        insert(Group),
        [
            {
                "id": region,
                "name": "Region",
                "code": "bench-region",
                "kind": "region",
                "parent_id": None,
                "active": True,
                "created_at": now,
                "updated_at": now,
            },
            {
                "id": unit,
                "name": "Akuten",
                "code": "bench-unit",
                "kind": "unit",
                "parent_id": region,
                "active": True,
                "created_at": now,
                "updated_at": now,
            },
        ],
    )
    policy = uuid.uuid4()
    session.execute(insert(RestPolicy), [{"id": policy, "name": "Akutvård", "description": None, "created_at": now}])
    session.execute(
        insert(RestPolicyVersion),
        [
            {
                "id": uuid.uuid4(),
                "policy_id": policy,
                "version": 1,
                "effective_from": at - timedelta(days=30),
                "daily_rest_hours": 11.0,
                "weekly_rest_hours": 36.0,
                "working_time": ["shift", "weekly_hours", "jour"],
                "hold_target": "next_shift",
                "morning_time": time(7, 0),
                "urgent_override_allowed": True,
                "override_roles": ["manager"],
                "override_reason_required": True,
                "override_weekly_cap": 2,
                "compensatory_days": 14,
                "content_free_push": False,
                "private_devices_allowed": True,
                "approval_note": "Bench",
                "author_id": None,
                "created_at": now,
            }
        ],
    )
    session.execute(
        insert(PolicyAssignment), [{"group_id": unit, "policy_id": policy, "assigned_by": None, "assigned_at": now}]
    )
    people, members, shifts, weekly, quiet, dnd, leave, slots = [], [], [], [], [], [], [], []
    first_day = (at - timedelta(days=4)).date()
    shift_times = ((time(7, 0), time(15, 30)), (time(13, 0), time(21, 30)), (time(21, 0), time(7, 30)))
    ids: list[uuid.UUID] = []
    for n in range(count):
        pid = uuid.uuid4()
        ids.append(pid)
        people.append(
            {
                "id": pid,
                "name": f"Bench {n}",
                "email": f"bench{n}@exempel.se",
                "timezone": ZONE,
                "profession": "sjuksköterska",
                "language": "sv",
                "roles": ["staff"],
                "external_id": None,
                "active": True,
                "created_at": now,
                "updated_at": now,
                "deactivated_at": None,
            }
        )
        members.append({"group_id": unit if rng.random() < 0.7 else region, "person_id": pid})
        if rng.random() < 0.5:
            start_t, end_t = shift_times[rng.randrange(3)]
            offset = rng.randrange(6)
            for d in range(12):
                if (d + offset) % 6 >= 4:
                    continue
                day = first_day + timedelta(days=d)
                begin = wall_instant(ZONE, day, start_t)
                finish = wall_instant(ZONE, day + timedelta(days=1) if end_t <= start_t else day, end_t)
                shifts.append(
                    {
                        "id": uuid.uuid4(),
                        "person_id": pid,
                        "planned_start": begin,
                        "planned_end": finish,
                        "actual_end": None,
                        "kind": "planned",
                        "note": None,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        else:
            weekly.append(
                {
                    "id": uuid.uuid4(),
                    "person_id": pid,
                    "weekdays": 0b0011111,
                    "start_time": time(8, 0),
                    "end_time": time(16, 30),
                    "timezone": ZONE,
                    "created_at": now,
                }
            )
        if rng.random() < 0.6:
            quiet.append(
                {
                    "id": uuid.uuid4(),
                    "person_id": pid,
                    "weekdays": 0b1111111,
                    "start_time": time(22, 0),
                    "end_time": time(7, 0),
                    "timezone": ZONE,
                    "created_at": now,
                }
            )
        if rng.random() < 0.1:
            dnd.append(
                {
                    "id": uuid.uuid4(),
                    "person_id": pid,
                    "start_at": at - timedelta(minutes=10),
                    "end_at": at + timedelta(minutes=20),
                    "ended_at": None,
                    "source": "manual",
                    "note": None,
                    "created_at": now,
                }
            )
        if rng.random() < 0.05:
            leave.append(
                {
                    "id": uuid.uuid4(),
                    "person_id": pid,
                    "kind": "vacation",
                    "start_at": at - timedelta(days=2),
                    "end_at": at + timedelta(days=5),
                    "note": None,
                    "created_by": None,
                    "created_at": now,
                }
            )
        if rng.random() < 0.1:
            slots.append(
                {
                    "id": uuid.uuid4(),
                    "person_id": pid,
                    "group_id": unit,
                    "role": "ssk-beredskap",
                    "kind": "beredskap",
                    "start_at": at - timedelta(hours=2),
                    "end_at": at + timedelta(hours=13),
                    "created_at": now,
                }
            )
    for model, rows in (
        (Person, people),
        (GroupMember, members),
        (Shift, shifts),
        (WorkingHours, weekly),
        (QuietHours, quiet),
        (DndSession, dnd),
        (Leave, leave),
        (OnCallSlotRow, slots),
    ):
        if rows:
            session.execute(insert(model), rows)
    return ids
