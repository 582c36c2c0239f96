"""The roster benchmark: `who is on call` for a year-long roster of 20 people.

It builds its own temporary SQLite database (or, given a PostgreSQL URL, a database of its own on
that server, dropped afterwards): 20 people, a roster with a weekly day-time layer of 20 people, a
daily night layer of 10 and 60 overrides over 2026, materialised a year ahead. It then times both
ways of answering: resolved from the roster definition (`rosters.on_call_at`, any instant) and read
from the materialised slots (`policies.availability.cover_for_role`, what the messaging pipeline calls).
"""

from __future__ import annotations

import random
import statistics
import time as clock
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from kernel import migrate
from kernel.db import make_engine, make_session_factory
from kernel.directory.models import Group, Person
from policies import rosters
from policies.availability import cover_for_role
from policies.schemas.rosters import OverrideCreate, RosterCreate, RosterLayerIn

ROLE = "Bench jour"
START = datetime(2026, 1, 1, tzinfo=UTC)


def run(*, database_url: str | None = None, queries: int = 500) -> dict[str, Any]:
    with migrate.scratch_database(database_url) as url:
        return _run(url, queries, "sqlite" if url.startswith("sqlite") else "postgresql")


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


def _run(url: str, queries: int, backend: str) -> dict[str, Any]:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    rng = random.Random(20)  # noqa: S311 (synthetic data, not secrets)
    try:
        with factory() as session:
            group = Group(
                name="Bench", code=f"bench-{uuid.uuid4().hex[:6]}", kind="unit", created_at=START, updated_at=START
            )
            session.add(group)
            people = [
                Person(
                    name=f"Bench {n}",
                    email=f"bench{n}@exempel.se",
                    timezone="Europe/Stockholm",
                    roles=["staff"],
                    active=True,
                    created_at=START,
                    updated_at=START,
                )
                for n in range(20)
            ]
            session.add_all(people)
            session.flush()
            ids = [p.id for p in people]
            data = RosterCreate(
                group_id=group.id,
                name="Bench",
                role=ROLE,
                kind="jour",
                layers=[
                    RosterLayerIn(
                        rotation="weekly", start_date=date(2026, 1, 5), handoff_time=time(8), participants=ids
                    ),
                    RosterLayerIn(
                        rotation="daily",
                        start_date=date(2026, 1, 1),
                        end_date=date(2026, 7, 1),
                        handoff_time=time(20),
                        participants=ids[:10],
                    ),
                ],
            )
            built = clock.perf_counter()
            roster = rosters.create_roster(session=session, data=data, now=START)
            for n in range(60):
                start = START + timedelta(days=6 * n, hours=rng.randrange(0, 24))
                rosters.add_override(
                    session=session,
                    roster=roster,
                    data=OverrideCreate(person_id=rng.choice(ids), start=start, end=start + timedelta(hours=14)),
                    by=None,
                    now=START,
                )
            slots = rosters.materialise(session=session, roster=roster, now=START, horizon=timedelta(days=365))
            session.commit()
            build_s = clock.perf_counter() - built

        instants = [START + timedelta(seconds=rng.randrange(0, 365 * 86400)) for _ in range(queries)]
        resolved: list[float] = []
        materialised: list[float] = []
        with factory() as session:
            # One untimed query first: it loads the zone and compiles the statements.
            rosters.on_call_at(session=session, role=ROLE, at=START)
            cover_for_role(session=session, role=ROLE, at=START)
            for at in instants:
                t0 = clock.perf_counter()
                _, segment = rosters.on_call_at(session=session, role=ROLE, at=at)
                resolved.append(clock.perf_counter() - t0)
                t0 = clock.perf_counter()
                cover = cover_for_role(session=session, role=ROLE, at=at, horizon=timedelta(seconds=1))
                materialised.append(clock.perf_counter() - t0)
                holders = [c.person_id for c in cover if c.start <= at < c.end]
                if holders != ([segment.person_id] if segment else []):
                    raise AssertionError(f"the two answers disagree at {at.isoformat()}")
    finally:
        engine.dispose()
    return {
        "backend": backend,
        "people": 20,
        "queries": queries,
        "materialised_slots": slots,
        "build_and_materialise_s": round(build_s, 3),
        "resolved": _ms(resolved),
        "materialised": _ms(materialised),
        "target_ms": 50,
    }
