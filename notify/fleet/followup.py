"""The offboarding queue and its follow-up: leaving dates that have passed disable the leaver's
push devices, and overdue steps remind their owners once a working day (never on a day off) with a Vila message."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import pytz
from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.db import unit_of_work
from kernel.directory.models import Person
from kernel.errors import NotFound
from kernel.i18n import text
from kernel.jobs import OffboardingFollowUp
from kernel.settings import Settings
from notify.fleet import installs, steps
from notify.fleet.lifecycle import By
from notify.fleet.models import Asset, Offboarding, OffboardingStep, Subscription
from notify.fleet.offboarding import DISABLED_REASON
from notify.fleet.schemas import OffboardingRead, StepRead
from notify.fleet.workdays import is_working_day
from notify.outbox import JobContext
from notify.reminders import remind_person

log = logging.getLogger("vila.fleet")

REMIND_EVERY = timedelta(hours=20)  # once a working day, whatever hour the job first saw it overdue


def one(session: Session, *, offboarding_id: uuid.UUID, now: datetime) -> OffboardingRead:
    found = queue(session, now=now, finished=True, offboarding_id=offboarding_id)
    if not found:
        raise NotFound(f"no offboarding with id {offboarding_id}")
    return found[0]


def queue(
    session: Session,
    *,
    now: datetime,
    finished: bool = False,
    owner_id: uuid.UUID | None = None,
    offboarding_id: uuid.UUID | None = None,
) -> list[OffboardingRead]:
    """Offboardings (open ones, or finished ones too) with their steps, oldest first."""
    stmt = select(Offboarding)
    if offboarding_id is not None:
        stmt = stmt.where(Offboarding.id == offboarding_id)
    if not finished:
        stmt = stmt.where(Offboarding.finished_at.is_(None))
    if owner_id is not None:
        stmt = stmt.where(
            Offboarding.id.in_(select(OffboardingStep.offboarding_id).where(OffboardingStep.owner_id == owner_id))
        )
    offboardings = list(session.scalars(stmt.order_by(Offboarding.started_at).limit(500)).all())
    all_steps = list(
        session.scalars(
            select(OffboardingStep)
            .where(OffboardingStep.offboarding_id.in_([o.id for o in offboardings]))
            .order_by(OffboardingStep.due_at, OffboardingStep.kind)
        )
    )
    people_ids = {o.person_id for o in offboardings} | {s.owner_id for s in all_steps if s.owner_id}
    names = dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(people_ids))).all())
    asset_ids = {s.asset_id for s in all_steps if s.asset_id}
    serials = dict(session.execute(select(Asset.id, Asset.serial).where(Asset.id.in_(asset_ids))).all())
    sub_ids = {s.subscription_id for s in all_steps if s.subscription_id}
    subs = {s.id: s for s in session.scalars(select(Subscription).where(Subscription.id.in_(sub_ids)))}
    by_offboarding: dict[uuid.UUID, list[StepRead]] = {o.id: [] for o in offboardings}
    for s in all_steps:
        sub = subs.get(s.subscription_id) if s.subscription_id else None
        by_offboarding[s.offboarding_id].append(
            StepRead(
                id=s.id,
                kind=s.kind,
                asset_id=s.asset_id,
                serial=serials.get(s.asset_id) if s.asset_id else None,
                subscription_id=s.subscription_id,
                number=sub.number if sub else None,
                extension=sub.extension if sub else None,
                owner_id=s.owner_id,
                owner_name=names.get(s.owner_id) if s.owner_id else None,
                due_at=s.due_at,
                overdue=s.done_at is None and s.due_at < now,
                done_at=s.done_at,
                done_by=s.done_by,
                outcome=s.outcome,
                note=s.note,
                reminders=s.reminders,
            )
        )
    return [
        OffboardingRead(
            id=o.id,
            person_id=o.person_id,
            person_name=names.get(o.person_id, ""),
            reason=o.reason,
            leaving_on=o.leaving_on,
            started_at=o.started_at,
            finished_at=o.finished_at,
            steps=by_offboarding[o.id],
        )
        for o in offboardings
    ]


def follow_up(ctx: JobContext, payload: OffboardingFollowUp) -> None:
    """The periodic job: disable devices whose leaving date has passed, then remind owners of
    overdue steps. Safe to run twice: a reminded step waits `REMIND_EVERY` for the next one."""
    now = ctx.clock.now()
    system = By.system("offboarding")
    with unit_of_work(ctx.session_factory) as session:
        due = session.execute(
            select(OffboardingStep, Offboarding.person_id)
            .join(Offboarding, Offboarding.id == OffboardingStep.offboarding_id)
            .where(
                OffboardingStep.kind == "disable_push",
                OffboardingStep.done_at.is_(None),
                OffboardingStep.due_at <= now,
            )
        ).all()
        for step, person_id in due:
            installs.block_person(session, person_id=person_id, reason=DISABLED_REASON, now=now)
            steps.done(session, step=step, outcome="disabled", note=None, by=system, now=now)
    with unit_of_work(ctx.session_factory) as session:
        overdue = list(
            session.scalars(
                select(OffboardingStep.id).where(
                    OffboardingStep.done_at.is_(None),
                    OffboardingStep.due_at < now,
                    OffboardingStep.owner_id.is_not(None),
                    (OffboardingStep.reminded_at.is_(None)) | (OffboardingStep.reminded_at <= now - REMIND_EVERY),
                )
            )
        )
    for step_id in overdue:
        with unit_of_work(ctx.session_factory) as session:
            _remind(session, step_id, now, ctx.settings)


def _remind(session: Session, step_id: uuid.UUID, now: datetime, settings: Settings) -> None:
    step = session.get(OffboardingStep, step_id)
    if step is None or step.done_at is not None or step.owner_id is None:
        return
    owner = session.get(Person, step.owner_id)
    offboarding = session.get(Offboarding, step.offboarding_id)
    if owner is None or not owner.active or offboarding is None:
        return
    leaver = session.get(Person, offboarding.person_id)
    serial = session.scalar(select(Asset.serial).where(Asset.id == step.asset_id)) if step.asset_id else None
    lang = owner.language
    tz = pytz.timezone(owner.timezone)
    if not is_working_day(tz.normalize(now.astimezone(tz)).date()):
        return  # the next working day's run reminds them
    values = {
        "step": text(f"fleet.step.{step.kind}", lang),
        "person": leaver.name if leaver else "",
        "asset": f" ({serial})" if serial else "",
        "due": tz.normalize(step.due_at.astimezone(tz)).strftime("%Y-%m-%d %H:%M"),
    }
    remind_person(
        session=session,
        person=owner,
        title=text("fleet.reminder.title", lang, **values)[:200],
        body=text("fleet.reminder.body", lang, **values),
        priority="normal",
        category="fleet_offboarding",
        label=text("fleet.reminder.label", lang),
        collapse_key=f"offboarding-{step.id.hex[:20]}",
        expires_at=None,
        now=now,
        settings=settings,
    )
    step.reminded_at, step.reminders = now, step.reminders + 1
    log.info("offboarding reminder to %s for step %s (%s)", owner.id, step.id, step.kind)
