"""The audit log's hash chain: records chain in order, `vila audit verify` finds the first record that
was changed, removed or re-chained by whoever owns the table, and concurrent writers never fork it."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from kernel import migrate
from kernel.audit import chain
from kernel.audit.models import AuditRecord
from kernel.clock import ManualClock
from kernel.db import make_engine, make_session_factory, unit_of_work
from tests.factories import audit_entry
from vila.cli import main

_DELETE = "DELETE FROM audit_record WHERE id = :id"
_SQLITE_GUARDS = {
    event: f"CREATE TRIGGER audit_record_no_{event.lower()} BEFORE {event} ON audit_record "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
    for event in ("UPDATE", "DELETE")
}


def _write(session_factory: sessionmaker[Session], clock: ManualClock, n: int, **extra: Any) -> list[int]:
    ids = []
    for i in range(n):
        with unit_of_work(session_factory) as session:
            entry = audit_entry(session, clock.now(), n=i, hours=11.0, name="Åsa", **extra)
            ids.append(entry.id)
    return ids


Change = tuple[str, dict[str, Any]]


def _as_owner(db_url: str, *changes: Change) -> None:
    """Tamper as the database owner would: lift the append-only guard, change rows, put it back."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            postgres = conn.dialect.name == "postgresql"
            if postgres:
                conn.execute(text("ALTER TABLE audit_record DISABLE TRIGGER audit_record_append_only"))
            else:
                for event in _SQLITE_GUARDS:
                    conn.execute(text(f"DROP TRIGGER audit_record_no_{event.lower()}"))
            for statement, params in changes:
                conn.execute(text(statement), params)
            if postgres:
                conn.execute(text("ALTER TABLE audit_record ENABLE TRIGGER audit_record_append_only"))
            else:
                for ddl in _SQLITE_GUARDS.values():
                    conn.execute(text(ddl))
    finally:
        engine.dispose()


def _verify(session_factory: sessionmaker[Session], anchor: tuple[int, str] | None = None) -> chain.Verdict:
    with session_factory() as session:
        return chain.verify(session, batch=3, anchor=anchor)  # a small batch: the walk crosses pages


def _cli_verify(db_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["audit", "verify", *args], env={"VILA_DATABASE_URL": db_url})
    return result.exit_code, result.output


def test_records_form_one_chain_and_verify_walks_it(
    db_url: str, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    assert _cli_verify(db_url) == (0, "audit log intact: it is empty\n")
    ids = _write(session_factory, clock, 7)
    with session_factory() as session:
        rows = list(session.scalars(select(AuditRecord).order_by(AuditRecord.id)))
    assert [r.id for r in rows] == ids
    assert rows[0].prev_hash == chain.GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(rows))
    verdict = _verify(session_factory)
    assert verdict.intact and verdict.records == 7 and verdict.head_id == ids[-1]
    code, out = _cli_verify(db_url)
    assert code == 0 and f"7 record(s); head {ids[-1]}:{rows[-1].hash}" in out


def test_a_record_changed_by_the_owner_breaks_the_chain_there(
    db_url: str, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    ids = _write(session_factory, clock, 6)
    _as_owner(db_url, ("UPDATE audit_record SET actor_label = 'someone else' WHERE id = :id", {"id": ids[3]}))
    verdict = _verify(session_factory)
    assert verdict.broken is not None and verdict.broken.record_id == ids[3]
    assert "changed after it was written" in verdict.broken.reason and verdict.records == 3
    code, out = _cli_verify(db_url)
    assert code == 1 and f"BROKEN at record {ids[3]}" in out


def test_a_removed_or_inserted_record_breaks_the_chain_after_it(
    db_url: str, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    ids = _write(session_factory, clock, 5)
    _as_owner(db_url, (_DELETE, {"id": ids[1]}))
    verdict = _verify(session_factory)
    assert verdict.broken is not None and verdict.broken.record_id == ids[2]
    assert "removed or inserted" in verdict.broken.reason
    _as_owner(db_url, (_DELETE, {"id": ids[0]}))  # the start of the log itself
    verdict = _verify(session_factory)
    assert verdict.broken is not None and verdict.broken.record_id == ids[2]


def test_a_chain_recomputed_after_a_change_is_caught_by_an_anchor(
    db_url: str, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    ids = _write(session_factory, clock, 4)
    with session_factory() as session:
        head = session.scalars(select(AuditRecord).where(AuditRecord.id == ids[-1])).one()
        anchor = (head.id, head.hash)
    # Whoever owns the table rewrites a record and seals everything after it again.
    _as_owner(db_url, ("UPDATE audit_record SET action = 'nothing.happened' WHERE id = :id", {"id": ids[1]}))
    with session_factory() as session:
        rows = list(session.scalars(select(AuditRecord).order_by(AuditRecord.id)))
        prev, fixes = chain.GENESIS, list[Change]()
        for row in rows:
            sealed = chain.seal(prev, row)
            fixes.append(
                (
                    "UPDATE audit_record SET prev_hash = :p, hash = :h WHERE id = :id",
                    {"p": prev, "h": sealed, "id": row.id},
                )
            )
            prev = sealed
    _as_owner(db_url, *fixes)
    assert _verify(session_factory).intact  # the chain alone cannot tell
    verdict = _verify(session_factory, anchor=anchor)
    assert verdict.broken is not None and verdict.broken.record_id == ids[-1]
    code, out = _cli_verify(db_url, "--anchor", f"{anchor[0]}:{anchor[1]}")
    assert code == 1 and "anchored record has another hash now" in out
    assert _cli_verify(db_url, "--anchor", "nonsense")[0] == 2


def test_the_migration_chains_records_written_before_it(db_url: str, clock: ManualClock) -> None:
    migrate.downgrade(db_url, "0006_message_created")
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            at = clock.now().strftime("%Y-%m-%d %H:%M:%S.%f") + ("+00:00" if conn.dialect.name == "postgresql" else "")
            for i in range(5):
                conn.execute(
                    text(
                        "INSERT INTO audit_record (at, actor_label, action, target_type, after) "
                        "VALUES (:at, 'cli', 'old.write', 'thing', :after)"
                    ),
                    {"at": at, "after": f'{{"n": {i}, "hours": 11.0, "big": 1e20}}'},
                )
    finally:
        engine.dispose()
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        factory = make_session_factory(engine)
        verdict = _verify(factory)
        assert verdict.intact and verdict.records == 5
        _write(factory, clock, 1)  # new records continue the migrated chain
        assert _verify(factory).records == 6
    finally:
        engine.dispose()


# PostgreSQL: concurrent writers ------------------------------------------------------------------


@pytest.fixture
def pg_factory(pg_url: str) -> Iterator[sessionmaker[Session]]:
    engine: Engine = make_engine(pg_url)
    yield make_session_factory(engine)
    engine.dispose()


def _append(session: Session, clock: ManualClock, label: str) -> AuditRecord:
    return audit_entry(session, clock.now(), label)


def _advisory_waiters(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(
            session.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")) or 0
        )


def test_a_second_writer_waits_for_the_first_to_commit_and_chains_after_it(
    pg_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    first_wrote, go = threading.Event(), threading.Event()
    written: dict[str, AuditRecord] = {}
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with unit_of_work(pg_factory) as session:
                written["first"] = _append(session, clock, "first")
                first_wrote.set()
                go.wait(30)
        except BaseException as exc:  # the assertion below reports it
            errors.append(exc)
            first_wrote.set()

    def second() -> None:
        first_wrote.wait(30)
        try:
            with unit_of_work(pg_factory) as session:
                written["second"] = _append(session, clock, "second")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while _advisory_waiters(pg_factory) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    waiting = _advisory_waiters(pg_factory)
    assert "second" not in written
    go.set()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert waiting == 1, "the second writer waits on the append lock, not on anything else"
    assert written["second"].prev_hash == written["first"].hash
    assert _verify(pg_factory).records == 2


def test_many_concurrent_writers_leave_one_intact_chain(pg_factory: sessionmaker[Session], clock: ManualClock) -> None:
    writers, each = 8, 6
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            barrier.wait(30)
            for i in range(each):
                with unit_of_work(pg_factory) as session:
                    _append(session, clock, f"writer {n}.{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]
    verdict = _verify(pg_factory)
    assert verdict.intact and verdict.records == writers * each
