"""The job code of the delivery pipeline: fan out, send, release held messages, escalate.

Every handler takes ids, reloads rows, returns quietly when they are gone, and is safe to run
twice: claims are conditional updates with leases, and rows are unique per (message, device).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session

from kernel.batch import gc_paused
from kernel.db import among, bulk_update, is_postgres, new_id, unit_of_work
from kernel.directory.models import Person
from kernel.settings import Queue
from notify import devices as device_service
from notify.leases import LeaseKeeper
from notify.messages import (
    Decided,
    decide,
    enqueue_sends,
    facts_for_stored,
    persist,
    queue_for,
    reasons_json,
)
from notify.models import AudienceChunk, Delivery, Device, Digest, Message, Recipient
from notify.outbox import JobContext, backoff
from notify.push import PushClient
from notify.transports.base import (
    PushRequest,
    PushResult,
    Sent,
    TokenInvalid,
    TransientFailure,
    WebPushKeys,
)
from policies import service as policies
from policies.types import Decision, Reason

log = logging.getLogger("vila.pipeline")

RELEASE_BATCH = 5000


def _log(message_id: uuid.UUID | str, text: str, *args: Any) -> None:
    log.info("message=%s " + text, message_id, *args, extra={"message_id": str(message_id)})


# Fan-out ---------------------------------------------------------------------------------------


def fan_out(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Decide one chunk of a large audience and write its recipients and deliveries."""
    message_id, chunk_no = uuid.UUID(payload["message_id"]), int(payload["chunk"])
    now = ctx.clock.now()
    with gc_paused(), unit_of_work(ctx.session_factory) as session:
        chunk = session.get(AudienceChunk, (message_id, chunk_no))
        message = session.get(Message, message_id)
        if chunk is None or message is None or chunk.done:
            return
        facts = facts_for_stored(session=session, message=message, at=now)
        ids = [uuid.UUID(p) for p in chunk.person_ids]
        decided = decide(session=session, person_ids=ids, facts=facts, at=now)
        pending = persist(session=session, message=message, decided=decided, facts=facts, now=now)
        chunk.done = True
        enqueue_sends(
            session=session, delivery_ids=pending, queue=queue_for(message.priority, message.recipients_total), now=now
        )
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
    _log(message_id, "chunk %d decided: %d recipients, %d to send now", chunk_no, len(ids), len(pending))


# Sending ---------------------------------------------------------------------------------------


def _push(ctx: JobContext) -> PushClient:
    push = ctx.resources.get("push")
    if push is None:
        raise RuntimeError("no push client configured in the job context (resources['push'])")
    return push  # type: ignore[no-any-return]


def _claim_deliveries(session: Session, ids: list[uuid.UUID], *, now: datetime, lease: timedelta) -> list[uuid.UUID]:
    stmt = (
        update(Delivery)
        .where(
            among(session, Delivery.id, ids),
            or_(
                and_(Delivery.state == "pending", or_(Delivery.not_before.is_(None), Delivery.not_before <= now)),
                and_(Delivery.state == "sending", Delivery.lease_until < now),
            ),
        )
        .values(state="sending", lease_until=now + lease, attempts=Delivery.attempts + 1)
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    )
    return list(session.scalars(stmt).all())


def _requests(session: Session, ids: list[uuid.UUID]) -> tuple[list[PushRequest], list[tuple[uuid.UUID, str, str]]]:
    """Build provider requests. Deliveries that must not go out are returned apart with the state
    they end in: to a device blocked, lost or removed since they were queued, or to a person who
    has been deactivated, they are dropped (checked here, at claim time, so nothing queued before
    the block slips through); to a provider no transport serves, they fail."""
    # Plain columns, not entities: a send batch is hundreds of rows and ORM loading would dominate.
    rows = session.execute(
        select(
            Delivery.id,
            Delivery.provider,
            Delivery.kind,
            Delivery.level,
            Delivery.content_free,
            Delivery.digest_id,
            Device.token,
            Device.platform,
            Device.webpush_p256dh,
            Device.webpush_auth,
            Message.id,
            Message.title,
            Message.body,
            Message.priority,
            Message.deep_link,
            Message.collapse_key,
            Message.expires_at,
            Message.category,
            Message.requires_ack,
            Person.language,
        )
        .join(Device, Device.id == Delivery.device_id)
        .join(Message, Message.id == Delivery.message_id)
        .outerjoin(Person, Person.id == Delivery.person_id)  # none for a shared ward tablet
        .where(among(session, Delivery.id, ids))
    ).all()
    digests = {
        d.id: d
        for d in session.scalars(select(Digest).where(Digest.id.in_({r.digest_id for r in rows if r.digest_id})))
    }
    requests: list[PushRequest] = []
    unserved: list[tuple[uuid.UUID, str, str]] = []
    unreachable = device_service.unreachable(session, ids)
    for r in rows:
        delivery_id, provider, kind, level, content_free, digest_id, token, platform, p256dh, auth = r[:10]
        message_id, title, body, priority, deep_link, collapse_key, expires_at, category, wants_ack, language = r[10:]
        if delivery_id in unreachable:
            unserved.append((delivery_id, "dropped", f"not sent: {unreachable[delivery_id]}"))
            continue
        if provider not in ("fcm", "apns", "webpush"):
            unserved.append((delivery_id, "failed", f"no transport for provider {provider}"))
            continue
        digest = digests.get(digest_id) if kind == "digest" and digest_id else None
        data = {"message_id": str(message_id)}
        if deep_link and not digest:
            data["link"] = deep_link
        if digest:
            data = {"digest_id": str(digest.id), "message_ids": ",".join(digest.message_ids)}
        requests.append(
            PushRequest(
                delivery_id=delivery_id,
                provider=provider,  # type: ignore[arg-type]  # checked above
                platform=platform,  # type: ignore[arg-type]  # the API admits only these
                token=token,
                priority=priority,
                kind="digest" if digest else "message",
                interruption_level=level or "active",  # type: ignore[arg-type]  # written by the engine
                title=digest.title if digest else title,
                body=digest.body if digest else body,
                message_id=str(digest.id if digest else message_id),
                data=data,
                collapse_key=None if digest else collapse_key,
                expires_at=None if digest else expires_at,
                sensitive=content_free and not digest,
                thread_id=category or "vila",
                language="en" if language == "en" else "sv",
                requires_ack=wants_ack and not digest,
                webpush_keys=WebPushKeys(p256dh, auth) if p256dh and auth else None,
            )
        )
    return requests, unserved


def send(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Send a batch of deliveries through the transport and record each result."""
    ids = [uuid.UUID(d) for d in payload["delivery_ids"]]
    now = ctx.clock.now()
    lease = ctx.lease or timedelta(seconds=ctx.settings.job_lease_s)
    with unit_of_work(ctx.session_factory) as session:
        claimed = _claim_deliveries(session, ids, now=now, lease=lease)
        if not claimed:
            return
        requests, unserved = _requests(session, claimed)
        for delivery_id, state, reason in unserved:
            session.execute(
                update(Delivery).where(Delivery.id == delivery_id).values(state=state, error=reason, lease_until=None)
            )
    with LeaseKeeper(lease, lambda: _renew_deliveries(ctx, [r.delivery_id for r in requests], lease), name="send"):
        results = _push(ctx).send(requests) if requests else []
    record_results(ctx, requests, results)


def _renew_deliveries(ctx: JobContext, ids: list[uuid.UUID], lease: timedelta) -> None:
    """Extend the lease of the deliveries this worker is still sending."""
    with unit_of_work(ctx.session_factory) as session:
        session.execute(
            update(Delivery)
            .where(among(session, Delivery.id, ids), Delivery.state == "sending")
            .values(lease_until=ctx.clock.now() + lease)
            .execution_options(synchronize_session=False)
        )


def record_results(ctx: JobContext, requests: list[PushRequest], results: list[PushResult]) -> None:
    """Write each result back in one statement: sent, later (not before the provider's
    Retry-After), uncertain (no answer in time: perhaps delivered, not sent again), failed for
    good, or pruned with its device."""
    now = ctx.clock.now()
    rows: list[dict[str, Any]] = []
    retry: list[uuid.UUID] = []
    retry_at = now
    retry_queue: Queue = "default"
    pruned: list[tuple[uuid.UUID, str]] = []
    failed = 0
    uncertain = 0
    for request, result in zip(requests, results, strict=True):
        row: dict[str, Any] = {
            "id": request.delivery_id,
            "lease_until": None,
            "not_before": None,
            "provider_message_id": None,
            "sent_at": None,
            "error": None,
        }
        if isinstance(result, Sent):
            row.update(state="sent", provider_message_id=result.provider_message_id[:200], sent_at=now)
        elif isinstance(result, TransientFailure) and result.uncertain:
            # No answer in time, even after one more try: it may be on the phone. Not sent again.
            row.update(state="uncertain", error=result.reason[:500])
            uncertain += 1
        elif isinstance(result, TransientFailure):
            when = now + timedelta(seconds=max(result.retry_after_s or 0.0, backoff(1, base_s=5.0, cap_s=300.0)))
            row.update(state="pending", not_before=when, error=result.reason[:500])
            retry.append(request.delivery_id)
            retry_at = max(retry_at, when)
            if queue_for(request.priority, 0) == "urgent":
                retry_queue = "urgent"
        elif isinstance(result, TokenInvalid):
            row.update(state="pruned", error=result.reason[:500])
            pruned.append((request.delivery_id, result.reason))
        else:
            row.update(state="failed", error=result.reason[:500])
            log.error("permanent push failure for delivery %s: %s", request.delivery_id, result.reason)
            failed += 1
        rows.append(row)
    with unit_of_work(ctx.session_factory) as session:
        bulk_update(session, Delivery, rows)
        for delivery_id, reason in pruned:
            device_id = session.scalar(select(Delivery.device_id).where(Delivery.id == delivery_id))
            if device_id is not None:
                device_service.prune(session=session, device_id=device_id, reason=reason, now=now)
        if retry:
            # One job for the batch's retries, at the latest instant any of them may go again.
            enqueue_sends(session=session, delivery_ids=retry, queue=retry_queue, now=now, not_before=retry_at)
    if requests:
        sent = len(rows) - len(retry) - len(pruned) - failed - uncertain
        log.info(
            "sent %d, pruned %d, failed %d, uncertain %d, retrying %d", sent, len(pruned), failed, uncertain, len(retry)
        )


# Holds and digests -----------------------------------------------------------------------------


def release_holds(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Release every held delivery that is due: re-decide, then one digest push per person."""
    now = ctx.clock.now()
    while True:
        with unit_of_work(ctx.session_factory) as session:
            stmt = (
                select(Delivery.id)
                .where(Delivery.state == "held", Delivery.not_before <= now)
                .order_by(Delivery.not_before)
                .limit(RELEASE_BATCH)
            )
            if is_postgres(session):
                stmt = stmt.with_for_update(skip_locked=True)
            ids = list(session.scalars(stmt).all())
            if not ids:
                return
            _release(ctx, session, ids, now=now)


def redecide_holds(ctx: JobContext, payload: dict[str, Any]) -> None:
    """A person's availability changed (a DND ended early, a shift was added): decide their held
    messages again now. Those still held get their new release instant."""
    person_id = uuid.UUID(payload["person_id"])
    now = ctx.clock.now()
    with unit_of_work(ctx.session_factory) as session:
        stmt = select(Delivery.id).where(Delivery.person_id == person_id, Delivery.state == "held")
        if is_postgres(session):
            stmt = stmt.with_for_update(skip_locked=True)
        ids = list(session.scalars(stmt).all())
        if ids:
            _release(ctx, session, ids, now=now)


def release_held(ctx: JobContext, session: Session, ids: list[uuid.UUID], *, now: datetime) -> None:
    """Decide these held deliveries again now (see `_release`); for callers outside this module."""
    _release(ctx, session, ids, now=now)


_RELEASED = Reason("released", "Släpps nu: mottagaren kan nås.", "Released now: the recipient can be reached.")


def _release(ctx: JobContext, session: Session, ids: list[uuid.UUID], *, now: datetime) -> None:
    held = session.scalars(select(Delivery).where(Delivery.id.in_(ids))).all()
    by_message: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for d in held:
        if d.person_id is not None:  # a shared ward tablet's delivery is never held
            by_message[d.message_id].add(d.person_id)
    messages = {m.id: m for m in session.scalars(select(Message).where(Message.id.in_(list(by_message))))}
    recipients = {
        (r.message_id, r.person_id): r
        for r in session.scalars(
            select(Recipient).where(
                Recipient.message_id.in_(list(by_message)),
                Recipient.person_id.in_({d.person_id for d in held}),
            )
        )
    }
    deliverable: dict[uuid.UUID, dict[uuid.UUID, Decision]] = defaultdict(dict)  # person -> message -> decision
    for message_id, people in by_message.items():
        message = messages.get(message_id)
        if message is None:
            continue
        facts = facts_for_stored(session=session, message=message, at=now)
        decided = decide(session=session, person_ids=sorted(people), facts=facts, at=now)
        for pid in people:
            decision = decided.decisions.get(pid)
            recipient = recipients.get((message_id, pid))
            if decision is None or recipient is None:
                continue
            mine = [d for d in held if d.message_id == message_id and d.person_id == pid]
            if decision.kind == "hold":
                for d in mine:
                    d.not_before = decision.release_at
                recipient.release_at, recipient.reasons = decision.release_at, reasons_json(decision)
            elif decision.kind == "drop":
                for d in mine:
                    d.state, d.error = "dropped", "expired while held"
                recipient.decision, recipient.reasons = "drop", reasons_json(decision)
            elif decision.kind == "reroute" and decision.reroute_to:
                for d in mine:
                    d.state, d.error = "dropped", "rerouted at release"
                recipient.decision, recipient.reroute_to = "reroute", decision.reroute_to
                recipient.reasons = reasons_json(decision)
                target = (
                    {decision.reroute_to: decided.decisions[decision.reroute_to]}
                    if decision.reroute_to in decided.decisions
                    else {}
                )
                if not target:
                    more = decide(
                        session=session,
                        person_ids=[decision.reroute_to],
                        facts=replace(facts, audience_role=None, cover=()),
                        at=now,
                    )
                    target, pols = more.decisions, more.policies
                else:
                    pols = decided.policies
                pending = persist(session=session, message=message, decided=Decided(target, pols), facts=facts, now=now)
                enqueue_sends(session=session, delivery_ids=pending, queue=queue_for(message.priority, 0), now=now)
            else:
                deliverable[pid][message_id] = decision
                recipient.decision = "deliver"
                recipient.reasons = [*recipient.reasons, *reasons_json(Decision("deliver", (_RELEASED,)))]
                if decision.ledger is not None and pid in decided.policies:
                    policies.record_contact(
                        session=session,
                        person_id=pid,
                        decision=decision,
                        message=facts,
                        policy=decided.policies[pid],
                        at=now,
                    )
    to_send: list[uuid.UUID] = []
    languages = dict(session.execute(select(Person.id, Person.language).where(Person.id.in_(list(deliverable)))).all())
    for pid, decisions in deliverable.items():
        mine = [d for d in held if d.person_id == pid and d.message_id in decisions]
        if len(decisions) == 1:
            for d in mine:
                d.state, d.not_before = "pending", None
                d.level = decisions[d.message_id].level or d.level
                to_send.append(d.id)
            continue
        ordered = sorted(decisions, key=lambda m: messages[m].created_at)
        title, body = _digest_text([messages[m] for m in ordered], languages.get(pid, "sv"))
        digest = Digest(
            id=new_id(),
            person_id=pid,
            message_ids=[str(m) for m in ordered],
            title=title,
            body=body,
            created_at=now,
        )
        session.add(digest)
        per_device: dict[uuid.UUID, list[Delivery]] = defaultdict(list)
        for d in mine:
            per_device[d.device_id].append(d)
        for device_deliveries in per_device.values():
            device_deliveries.sort(key=lambda d: messages[d.message_id].created_at)
            carrier = device_deliveries[-1]
            for d in device_deliveries:
                d.digest_id, d.not_before = digest.id, None
                d.state = "digested"
            carrier.state, carrier.kind, carrier.level = "pending", "digest", "active"
            to_send.append(carrier.id)
        _log(digest.id, "digest for person %s: %d messages", pid, len(ordered))
    session.flush()
    enqueue_sends(session=session, delivery_ids=to_send, queue="default", now=now)


def _digest_text(messages: list[Message], language: str) -> tuple[str, str]:
    n = len(messages)
    labels = sorted({m.audience_label for m in messages})
    if language == "en":
        source = f"from {labels[0]}" if len(labels) == 1 else f"from {len(labels)} senders"
        return f"{n} messages {source}", f"{n} messages {source} while you were off. Latest: {messages[-1].title}"
    source = f"från {labels[0]}" if len(labels) == 1 else f"från {len(labels)} avsändare"
    return f"{n} meddelanden {source}", f"{n} meddelanden {source} medan du var ledig. Senaste: {messages[-1].title}"


# Acknowledgement and escalation ----------------------------------------------------------------


def _escalation_reason(name: str, minutes: int) -> Reason:
    return Reason(
        "escalation",
        f"Eskalerat: {name} har inte kvitterat inom {minutes} min.",
        f"Escalated: {name} did not acknowledge within {minutes} min.",
    )


def escalate(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Urgent messages that ask for an acknowledgement and got none in time go further: to the
    next person on the roster when sent to a role, otherwise back to the sender."""
    now = ctx.clock.now()
    with unit_of_work(ctx.session_factory) as session:
        rows = session.execute(
            select(Recipient, Message, Person.name)
            .join(Message, Message.id == Recipient.message_id)
            .join(Person, Person.id == Recipient.person_id)
            .where(
                Message.requires_ack.is_(True),
                Recipient.decision == "deliver",
                Recipient.acked_at.is_(None),
                Recipient.escalated_at.is_(None),
                Recipient.decided_at > now - timedelta(days=1),
            )
        ).all()
        for recipient, message, name in rows:
            timeout = timedelta(seconds=message.ack_timeout_s or 900)
            if recipient.decided_at + timeout > now:
                continue
            recipient.escalated_at = now
            target = _escalation_target(session, message, recipient.person_id, now)
            if target is None or target == recipient.person_id:
                log.warning("message=%s no one to escalate to from %s", message.id, recipient.person_id)
                continue
            facts = replace(facts_for_stored(session=session, message=message, at=now), audience_role=None, cover=())
            decided = decide(session=session, person_ids=[target], facts=facts, at=now)
            reason = _escalation_reason(name, int(timeout.total_seconds() // 60))
            decided.decisions = {pid: replace(d, reasons=(reason, *d.reasons)) for pid, d in decided.decisions.items()}
            pending = persist(session=session, message=message, decided=decided, facts=facts, now=now)
            enqueue_sends(session=session, delivery_ids=pending, queue="urgent", now=now)
            _log(message.id, "escalated from %s to %s", recipient.person_id, target)


def _escalation_target(session: Session, message: Message, person_id: uuid.UUID, now: datetime) -> uuid.UUID | None:
    role = message.audience.get("resolved_role")
    if role:
        for slot in policies.cover_for_role(session=session, role=role, at=now):
            if slot.person_id is not None and slot.person_id != person_id:
                return slot.person_id
        return None
    return message.sender_id


# Devices ---------------------------------------------------------------------------------------


def mark_stale_devices(ctx: JobContext, payload: dict[str, Any]) -> None:
    with unit_of_work(ctx.session_factory) as session:
        n = device_service.mark_stale(
            session=session, now=ctx.clock.now(), after=timedelta(days=ctx.settings.device_stale_days)
        )
    if n:
        log.info("%d device(s) went stale", n)
