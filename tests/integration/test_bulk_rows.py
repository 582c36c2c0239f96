"""`bulk_insert` writes a broadcast's rows with COPY on PostgreSQL and renders the COPY text itself:
whatever a value holds (tabs, new lines, backslashes, the text `\\N`, non-ASCII, JSON) must come
back exactly as it went in, and a shared value must not leak into rows that hold another.
`bulk_update` records a send batch's results, each row its own values, in one statement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from kernel.db import bulk_insert, bulk_update, new_id, unit_of_work
from notify.outbox import Job

AWKWARD = [
    "plain",
    "tab\there",
    "line\nbreak and\r\ncarriage return",
    "back\\slash and \\N and \\t",
    "\\N",
    "",
    "Åsa Öberg på avd. 7 — ”citat” ✓",
]


def _rows(now: datetime) -> list[dict[str, object]]:
    shared_payload = {"note": "shared\tby\nmany", "ids": ["a", "b\\c"]}
    rows = []
    for i, text in enumerate(AWKWARD * 3):
        rows.append(
            {
                "id": new_id(),
                "name": f"job-{i}",
                "queue": "bulk",
                "payload": shared_payload if i % 2 else {"text": text, "n": i, "nested": [text, None, True]},
                "state": "done",
                "available_at": now,
                "dispatched_at": None if i % 3 else now + timedelta(microseconds=i),
                "lease_until": None,
                "attempts": i,
                "last_error": text if i % 4 else None,
                "created_at": now,
                "finished_at": now + timedelta(seconds=i),
            }
        )
    return rows


def test_rows_come_back_exactly(session_factory: sessionmaker[Session]) -> None:
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    rows = _rows(now)
    with unit_of_work(session_factory) as session:
        bulk_insert(session, Job, rows)
    with unit_of_work(session_factory) as session:
        stored = {j.id: j for j in session.scalars(select(Job))}
    assert len(stored) == len(rows)
    for row in rows:
        job = stored[row["id"]]  # type: ignore[index]
        for column, value in row.items():
            assert getattr(job, column) == value, f"{column} of {row['name']} changed on the way in"


def test_naive_datetime_is_refused(session_factory: sessionmaker[Session]) -> None:
    rows = _rows(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    rows[-1]["finished_at"] = datetime(2026, 11, 23, 9, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises((ValueError, StatementError), match="naive datetime"), unit_of_work(session_factory) as session:
        bulk_insert(session, Job, rows)
    with unit_of_work(session_factory) as session:
        assert session.scalars(select(Job)).first() is None, "a refused batch must leave nothing behind"


def test_new_ids_are_time_ordered() -> None:
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(i.version == 7 for i in ids)
    assert ids == sorted(ids), "ids made one after another sort in that order (index locality)"


def test_bulk_update_gives_each_row_its_own_values_and_leaves_the_rest(
    session_factory: sessionmaker[Session],
) -> None:
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    rows = _rows(now)
    with unit_of_work(session_factory) as session:
        bulk_insert(session, Job, rows)
    changed = rows[::2]
    updates = [
        {
            "id": row["id"],
            "state": "failed" if i % 2 else "pending",
            "last_error": None if i % 3 == 0 else AWKWARD[i % len(AWKWARD)],
            "lease_until": now + timedelta(minutes=i) if i % 2 else None,
            "attempts": 100 + i,
        }
        for i, row in enumerate(changed)
    ]
    updates.append({"id": new_id(), "state": "failed", "last_error": "no such row", "lease_until": None, "attempts": 1})
    with unit_of_work(session_factory) as session:
        bulk_update(session, Job, updates)
    with unit_of_work(session_factory) as session:
        stored = {j.id: j for j in session.scalars(select(Job))}
    assert len(stored) == len(rows), "an id that is not there is not inserted"
    for update in updates[:-1]:
        job = stored[update["id"]]  # type: ignore[index]
        for column, value in update.items():
            assert getattr(job, column) == value, f"{column} was not updated as asked"
        assert job.payload is not None and job.created_at == now, "columns not named are left alone"
    for row in rows[1::2]:
        job = stored[row["id"]]  # type: ignore[index]
        assert (job.state, job.attempts, job.last_error) == (row["state"], row["attempts"], row["last_error"])
