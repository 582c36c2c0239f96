"""Pydantic shapes of an explained decision: the question (would this message reach them now?)
and the answer with its reasons and ledger note."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, StringConstraints, model_validator

from kernel.instants import SaneInstant
from policies.core.types import Priority
from policies.schemas.base import RoleName, Strict


class ExplainRequest(Strict):
    """Would a message of this priority from this sender reach the person at this instant?"""

    priority: Priority
    at: SaneInstant | None = None
    sender_id: uuid.UUID | None = None
    override_reason: Annotated[str, StringConstraints(max_length=500)] | None = None
    audience_role: RoleName | None = None
    expires_at: SaneInstant | None = None

    @model_validator(mode="after")
    def _emergency(self) -> ExplainRequest:
        if self.priority == "emergency" and not (self.override_reason or "").strip():
            raise ValueError("an emergency needs a stated reason (override_reason)")
        return self


class ReasonRead(BaseModel):
    rule: str
    sv: str
    en: str


class LedgerNoteRead(BaseModel):
    kind: str
    states: list[str]
    on_call: str | None
    restarts_rest: bool
    compensatory_minutes: int
    compensatory_due: date | None


class DecisionRead(BaseModel):
    person_id: uuid.UUID
    at: datetime
    kind: Literal["deliver", "hold", "reroute", "drop"]
    level: str | None
    release_at: datetime | None
    reroute_to: uuid.UUID | None
    reasons: list[ReasonRead]
    ledger: LedgerNoteRead | None
    policy: str
    policy_version: int
