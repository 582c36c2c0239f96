"""Escalation chains as data, versioned like policies, and the record of every escalation run.

A chain is a list of steps, each: who (`role` — whoever holds an on-call role then, `person`, or
`manager` — the managers of the unit of the message's first recipients), after how long (minutes
after the step before, or after the message was decided for the first step), and on which channel
(`push`, or `email` — an e-mail as well as the push). A message names a chain when it is sent and
keeps the version in force then. Until someone acknowledges, the `notify.escalate` job fires the
next due step: each person of the step who has not been tried yet is decided for now, by the same
rest rules, and every step is written to `EscalationStep` with its reasons, for the status page.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from kernel.db import Base, UTCDateTime, json_type, new_id
from kernel.directory.models import Group, GroupManager, GroupMember, Person
from kernel.errors import InvalidInput, NotFound
from kernel.i18n import both
from kernel.jobs import SendEmails
from kernel.settings import Settings
from notify.delivery import deliver, facts_for_stored, reasons_json
from notify.mail.models import EmailChoice, EmailMessage
from notify.models import Message, Recipient
from notify.outbox import enqueue
from policies.availability import cover_for_role
from policies.core.types import Reason

WHO = ("role", "person", "manager")
CHANNELS = ("push", "email")


class EscalationChain(Base):
    __tablename__ = "escalation_chain"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EscalationChainVersion(Base):
    __tablename__ = "escalation_chain_version"
    __table_args__ = (UniqueConstraint("chain_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    chain_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("escalation_chain.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime())
    steps: Mapped[list[dict[str, Any]]] = mapped_column(json_type())
    note: Mapped[str | None] = mapped_column(String(500))
    author_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EscalationStep(Base):
    """One person reached (or not) by one escalation step of one message, with the reasons."""

    __tablename__ = "escalation_step"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    step_no: Mapped[int] = mapped_column(Integer)
    who: Mapped[str] = mapped_column(String(200))  # the step as written: "role: Bakjour akuten", ...
    channel: Mapped[str] = mapped_column(String(8))
    person_id: Mapped[uuid.UUID | None] = mapped_column()
    decision: Mapped[str] = mapped_column(String(16))  # deliver | hold | reroute | drop | tried | nobody
    reasons: Mapped[list[dict[str, str]]] = mapped_column(json_type())
    at: Mapped[datetime] = mapped_column(UTCDateTime())


# Chains and versions -----------------------------------------------------------------------------


def check_steps(steps: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Steps as stored; anything a step cannot mean is refused with what is wrong."""
    if not steps:
        raise InvalidInput("a chain needs at least one step")
    out: list[dict[str, Any]] = []
    for n, step in enumerate(steps, start=1):
        who, channel = step.get("who"), step.get("channel", "push")
        if who not in WHO:
            raise InvalidInput(f"step {n}: who must be one of {', '.join(WHO)}")
        if channel not in CHANNELS:
            raise InvalidInput(f"step {n}: channel must be one of {', '.join(CHANNELS)}")
        after = step.get("after_minutes")
        if not isinstance(after, int) or not 0 <= after <= 24 * 60:
            raise InvalidInput(f"step {n}: after_minutes must be a whole number from 0 to 1440")
        clean: dict[str, Any] = {"who": who, "after_minutes": after, "channel": channel}
        if who == "role":
            if not step.get("role"):
                raise InvalidInput(f"step {n}: a role step names the role")
            clean["role"] = str(step["role"])[:100]
        if who == "person":
            try:
                clean["person_id"] = str(uuid.UUID(str(step.get("person_id"))))
            except ValueError:
                raise InvalidInput(f"step {n}: a person step names the person's id") from None
        out.append(clean)
    return out


def add_version(
    *,
    session: Session,
    chain: EscalationChain,
    steps: Sequence[dict[str, Any]],
    effective_from: datetime,
    note: str | None,
    author_id: uuid.UUID | None,
    now: datetime,
) -> EscalationChainVersion:
    clean = check_steps(steps)
    people = {uuid.UUID(s["person_id"]) for s in clean if s["who"] == "person"}
    known = set(session.scalars(select(Person.id).where(Person.id.in_(people)))) if people else set()
    if people - known:
        raise InvalidInput(f"unknown person(s): {', '.join(sorted(map(str, people - known)))}")
    last = session.scalar(
        select(EscalationChainVersion.version)
        .where(EscalationChainVersion.chain_id == chain.id)
        .order_by(EscalationChainVersion.version.desc())
        .limit(1)
    )
    version = EscalationChainVersion(
        chain_id=chain.id,
        version=(last or 0) + 1,
        effective_from=effective_from,
        steps=clean,
        note=note,
        author_id=author_id,
        created_at=now,
    )
    session.add(version)
    session.flush()
    return version


def in_force(*, session: Session, chain_id: uuid.UUID, at: datetime) -> EscalationChainVersion:
    """The chain's version in force at `at` (the latest effective one)."""
    version = session.scalar(
        select(EscalationChainVersion)
        .where(EscalationChainVersion.chain_id == chain_id, EscalationChainVersion.effective_from <= at)
        .order_by(EscalationChainVersion.effective_from.desc(), EscalationChainVersion.version.desc())
        .limit(1)
    )
    if version is None:
        raise InvalidInput(f"the escalation chain {chain_id} has no version in force now")
    return version


def bind(*, session: Session, message: Message, chain_id: uuid.UUID | None, at: datetime) -> None:
    """Bind a message to the version of its chain in force at `at`."""
    if chain_id is None:
        return
    version = in_force(session=session, chain_id=require_chain(session=session, chain_id=chain_id).id, at=at)
    message.escalation_chain_id, message.chain_version_id = chain_id, version.id


def require_chain(*, session: Session, chain_id: uuid.UUID) -> EscalationChain:
    chain = session.get(EscalationChain, chain_id)
    if chain is None:
        raise NotFound(f"no escalation chain with id {chain_id}")
    return chain


# Running a chain ---------------------------------------------------------------------------------


def record(
    session: Session,
    *,
    message_id: uuid.UUID,
    step_no: int,
    who: str,
    channel: str,
    person_id: uuid.UUID | None,
    decision: str,
    reasons: list[dict[str, str]],
    at: datetime,
) -> None:
    session.add(
        EscalationStep(
            message_id=message_id,
            step_no=step_no,
            who=who,
            channel=channel,
            person_id=person_id,
            decision=decision,
            reasons=reasons,
            at=at,
        )
    )


def _label(step: dict[str, Any]) -> str:
    if step["who"] == "role":
        return f"role: {step['role']}"
    if step["who"] == "person":
        return f"person: {step['person_id']}"
    return "manager"


def _people(session: Session, message: Message, step: dict[str, Any], now: datetime) -> Iterator[uuid.UUID]:
    if step["who"] == "person":
        yield uuid.UUID(step["person_id"])
    elif step["who"] == "role":
        for slot in cover_for_role(session=session, role=step["role"], at=now):
            if slot.person_id is not None and slot.start <= now < slot.end:
                yield slot.person_id
    else:
        yield from _managers(session, message)


def _managers(session: Session, message: Message) -> list[uuid.UUID]:
    """The managers of the unit of the message's first recipients; up the tree until one has any."""
    first = select(Recipient.person_id).where(Recipient.message_id == message.id).order_by(Recipient.decided_at)
    people = list(session.scalars(first.limit(5)))
    groups = set(session.scalars(select(GroupMember.group_id).where(GroupMember.person_id.in_(people))))
    for _ in range(10):
        if not groups:
            return []
        found = list(session.scalars(select(GroupManager.person_id).where(GroupManager.group_id.in_(groups))))
        if found:
            return sorted(set(found))
        parents = session.scalars(select(Group.parent_id).where(Group.id.in_(groups), Group.parent_id.is_not(None)))
        groups = {p for p in parents if p is not None}
    return []


def _reason(step_no: int, minutes: int) -> Reason:
    return Reason("escalation", *both("notice.escalation.step", step=step_no, minutes=minutes))


def run_due_steps(session: Session, *, now: datetime, settings: Settings) -> int:
    """Fire every due chain step of unacknowledged, unrecalled messages; returns the steps fired."""
    rows = session.scalars(
        select(Message)
        .where(
            Message.escalation_chain_id.is_not(None),
            Message.requires_ack.is_(True),
            Message.recalled_at.is_(None),
            Message.state == "decided",
            Message.created_at > now - timedelta(days=1),
        )
        .with_for_update(skip_locked=True, key_share=True)  # an overlapping run skips these messages
    ).all()
    fired = 0
    for message in rows:
        version = session.get(EscalationChainVersion, message.chain_version_id)
        if version is None or message.chain_step >= len(version.steps):
            continue
        acked = session.scalar(
            select(Recipient.id).where(Recipient.message_id == message.id, Recipient.acked_at.is_not(None)).limit(1)
        )
        if acked is not None:
            continue
        step = version.steps[message.chain_step]
        since = message.chain_step_at or message.send_at or message.created_at  # a scheduled one: its send
        if since + timedelta(minutes=step["after_minutes"]) > now:
            continue
        message.chain_step += 1
        message.chain_step_at = now
        _fire(session, message, step, message.chain_step, now, settings)
        fired += 1
    return fired


def _fire(
    session: Session, message: Message, step: dict[str, Any], step_no: int, now: datetime, settings: Settings
) -> None:
    tried = set(session.scalars(select(Recipient.person_id).where(Recipient.message_id == message.id)))
    facts = replace(facts_for_stored(session=session, message=message, at=now), audience_role=None, cover=())
    reason = _reason(step_no, step["after_minutes"])
    label, channel = _label(step), step["channel"]
    anyone = False
    for person_id in _people(session, message, step, now):
        anyone = True
        if person_id in tried:
            why = Reason("escalation_tried", *both("notice.escalation.tried"))
            record(
                session,
                message_id=message.id,
                step_no=step_no,
                who=label,
                channel=channel,
                person_id=person_id,
                decision="tried",
                reasons=[{"rule": why.rule, "sv": why.sv, "en": why.en}],
                at=now,
            )
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
        decision = sent.decided.decisions[person_id]
        record(
            session,
            message_id=message.id,
            step_no=step_no,
            who=label,
            channel=channel,
            person_id=person_id,
            decision=decision.kind,
            reasons=reasons_json(decision),
            at=now,
        )
        if channel == "email" and decision.kind == "deliver":
            _email(session, message, person_id, now)
    if not anyone:
        none = Reason("escalation_nobody", *both("notice.escalation.nobody"))
        record(
            session,
            message_id=message.id,
            step_no=step_no,
            who=label,
            channel=channel,
            person_id=None,
            decision="nobody",
            reasons=[{"rule": none.rule, "sv": none.sv, "en": none.en}],
            at=now,
        )


def _email(session: Session, message: Message, person_id: uuid.UUID, now: datetime) -> None:
    """An escalation step on the e-mail channel: the message by e-mail now, beside the push."""
    choice = session.get(EmailChoice, person_id)
    if choice is not None and choice.bounced_at is not None:
        return
    address = choice.address if choice else session.scalar(select(Person.email).where(Person.id == person_id))
    if not address:
        return
    mail = EmailMessage(
        id=uuid.uuid4(),
        person_id=person_id,
        address=address,
        message_ids=[str(message.id)],
        state="pending",
        attempts=0,
        created_at=now,
    )
    session.add(mail)
    session.flush()
    enqueue(session, SendEmails(email_ids=(mail.id,)), queue="urgent", now=now)
