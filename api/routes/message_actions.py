"""Actions on a sent message: recall (the sender or an admin takes it back)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import AuditDep, ClockDep, CurrentPerson, SessionDep, UowDep
from notify import recall

router = APIRouter(prefix="/api/v1", tags=["messages"])


class RecallRead(BaseModel):
    message_id: uuid.UUID
    recalled_at: datetime
    cancelled: int = Field(description="Held or queued deliveries that will now never be pushed.")
    to_withdraw: int = Field(description="Pushed deliveries whose notification a recall notice replaces.")
    already: bool = Field(description="The message had been recalled before; nothing more was done.")


@router.post("/messages/{message_id}/recall", response_model=RecallRead)
def recall_message(
    message_id: uuid.UUID, session: SessionDep, me: CurrentPerson, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> RecallRead:
    """Take a message back: nothing more of it is pushed, and it leaves every inbox."""
    done = recall.recall(session=session, message_id=message_id, principal=me, now=clock.now())
    if done.already:
        audit.exempt()  # nothing changed
    else:
        audit.log(
            session,
            action="message.recall",
            target_type="message",
            target_id=message_id,
            before={"recalled": False},
            after={"recalled": True, "cancelled": done.cancelled, "to_withdraw": done.to_withdraw},
        )
    uow.commit()
    return RecallRead(
        message_id=done.message_id,
        recalled_at=done.recalled_at,
        cancelled=done.cancelled,
        to_withdraw=done.to_withdraw,
        already=done.already,
    )
