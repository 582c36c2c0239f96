"""Messages: preview, accept, decide per recipient, persist deliveries, status and inbox.

The send request commits the message and its resolved audience before it answers. Small audiences
are decided in that transaction; larger ones in chunked `notify.fan_out` jobs. Either way each
recipient gets one `Recipient` row (the decision and its reasons) and one `Delivery` row per
sendable device, unique per (message, device).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import pytz
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kernel import formats
from kernel.auth.service import Principal, require_person_rights
from kernel.db import among, bulk_insert, new_id
from kernel.directory.models import Person
from kernel.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from kernel.jobs import FanOut, SendDeliveries
from kernel.settings import Queue
from notify import devices as device_service
from notify.audience import Resolved, resolve
from notify.fleet import shared
from notify.models import AudienceChunk, Delivery, IdempotencyRecord, Message, Recipient
from notify.outbox import Job, enqueue
from notify.release_timing import schedule_wake
from notify.schemas import (
    Audience,
    DecisionCounts,
    DeliveryCounts,
    InboxItem,
    MessageCreate,
    MessageRead,
    MessageSizeProbe,
    MessageStatus,
    Preview,
    PushSize,
    ReasonRead,
    RecipientDecision,
    RecipientStatus,
)
from notify.transports.mapping import PAYLOAD_LIMIT_BYTES, check_fits, largest_push
from policies import rest_records
from policies import service as policies
from policies.core.engine import decide_many
from policies.core.types import Decision, MessageFacts, PolicyParams

INLINE_MAX = 1000  # default: recipients decided inside the send request; more go to fan-out jobs
CHUNK = 5000  # default: recipients per fan-out job
SEND_BATCH = 500  # deliveries per send job
IDEMPOTENCY_WINDOW = timedelta(hours=24)

_HOLD_LABELS = {
    "leave": ("ledig", "on leave"),
    "dnd": ("med patient", "with a patient"),
    "weekly_rest": ("veckovila", "weekly rest"),
    "daily_rest": ("dygnsvila", "daily rest"),
    "quiet_hours": ("tysta timmar", "quiet hours"),
    "off_duty": ("ledig från arbetet", "off duty"),
}


def queue_for(priority: str, recipients: int) -> Queue:
    """Urgent work never waits behind a broadcast: it has a queue of its own."""
    if priority in ("urgent", "emergency"):
        return "urgent"
    if priority == "info" or recipients > INLINE_MAX:
        return "bulk"
    return "default"


def reasons_json(decision: Decision) -> list[dict[str, str]]:
    return [{"rule": r.rule, "sv": r.sv, "en": r.en} for r in decision.reasons]


def reasons_read(reasons: Iterable[Mapping[str, str]], language: str) -> list[ReasonRead]:
    return [
        ReasonRead(rule=r["rule"], sv=r["sv"], en=r["en"], text=r["en"] if language == "en" else r["sv"])
        for r in reasons
    ]


def facts_of(
    *,
    priority: str,
    sender_id: uuid.UUID,
    sender_roles: Iterable[str],
    override_reason: str | None,
    expires_at: datetime | None,
    resolved_role: str | None = None,
    cover: tuple[Any, ...] = (),
    message_id: uuid.UUID | None = None,
) -> MessageFacts:
    return MessageFacts(
        priority=priority,  # type: ignore[arg-type]
        sender_id=sender_id,
        sender_roles=frozenset(sender_roles),
        override_reason=override_reason,
        expires_at=expires_at,
        audience_role=resolved_role,
        cover=cover,
        message_id=message_id,
    )


@dataclass
class Decided:
    decisions: dict[uuid.UUID, Decision]
    policies: dict[uuid.UUID, PolicyParams]


def decide(*, session: Session, person_ids: Sequence[uuid.UUID], facts: MessageFacts, at: datetime) -> Decided:
    """Decide for every person; a reroute brings the covering person in as a recipient too."""
    states = policies.load_states(session=session, person_ids=person_ids, at=at)
    pols = policies.policies_for(session=session, person_ids=person_ids, at=at)
    decisions = decide_many(states.values(), facts, pols, at)
    targets = {d.reroute_to for d in decisions.values() if d.kind == "reroute" and d.reroute_to} - set(decisions)
    if targets:
        direct = replace(facts, audience_role=None, cover=())
        more_states = policies.load_states(session=session, person_ids=targets, at=at)
        more_pols = policies.policies_for(session=session, person_ids=targets, at=at)
        decisions.update(decide_many(more_states.values(), direct, more_pols, at))
        pols.update(more_pols)
    return Decided(decisions=decisions, policies=pols)


def _counts(decisions: Iterable[Decision]) -> DecisionCounts:
    c = Counter(d.kind for d in decisions)
    return DecisionCounts(deliver=c["deliver"], hold=c["hold"], reroute=c["reroute"], drop=c["drop"])


def _local(instant: datetime, zone: str) -> datetime:
    return pytz.timezone(zone).normalize(instant.astimezone(pytz.timezone(zone)))


def summary(decisions: Mapping[uuid.UUID, Decision], *, language: str, zone: str, at: datetime) -> list[str]:
    """Readable lines: "31 now, 12 held until 07:00 (daily rest), 2 with a patient until 14:30",
    in the reader's language with times in their zone (`kernel.formats`)."""
    language = formats.language_of(language)
    en = language == "en"
    lines: list[str] = []
    c = Counter(d.kind for d in decisions.values())
    if c["deliver"]:
        lines.append(f"{c['deliver']} {'now' if en else 'nu'}")
    held: Counter[tuple[str, str]] = Counter()
    today = _local(at, zone).date()
    when_of: dict[datetime, str] = {}  # thousands of holds share a few release instants: format each once
    for d in decisions.values():
        if d.kind != "hold" or d.release_at is None:
            continue
        rule = next((r.rule for r in d.reasons if r.rule in _HOLD_LABELS), "hold")
        label = _HOLD_LABELS.get(rule, ("väntar", "waiting"))[1 if en else 0]
        when = when_of.get(d.release_at)
        if when is None:
            when = formats.instant(d.release_at, zone, language, today=today)
            when_of[d.release_at] = when
        held[(when, label)] += 1
    for (when, label), n in sorted(held.items(), key=lambda kv: -kv[1]):
        lines.append(f"{n} {'held until' if en else 'väntar till'} {when} ({label})")
    if c["reroute"]:
        lines.append(f"{c['reroute']} {'rerouted to whoever is on call' if en else 'går till den som har jour'}")
    if c["drop"]:
        lines.append(f"{c['drop']} {'not sent (would expire first)' if en else 'skickas inte (går ut innan)'}")
    return lines


def _validate(body: MessageCreate, *, now: datetime) -> None:
    if body.expires_at is not None and body.expires_at <= now:
        raise InvalidInput("expires_at is in the past")
    check_fits(title=body.title, body=body.body, data=_data(body, uuid.UUID(int=0)), now=now)


def push_size(body: MessageSizeProbe, *, now: datetime) -> PushSize:
    """The bytes a send of this title, text and link would push, counted as `_validate` counts."""
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


def zone_of(session: Session, person_id: uuid.UUID) -> str:
    return session.scalar(select(Person.timezone).where(Person.id == person_id)) or "Europe/Stockholm"


def preview(
    *,
    session: Session,
    body: MessageCreate,
    sender: Principal,
    at: datetime,
    limit: int = 500,
    language: str | None = None,
) -> Preview:
    """What a send would do now, per recipient, without sending anything; its words in `language`
    (the page's) or else the sender's."""
    _validate(body, now=at)
    resolved = resolve(session=session, audience=body.audience, sender=sender, at=at, priority=body.priority)
    facts = facts_of(
        priority=body.priority,
        sender_id=sender.person_id,
        sender_roles=sender.roles,
        override_reason=body.override_reason,
        expires_at=body.expires_at,
        resolved_role=resolved.role,
        cover=resolved.cover,
    )
    decided = decide(session=session, person_ids=resolved.person_ids, facts=facts, at=at)
    return _preview_of(
        session,
        decided.decisions,
        sender=sender,
        at=at,
        limit=limit,
        total=len(resolved.person_ids),
        language=language or sender.language,
    )


def _preview_of(
    session: Session,
    decisions: Mapping[uuid.UUID, Decision],
    *,
    sender: Principal,
    at: datetime,
    limit: int,
    total: int,
    language: str,
) -> Preview:
    shown = list(decisions)[:limit]
    names = dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(shown))).all())
    devices = device_service.sendable(session=session, person_ids=shown)
    order = {"hold": 0, "reroute": 1, "drop": 2, "deliver": 3}
    recipients = [
        RecipientDecision(
            person_id=pid,
            name=names.get(pid, ""),
            decision=d.kind,
            level=d.level,
            release_at=d.release_at,
            reroute_to=d.reroute_to,
            devices=len(devices.get(pid, [])),
            reasons=reasons_read(reasons_json(d), language),
        )
        for pid, d in sorted(
            ((p, decisions[p]) for p in shown), key=lambda kv: (order[kv[1].kind], names.get(kv[0], ""))
        )
    ]
    return Preview(
        recipients_total=total,
        counts=_counts(decisions.values()),
        summary=summary(decisions, language=language, zone=zone_of(session, sender.person_id), at=at),
        recipients=recipients,
        breaks_rest=sum(1 for d in decisions.values() if d.ledger is not None and d.ledger.restarts_rest),
    )


def request_hash(body: MessageCreate) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def replay(*, session: Session, sender_id: uuid.UUID, key: str, digest: str, now: datetime) -> dict[str, Any] | None:
    """The first answer for this Idempotency-Key, or None; another body under the same key is a 409."""
    record = session.get(IdempotencyRecord, (sender_id, key))
    if record is None or record.created_at < now - IDEMPOTENCY_WINDOW:
        return None
    if record.request_hash != digest:
        raise Conflict("this Idempotency-Key was used for a different message in the last 24 hours")
    return record.response


class KeyTaken(Exception):
    """Another request reserved this Idempotency-Key first; its transaction decides the answer."""


def reserve(
    *, session: Session, sender_id: uuid.UUID, key: str, digest: str, message_id: uuid.UUID, now: datetime
) -> IdempotencyRecord:
    """Reserve the key in the sending transaction. The primary key (sender, key) is the lock: a
    concurrent request with the same key waits on this insert until the first commits, then fails
    with KeyTaken, so two messages under one key cannot both commit."""
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.sender_id == sender_id,
            IdempotencyRecord.key == key,
            IdempotencyRecord.created_at < now - IDEMPOTENCY_WINDOW,
        )
    )
    record = IdempotencyRecord(
        sender_id=sender_id, key=key, request_hash=digest, message_id=message_id, response={}, created_at=now
    )
    session.add(record)
    try:
        session.flush()
    except IntegrityError as exc:
        raise KeyTaken(key) from exc
    return record


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
    idempotency_key: str | None = None,
    request_digest: str = "",
    inline_max: int = INLINE_MAX,
    chunk_size: int = CHUNK,
) -> Accepted:
    """Commit-ready: the message, its audience, and (for small audiences) decisions and deliveries."""
    _validate(body, now=now)
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
    accepted = dispatch(
        session=session, message=message, resolved=resolved, now=now, inline_max=inline_max, chunk_size=chunk_size
    )
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


def dispatch(
    *,
    session: Session,
    message: Message,
    resolved: Resolved,
    now: datetime,
    inline_max: int = INLINE_MAX,
    chunk_size: int = CHUNK,
) -> Accepted:
    """Decide a stored message for its resolved audience now: at acceptance, or at its send instant."""
    audience = Audience.model_validate(_audience(message))
    message.audience_label, message.recipients_total = resolved.label, len(resolved.person_ids)
    if resolved.role:
        message.audience = {**message.audience, "resolved_role": resolved.role}
    # Shared ward tablets of the units and roles named: deliveries of their own, sent at once.
    tablets = shared.address(session=session, message=message, audience=audience, now=now)
    enqueue_sends(session=session, delivery_ids=tablets, queue=queue_for(message.priority, 0), now=now)
    ids = resolved.person_ids
    chunks = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
    message.chunks_total = len(chunks)
    queue = queue_for(message.priority, len(ids))
    if len(ids) <= inline_max:
        session.add(AudienceChunk(message_id=message.id, chunk_no=0, person_ids=[str(p) for p in ids], done=True))
        facts = _facts_for_message(message, resolved.role, resolved.cover)
        decided = decide(session=session, person_ids=ids, facts=facts, at=now)
        pending = persist(session=session, message=message, decided=decided, facts=facts, now=now)
        message.state = "decided"
        enqueue_sends(session=session, delivery_ids=pending, queue=queue, now=now)
        return Accepted(message=message, decided=decided, send_delivery_ids=pending, resolved=resolved)
    session.execute(
        insert(AudienceChunk),
        [
            {"message_id": message.id, "chunk_no": n, "person_ids": [str(p) for p in c], "done": False}
            for n, c in enumerate(chunks)
        ],
    )
    for n in range(len(chunks)):
        enqueue(session, FanOut(message_id=message.id, chunk=n), queue=queue, now=now)
    return Accepted(message=message, decided=None, send_delivery_ids=[], resolved=resolved)


def _audience(message: Message) -> dict[str, Any]:
    """The audience as it was given (without what resolving it added)."""
    return {k: v for k, v in message.audience.items() if k != "resolved_role"}


def _facts_for_message(message: Message, role: str | None, cover: tuple[Any, ...]) -> MessageFacts:
    return facts_of(
        priority=message.priority,
        sender_id=message.sender_id,
        sender_roles=message.sender_roles,
        override_reason=message.override_reason,
        expires_at=message.expires_at,
        resolved_role=role,
        cover=cover,
        message_id=message.id,
    )


def facts_for_stored(*, session: Session, message: Message, at: datetime) -> MessageFacts:
    """The engine's facts for a stored message at a later instant (a fan-out job, a release)."""
    role = message.audience.get("resolved_role")
    cover = policies.cover_for_role(session=session, role=role, at=at) if role else ()
    return _facts_for_message(message, role, cover)


def persist(
    *, session: Session, message: Message, decided: Decided, facts: MessageFacts, now: datetime
) -> list[uuid.UUID]:
    """Write recipients, deliveries and ledger contacts; return the deliveries to send now."""
    existing = set(
        session.scalars(
            select(Recipient.person_id).where(
                Recipient.message_id == message.id, among(session, Recipient.person_id, list(decided.decisions))
            )
        )
    )
    todo = {pid: d for pid, d in decided.decisions.items() if pid not in existing}
    if not todo:
        return []
    allow_private = {pid: getattr(p, "private_devices_allowed", True) for pid, p in decided.policies.items()}
    devices = device_service.sendable(session=session, person_ids=list(todo), allow_private=allow_private)
    recipient_rows: list[dict[str, Any]] = []
    delivery_rows: list[dict[str, Any]] = []
    send_now: list[uuid.UUID] = []
    reasons_of: dict[int, list[dict[str, str]]] = {}  # the engine shares equal decisions: convert each once
    for pid, d in todo.items():
        rid = new_id()
        reasons = reasons_of.get(id(d))
        if reasons is None:
            reasons = reasons_of[id(d)] = reasons_json(d)
        recipient_rows.append(
            {
                "id": rid,
                "message_id": message.id,
                "person_id": pid,
                "decision": d.kind,
                "level": d.level,
                "release_at": d.release_at,
                "reroute_to": d.reroute_to,
                "reasons": reasons,
                "decided_at": now,
            }
        )
        if d.kind not in ("deliver", "hold"):
            continue
        for device in devices.get(pid, []):
            did = new_id()
            delivery_rows.append(
                {
                    "id": did,
                    "message_id": message.id,
                    "recipient_id": rid,
                    "person_id": pid,
                    "device_id": device.id,
                    "kind": "message",
                    "state": "pending" if d.kind == "deliver" else "held",
                    "level": d.level,
                    "not_before": d.release_at if d.kind == "hold" else None,
                    "attempts": 0,
                    "provider": device.provider,
                    "created_at": now,
                    "content_free": message.sensitive
                    or bool(getattr(decided.policies.get(pid), "content_free_push", False)),
                }
            )
            if d.kind == "deliver":
                send_now.append(did)
    bulk_insert(session, Recipient, recipient_rows)
    bulk_insert(session, Delivery, delivery_rows)
    holds = [d.release_at for d in todo.values() if d.kind == "hold" and d.release_at is not None]
    if holds:
        schedule_wake(session, at=min(holds), now=now)  # the release runs when the first of them is due
    contacted: list[uuid.UUID] = []
    for pid, d in todo.items():
        if d.ledger is not None:
            policy = decided.policies.get(pid)
            if policy is not None:
                policies.record_contact(
                    session=session, person_id=pid, decision=d, message=facts, policy=policy, at=now, settle=False
                )
                contacted.append(pid)
    if contacted:
        rest_records.settle(
            session=session, person_ids=contacted, since=now, until=now + timedelta(microseconds=1), now=now
        )
    return send_now


def enqueue_sends(
    *,
    session: Session,
    delivery_ids: Sequence[uuid.UUID],
    queue: Queue,
    now: datetime,
    not_before: datetime | None = None,
) -> list[Job]:
    """Queue send jobs of `SEND_BATCH` deliveries; returns their rows (ids once flushed)."""
    return [
        enqueue(
            session,
            SendDeliveries(delivery_ids=tuple(delivery_ids[i : i + SEND_BATCH])),
            queue=queue,
            now=now,
            not_before=not_before,
        )
        for i in range(0, len(delivery_ids), SEND_BATCH)
    ]


def counts_of(decided: Decided) -> DecisionCounts:
    return _counts(decided.decisions.values())


# Status, for the sender ------------------------------------------------------------------------


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


# Inbox, for the recipient ----------------------------------------------------------------------


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


def in_working_time(*, session: Session, person_id: uuid.UUID, at: datetime) -> bool:
    """Would a normal message reach the person now? That is what counts as their working time."""
    facts = MessageFacts(priority="normal")
    decided = decide(session=session, person_ids=[person_id], facts=facts, at=at)
    d = decided.decisions.get(person_id)
    return d is not None and d.kind == "deliver"


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
