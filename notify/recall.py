"""Recall: a message taken back by its sender (or an admin).

At once, in the request's transaction, the message is marked recalled and every delivery of it
that has not gone out (held or pending) is cancelled. Whatever a concurrent release or send does,
the send job is the last gate: it pushes nothing of a recalled message (`withheld`). Deliveries
already pushed are withdrawn by the `notify.withdraw` job: each device gets a "recalled" notice
with the message's collapse identifier, which replaces the shown notification where the platform
collapses (Web Push always; FCM and APNs when the message had a collapse key). The inbox no
longer lists the message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kernel.auth.service import Principal
from kernel.db import unit_of_work
from kernel.i18n import text
from kernel.jobs import Withdraw
from notify.delivery import enqueue_sends, queue_for
from notify.models import Delivery, Message
from notify.outbox import JobContext, enqueue
from notify.tracking import require_message, require_status_rights

# Deliveries in these states have not gone out: a recall cancels them.
NOT_YET_SENT = ("held", "pending")


@dataclass(frozen=True)
class Recalled:
    message_id: uuid.UUID
    recalled_at: datetime
    cancelled: int  # held or queued deliveries that will now never be pushed
    to_withdraw: int  # pushed deliveries whose notification the recall notice replaces
    already: bool  # recalled before: nothing more was done


def recall(*, session: Session, message_id: uuid.UUID, principal: Principal, now: datetime) -> Recalled:
    """Recall a message now (idempotent: a second recall changes nothing)."""
    message = require_message(session=session, message_id=message_id)
    require_status_rights(session=session, message=message, principal=principal)
    if message.recalled_at is not None:
        return Recalled(message.id, message.recalled_at, 0, 0, already=True)
    sent = _count(session, message.id, ("sent", "sending"))
    message.recalled_at, message.recalled_by = now, principal.person_id
    cancelled = len(
        session.scalars(
            update(Delivery)
            # A digest that a release already made of it stays: it carries the person's other
            # messages too, and the send job writes its text again without the recalled one.
            .where(Delivery.message_id == message.id, Delivery.kind == "message", Delivery.state.in_(NOT_YET_SENT))
            .values(state="recalled", not_before=None, lease_until=None, error="message recalled")
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        ).all()
    )
    session.flush()
    enqueue(session, Withdraw(message_id=message.id), now=now)
    return Recalled(message.id, now, cancelled, sent, already=False)


def _count(session: Session, message_id: uuid.UUID, states: tuple[str, ...]) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                Delivery.message_id == message_id, Delivery.kind == "message", Delivery.state.in_(states)
            )
        )
        or 0
    )


def withdraw(ctx: JobContext, payload: Withdraw) -> None:
    """Turn each pushed delivery of a recalled message into its recall notice and send those.
    A delivery still being sent comes back once its lease ends, and is withdrawn then."""
    message_id = payload.message_id
    now = ctx.clock.now()
    with unit_of_work(ctx.session_factory) as session:
        message = session.get(Message, message_id)
        if message is None or message.recalled_at is None:
            return
        notices = list(
            session.scalars(
                update(Delivery)
                .where(Delivery.message_id == message_id, Delivery.kind == "message", Delivery.state == "sent")
                .values(state="pending", kind="recall", not_before=None, error=None, attempts=0)
                .returning(Delivery.id)
                .execution_options(synchronize_session=False)
            )
        )
        enqueue_sends(
            session=session, delivery_ids=notices, queue=queue_for(message.priority, 0, ctx.settings), now=now
        )
        in_flight = session.scalar(
            select(func.max(Delivery.lease_until)).where(
                Delivery.message_id == message_id, Delivery.kind == "message", Delivery.state == "sending"
            )
        )
        if in_flight is not None:
            enqueue(session, payload, now=now, not_before=max(in_flight, now) + timedelta(seconds=1))


def notice_text(title: str, *, language: str, content_free: bool) -> tuple[str, str]:
    """The title and body of a recall notice; a content-free push keeps the title home."""
    shown = (
        text("notice.recall.title_hidden", language)
        if content_free
        else text("notice.recall.title", language, title=title)
    )
    return shown[:200], text("notice.recall.body", language)
