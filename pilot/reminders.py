"""Survey reminders: an ordinary `info` message to each person who has not answered an open wave.

It goes through the normal delivery path (decide, persist, enqueue the sends), so it respects rest
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

from kernel.db import new_id
from kernel.directory.models import Person
from notify.messages import decide, enqueue_sends, facts_of, persist, queue_for
from notify.models import Message
from pilot import formatting
from pilot.i18n import text
from pilot.models import Invitation, Pilot, Survey

EVERY = timedelta(days=3)
CATEGORY = "pilot_survey"  # kept out of the pilot's own usage figures


@dataclass(frozen=True)
class Sent:
    reminded: int
    not_yet: int


def remind(*, session: Session, pilot: Pilot, now: datetime) -> Sent:
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
        _send(session, pilot=pilot, survey=survey, person=person, now=now)
        invitation.reminded_at = now
        invitation.reminders += 1
        reminded += 1
    session.flush()
    return Sent(reminded=reminded, not_yet=not_yet)


def _send(session: Session, *, pilot: Pilot, survey: Survey, person: Person, now: datetime) -> uuid.UUID:
    language = person.language
    wave = text(f"survey.wave.{survey.wave}", language)
    when = formatting.instant(survey.closes_at, person.timezone, language)
    message = Message(
        id=new_id(),
        sender_id=person.id,  # the person's own reminder: no manager or HR sends it
        title=text("survey.reminder.title", language),
        body=text("survey.reminder.body", language, wave=wave, pilot=pilot.name, when=when),
        priority="info",
        category=CATEGORY,
        expires_at=survey.closes_at,
        collapse_key=f"survey-{survey.id.hex[:24]}",  # a second reminder replaces the first
        deep_link="/surveys",
        requires_ack=False,
        sensitive=False,
        audience={"people": [str(person.id)], "reminder": CATEGORY},
        audience_label=text("survey.reminder.audience", language),
        sender_roles=[],
        state="decided",
        recipients_total=1,
        chunks_total=0,
        created_at=now,
    )
    session.add(message)
    session.flush()
    facts = facts_of(
        priority="info",
        sender_id=person.id,
        sender_roles=[],
        override_reason=None,
        expires_at=survey.closes_at,
        message_id=message.id,
    )
    decided = decide(session=session, person_ids=[person.id], facts=facts, at=now)
    pending = persist(session=session, message=message, decided=decided, facts=facts, now=now)
    enqueue_sends(session=session, delivery_ids=pending, queue=queue_for("info", 1), now=now)
    return message.id
