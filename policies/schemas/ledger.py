"""Pydantic shapes of the rest ledger: contacts during rest, a page of them, and granted rest."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from policies.schemas.base import Read, Strict


class LedgerEntryRead(Read):
    id: uuid.UUID
    person_id: uuid.UUID
    at: datetime
    kind: str
    states: list[str]
    on_call: str | None
    priority: str
    rules: list[str]
    reason: str | None
    sender_id: uuid.UUID | None
    message_id: uuid.UUID | None
    restarts_rest: bool
    compensatory_minutes: int
    compensatory_due: date | None
    granted_minutes: int
    granted_at: datetime | None
    period_id: uuid.UUID | None = None  # the rest period it fell in (policies.rest_records)


class LedgerPage(BaseModel):
    items: list[LedgerEntryRead]
    total: int
    owed_minutes: int
    granted_minutes: int


class GrantCreate(Strict):
    minutes: int = Field(ge=1, le=7 * 24 * 60)
