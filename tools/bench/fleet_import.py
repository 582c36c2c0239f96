"""The fleet import benchmark: Intune's device export of N assets into an empty register, then the
same file again (every row unchanged), on a throw-away database (`kernel.migrate.scratch_database`).

The people the export names are written first and not timed. Each timed run is the whole import
as `vila fleet import --intune` does it: read and check every row, look up the people and the
stored assets, write assets, assignments and audit records set-based, and commit.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select

from kernel import migrate
from kernel.db import make_engine, make_session_factory, new_id, unit_of_work
from kernel.directory.models import Group, GroupMember, Person
from notify.fleet.identifiers import luhn_ok
from notify.fleet.intune import import_intune
from notify.fleet.lifecycle import By
from notify.fleet.models import Asset, Assignment

COLUMNS = ("Device ID", "Serial number", "IMEI", "Manufacturer", "Model", "OS", "Ownership",
           "Primary user UPN", "Primary user email address", "Last check-in")  # fmt: skip


def _imei(n: int) -> str:
    body = f"35{n:012d}"
    return next(body + str(d) for d in range(10) if luhn_ok(body + str(d)))


def export(assets: int) -> str:
    """An Intune export of `assets` phones and tablets, nine in ten with an enrolled user."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for n in range(assets):
        tablet = n % 2 == 1
        user = f"person{n}@bench.exempel.se" if n % 10 else ""
        writer.writerow(
            [
                str(uuid.UUID(int=n)),
                f"BENCH{n:07d}",
                "" if tablet else _imei(n),
                "Apple" if tablet else "samsung",
                "iPad (10th generation)" if tablet else "SM-G556B",
                "iPadOS" if tablet else "Android",
                "Corporate",
                user,
                user,
                "2026-11-20 07:12:44.0000000",
            ]
        )
    return out.getvalue()


def _people(factory: Any, assets: int, now: datetime) -> None:
    with unit_of_work(factory) as session:
        units = [new_id() for _ in range(20)]
        session.execute(
            insert(Group),
            [
                {"id": u, "name": f"Enhet {i}", "code": f"bench-{i}", "kind": "unit", "active": True,
                 "created_at": now, "updated_at": now}
                for i, u in enumerate(units)
            ],
        )  # fmt: skip
        person = {"timezone": "Europe/Stockholm", "language": "sv", "roles": ["staff"], "active": True}
        people = [
            {"id": new_id(), "name": f"Person {n}", "email": f"person{n}@bench.exempel.se", **person}
            | {"created_at": now, "updated_at": now}
            for n in range(assets)
            if n % 10
        ]
        session.execute(insert(Person), people)
        session.execute(
            insert(GroupMember), [{"group_id": units[i % 20], "person_id": p["id"]} for i, p in enumerate(people)]
        )


def run(*, database_url: str | None, assets: int) -> dict[str, Any]:
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    data = export(assets)
    with migrate.scratch_database(database_url) as url:
        engine = make_engine(url)
        try:
            factory = make_session_factory(engine)
            _people(factory, assets, now)
            timings = []
            reports = []
            for _ in range(2):
                began = time.perf_counter()
                with unit_of_work(factory) as session:
                    report = import_intune(session=session, data=data, by=By.system("bench"), now=now)
                timings.append(time.perf_counter() - began)
                reports.append(report)
            with factory() as session:
                stored = session.scalar(select(func.count()).select_from(Asset)) or 0
                assigned = session.scalar(select(func.count()).select_from(Assignment)) or 0
            backend = engine.dialect.name
        finally:
            engine.dispose()
    first, second = reports
    return {
        "backend": backend,
        "assets": assets,
        "import_s": round(timings[0], 2),
        "reimport_s": round(timings[1], 2),
        "created": first.created,
        "unchanged_on_reimport": second.unchanged,
        "stored": stored,
        "assigned": assigned,
        "rows_per_s": round(assets / timings[0]),
    }
