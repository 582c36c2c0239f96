"""`vila jobs`: the outbox's failed jobs from the command line: list them with their error, retry them."""

from __future__ import annotations

import json
import uuid

import click


@click.group()
def jobs() -> None:
    """The job outbox: jobs that failed for good, and trying them again."""


@jobs.command("failed")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def failed_command(limit: int, as_json: bool) -> None:
    """List jobs that failed for good, the latest first, with the error each ended in."""
    from kernel.db import make_engine, make_session_factory
    from notify.outbox import failed
    from vila.cli import _settings

    engine = make_engine(_settings().resolved_database_url)
    try:
        with make_session_factory(engine)() as session:
            found = failed(session, limit=limit)
            rows = [
                {
                    "id": str(job.id),
                    "name": job.name,
                    "queue": job.queue,
                    "attempts": job.attempts,
                    "failed_at": job.finished_at.isoformat() if job.finished_at else None,
                    "payload": job.payload,
                    "error": job.last_error or "",
                }
                for job in found
            ]
    finally:
        engine.dispose()
    for row in rows:
        if as_json:
            click.echo(json.dumps(row, sort_keys=True))
        else:
            error = str(row["error"]).splitlines()[0][:200] if row["error"] else ""
            click.echo(f"{row['id']}  {row['name']}  {row['failed_at']}  attempts {row['attempts']}  {error}")
    if not as_json:
        click.echo(f"{len(rows)} failed job(s)", err=True)


@jobs.command("retry")
@click.argument("job_ids", nargs=-1)
@click.option("--all", "retry_all", is_flag=True, help="Every failed job.")
def retry_command(job_ids: tuple[str, ...], retry_all: bool) -> None:
    """Try failed jobs again (by id, or --all), with a fresh set of attempts, now.

    With VILA_BROKER_URL set the workers are woken at once; otherwise the next sweep (or the
    embedded mode's runner) takes them.
    """
    from kernel.clock import SystemClock
    from kernel.db import make_engine, make_session_factory, unit_of_work
    from notify.outbox import retry_failed
    from vila.cli import _settings

    if retry_all == bool(job_ids):
        raise click.UsageError("give job ids or --all (not both)")
    try:
        wanted = [uuid.UUID(j) for j in job_ids] if job_ids else None
    except ValueError as exc:
        raise click.BadParameter(f"not a job id: {exc}", param_hint="JOB_IDS") from exc
    settings = _settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            retried = [(job.id, job.queue) for job in retry_failed(session, now=SystemClock().now(), job_ids=wanted)]
    finally:
        engine.dispose()
    missing = sorted(set(wanted or []) - {job_id for job_id, _ in retried})
    if retried and settings.broker_url:
        from notify.celery_waker import CeleryWaker

        waker = CeleryWaker(settings.broker_url, settings.broker_transport_options)
        try:
            for job_id, queue in retried:
                waker.wake(job_id, queue)
        finally:
            waker.close()
    click.echo(f"{len(retried)} job(s) will run again")
    if missing:
        raise click.ClickException(f"not failed jobs (unknown, or not failed): {', '.join(map(str, missing))}")
