"""People and the nested groups they belong to (region > administration > unit > team)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.checks import all_of, one_of
from kernel.db import Base, UTCDateTime, json_type, new_id
from kernel.vocabulary import LANGUAGES as LANGUAGES  # named from here by older code
from kernel.vocabulary import ROLES as ROLES
from kernel.vocabulary import Language
from kernel.vocabulary import Role as Role

GROUP_KINDS = ("region", "administration", "unit", "team")


class Person(Base):
    __tablename__ = "person"
    __table_args__ = (one_of("language", LANGUAGES), *all_of("roles", ROLES))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Stockholm")
    profession: Mapped[str | None] = mapped_column(String(64), index=True)
    language: Mapped[Language] = mapped_column(String(2), default="sv")
    roles: Mapped[list[str]] = mapped_column(json_type(), default=lambda: ["staff"])
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Employment, as the identity system (SCIM's enterprise extension) or an import provides it.
    employee_number: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(200))
    employment_type: Mapped[str | None] = mapped_column(String(64))
    manager_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    # The fields whose values come from the identity system: Vila's pages show them as such, and
    # provisioning overwrites only these (kernel/directory/provisioning.py).
    provisioned: Mapped[list[str] | None] = mapped_column(json_type())

    def snapshot(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "email": self.email,
            "timezone": self.timezone,
            "profession": self.profession,
            "language": self.language,
            "roles": sorted(self.roles),
            "active": self.active,
            "employee_number": self.employee_number,
            "department": self.department,
            "employment_type": self.employment_type,
            "manager_id": str(self.manager_id) if self.manager_id else None,
        }


class Group(Base):
    __tablename__ = "group"
    __table_args__ = (one_of("kind", GROUP_KINDS),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="unit")
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("group.id", ondelete="RESTRICT"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    provisioned: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def snapshot(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "code": self.code,
            "kind": self.kind,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "active": self.active,
        }


class GroupMember(Base):
    __tablename__ = "group_member"
    __table_args__ = (Index("ix_group_member_person", "person_id"),)

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("group.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)


class GroupManager(Base):
    __tablename__ = "group_manager"
    __table_args__ = (Index("ix_group_manager_person", "person_id"),)

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("group.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
