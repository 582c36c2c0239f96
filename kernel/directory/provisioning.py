"""What the identity system provides: which person fields are provisioned, and the provisioning
errors and last sync that the admin pages show."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from kernel.audit.models import AuditRecord
from kernel.db import Base, UTCDateTime, new_id
from kernel.errors import Conflict


def refuse_local_change(*, provisioned: Iterable[str] | None, changed: Iterable[str]) -> None:
    """A change in Vila to a field the identity system provides would be overwritten at its next
    sync without anyone noticing: it is refused, naming the fields to change there instead."""
    clash = sorted(set(provisioned or ()) & set(changed))
    if clash:
        raise Conflict(f"{', '.join(clash)} come(s) from the identity system (Entra ID); change it there")


class ProvisioningError(Base):
    """A provisioning request that was refused, for the admin's status page (the audit keeps changes)."""

    __tablename__ = "provisioning_error"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    source: Mapped[str] = mapped_column(String(16))
    method: Mapped[str | None] = mapped_column(String(8))
    path: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[int] = mapped_column(Integer)
    scim_type: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(1000))


def record_error(
    *,
    session: Session,
    now: datetime,
    source: str,
    method: str | None,
    path: str | None,
    status: int,
    scim_type: str | None,
    detail: str,
) -> None:
    session.add(
        ProvisioningError(
            at=now,
            source=source,
            method=method,
            path=(path or "")[:500],
            status=status,
            scim_type=scim_type,
            detail=detail[:1000],
        )
    )
    session.flush()


@dataclass(frozen=True)
class Status:
    last_change_at: datetime | None
    changes: int
    errors: list[ProvisioningError]
    errors_total: int


def status(*, session: Session, limit: int = 20) -> Status:
    """The last change provisioning made (from the audit log, which records every one), and its latest errors."""
    last, count = session.execute(
        select(func.max(AuditRecord.at), func.count()).where(AuditRecord.action.like("scim.%"))
    ).one()
    errors = list(session.scalars(select(ProvisioningError).order_by(ProvisioningError.at.desc()).limit(limit)))
    total = session.scalar(select(func.count()).select_from(ProvisioningError)) or 0
    return Status(last_change_at=last, changes=int(count or 0), errors=errors, errors_total=int(total))
