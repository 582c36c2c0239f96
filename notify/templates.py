"""Message templates per group ("Personalmöte", "Utbildning i Saba Cloud", "Teams-möte" with a
link): what a manager of the group starts a message from on the compose page."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from kernel.auth.service import Principal, managed_groups
from kernel.db import Base, UTCDateTime, new_id
from kernel.directory.models import Group
from kernel.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class MessageTemplate(Base):
    __tablename__ = "message_template"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("group.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    deep_link: Mapped[str | None] = mapped_column(String(2000))
    created_by: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


def _may_keep(session: Session, principal: Principal, group_id: uuid.UUID) -> bool:
    return principal.has("admin") or group_id in managed_groups(session=session, principal=principal)


def visible(*, session: Session, principal: Principal, group_id: uuid.UUID | None = None) -> list[MessageTemplate]:
    """The templates of the groups the principal may send to (all of them for an admin)."""
    stmt = select(MessageTemplate).order_by(MessageTemplate.name)
    if group_id is not None:
        stmt = stmt.where(MessageTemplate.group_id == group_id)
    if not principal.has("admin"):
        stmt = stmt.where(MessageTemplate.group_id.in_(managed_groups(session=session, principal=principal)))
    return list(session.scalars(stmt))


def create(
    *,
    session: Session,
    principal: Principal,
    group_id: uuid.UUID,
    name: str,
    title: str,
    body: str,
    priority: str,
    deep_link: str | None,
    now: datetime,
) -> MessageTemplate:
    if session.get(Group, group_id) is None:
        raise InvalidInput(f"unknown group {group_id}")
    if not _may_keep(session, principal, group_id):
        raise PermissionDenied("only a manager of the group (or an admin) keeps its templates")
    clash = session.scalar(
        select(MessageTemplate.id).where(MessageTemplate.group_id == group_id, MessageTemplate.name == name)
    )
    if clash is not None:
        raise Conflict(f"the group already has a template named {name!r}")
    template = MessageTemplate(
        group_id=group_id,
        name=name,
        title=title,
        body=body,
        priority=priority,
        deep_link=deep_link,
        created_by=principal.person_id,
        created_at=now,
    )
    session.add(template)
    session.flush()
    return template


def delete(*, session: Session, principal: Principal, template_id: uuid.UUID) -> MessageTemplate:
    template = session.get(MessageTemplate, template_id)
    if template is None:
        raise NotFound(f"no template with id {template_id}")
    if not _may_keep(session, principal, template.group_id):
        raise PermissionDenied("only a manager of the group (or an admin) keeps its templates")
    session.delete(template)
    session.flush()
    return template
