"""A message's status for its sender: decision and delivery counts, reads and acknowledgements
(shown only when made in working time), per recipient; and the sender's list of sent messages.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel.auth.service import Principal
from kernel.directory.models import Person
from kernel.errors import NotFound, PermissionDenied
from notify.delivery import reasons_read
from notify.models import Delivery, Message, Recipient
from notify.schemas import DecisionCounts, DeliveryCounts, MessageRead, MessageStatus, RecipientStatus


def require_message(*, session: Session, message_id: uuid.UUID) -> Message:
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound(f"no message with id {message_id}")
    return message


def require_status_rights(*, session: Session, message: Message, principal: Principal) -> None:
    if message.sender_id == principal.person_id or principal.has("admin"):
        return
    raise PermissionDenied("only the sender (or an admin) sees a message's status")


def status(*, session: Session, message: Message, language: str, limit: int, offset: int) -> MessageStatus:
    """Counts and per-recipient status. A read or acknowledgement made outside the recipient's
    working time is not shown (no surveillance of rest): neither its time nor that it happened."""
    by_decision = dict(
        session.execute(
            select(Recipient.decision, func.count())
            .where(Recipient.message_id == message.id)
            .group_by(Recipient.decision)
        ).all()
    )
    by_state = dict(
        session.execute(
            select(Delivery.state, func.count()).where(Delivery.message_id == message.id).group_by(Delivery.state)
        ).all()
    )
    read = (
        session.scalar(
            select(func.count()).where(Recipient.message_id == message.id, Recipient.read_in_working_time.is_(True))
        )
        or 0
    )
    acked = (
        session.scalar(
            select(func.count()).where(Recipient.message_id == message.id, Recipient.acked_in_working_time.is_(True))
        )
        or 0
    )
    rows = session.execute(
        select(Recipient, Person.name)
        .join(Person, Person.id == Recipient.person_id)
        .where(Recipient.message_id == message.id)
        .order_by(Person.name)
        .limit(limit)
        .offset(offset)
    ).all()
    # Whether an urgent message was acknowledged is operational (it stops escalation); when is not.
    urgent = message.priority in ("urgent", "emergency")
    per: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    if rows:
        for rid, state, n in session.execute(
            select(Delivery.recipient_id, Delivery.state, func.count())
            .where(Delivery.recipient_id.in_([r.id for r, _ in rows]))
            .group_by(Delivery.recipient_id, Delivery.state)
        ):
            if rid is not None:
                per[rid][state] = int(n)
    recipients = [
        RecipientStatus(
            person_id=r.person_id,
            name=name,
            decision=r.decision,
            release_at=r.release_at,
            reasons=reasons_read(r.reasons, language),
            deliveries=per.get(r.id, {}),
            read=_visible(r.read_at, r.read_in_working_time),
            read_at=r.read_at if r.read_in_working_time else None,
            acknowledged=(r.acked_at is not None) if urgent else _visible(r.acked_at, r.acked_in_working_time),
            acknowledged_at=r.acked_at if r.acked_in_working_time else None,
        )
        for r, name in rows
    ]
    return MessageStatus(
        message=MessageRead.model_validate(message),
        decided=sum(int(v) for v in by_decision.values()),
        counts=DecisionCounts(**{k: int(v) for k, v in by_decision.items()}),
        deliveries=DeliveryCounts(**{k: int(v) for k, v in by_state.items() if k in DeliveryCounts.model_fields}),
        read=int(read),
        acknowledged=int(acked),
        recipients=recipients,
    )


def _visible(at: datetime | None, in_working_time: bool | None) -> bool | None:
    if at is None:
        return False
    return True if in_working_time else None


def sent_by(*, session: Session, sender_id: uuid.UUID, limit: int, offset: int) -> tuple[list[Message], int]:
    stmt = select(Message).where(Message.sender_id == sender_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Message.created_at.desc()).limit(limit).offset(offset)).all()
    return list(rows), int(total)
