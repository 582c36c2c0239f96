"""The e-mail channel's rows: a person's address and choice, and each e-mail sent at a release."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.checks import one_of
from kernel.db import Base, UTCDateTime, json_type, new_id

# pending -> sending -> sent | bounced (the server refused the address) | failed (gave up)
#                     | recalled (every message in it was recalled before it went out)
EMAIL_STATES = ("pending", "sending", "sent", "bounced", "failed", "recalled")


class EmailChoice(Base):
    """A person's choice to get held messages and digests also by e-mail, and where."""

    __tablename__ = "email_choice"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    address: Mapped[str] = mapped_column(String(254))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # A bounce marks the address: nothing more is sent to it until the person gives it again.
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bounce_reason: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EmailMessage(Base):
    """One e-mail to one person: the messages a release let through for them."""

    __tablename__ = "email_message"
    __table_args__ = (one_of("state", EMAIL_STATES),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(String(254))
    message_ids: Mapped[list[str]] = mapped_column(json_type())
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    smtp_message_id: Mapped[str | None] = mapped_column(String(300), index=True)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
