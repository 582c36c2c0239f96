"""The registry of job handlers: the task code that Celery workers and the embedded runner share.

Each job is declared once in `kernel.jobs` (payload, name, queue, interval); here it gets its
handler. Handlers take a `JobContext` and the typed payload of ids, reload what they need, return
quietly when the row is gone, and are safe to run twice.
"""

from __future__ import annotations

from kernel.db import unit_of_work
from kernel.directory import service as directory
from kernel.jobs import (
    Escalate,
    FanOut,
    FollowHandoffs,
    MarkStaleDevices,
    Offboard,
    OffboardingFollowUp,
    PlanRelease,
    Purge,
    RedecideHolds,
    RefreshCalendar,
    RefreshCalendars,
    RefreshRosters,
    ReleasePeople,
    RemindOnCall,
    SendDeliveries,
    SendEmails,
    SendScheduled,
    Withdraw,
)
from notify import escalation, pipeline, recall, release, reminders, retention, roles, scheduling, sending
from notify.fleet import followup
from notify.mail import sender as mail_sender
from notify.outbox import JobContext, JobRegistry
from policies import calendar_dnd, calendar_fetch, rosters
from policies.models import CalendarLink

registry = JobRegistry()
registry.register(FanOut, sending.fan_out)
registry.register(SendDeliveries, pipeline.send)
registry.register(PlanRelease, release.plan)
registry.register(ReleasePeople, release.release_people)
registry.register(RedecideHolds, release.redecide_holds)
registry.register(Withdraw, recall.withdraw)
registry.register(SendEmails, mail_sender.send_email)
registry.register(SendScheduled, scheduling.send_scheduled)
registry.register(Escalate, escalation.escalate)
registry.register(FollowHandoffs, roles.follow_handoffs)
registry.register(RemindOnCall, reminders.remind)
registry.register(MarkStaleDevices, pipeline.mark_stale_devices)
registry.register(Purge, retention.purge)
registry.register(OffboardingFollowUp, followup.follow_up)


@registry.job(Offboard)
def offboard_person(ctx: JobContext, payload: Offboard) -> None:
    """A deactivated person keeps no live credentials."""
    with unit_of_work(ctx.session_factory) as session:
        directory.offboard(session=session, person_id=payload.person_id, now=ctx.clock.now())


@registry.job(RefreshRosters)
def refresh_rosters(ctx: JobContext, payload: RefreshRosters) -> None:
    """Keep every roster's materialised on-call slots `rosters.HORIZON` ahead of now."""
    with unit_of_work(ctx.session_factory) as session:
        rosters.refresh_all(session=session, now=ctx.clock.now())


def _fetcher(ctx: JobContext) -> calendar_fetch.CalendarFetcher:
    fetcher = ctx.resources.get("calendar_fetcher")
    if fetcher is not None:
        return fetcher  # type: ignore[no-any-return]
    return calendar_fetch.HttpCalendarFetcher(allow_http=ctx.settings.calendar_allow_http)


@registry.job(RefreshCalendar)
def refresh_calendar(ctx: JobContext, payload: RefreshCalendar) -> None:
    """Read one person's linked calendar now (just after they linked it)."""
    with unit_of_work(ctx.session_factory) as session:
        link = session.get(CalendarLink, payload.person_id)
        if link is not None:
            calendar_dnd.refresh_link(session=session, link=link, fetcher=_fetcher(ctx), now=ctx.clock.now())


@registry.job(RefreshCalendars)
def refresh_calendars(ctx: JobContext, payload: RefreshCalendars) -> None:
    """Every linked calendar, one unit of work each, so one slow or broken link spoils no other."""
    fetcher = _fetcher(ctx)
    with unit_of_work(ctx.session_factory) as session:
        people = calendar_dnd.links(session=session)
    for person_id in people:
        with unit_of_work(ctx.session_factory) as session:
            link = session.get(CalendarLink, person_id)
            if link is not None:
                calendar_dnd.refresh_link(session=session, link=link, fetcher=fetcher, now=ctx.clock.now())
