"""Escalation of urgent messages that ask for an acknowledgement and got none in time.

Each unacknowledged recipient escalates once, to the next step: for a role message the next
people on the role's roster in order, then the sender; otherwise the sender. A step never goes
back to anyone already tried (anyone who is a recipient of the message), so an escalation
always reaches someone new or ends. A step the rest rules hold (the person is at rest) is
recorded with its reasons and the escalation goes on to the next one at once.

Runs may overlap (two workers, a slow run and beat's next tick): a run claims the messages of the
due recipients (PostgreSQL: FOR NO KEY UPDATE SKIP LOCKED; SQLite has one writer at a time), then
those recipients, so each recipient escalates once and a skipped message is free for the next run.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel.db import among, unit_of_work
from kernel.directory.models import Person
from kernel.i18n import both
from kernel.jobs import Escalate
from kernel.settings import Settings
from notify import chains
from notify.chains import EscalationStep
from notify.delivery import deliver, facts_for_stored, reasons_json
from notify.models import Message, Recipient
from notify.outbox import JobContext
from policies.availability import cover_for_role
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
        for slot in cover_for_role(session=session, role=role, at=now):
            if slot.person_id is not None:
                yield slot.person_id
    yield message.sender_id


def escalate(ctx: JobContext, payload: Escalate) -> None:
    """Every recipient past its acknowledgement timeout escalates one step (see the module)."""
    now = ctx.clock.now()
    with unit_of_work(ctx.session_factory) as session:
        chains.run_due_steps(session, now=now, settings=ctx.settings)
    with unit_of_work(ctx.session_factory) as session:
        due = _due_recipients(session, now)
        if not due:
            return
        # A run claims whole messages (a second run at once skips them: both would page the same
        # next step), then the due recipients of the messages it holds, and only those: a recipient
        # still inside their timeout is not locked, so their acknowledgement never waits for a run.
        # The claims repeat the conditions, which may have changed meanwhile. Messages first, then
        # their recipients: a run that skipped a message never holds a row of it, so no recipient is
        # left between two runs that each skipped the other's half.
        held = session.scalars(
            select(Message.id)
            .where(among(session, Message.id, list({message_id for _, message_id in due})))
            .where(Message.recalled_at.is_(None))
            .order_by(Message.id)
            .with_for_update(skip_locked=True, key_share=True)
        ).all()
        rows = session.execute(
            select(Recipient, Message, Person.name)
            .join(Message, Message.id == Recipient.message_id)
            .join(Person, Person.id == Recipient.person_id)
            .where(
                among(session, Recipient.id, [recipient_id for recipient_id, _ in due]),
                among(session, Message.id, list(held)),
                Recipient.acked_at.is_(None),
                Recipient.escalated_at.is_(None),
            )
            .order_by(Recipient.decided_at)
            .with_for_update(of=Recipient, key_share=True)
        ).all()
        for recipient, message, name in rows:
            timeout = timedelta(seconds=message.ack_timeout_s or DEFAULT_TIMEOUT_S)
            if _acknowledged(session, message.id):
                continue
            recipient.escalated_at = now
            reason = escalation_reason(name, int(timeout.total_seconds() // 60))
            steps = default_steps(session, message, now)
            reached = escalate_one(session, message, reason=reason, steps=steps, now=now, settings=ctx.settings)
            if reached is None:
                log.warning("message=%s no one left to escalate to from %s", message.id, recipient.person_id)
            else:
                log.info("message=%s escalated from %s to %s", message.id, recipient.person_id, reached)


def _due_recipients(session: Session, now: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """The recipients past their message's acknowledgement timeout, with their messages, read
    without a lock. The timeout is per message, so it is compared here rather than in the query."""
    candidates = session.execute(
        select(Recipient.id, Recipient.message_id, Recipient.decided_at, Message.ack_timeout_s)
        .join(Message, Message.id == Recipient.message_id)
        .where(
            Message.requires_ack.is_(True),
            Message.recalled_at.is_(None),
            Message.escalation_chain_id.is_(None),  # a chain's own steps escalate it (chains.py)
            Recipient.decision == "deliver",
            Recipient.acked_at.is_(None),
            Recipient.escalated_at.is_(None),
            Recipient.decided_at > now - LOOKBACK,
        )
        .order_by(Recipient.decided_at)
    ).all()
    return [
        (recipient_id, message_id)
        for recipient_id, message_id, decided_at, timeout_s in candidates
        if decided_at + timedelta(seconds=timeout_s or DEFAULT_TIMEOUT_S) <= now
    ]


def _acknowledged(session: Session, message_id: uuid.UUID) -> bool:
    """Someone acknowledged the message: it is handled, nobody else needs waking."""
    return (
        session.scalar(
            select(Recipient.id).where(Recipient.message_id == message_id, Recipient.acked_at.is_not(None)).limit(1)
        )
        is not None
    )


def escalate_one(
    session: Session,
    message: Message,
    *,
    reason: Reason,
    steps: Iterator[uuid.UUID],
    now: datetime,
    settings: Settings,
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
        sent = deliver(
            session=session,
            message=message,
            person_ids=[person_id],
            facts=facts,
            audience=1,
            settings=settings,
            now=now,
            reason=reason,
        )
        decided, pending = sent.decided, sent.pending
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
