"""A person's inbox: their messages, held ones included, and reading and acknowledging them;
whether a read or an acknowledgement fell in the person's working time is recorded with it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel.auth.service import Principal, require_person_rights
from kernel.directory.models import Person
from kernel.errors import Conflict, InvalidInput, NotFound
from notify.delivery import in_working_time, reasons_read
from notify.models import Message, Recipient
from notify.schemas import InboxItem
from notify.tracking import require_message


def inbox(
    *, session: Session, person_id: uuid.UUID, language: str, unread_only: bool, limit: int, offset: int
) -> tuple[list[InboxItem], int]:
    """A person's messages, held ones included: reading a held message does not push it."""
    sender = Person.__table__.alias("sender")
    stmt = (
        select(Recipient, Message, sender.c.name)
        .join(Message, Message.id == Recipient.message_id)
        .join(sender, sender.c.id == Message.sender_id)
        .where(
            Recipient.person_id == person_id,
            Recipient.decision != "reroute",
            Message.recalled_at.is_(None),  # a recalled message is withdrawn from every inbox
        )
    )
    if unread_only:
        stmt = stmt.where(Recipient.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(stmt.order_by(Message.created_at.desc()).limit(limit).offset(offset)).all()
    items = [
        InboxItem(
            message_id=m.id,
            title=m.title,
            body=m.body,
            priority=m.priority,
            category=m.category,
            deep_link=m.deep_link,
            sender_id=m.sender_id,
            sender_name=name,
            audience_label=m.audience_label,
            created_at=m.created_at,
            decision=r.decision,
            held_until=r.release_at if r.decision == "hold" else None,
            reasons=reasons_read(r.reasons, language),
            requires_ack=m.requires_ack,
            read_at=r.read_at,
            acked_at=r.acked_at,
        )
        for r, m, name in rows
    ]
    return items, int(total)


def _my_recipient(session: Session, *, message_id: uuid.UUID, person_id: uuid.UUID) -> Recipient:
    row = session.scalar(select(Recipient).where(Recipient.message_id == message_id, Recipient.person_id == person_id))
    if row is None:
        raise NotFound(f"message {message_id} is not in your inbox")
    return row


def mark_read(*, session: Session, message_id: uuid.UUID, principal: Principal, now: datetime) -> Recipient:
    row = _my_recipient(session, message_id=message_id, person_id=principal.person_id)
    if row.read_at is None:
        row.read_at = now
        row.read_in_working_time = in_working_time(session=session, person_id=principal.person_id, at=now)
    session.flush()
    return row


def acknowledge(*, session: Session, message_id: uuid.UUID, principal: Principal, now: datetime) -> Recipient:
    row = _my_recipient(session, message_id=message_id, person_id=principal.person_id)
    message = require_message(session=session, message_id=message_id)
    if not message.requires_ack:
        raise InvalidInput("this message does not ask for an acknowledgement")
    if message.recalled_at is not None:
        raise Conflict("this message was recalled by its sender")
    if row.acked_at is None:
        row.acked_at = now
        row.acked_in_working_time = in_working_time(session=session, person_id=principal.person_id, at=now)
        if row.read_at is None:
            row.read_at, row.read_in_working_time = now, row.acked_in_working_time
    session.flush()
    return row


def require_recipient_rights(*, session: Session, principal: Principal, person_id: uuid.UUID) -> None:
    require_person_rights(session=session, principal=principal, person_id=person_id)
