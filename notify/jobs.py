"""The registry of job handlers: the task code that Celery workers and the embedded runner share.

Handlers take a `JobContext` and a JSON payload of ids, reload what they need, return quietly
when the row is gone, and are safe to run twice.
"""

from __future__ import annotations

import uuid
from typing import Any

from kernel.db import unit_of_work
from kernel.directory import service as directory
from notify import escalation, pipeline, recall, release, reminders, retention, roles, scheduling, sending
from notify.fleet import followup
from notify.mail import sender as mail_sender
from notify.outbox import JobContext, JobRegistry, JobSpec
from policies import calendar_dnd, calendar_fetch, rosters
from policies.models import CalendarLink

registry = JobRegistry()
registry.register(JobSpec("notify.fan_out", sending.fan_out, queue="bulk"))
registry.register(JobSpec("notify.send", pipeline.send, queue="default"))
# The release's own queue: it never delays urgent sends or small normal messages. Beat's tick is
# the safety net; releases run on time through wake-ups at the next due hold (release_timing).
registry.register(JobSpec("notify.release_holds", release.plan, queue="release", every_s=30.0))
registry.register(JobSpec(release.BATCH_JOB, release.release_people, queue="release"))
registry.register(JobSpec("notify.redecide_holds", release.redecide_holds, queue="default"))
registry.register(JobSpec("notify.withdraw", recall.withdraw, queue="urgent"))
registry.register(JobSpec("notify.send_email", mail_sender.send_email, queue="default"))
registry.register(JobSpec("notify.send_scheduled", scheduling.send_scheduled, queue="default", every_s=15.0))
registry.register(JobSpec("notify.escalate", escalation.escalate, queue="urgent", every_s=30.0))
registry.register(JobSpec("notify.role_handoffs", roles.follow_handoffs, queue="default", every_s=60.0))
registry.register(JobSpec("notify.on_call_reminders", reminders.remind, queue="default", every_s=60.0))
registry.register(JobSpec("notify.stale_devices", pipeline.mark_stale_devices, queue="bulk", every_s=3600.0))
registry.register(JobSpec("notify.purge", retention.purge, queue="bulk", every_s=86400.0))
registry.register(JobSpec("fleet.offboarding_follow_up", followup.follow_up, queue="default", every_s=900.0))


@registry.job("directory.offboard", queue="default")
def offboard_person(ctx: JobContext, payload: dict[str, Any]) -> None:
    """A deactivated person keeps no live credentials."""
    with unit_of_work(ctx.session_factory) as session:
        directory.offboard(session=session, person_id=uuid.UUID(payload["person_id"]), now=ctx.clock.now())


@registry.job("policies.refresh_rosters", queue="bulk", every_s=3600.0)
def refresh_rosters(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Keep every roster's materialised on-call slots `rosters.HORIZON` ahead of now."""
    with unit_of_work(ctx.session_factory) as session:
        rosters.refresh_all(session=session, now=ctx.clock.now())


def _fetcher(ctx: JobContext) -> calendar_fetch.CalendarFetcher:
    fetcher = ctx.resources.get("calendar_fetcher")
    if fetcher is not None:
        return fetcher  # type: ignore[no-any-return]
    return calendar_fetch.HttpCalendarFetcher(allow_http=ctx.settings.calendar_allow_http)


@registry.job("policies.refresh_calendar", queue="bulk")
def refresh_calendar(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Read one person's linked calendar now (just after they linked it)."""
    with unit_of_work(ctx.session_factory) as session:
        link = session.get(CalendarLink, uuid.UUID(payload["person_id"]))
        if link is not None:
            calendar_dnd.refresh_link(session=session, link=link, fetcher=_fetcher(ctx), now=ctx.clock.now())


@registry.job("policies.refresh_calendars", queue="bulk", every_s=900.0)
def refresh_calendars(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Every linked calendar, one unit of work each, so one slow or broken link spoils no other."""
    fetcher = _fetcher(ctx)
    with unit_of_work(ctx.session_factory) as session:
        people = calendar_dnd.links(session=session)
    for person_id in people:
        with unit_of_work(ctx.session_factory) as session:
            link = session.get(CalendarLink, person_id)
            if link is not None:
                calendar_dnd.refresh_link(session=session, link=link, fetcher=fetcher, now=ctx.clock.now())
