"""Devices, messages, per-recipient decisions and per-device deliveries.

    Message 1--* Recipient (one decision per person) 1--* Delivery (one per device)

A delivery row is unique per (message, device): the pipeline may run twice, it never sends twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

import notify.transports.base as transport
import policies.core.types as core
from kernel.checks import one_of
from kernel.db import Base, UTCDateTime, json_type, new_id
from kernel.vocabulary import Platform, Priority, Provider
from notify.fleet import models as fleet_models  # noqa: F401 - a device refers to the fleet's asset table

OWNERSHIPS = ("work", "private")
# scheduled -> accepted -> decided; scheduled -> failed (its audience could not be reached at send_at);
# scheduled -> recalled (taken back before it was sent)
MessageState = Literal["scheduled", "accepted", "decided", "failed", "recalled"]
# blocked: by device administration (its asset was lost, returned or retired, or its person left);
# unlike a device its owner marked lost, registering its token again does not unblock it.
DEVICE_STATES = ("active", "stale", "pruned", "removed", "lost", "blocked")

# Delivery states:
#   pending  -> sending -> sent | failed        a push going out now
#                       -> uncertain            no answer in time, twice: perhaps delivered; not resent
#   held     -> digested (into a digest push) | pending (re-decided) | dropped (expired)
#   pruned   the provider said the token is gone; the device was pruned
#   recalled the message was recalled before this delivery went out: it never will
#   sent -> pending (kind recall) -> withdrawn   a recalled message's notice replaced the shown push
DELIVERY_STATES = (
    "pending",
    "sending",
    "sent",
    "failed",
    "uncertain",
    "held",
    "digested",
    "dropped",
    "pruned",
    "recalled",
    "withdrawn",
)


class Device(Base):
    """A push endpoint. A person's own, or (without a person) a shared ward tablet's app install;
    `asset_id` links an install to the region's asset it runs on (notify/fleet)."""

    __tablename__ = "device"
    __table_args__ = (
        Index("ix_device_person_state", "person_id", "state"),
        one_of("platform", get_args(Platform)),
        one_of("provider", get_args(Provider)),
        one_of("ownership", OWNERSHIPS),
        one_of("state", DEVICE_STATES),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    asset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("fleet_asset.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    platform: Mapped[Platform] = mapped_column(String(8))
    provider: Mapped[Provider] = mapped_column(String(8))
    token: Mapped[str] = mapped_column(String(4096), unique=True)  # Web Push: the subscription's endpoint
    # Web Push only: the browser's P-256 key and auth secret (base64url) each payload is encrypted for.
    webpush_p256dh: Mapped[str | None] = mapped_column(String(100))
    webpush_auth: Mapped[str | None] = mapped_column(String(40))
    ownership: Mapped[str] = mapped_column(String(8), default="work")
    app_version: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(8), default="active")
    state_reason: Mapped[str | None] = mapped_column(String(200))
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


_SCHEDULED = text("state = 'scheduled'")


class Message(Base):
    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_sender_created", "sender_id", "created_at"),
        Index("ix_message_created", "created_at"),  # the last day's figures; retention
        Index("ix_message_scheduled", "send_at", postgresql_where=_SCHEDULED, sqlite_where=_SCHEDULED),
        one_of("priority", get_args(Priority)),
        one_of("state", get_args(MessageState)),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    sender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    priority: Mapped[Priority] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    collapse_key: Mapped[str | None] = mapped_column(String(64))
    deep_link: Mapped[str | None] = mapped_column(String(2000))
    requires_ack: Mapped[bool] = mapped_column(Boolean, default=False)
    ack_timeout_s: Mapped[int | None] = mapped_column(Integer)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    override_reason: Mapped[str | None] = mapped_column(String(500))
    audience: Mapped[dict[str, Any]] = mapped_column(json_type())
    audience_label: Mapped[str] = mapped_column(String(300))
    sender_roles: Mapped[list[str]] = mapped_column(json_type())
    state: Mapped[MessageState] = mapped_column(String(16), default="accepted")
    recipients_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    escalation_of: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"))
    # Recalled by its sender or an admin: out of every inbox, nothing more of it is pushed.
    recalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recalled_by: Mapped[uuid.UUID | None] = mapped_column()
    # A scheduled message is decided at this instant, not when it was written.
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    send_error: Mapped[str | None] = mapped_column(String(500))
    # An escalation chain (notify.chains), bound to the version in force when it was sent, and how
    # far its run has come: steps fired, and when the last one fired.
    escalation_chain_id: Mapped[uuid.UUID | None] = mapped_column()
    chain_version_id: Mapped[uuid.UUID | None] = mapped_column()
    chain_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    chain_step_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AudienceChunk(Base):
    """The resolved audience of a message, stored with it at acceptance, in chunks for fan-out."""

    __tablename__ = "audience_chunk"

    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), primary_key=True)
    chunk_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_ids: Mapped[list[str]] = mapped_column(json_type())
    done: Mapped[bool] = mapped_column(Boolean, default=False)


class Recipient(Base):
    """One person's decision for one message, with its reasons; their read and acknowledgement."""

    __tablename__ = "recipient"
    __table_args__ = (
        UniqueConstraint("message_id", "person_id"),
        Index("ix_recipient_person_created", "person_id", "decided_at"),
        one_of("decision", get_args(core.DecisionKind)),
        one_of("level", core.LEVELS),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    decision: Mapped[core.DecisionKind] = mapped_column(String(8))
    level: Mapped[core.Level | None] = mapped_column(String(16))
    release_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reroute_to: Mapped[uuid.UUID | None] = mapped_column()
    reasons: Mapped[list[dict[str, str]]] = mapped_column(json_type())
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_in_working_time: Mapped[bool | None] = mapped_column(Boolean)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acked_in_working_time: Mapped[bool | None] = mapped_column(Boolean)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


_HELD = text("state = 'held'")


class Delivery(Base):
    """One push to one device. Written by the thousand in a broadcast's fan-out, so it carries only
    what earns its cost per row: one foreign key (to its recipient, which holds the message and the
    person and through which deletes cascade) and, beyond its keys, indexes only over held rows,
    the only ones the pipeline looks up by state, person or release instant."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("message_id", "device_id"),
        Index("ix_delivery_recipient", "recipient_id"),
        Index("ix_delivery_held_due", "not_before", postgresql_where=_HELD, sqlite_where=_HELD),
        Index("ix_delivery_held_person", "person_id", postgresql_where=_HELD, sqlite_where=_HELD),
        one_of("kind", get_args(transport.Kind)),
        one_of("state", DELIVERY_STATES),
        one_of("provider", get_args(Provider)),
        one_of("level", core.LEVELS),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    message_id: Mapped[uuid.UUID] = mapped_column()  # the recipient's message
    # Both empty for a shared ward tablet's delivery: it reaches a unit or a role, not a person.
    recipient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("recipient.id", ondelete="CASCADE"))
    person_id: Mapped[uuid.UUID | None] = mapped_column()  # the recipient's person
    device_id: Mapped[uuid.UUID] = mapped_column()  # devices are never deleted, only marked removed
    kind: Mapped[transport.Kind] = mapped_column(String(8), default="message")
    state: Mapped[str] = mapped_column(String(10))
    level: Mapped[str | None] = mapped_column(String(16))
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider: Mapped[Provider] = mapped_column(String(8))
    content_free: Mapped[bool] = mapped_column(Boolean, default=False)
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(String(500))
    digest_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Digest(Base):
    """One push that stands for several held messages released together to one person."""

    __tablename__ = "digest"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    message_ids: Mapped[list[str]] = mapped_column(json_type())
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_record"

    sender_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    response: Mapped[dict[str, Any]] = mapped_column(json_type())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
