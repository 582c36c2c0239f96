"""Handoffs while a message is held: a message addressed to a roster role and held for the
person who held the role then goes to whoever holds it when it may be delivered.

Every minute, held deliveries of role-addressed messages whose person no longer holds the role
are decided again now (`release.release_held`): the engine reroutes them to the current holder, or
keeps holding them with the reasons updated.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from kernel.db import unit_of_work
from kernel.jobs import FollowHandoffs
from notify.models import Delivery, Message
from notify.outbox import JobContext
from notify.release import release_held
from policies.models import OnCallSlotRow

# Role messages reach the few people who hold the role; a cap keeps broadcasts out of the scan.
MAX_ROLE_RECIPIENTS = 20
LOOKBACK = timedelta(days=14)


def follow_handoffs(ctx: JobContext, payload: FollowHandoffs) -> None:
    now = ctx.clock.now()
    with unit_of_work(ctx.session_factory) as session:
        stmt = (
            select(Delivery.id, Delivery.person_id, Message.audience)
            .join(Message, Message.id == Delivery.message_id)
            .where(
                Delivery.state == "held",
                Message.recipients_total <= MAX_ROLE_RECIPIENTS,
                Message.created_at > now - LOOKBACK,
            )
        )
        # No row locks here: `release_held` claims the people first and reads their rows again,
        # so a release that holds one of them is waited for, and nothing is decided twice.
        moved = []
        for delivery_id, person_id, audience in session.execute(stmt).all():
            role = audience.get("resolved_role")
            if not role or audience.get("groups") or audience.get("people"):
                continue
            holds = session.scalar(
                select(OnCallSlotRow.id).where(
                    OnCallSlotRow.person_id == person_id,
                    OnCallSlotRow.role == role,
                    OnCallSlotRow.start_at <= now,
                    OnCallSlotRow.end_at > now,
                )
            )
            if holds is None:
                moved.append(delivery_id)
        if moved:
            release_held(ctx, session, moved, now=now)
