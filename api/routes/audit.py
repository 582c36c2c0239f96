"""The audit log, read-only, for HR and admin."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict

from api.deps import PageDep, SessionDep
from api.permissions import HrOrAdmin
from kernel.audit import service as audit
from kernel.directory.schemas import Page

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: uuid.UUID | None
    actor_label: str
    action: str
    target_type: str
    target_id: str | None
    source_ip: str | None
    request_id: str | None
    method: str | None
    path: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@router.get("", response_model=Page[AuditRead])
def read_audit(
    session: SessionDep,
    me: HrOrAdmin,
    page: PageDep,
    actor: Annotated[uuid.UUID | None, Query()] = None,
    action: Annotated[str | None, Query(max_length=64, description="An action or its prefix, e.g. 'person.'")] = None,
    target: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[AwareDatetime | None, Query()] = None,
    until: Annotated[AwareDatetime | None, Query()] = None,
) -> Page[AuditRead]:
    rows, total = audit.query(
        session=session,
        limit=page.limit,
        offset=page.offset,
        actor_id=actor,
        action=action,
        target_id=target,
        since=since,
        until=until,
    )
    return Page[AuditRead](
        items=[AuditRead.model_validate(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )
