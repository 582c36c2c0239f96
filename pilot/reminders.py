"""Survey reminders: an ordinary `info` message to each person who has not answered an open wave.

It goes through the normal delivery path (`notify.reminders.remind_person`), so it respects rest
time like any message: during rest, leave or a patient meeting it waits in the inbox and comes with
the next digest. Each reminder is the person's own message, as the on-call reminder is: no manager
or HR sender whose sent list would name who has not answered. At most one per person and wave
every `EVERY`, and none after the wave closes (it expires then).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.directory.models import Person
from kernel.i18n import text
from kernel.settings import Settings
from notify.reminders import remind_person
from pilot import formatting
from pilot.models import Invitation, Pilot, Survey

EVERY = timedelta(days=3)
CATEGORY = "pilot_survey"  # kept out of the pilot's own usage figures


@dataclass(frozen=True)
class Sent:
    reminded: int
    not_yet: int


def remind(*, session: Session, pilot: Pilot, now: datetime, settings: Settings) -> Sent:
    """Remind everyone who has not answered an open wave of this pilot (and was not reminded lately)."""
    rows = session.execute(
        select(Invitation, Survey, Person)
        .join(Survey, Survey.id == Invitation.survey_id)
        .join(Person, Person.id == Invitation.person_id)
        .where(
            Survey.pilot_id == pilot.id,
            Survey.opens_at <= now,
            Survey.closes_at > now,
            Invitation.answered.is_(False),
            Person.active.is_(True),
        )
    ).all()
    reminded = not_yet = 0
    for invitation, survey, person in rows:
        if invitation.reminded_at is not None and invitation.reminded_at > now - EVERY:
            not_yet += 1
            continue
        _send(session, pilot=pilot, survey=survey, person=person, now=now, settings=settings)
        invitation.reminded_at = now
        invitation.reminders += 1
        reminded += 1
    session.flush()
    return Sent(reminded=reminded, not_yet=not_yet)


def _send(
    session: Session, *, pilot: Pilot, survey: Survey, person: Person, now: datetime, settings: Settings
) -> uuid.UUID:
    language = person.language
    wave = text(f"survey.wave.{survey.wave}", language)
    when = formatting.instant(survey.closes_at, person.timezone, language)
    message = remind_person(
        session=session,
        person=person,  # the person's own reminder: no manager or HR sends it
        title=text("survey.reminder.title", language),
        body=text("survey.reminder.body", language, wave=wave, pilot=pilot.name, when=when),
        priority="info",
        category=CATEGORY,
        label=text("survey.reminder.audience", language),
        collapse_key=f"survey-{survey.id.hex[:24]}",  # a second reminder replaces the first
        expires_at=survey.closes_at,
        now=now,
        settings=settings,
        deep_link="/surveys",
        reminder=CATEGORY,
    )
    return message.id
