"""Idempotency-Key of a send: the same key and body within 24 hours answers with the first answer.

The key is reserved in the sending transaction, so two requests under one key cannot both commit a
message; another body under a key used in the window is a 409.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kernel.errors import Conflict
from notify.models import IdempotencyRecord
from notify.schemas import MessageCreate

IDEMPOTENCY_WINDOW = timedelta(hours=24)


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
