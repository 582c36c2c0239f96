"""Escalation of urgent messages that ask for an acknowledgement and got none in time.

Each unacknowledged recipient escalates once, to the next step: for a role message the next
people on the role's roster in order, then the sender; otherwise the sender. A step never goes
back to anyone already tried (anyone who is a recipient of the message), so an escalation
always reaches someone new or ends. A step the rest rules hold (the person is at rest) is
recorded with its reasons and the escalation goes on to the next one at once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel.db import unit_of_work
from kernel.directory.models import Person
from kernel.i18n import both
from notify import chains
from notify.chains import EscalationStep
from notify.messages import decide, enqueue_sends, facts_for_stored, persist, reasons_json
from notify.models import Message, Recipient
from notify.outbox import JobContext
from policies import service as policies
from policies.core.types import Reason

log = logging.getLogger("vila.escalation")

DEFAULT_TIMEOUT_S = 900
LOOKBACK = timedelta(days=1)


def escalation_reason(name: str, minutes: int) -> Reason:
    return Reason("escalation", *both("notice.escalation.late", name=name, minutes=minutes))


def default_steps(session: Session, message: Message, now: datetime) -> Iterator[uuid.UUID]:
    """Who comes next, in order: the role's roster from now on (each person once), then the sender."""
    role = message.audience.get("resolved_role")
    if role:
        for slot in policies.cover_for_role(session=session, role=role, at=now):
            if slot.person_id is not None:
                yield slot.person_id
    yield message.sender_id


def escalate(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Every recipient past its acknowledgement timeout escalates one step (see the module)."""
    now = ctx.clock.now()
    with unit_of_work(ctx.session_factory) as session:
        chains.run_due_steps(session, now=now)
    with unit_of_work(ctx.session_factory) as session:
        rows = session.execute(
            select(Recipient, Message, Person.name)
            .join(Message, Message.id == Recipient.message_id)
            .join(Person, Person.id == Recipient.person_id)
            .where(
                Message.requires_ack.is_(True),
                Message.recalled_at.is_(None),
                Message.escalation_chain_id.is_(None),  # a chain's own steps escalate it (below)
                Recipient.decision == "deliver",
                Recipient.acked_at.is_(None),
                Recipient.escalated_at.is_(None),
                Recipient.decided_at > now - LOOKBACK,
            )
            .order_by(Recipient.decided_at)
        ).all()
        for recipient, message, name in rows:
            timeout = timedelta(seconds=message.ack_timeout_s or DEFAULT_TIMEOUT_S)
            if recipient.decided_at + timeout > now or _acknowledged(session, message.id):
                continue
            recipient.escalated_at = now
            reason = escalation_reason(name, int(timeout.total_seconds() // 60))
            reached = escalate_one(session, message, reason=reason, steps=default_steps(session, message, now), now=now)
            if reached is None:
                log.warning("message=%s no one left to escalate to from %s", message.id, recipient.person_id)
            else:
                log.info("message=%s escalated from %s to %s", message.id, recipient.person_id, reached)


def _acknowledged(session: Session, message_id: uuid.UUID) -> bool:
    """Someone acknowledged the message: it is handled, nobody else needs waking."""
    return (
        session.scalar(
            select(Recipient.id).where(Recipient.message_id == message_id, Recipient.acked_at.is_not(None)).limit(1)
        )
        is not None
    )


def escalate_one(
    session: Session, message: Message, *, reason: Reason, steps: Iterator[uuid.UUID], now: datetime
) -> uuid.UUID | None:
    """Walk the steps past everyone already tried; record each new step's decision and stop at the
    first one that is pushed now. Returns that person, or None when the steps ran out."""
    tried = set(session.scalars(select(Recipient.person_id).where(Recipient.message_id == message.id)))
    step_no = (
        session.scalar(select(func.max(EscalationStep.step_no)).where(EscalationStep.message_id == message.id)) or 0
    ) + 1
    facts = replace(facts_for_stored(session=session, message=message, at=now), audience_role=None, cover=())
    for person_id in steps:
        if person_id in tried:
            continue
        tried.add(person_id)
        decided = decide(session=session, person_ids=[person_id], facts=facts, at=now)
        decided.decisions = {pid: replace(d, reasons=(reason, *d.reasons)) for pid, d in decided.decisions.items()}
        pending = persist(session=session, message=message, decided=decided, facts=facts, now=now)
        enqueue_sends(session=session, delivery_ids=pending, queue="urgent", now=now)
        decision = decided.decisions.get(person_id)
        if decision is not None:
            chains.record(
                session,
                message_id=message.id,
                step_no=step_no,
                who="next on the role's roster, then the sender",
                channel="push",
                person_id=person_id,
                decision=decision.kind,
                reasons=reasons_json(decision),
                at=now,
            )
        if decision is not None and decision.kind == "deliver" and pending:
            return person_id  # a person with no device to push to has not been reached
        tried.update(decided.decisions)  # a reroute brought its target in as a recipient too
    return None
