"""Retention: how long a message, its decisions and its deliveries are kept.

Off by default (`VILA_MESSAGE_RETENTION_DAYS=0`). In the Swedish public sector a message may be a
public record whose disposal follows the authority's own decision (gallringsbeslut), so Vila
deletes no message until the operator says how long to keep them. Once set, a daily job deletes
every message sent before the cutoff, with its recipients (who read it and when), deliveries,
audience and digests, except a message that still waits for someone (a held, pending or sending
delivery): it is deleted on a later run, once it has been delivered or dropped.

Kept either way: the rest ledger and its rest periods (HR's, the union's and each person's record
of contact during rest, kept at least for the current year and the two before it; it names the
message only by id) and the audit log (it records each purge).
Idempotency keys older than their 24-hour window are deleted on every run; they answer nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from kernel.audit import service as audit
from kernel.db import among, unit_of_work
from kernel.jobs import Purge
from notify.idempotency import IDEMPOTENCY_WINDOW
from notify.models import AudienceChunk, Delivery, Digest, IdempotencyRecord, Message, Recipient
from notify.outbox import JobContext

log = logging.getLogger("vila.retention")

PURGE_BATCH = 200  # messages per transaction: a broadcast's rows are many, keep each delete short
WAITING = ("held", "pending", "sending")


def purge(ctx: JobContext, payload: Purge) -> None:
    now = ctx.clock.now()
    with unit_of_work(ctx.session_factory) as session:
        session.execute(
            delete(IdempotencyRecord)
            .where(IdempotencyRecord.created_at < now - IDEMPOTENCY_WINDOW)
            .execution_options(synchronize_session=False)
        )
    days = ctx.settings.message_retention_days
    if days <= 0:
        return
    cutoff = now - timedelta(days=days)
    total = 0
    while True:
        with unit_of_work(ctx.session_factory) as session:
            done = _purge_batch(session, cutoff=cutoff, now=now)
        total += done
        if done < PURGE_BATCH:
            break
    with unit_of_work(ctx.session_factory) as session:
        session.execute(delete(Digest).where(Digest.created_at < cutoff).execution_options(synchronize_session=False))
    if total:
        log.info("retention: deleted %d message(s) sent before %s", total, cutoff.isoformat())


def _purge_batch(session: Session, *, cutoff: datetime, now: datetime) -> int:
    waiting = exists().where(Delivery.message_id == Message.id, Delivery.state.in_(WAITING))
    ids = list(
        session.scalars(
            select(Message.id)
            .where(Message.created_at < cutoff, ~waiting)
            .order_by(Message.created_at)
            .limit(PURGE_BATCH)
        )
    )
    if not ids:
        return 0
    # Children first, explicitly: the same on every database, whatever its foreign keys cascade.
    for model in (Delivery, Recipient, AudienceChunk, IdempotencyRecord):
        session.execute(
            delete(model).where(among(session, model.message_id, ids)).execution_options(synchronize_session=False)
        )
    session.execute(delete(Message).where(among(session, Message.id, ids)).execution_options(synchronize_session=False))
    audit.record(
        session=session,
        now=now,
        actor_id=None,
        actor_label="system",
        action="message.purge",
        target_type="message",
        target_id=None,
        meta=audit.SYSTEM,
        after={"messages": len(ids), "sent_before": cutoff.isoformat()},
    )
    return len(ids)
