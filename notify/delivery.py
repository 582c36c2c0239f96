"""The delivery path: decide for recipients, write their decisions, deliveries and rest-ledger
contacts, and queue the sends, on the queue that `queue_for` picks.

Every way a message reaches people goes through `deliver`: a send (inline or per fan-out chunk),
a scheduled send, a reroute at release, an escalation step, a reminder. Each recipient gets one
`Recipient` row (the decision and its reasons) and one `Delivery` row per sendable device, unique
per (message, device); persisting twice for one person writes nothing the second time.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.db import among, bulk_insert, new_id
from kernel.jobs import SendDeliveries
from kernel.outbox import encode
from kernel.settings import Queue, Settings
from notify import devices as device_service
from notify.models import Delivery, Message, Recipient
from notify.outbox import RUNNING, Job, enqueue
from notify.release_timing import schedule_wake
from notify.schemas import ReasonRead
from policies import rest_records
from policies.availability import cover_for_role
from policies.core.engine import decide_many
from policies.core.types import Decision, MessageFacts, PolicyParams, Reason
from policies.ledger import record_contact
from policies.rest_policies import policies_for
from policies.states import load_states

SEND_BATCH = 500  # deliveries per send job
URGENT = ("urgent", "emergency")


def queue_for(priority: str, audience: int, settings: Settings) -> Queue:
    """The queue of a message's sends and fan-out jobs. Urgent work never waits behind a
    broadcast: `urgent` and `emergency` messages have a queue of their own. `info` messages and
    audiences larger than `VILA_BULK_THRESHOLD` go to `bulk`; everything else to `default`. (The
    release of held messages has its own queue, `release`, whatever their priority.)"""
    if priority in URGENT:
        return "urgent"
    if priority == "info" or audience > settings.bulk_threshold:
        return "bulk"
    return "default"


# Decisions -------------------------------------------------------------------------------------


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


def facts_for_message(message: Message, role: str | None, cover: tuple[Any, ...]) -> MessageFacts:
    """The engine's facts for a stored message whose audience resolved to `role` and its `cover`."""
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
    cover = cover_for_role(session=session, role=role, at=at) if role else ()
    return facts_for_message(message, role, cover)


@dataclass
class Decided:
    decisions: dict[uuid.UUID, Decision]
    policies: dict[uuid.UUID, PolicyParams]


def decide(*, session: Session, person_ids: Sequence[uuid.UUID], facts: MessageFacts, at: datetime) -> Decided:
    """Decide for every person; a reroute brings the covering person in as a recipient too."""
    states = load_states(session=session, person_ids=person_ids, at=at)
    pols = policies_for(session=session, person_ids=person_ids, at=at)
    decisions = decide_many(states.values(), facts, pols, at)
    targets = {d.reroute_to for d in decisions.values() if d.kind == "reroute" and d.reroute_to} - set(decisions)
    if targets:
        direct = replace(facts, audience_role=None, cover=())
        more_states = load_states(session=session, person_ids=targets, at=at)
        more_pols = policies_for(session=session, person_ids=targets, at=at)
        decisions.update(decide_many(more_states.values(), direct, more_pols, at))
        pols.update(more_pols)
    return Decided(decisions=decisions, policies=pols)


def in_working_time(*, session: Session, person_id: uuid.UUID, at: datetime) -> bool:
    """Would a normal message reach the person now? That is what counts as their working time."""
    facts = MessageFacts(priority="normal")
    decided = decide(session=session, person_ids=[person_id], facts=facts, at=at)
    d = decided.decisions.get(person_id)
    return d is not None and d.kind == "deliver"


# The path --------------------------------------------------------------------------------------


@dataclass
class Delivered:
    decided: Decided
    pending: list[uuid.UUID]  # the deliveries queued to be pushed now


def deliver(
    *,
    session: Session,
    message: Message,
    person_ids: Sequence[uuid.UUID],
    facts: MessageFacts,
    audience: int,
    settings: Settings,
    now: datetime,
    reason: Reason | None = None,
) -> Delivered:
    """Decide for these people now, write what was decided (recipients, deliveries, rest-ledger
    contacts, the wake-up of the first hold) and queue the sends of what goes now, on the queue
    of the message's priority and its whole `audience`. `reason` (an escalation's) comes first
    among every decision's reasons."""
    decided = decide(session=session, person_ids=person_ids, facts=facts, at=now)
    if reason is not None:
        decided.decisions = {pid: replace(d, reasons=(reason, *d.reasons)) for pid, d in decided.decisions.items()}
    pending = persist(session=session, message=message, decided=decided, facts=facts, now=now)
    enqueue_sends(session=session, delivery_ids=pending, queue=queue_for(message.priority, audience, settings), now=now)
    return Delivered(decided=decided, pending=pending)


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
    record_contacts(
        session=session,
        contacts=[(pid, d, facts) for pid, d in todo.items() if d.ledger is not None],
        policies_of=decided.policies,
        now=now,
    )
    return send_now


def record_contacts(
    *,
    session: Session,
    contacts: Iterable[tuple[uuid.UUID, Decision, MessageFacts]],
    policies_of: Mapping[uuid.UUID, PolicyParams],
    now: datetime,
) -> None:
    """Write each decision's contact to the rest ledger, then place the batch's contacts in their
    rest periods at once (one settling for all these people, not one per contact)."""
    contacted: list[uuid.UUID] = []
    for pid, decision, facts in contacts:
        policy = policies_of.get(pid)
        if decision.ledger is not None and policy is not None:
            record_contact(
                session=session, person_id=pid, decision=decision, message=facts, policy=policy, at=now, settle=False
            )
            contacted.append(pid)
    if contacted:
        rest_records.settle(
            session=session, person_ids=contacted, since=now, until=now + timedelta(microseconds=1), now=now
        )


# Sends -----------------------------------------------------------------------------------------


def _batches(delivery_ids: Sequence[uuid.UUID]) -> list[SendDeliveries]:
    return [
        SendDeliveries(delivery_ids=tuple(delivery_ids[i : i + SEND_BATCH]))
        for i in range(0, len(delivery_ids), SEND_BATCH)
    ]


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
        enqueue(session, payload, queue=queue, now=now, not_before=not_before) for payload in _batches(delivery_ids)
    ]


def claimed_sends(
    *, session: Session, delivery_ids: Sequence[uuid.UUID], queue: Queue, now: datetime, lease_until: datetime
) -> list[Job]:
    """Send jobs for deliveries this transaction claimed: running, under the same lease, not woken;
    the caller runs them itself once it commits."""
    jobs = [
        Job(
            name=SendDeliveries.job_name,
            queue=queue,
            payload=encode(payload),
            state=RUNNING,
            available_at=now,
            dispatched_at=now,
            lease_until=lease_until,
            attempts=1,
            created_at=now,
        )
        for payload in _batches(delivery_ids)
    ]
    session.add_all(jobs)
    return jobs
