"""The send job: claim deliveries with a lease, push them through the transport, record each result.

The fan-out is `notify.sending`, the release `notify.release`.

Every handler takes ids, reloads rows, returns quietly when they are gone, and is safe to run
twice: claims are conditional updates with leases, and rows are unique per (message, device).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from kernel.db import among, bulk_update, unit_of_work
from kernel.directory.models import Person
from kernel.jobs import MarkStaleDevices, SendDeliveries
from kernel.settings import Queue
from notify import devices as device_service
from notify.delivery import enqueue_sends, queue_for
from notify.digests import Item, digest_text
from notify.leases import LeaseKeeper
from notify.models import Delivery, Device, Digest, Message
from notify.outbox import JobContext, backoff
from notify.push import PushClient
from notify.recall import notice_text as recall_notice
from notify.transports.base import (
    PushRequest,
    PushResult,
    Sent,
    TokenInvalid,
    TransientFailure,
    WebPushKeys,
)

log = logging.getLogger("vila.pipeline")


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
    # Plain columns through Core, not the ORM: a send batch is hundreds of rows and the ORM's row
    # processing would dominate.
    rows = (
        session.connection()
        .execute(
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
                Message.recalled_at.is_not(None),
            )
            .join(Device, Device.id == Delivery.device_id)
            .join(Message, Message.id == Delivery.message_id)
            .outerjoin(Person, Person.id == Delivery.person_id)  # none for a shared ward tablet
            .where(among(session, Delivery.id, ids))
        )
        .all()
    )
    # Plain columns here too: a release sends batches of digests, one each.
    digest_ids = list({r.digest_id for r in rows if r.digest_id})
    columns = (Digest.id, Digest.person_id, Digest.title, Digest.body, Digest.message_ids)
    digests: dict[uuid.UUID, Any] = {
        d.id: d for d in session.connection().execute(select(*columns).where(among(session, Digest.id, digest_ids)))
    }
    digests = _without_recalled(session, digests)
    requests: list[PushRequest] = []
    unserved: list[tuple[uuid.UUID, str, str]] = []
    unreachable = device_service.unreachable(session, ids)
    for r in rows:
        delivery_id, provider, kind, level, content_free, digest_id, token, platform, p256dh, auth = r[:10]
        (
            message_id,
            title,
            body,
            priority,
            deep_link,
            collapse_key,
            expires_at,
            category,
            wants_ack,
            language,
            recalled,
        ) = r[10:]
        if delivery_id in unreachable:
            unserved.append((delivery_id, "dropped", f"not sent: {unreachable[delivery_id]}"))
            continue
        if provider not in ("fcm", "apns", "webpush"):
            unserved.append((delivery_id, "failed", f"no transport for provider {provider}"))
            continue
        digest = digests.get(digest_id) if kind == "digest" and digest_id else None
        if (recalled and kind == "message") or (kind == "digest" and digest is None):
            unserved.append((delivery_id, "recalled", "message recalled"))  # the last gate of a recall
            continue
        if kind == "recall":
            title, body = recall_notice(title, language=language or "sv", content_free=content_free)
        data = {"message_id": str(message_id)}
        if deep_link and not digest and kind == "message":
            data["link"] = deep_link
        if digest:
            # The count, never the ids: a digest push has the same size whatever it stands for.
            data = {"digest_id": str(digest.id), "count": str(len(digest.message_ids))}
        requests.append(
            PushRequest(
                delivery_id=delivery_id,
                provider=provider,
                platform=platform,
                token=token,
                priority=priority,
                kind="digest" if digest else "recall" if kind == "recall" else "message",
                interruption_level=level or "active",  # type: ignore[arg-type]  # written by the engine
                title=digest.title if digest else title,
                body=digest.body if digest else body,
                message_id=str(digest.id if digest else message_id),
                data=data,
                collapse_key=None if digest else collapse_key,
                expires_at=expires_at if kind == "message" else None,
                sensitive=content_free and kind == "message",
                thread_id=category or "vila",
                language="en" if language == "en" else "sv",
                requires_ack=wants_ack and kind == "message",
                webpush_keys=WebPushKeys(p256dh, auth) if p256dh and auth else None,
            )
        )
    return requests, unserved


def send(ctx: JobContext, payload: SendDeliveries) -> None:
    """Send a batch of deliveries through the transport and record each result."""
    ids = list(payload.delivery_ids)
    now = ctx.clock.now()
    lease = ctx.lease or timedelta(seconds=ctx.settings.job_lease_s)
    with unit_of_work(ctx.session_factory) as session:
        claimed = _claim_deliveries(session, ids, now=now, lease=lease)
        if not claimed:
            return
        requests = _sendable(session, claimed)
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


def send_claimed(ctx: JobContext, payload: SendDeliveries) -> None:
    """`send`, for deliveries the caller's own transaction already claimed (state sending, with
    its lease): the release's digests. Should this worker die, their lease and the job's run
    out together, and the job's next run claims them as `send` does."""
    with unit_of_work(ctx.session_factory) as session:
        requests = _sendable(session, list(payload.delivery_ids))
    results = _push(ctx).send(requests) if requests else []
    record_results(ctx, requests, results)


def _sendable(session: Session, claimed: list[uuid.UUID]) -> list[PushRequest]:
    """The provider requests of these claimed deliveries; those that must not go out are settled."""
    requests, unserved = _requests(session, claimed)
    for delivery_id, state, reason in unserved:
        session.execute(
            update(Delivery).where(Delivery.id == delivery_id).values(state=state, error=reason, lease_until=None)
        )
    return requests


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
            row.update(
                state="withdrawn" if request.kind == "recall" else "sent",
                provider_message_id=result.provider_message_id[:200],
                sent_at=now,
            )
        elif isinstance(result, TransientFailure) and result.uncertain:
            # No answer in time, even after one more try: it may be on the phone. Not sent again.
            row.update(state="uncertain", error=result.reason[:500])
            uncertain += 1
        elif isinstance(result, TransientFailure):
            when = now + timedelta(seconds=max(result.retry_after_s or 0.0, backoff(1, base_s=5.0, cap_s=300.0)))
            row.update(state="pending", not_before=when, error=result.reason[:500])
            retry.append(request.delivery_id)
            retry_at = max(retry_at, when)
            if queue_for(request.priority, 0, ctx.settings) == "urgent":
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


def _without_recalled(session: Session, digests: dict[uuid.UUID, Any]) -> dict[uuid.UUID, Any]:
    """Digests as they may still go out: a recalled message leaves its digest (whose text is
    written again from the others), and a digest of only recalled messages is not sent at all."""
    ids = {uuid.UUID(m) for d in digests.values() for m in d.message_ids}
    if not ids:
        return digests
    recalled = set(
        session.scalars(
            select(Message.id).where(among(session, Message.id, list(ids)), Message.recalled_at.is_not(None))
        )
    )
    if not recalled:
        return digests
    left_of = {i: [m for m in d.message_ids if uuid.UUID(m) not in recalled] for i, d in digests.items()}
    changed = [i for i, left in left_of.items() if left and len(left) < len(digests[i].message_ids)]
    # What the rewritten digests need, in two queries for the batch, not two per digest.
    wanted = [uuid.UUID(m) for i in changed for m in left_of[i]]
    messages = {m.id: m for m in session.scalars(select(Message).where(among(session, Message.id, wanted)))}
    owners = [digests[i].person_id for i in changed]
    languages = dict(session.execute(select(Person.id, Person.language).where(among(session, Person.id, owners))).all())
    kept: dict[uuid.UUID, Any] = {}
    for digest_id, digest in digests.items():
        left = left_of[digest_id]
        if len(left) == len(digest.message_ids):
            kept[digest_id] = digest
        elif left:
            rest = sorted((messages[uuid.UUID(m)] for m in left), key=lambda m: m.created_at)
            items = [Item(title=m.title, label=m.audience_label, private=m.sensitive) for m in rest]
            title, body = digest_text(items, languages.get(digest.person_id) or "sv")
            session.execute(
                update(Digest).where(Digest.id == digest_id).values(title=title, body=body, message_ids=left)
            )
            kept[digest_id] = SimpleNamespace(
                id=digest_id, person_id=digest.person_id, title=title, body=body, message_ids=left
            )
    return kept


# Devices ---------------------------------------------------------------------------------------


def mark_stale_devices(ctx: JobContext, payload: MarkStaleDevices) -> None:
    with unit_of_work(ctx.session_factory) as session:
        n = device_service.mark_stale(
            session=session, now=ctx.clock.now(), after=timedelta(days=ctx.settings.device_stale_days)
        )
    if n:
        log.info("%d device(s) went stale", n)
