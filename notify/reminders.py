"""The going-on-call reminder: an `info` message to a person who opted in, a lead time before
their on-call slot starts, and only while they are in working time, so it never wakes anyone.
Outside working time the reminder waits; if the slot begins first, it is not sent at all (the
person's calendar feed shows the slot anyway).
"""

from __future__ import annotations

import logging
from datetime import datetime

import pytz
from sqlalchemy.orm import Session

from kernel.db import new_id, unit_of_work
from kernel.directory.models import Person
from kernel.i18n import text
from kernel.jobs import RemindOnCall
from kernel.settings import Settings
from notify.delivery import deliver, facts_of, in_working_time
from notify.models import Message
from notify.outbox import JobContext
from policies import rosters

log = logging.getLogger(__name__)


def _text(role: str, kind: str, start_local: str, language: str) -> tuple[str, str]:
    word = text("notice.on_call.jour" if kind == "jour" else "notice.on_call.beredskap", language)
    return (
        text("notice.on_call.title", language, word=word, role=role),
        text("notice.on_call.body", language, word=word, role=role, start=start_local),
    )


def remind_person(
    *,
    session: Session,
    person: Person,
    title: str,
    body: str,
    priority: str,
    category: str,
    label: str,
    collapse_key: str,
    expires_at: datetime | None,
    now: datetime,
    settings: Settings,
    deep_link: str | None = None,
    reminder: bool | str = True,
) -> Message:
    """A reminder from Vila to one person, through the ordinary delivery path: decided by the
    person's rest-time rules (held while they rest, released in a digest), stored in their inbox.
    It is addressed from the person themselves: no manager sends it (nor has it in a sent list)."""
    message = Message(
        id=new_id(),
        sender_id=person.id,
        title=title,
        body=body,
        priority=priority,
        category=category,
        expires_at=expires_at,
        collapse_key=collapse_key,
        deep_link=deep_link,
        requires_ack=False,
        sensitive=False,
        audience={"people": [str(person.id)], "reminder": reminder},
        audience_label=label,
        sender_roles=[],
        state="decided",
        recipients_total=1,
        chunks_total=0,
        created_at=now,
    )
    session.add(message)
    session.flush()
    facts = facts_of(
        priority=priority,
        sender_id=person.id,
        sender_roles=[],
        override_reason=None,
        expires_at=expires_at,
        resolved_role=None,
        cover=(),
        message_id=message.id,
    )
    deliver(
        session=session, message=message, person_ids=[person.id], facts=facts, audience=1, settings=settings, now=now
    )
    return message


def remind(ctx: JobContext, payload: RemindOnCall) -> None:
    now = ctx.clock.now()
    with unit_of_work(ctx.session_factory) as session:
        due = rosters.due_reminders(session=session, now=now)
    for item in due:
        with unit_of_work(ctx.session_factory) as session:
            if not in_working_time(session=session, person_id=item.person_id, at=now):
                continue
            person = session.get(Person, item.person_id)
            if person is None or not person.active:
                continue
            tz = pytz.timezone(person.timezone)
            start_local = tz.normalize(item.start.astimezone(tz)).strftime("%Y-%m-%d %H:%M")
            title, body = _text(item.role, item.kind, start_local, person.language)
            remind_person(
                session=session,
                person=person,
                title=title,
                body=body,
                priority="info",
                category="on_call_reminder",
                label="Påminnelse om jour/beredskap",
                collapse_key=f"oncall-{item.start:%Y%m%dT%H%M}",
                expires_at=item.start,
                now=now,
                settings=ctx.settings,
            )
            rosters.mark_reminded(session=session, person_id=person.id, slot_start=item.start)
            log.info("on-call reminder for %s (%s at %s)", person.id, item.role, item.start.isoformat())
