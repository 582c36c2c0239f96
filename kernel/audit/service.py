"""Write and read the append-only audit log. A record is added, chained, in the transaction of the change."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel.audit import chain
from kernel.audit.models import AuditRecord


@dataclass(frozen=True)
class RequestMeta:
    """Where a change came from."""

    source_ip: str | None = None
    request_id: str | None = None
    method: str | None = None
    path: str | None = None


SYSTEM = RequestMeta(source_ip=None, request_id=None, method=None, path="system")


def record(
    *,
    session: Session,
    now: datetime,
    actor_id: uuid.UUID | None,
    actor_label: str,
    action: str,
    target_type: str,
    target_id: str | uuid.UUID | None,
    meta: RequestMeta,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditRecord:
    entry = AuditRecord(
        at=now,
        actor_id=actor_id,
        actor_label=actor_label,
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        source_ip=meta.source_ip,
        request_id=meta.request_id,
        method=meta.method,
        path=meta.path,
        before=before,
        after=after,
    )
    return chain.append(session, entry)


# (action, target type, target id, before, after)
Entry = tuple[str, str, str | None, dict[str, Any] | None, dict[str, Any] | None]


def record_many(
    *,
    session: Session,
    now: datetime,
    actor_id: uuid.UUID | None,
    actor_label: str,
    meta: RequestMeta,
    entries: Sequence[Entry],
) -> None:
    """Many records by one actor at one instant (an import's), chained and written in one statement."""
    chain.append_many(
        session,
        [
            {
                "at": now,
                "actor_id": actor_id,
                "actor_label": actor_label,
                "action": action,
                "target_type": target_type,
                "target_id": target_id,
                "source_ip": meta.source_ip,
                "request_id": meta.request_id,
                "method": meta.method,
                "path": meta.path,
                "before": before,
                "after": after,
            }
            for action, target_type, target_id, before, after in entries
        ],
    )


def query(
    *,
    session: Session,
    limit: int,
    offset: int,
    actor_id: uuid.UUID | None = None,
    action: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[AuditRecord], int]:
    stmt = select(AuditRecord)
    if actor_id is not None:
        stmt = stmt.where(AuditRecord.actor_id == actor_id)
    if action:
        stmt = stmt.where(AuditRecord.action.like(f"{action}%"))
    if target_id:
        stmt = stmt.where(AuditRecord.target_id == target_id)
    if since is not None:
        stmt = stmt.where(AuditRecord.at >= since)
    if until is not None:
        stmt = stmt.where(AuditRecord.at < until)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(AuditRecord.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), int(total)
