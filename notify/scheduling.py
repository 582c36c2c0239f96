"""Scheduled messages: written now, sent at a given instant, and decided at that instant.

Scheduling checks the message and the sender's right to address its audience (for the send
instant) and stores it as `scheduled`; nothing is resolved or decided yet. At `send_at` the
`notify.send_scheduled` job resolves the audience and decides for every recipient as a send at
that instant would: who is on call, on shift, at rest or on leave then. A message recalled before
its instant is never sent; one whose audience cannot be reached then is marked failed, with why.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.auth.service import Principal
from kernel.db import is_postgres, unit_of_work
from kernel.directory.models import Person
from kernel.errors import InvalidInput, PermissionDenied
from kernel.jobs import SendScheduled
from notify.audience import resolve
from notify.models import Message
from notify.outbox import JobContext
from notify.schemas import Audience, MessageCreate
from notify.sending import dispatch, given_audience, new_message, validate

MAX_AHEAD = timedelta(days=366)
BATCH = 20


def schedule(
    *, session: Session, body: MessageCreate, sender: Principal, now: datetime, idempotency_key: str | None = None
) -> Message:
    """Store a message to be sent at `body.send_at`."""
    send_at = body.send_at
    if send_at is None:
        raise InvalidInput("send_at is missing")
    validate(body, now=now)
    if send_at <= now:
        raise InvalidInput("send_at is in the past; leave it out to send now")
    if send_at > now + MAX_AHEAD:
        raise InvalidInput("send_at is more than a year ahead")
    if body.expires_at is not None and body.expires_at <= send_at:
        raise InvalidInput("expires_at is not after send_at: the message would expire before it is sent")
    resolved = resolve(session=session, audience=body.audience, sender=sender, at=send_at, priority=body.priority)
    message = new_message(body=body, sender=sender, label=resolved.label, now=now, idempotency_key=idempotency_key)
    message.state, message.send_at = "scheduled", send_at
    session.add(message)
    session.flush()
    return message


def send_scheduled(ctx: JobContext, payload: SendScheduled) -> None:
    """Send every scheduled message whose instant has come, deciding for its audience now."""
    now = ctx.clock.now()
    while True:
        with unit_of_work(ctx.session_factory) as session:
            stmt = (
                select(Message)
                .where(Message.state == "scheduled", Message.send_at <= now)
                .order_by(Message.send_at)
                .limit(BATCH)
            )
            if is_postgres(session):
                stmt = stmt.with_for_update(skip_locked=True)
            due = list(session.scalars(stmt))
            if not due:
                return
            for message in due:
                _send_one(ctx, session, message, now)


def _send_one(ctx: JobContext, session: Session, message: Message, now: datetime) -> None:
    if message.recalled_at is not None:
        message.state = "recalled"
        return
    sender = session.get(Person, message.sender_id)
    if sender is None or not sender.active:
        message.state, message.send_error = "failed", "the sender is no longer active"
        return
    principal = Principal(
        person_id=sender.id,
        name=sender.name,
        email=sender.email,
        roles=frozenset(message.sender_roles) & frozenset(sender.roles),  # a role lost since then is gone
        method="scheduled",
        language=sender.language,
    )
    audience = Audience.model_validate(given_audience(message))
    try:
        resolved = resolve(session=session, audience=audience, sender=principal, at=now, priority=message.priority)
    except (InvalidInput, PermissionDenied) as exc:
        message.state, message.send_error = "failed", str(exc)[:500]
        return
    message.state = "accepted"
    dispatch(session=session, message=message, resolved=resolved, now=now, settings=ctx.settings)
