"""`vila jobs failed` shows what failed and why; `vila jobs retry` runs it again, by id or --all."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.auth.models import ApiToken
from kernel.clock import ManualClock, SystemClock
from kernel.db import unit_of_work
from kernel.directory import service as directory
from kernel.outbox import DONE, FAILED, PENDING, Job
from kernel.settings import Settings
from notify.jobs import registry
from notify.outbox import JobContext, run_due
from tests.factories import Factory
from vila.cli import main


def _vila(db_url: str, settings: Settings, *args: str) -> Result:
    env = {"VILA_DATABASE_URL": db_url, "VILA_DATA_DIR": str(settings.data_dir), "VILA_BROKER_URL": ""}
    return CliRunner().invoke(main, list(args), env=env)


def _failed_offboarding(session_factory: sessionmaker[Session], clock: ManualClock, person_id: uuid.UUID) -> uuid.UUID:
    """An offboarding that failed for good (as one did on a dropped connection before retries)."""
    with unit_of_work(session_factory) as s:
        job = Job(
            name="directory.offboard",
            queue="default",
            payload={"person_id": str(person_id)},
            state=FAILED,
            available_at=clock.now(),
            attempts=1,
            last_error="OperationalError: server closed the connection unexpectedly\nSQL: UPDATE api_token ...",
            created_at=clock.now(),
            finished_at=clock.now(),
        )
        s.add(job)
        s.flush()
        return job.id


def _live_tokens(session_factory: sessionmaker[Session], person_id: uuid.UUID) -> int:
    with session_factory() as s:
        rows = s.scalars(select(ApiToken).where(ApiToken.person_id == person_id, ApiToken.revoked_at.is_(None)))
        return len(rows.all())


def test_failed_jobs_are_listed_with_their_error_and_run_again_when_retried(
    db_url: str, settings: Settings, make: Factory, session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    leaver, other = make.actor(), make.actor()
    with unit_of_work(session_factory) as s:
        for actor in (leaver, other):
            directory.deactivate_person(
                session=s, person=directory.require_person(session=s, person_id=actor.id), now=clock.now()
            )
    with unit_of_work(session_factory) as s:
        s.query(Job).delete()  # their follow-ups "failed": written below as failed rows
    first = _failed_offboarding(session_factory, clock, leaver.id)
    clock.advance(timedelta(minutes=1))
    second = _failed_offboarding(session_factory, clock, other.id)

    listed = _vila(db_url, settings, "jobs", "failed")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == [str(second), str(first)], "the latest first"
    assert "directory.offboard" in lines[0] and "OperationalError: server closed the connection" in lines[0]
    as_json = [json.loads(line) for line in _vila(db_url, settings, "jobs", "failed", "--json").stdout.splitlines()]
    assert as_json[1]["payload"] == {"person_id": str(leaver.id)} and as_json[1]["attempts"] == 1

    retried = _vila(db_url, settings, "jobs", "retry", str(first))
    assert retried.exit_code == 0, retried.output
    with session_factory() as s:
        states = {j.id: (j.state, j.attempts) for j in s.scalars(select(Job))}
    assert states == {first: (PENDING, 0), second: (FAILED, 1)}, "only the named job, with fresh attempts"
    clock.set(SystemClock().now() + timedelta(seconds=1))  # the command made them due at the real now
    ctx = JobContext(settings=settings, session_factory=session_factory, clock=clock)
    assert _live_tokens(session_factory, leaver.id) == 1
    run_due(ctx, registry)
    assert _live_tokens(session_factory, leaver.id) == 0, "the retried offboarding revoked the token"
    assert _live_tokens(session_factory, other.id) == 1

    assert _vila(db_url, settings, "jobs", "retry", "--all").exit_code == 0
    clock.set(SystemClock().now() + timedelta(seconds=1))
    run_due(ctx, registry)
    with session_factory() as s:
        assert {j.state for j in s.scalars(select(Job))} == {DONE}
    assert _live_tokens(session_factory, other.id) == 0
    assert _vila(db_url, settings, "jobs", "failed").stdout == ""


def test_retry_says_which_ids_it_could_not_retry(db_url: str, settings: Settings) -> None:
    unknown = uuid.uuid4()
    result = _vila(db_url, settings, "jobs", "retry", str(unknown))
    assert result.exit_code == 1
    assert str(unknown) in result.output
    assert _vila(db_url, settings, "jobs", "retry").exit_code == 2, "ids or --all"
    assert _vila(db_url, settings, "jobs", "retry", "not-an-id").exit_code == 2
