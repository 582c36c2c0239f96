"""What a send would do, in words: the preview per recipient and the summary of decisions
("31 now, 12 held until 07:00 (daily rest)"), in the reader's language and time zone.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import datetime

import pytz
from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel import formats
from kernel.auth.service import Principal
from kernel.directory.models import Person
from kernel.i18n import text
from notify import devices as device_service
from notify.audience import resolve
from notify.delivery import decide, facts_of, reasons_json, reasons_read
from notify.schemas import MessageCreate, Preview, RecipientDecision
from notify.sending import counts, validate
from policies.core.types import Decision

# The rules a preview names when it counts held people; any other hold is "waiting".
_HOLD_RULES = frozenset({"leave", "dnd", "weekly_rest", "daily_rest", "quiet_hours", "off_duty"})


def _local(instant: datetime, zone: str) -> datetime:
    return pytz.timezone(zone).normalize(instant.astimezone(pytz.timezone(zone)))


def summary(decisions: Mapping[uuid.UUID, Decision], *, language: str, zone: str, at: datetime) -> list[str]:
    """Readable lines: "31 now, 12 held until 07:00 (daily rest), 2 with a patient until 14:30",
    in the reader's language with times in their zone (`kernel.formats`)."""
    language = formats.language_of(language)
    lines: list[str] = []
    c = Counter(d.kind for d in decisions.values())
    if c["deliver"]:
        lines.append(text("preview.now", language, n=c["deliver"]))
    held: Counter[tuple[str, str]] = Counter()
    today = _local(at, zone).date()
    when_of: dict[datetime, str] = {}  # thousands of holds share a few release instants: format each once
    for d in decisions.values():
        if d.kind != "hold" or d.release_at is None:
            continue
        rule = next((r.rule for r in d.reasons if r.rule in _HOLD_RULES), "other")
        label = text(f"preview.hold.{rule}", language)
        when = when_of.get(d.release_at)
        if when is None:
            when = formats.instant(d.release_at, zone, language, today=today)
            when_of[d.release_at] = when
        held[(when, label)] += 1
    for (when, label), n in sorted(held.items(), key=lambda kv: -kv[1]):
        lines.append(text("preview.held", language, n=n, when=when, label=label))
    if c["reroute"]:
        lines.append(text("preview.rerouted", language, n=c["reroute"]))
    if c["drop"]:
        lines.append(text("preview.dropped", language, n=c["drop"]))
    return lines


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
    validate(body, now=at)
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
        counts=counts(decisions.values()),
        summary=summary(decisions, language=language, zone=zone_of(session, sender.person_id), at=at),
        recipients=recipients,
        breaks_rest=sum(1 for d in decisions.values() if d.ledger is not None and d.ledger.restarts_rest),
    )
