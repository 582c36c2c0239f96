"""Sending a message: check it, resolve its audience, store it, and decide it for that audience,
inline for a small audience or in chunked `notify.fan_out` jobs for a large one.

The send request commits the message and its resolved audience before it answers. Either way
every recipient is decided through the delivery path (`notify.delivery.deliver`).
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, insert, update
from sqlalchemy.orm import Session

from kernel.auth.service import Principal
from kernel.batch import gc_paused
from kernel.db import new_id, unit_of_work
from kernel.errors import InvalidInput
from kernel.jobs import FanOut
from kernel.settings import Settings
from notify.audience import Resolved, resolve
from notify.delivery import Decided, deliver, enqueue_sends, facts_for_message, facts_for_stored, queue_for
from notify.fleet import shared
from notify.idempotency import request_hash, reserve
from notify.models import AudienceChunk, IdempotencyRecord, Message
from notify.outbox import JobContext, enqueue
from notify.schemas import Audience, DecisionCounts, MessageCreate, MessageSizeProbe, PushSize
from notify.transports.mapping import PAYLOAD_LIMIT_BYTES, check_fits, largest_push
from policies.core.types import Decision

log = logging.getLogger("vila.pipeline")


def validate(body: MessageCreate, *, now: datetime) -> None:
    """Refuse up front what could not be sent: an expiry in the past, a push too large."""
    if body.expires_at is not None and body.expires_at <= now:
        raise InvalidInput("expires_at is in the past")
    check_fits(title=body.title, body=body.body, data=_data(body, uuid.UUID(int=0)), now=now)


def push_size(body: MessageSizeProbe, *, now: datetime) -> PushSize:
    """The bytes a send of this title, text and link would push, counted as `validate` counts."""
    data = {"message_id": str(uuid.UUID(int=0))}
    if body.deep_link:
        data["link"] = body.deep_link
    if body.category:
        data["category"] = body.category
    sizes = largest_push(title=body.title, body=body.body, data=data, now=now)
    worst = max(sizes.values())
    return PushSize(bytes=worst, limit=PAYLOAD_LIMIT_BYTES, fits=worst <= PAYLOAD_LIMIT_BYTES)


def _data(body: MessageCreate, message_id: uuid.UUID) -> dict[str, str]:
    data = {"message_id": str(message_id)}
    if body.deep_link:
        data["link"] = body.deep_link
    if body.category:
        data["category"] = body.category
    return data


def counts(decisions: Iterable[Decision]) -> DecisionCounts:
    c = Counter(d.kind for d in decisions)
    return DecisionCounts(deliver=c["deliver"], hold=c["hold"], reroute=c["reroute"], drop=c["drop"])


def counts_of(decided: Decided) -> DecisionCounts:
    return counts(decided.decisions.values())


@dataclass
class Accepted:
    message: Message
    decided: Decided | None
    send_delivery_ids: list[uuid.UUID]
    resolved: Resolved
    idempotency: IdempotencyRecord | None = None


def accept(
    *,
    session: Session,
    body: MessageCreate,
    sender: Principal,
    now: datetime,
    settings: Settings,
    idempotency_key: str | None = None,
    request_digest: str = "",
) -> Accepted:
    """Commit-ready: the message, its audience, and (for small audiences) decisions and deliveries."""
    validate(body, now=now)
    resolved = resolve(session=session, audience=body.audience, sender=sender, at=now, priority=body.priority)
    message = new_message(body=body, sender=sender, label=resolved.label, now=now, idempotency_key=idempotency_key)
    session.add(message)
    session.flush()
    reserved = None
    if idempotency_key:
        reserved = reserve(
            session=session,
            sender_id=sender.person_id,
            key=idempotency_key,
            digest=request_digest or request_hash(body),
            message_id=message.id,
            now=now,
        )
    accepted = dispatch(session=session, message=message, resolved=resolved, now=now, settings=settings)
    accepted.idempotency = reserved
    return accepted


def new_message(
    *, body: MessageCreate, sender: Principal, label: str, now: datetime, idempotency_key: str | None
) -> Message:
    """The message row as the sender wrote it; `dispatch` adds what resolving its audience gives."""
    return Message(
        id=new_id(),
        sender_id=sender.person_id,
        title=body.title,
        body=body.body,
        priority=body.priority,
        category=body.category,
        expires_at=body.expires_at,
        collapse_key=body.collapse_key,
        deep_link=body.deep_link,
        requires_ack=body.requires_ack,
        ack_timeout_s=body.ack_timeout_minutes * 60 if body.requires_ack else None,
        sensitive=body.sensitive,
        override_reason=body.override_reason,
        audience=body.audience.model_dump(mode="json"),
        audience_label=label,
        sender_roles=sorted(sender.roles),
        state="accepted",
        recipients_total=0,
        idempotency_key=idempotency_key,
        created_at=now,
    )


def dispatch(*, session: Session, message: Message, resolved: Resolved, now: datetime, settings: Settings) -> Accepted:
    """Decide a stored message for its resolved audience now: at acceptance, or at its send instant.
    Up to `VILA_FANOUT_INLINE_MAX` recipients are decided here; more in fan-out jobs of
    `VILA_FANOUT_CHUNK` recipients each."""
    audience = Audience.model_validate(given_audience(message))
    message.audience_label, message.recipients_total = resolved.label, len(resolved.person_ids)
    if resolved.role:
        message.audience = {**message.audience, "resolved_role": resolved.role}
    # Shared ward tablets of the units and roles named: deliveries of their own, sent at once.
    tablets = shared.address(session=session, message=message, audience=audience, now=now)
    enqueue_sends(session=session, delivery_ids=tablets, queue=queue_for(message.priority, 0, settings), now=now)
    ids = resolved.person_ids
    size = settings.fanout_chunk
    chunks = [ids[i : i + size] for i in range(0, len(ids), size)]
    message.chunks_total = len(chunks)
    if len(ids) <= settings.fanout_inline_max:
        session.add(AudienceChunk(message_id=message.id, chunk_no=0, person_ids=[str(p) for p in ids], done=True))
        facts = facts_for_message(message, resolved.role, resolved.cover)
        delivered = deliver(
            session=session, message=message, person_ids=ids, facts=facts, audience=len(ids), settings=settings, now=now
        )
        message.state = "decided"
        return Accepted(
            message=message, decided=delivered.decided, send_delivery_ids=delivered.pending, resolved=resolved
        )
    session.execute(
        insert(AudienceChunk),
        [
            {"message_id": message.id, "chunk_no": n, "person_ids": [str(p) for p in c], "done": False}
            for n, c in enumerate(chunks)
        ],
    )
    queue = queue_for(message.priority, len(ids), settings)
    for n in range(len(chunks)):
        enqueue(session, FanOut(message_id=message.id, chunk=n), queue=queue, now=now)
    return Accepted(message=message, decided=None, send_delivery_ids=[], resolved=resolved)


def given_audience(message: Message) -> dict[str, Any]:
    """The audience as it was given (without what resolving it added)."""
    return {k: v for k, v in message.audience.items() if k != "resolved_role"}


def fan_out(ctx: JobContext, payload: FanOut) -> None:
    """Decide one chunk of a large audience and write its recipients and deliveries."""
    message_id, chunk_no = payload.message_id, payload.chunk
    now = ctx.clock.now()
    with gc_paused(), unit_of_work(ctx.session_factory) as session:
        chunk = session.get(AudienceChunk, (message_id, chunk_no))
        message = session.get(Message, message_id)
        if chunk is None or message is None or chunk.done:
            return
        facts = facts_for_stored(session=session, message=message, at=now)
        ids = [uuid.UUID(p) for p in chunk.person_ids]
        delivered = deliver(
            session=session,
            message=message,
            person_ids=ids,
            facts=facts,
            audience=message.recipients_total,
            settings=ctx.settings,
            now=now,
        )
        chunk.done = True
    with unit_of_work(ctx.session_factory) as session:
        session.execute(
            update(Message)
            .where(
                Message.id == message_id,
                ~exists().where(AudienceChunk.message_id == message_id, AudienceChunk.done.is_(False)),
            )
            .values(state="decided")
            .execution_options(synchronize_session=False)
        )
    log.info(
        "message=%s chunk %d decided: %d recipients, %d to send now",
        message_id,
        chunk_no,
        len(ids),
        len(delivered.pending),
        extra={"message_id": str(message_id)},
    )
