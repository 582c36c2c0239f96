"""API tokens: stored as SHA-256 digests, revocable, with an expiry. A web sign-in is a token of the
kind `web`: short-lived, ended by logout, and (when exchanged for a pasted token) ended with it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.checks import all_of, one_of
from kernel.db import Base, UTCDateTime, json_type, new_id
from kernel.vocabulary import ROLES

TokenKind = Literal["api", "web"]


class ApiToken(Base):
    __tablename__ = "api_token"
    __table_args__ = (one_of("kind", get_args(TokenKind)), *all_of("roles", ROLES))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    roles: Mapped[list[str] | None] = mapped_column(json_type())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    kind: Mapped[TokenKind] = mapped_column(String(8), default="api", server_default="api")
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_token.id", ondelete="CASCADE"), index=True)
