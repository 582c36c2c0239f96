"""Resolve an audience (groups with subgroups, people, professions, roster roles) to people."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel import formats
from kernel.auth.service import Principal, managed_groups
from kernel.directory import service as directory
from kernel.directory.models import Group, GroupMember, Person
from kernel.errors import InvalidInput, PermissionDenied
from notify.schemas import Audience
from policies.availability import cover_for_role
from policies.core.types import OnCallSlot
from policies.models import OnCallSlotRow, Roster


@dataclass(frozen=True)
class Resolved:
    person_ids: list[uuid.UUID]
    label: str
    role: str | None
    cover: tuple[OnCallSlot, ...]


def may_page_role(sender: Principal, audience: Audience, priority: str | None) -> bool:
    """Any staff member may page an on-call role: an urgent message to roster roles only (never
    to groups, people or professions), decided by the same rest rules as any other message."""
    only_roles = bool(audience.roles) and not (audience.groups or audience.people or audience.professions)
    return sender.has("staff") and only_roles and priority == "urgent"


def resolve(
    *, session: Session, audience: Audience, sender: Principal, at: datetime, priority: str | None = None
) -> Resolved:
    """The active people the audience names, after checking the sender may address them."""
    unrestricted = sender.has("admin")
    if not unrestricted and not sender.has("manager"):
        if not may_page_role(sender, audience, priority):
            raise PermissionDenied(
                "sending messages needs the role manager; staff may send only urgent messages to on-call roles"
            )
        unrestricted = True  # roles only: whoever holds the role, wherever their unit is
    scope = None if unrestricted else managed_groups(session=session, principal=sender)

    groups = session.scalars(select(Group).where(Group.id.in_(audience.groups))).all() if audience.groups else []
    missing = set(audience.groups) - {g.id for g in groups}
    if missing:
        raise InvalidInput(f"unknown group(s): {', '.join(sorted(map(str, missing)))}")
    if scope is not None and any(g.id not in scope for g in groups):
        raise PermissionDenied("you may send only to the groups you manage and their subgroups")

    ids: dict[uuid.UUID, None] = {}
    if groups:
        tree = directory.descendant_ids(session=session, group_ids=[g.id for g in groups])
        stmt = (
            select(Person.id)
            .join(GroupMember, GroupMember.person_id == Person.id)
            .where(GroupMember.group_id.in_(tree), Person.active.is_(True))
        )
        if audience.professions:
            stmt = stmt.where(Person.profession.in_(audience.professions))
        for pid in session.scalars(stmt.order_by(Person.id)):
            ids.setdefault(pid, None)
    if audience.people:
        found = set(session.scalars(select(Person.id).where(Person.id.in_(audience.people), Person.active.is_(True))))
        unknown = set(audience.people) - found
        if unknown:
            raise InvalidInput(f"unknown or inactive person(s): {', '.join(sorted(map(str, unknown)))}")
        if scope is not None:
            allowed = set(
                session.scalars(
                    select(GroupMember.person_id).where(
                        GroupMember.person_id.in_(audience.people), GroupMember.group_id.in_(scope)
                    )
                )
            )
            outside = found - allowed
            if outside:
                raise PermissionDenied("some of the people named are not in a group you manage")
        for pid in audience.people:
            ids.setdefault(pid, None)

    role: str | None = None
    cover: tuple[OnCallSlot, ...] = ()
    if scope is not None:
        for role_name in audience.roles:
            _require_role_in_scope(session, role=role_name, scope=scope)
    for role_name in audience.roles:
        slots = cover_for_role(session=session, role=role_name, at=at)
        current = [s for s in slots if s.start <= at < s.end and s.person_id is not None]
        if not current:
            raise InvalidInput(f"nobody is on call for the role {role_name!r} now")
        role, cover = role_name, slots
        for slot in current:
            if slot.person_id is not None:
                ids.setdefault(slot.person_id, None)
    if not ids:
        raise InvalidInput("the audience has no active member")
    parts = [g.name for g in groups]
    if audience.people:
        parts.append(formats.plural(len(audience.people), "sv", "person", "personer"))
    parts.extend(audience.roles)
    label = ", ".join(parts)[:300]
    return Resolved(person_ids=list(ids), label=label, role=role, cover=cover)


def _require_role_in_scope(session: Session, *, role: str, scope: set[uuid.UUID]) -> None:
    """A roster role belongs to the groups of its roster and its slots; a manager may address it only
    when every one of them is a group they manage. A role no group owns is the admin's alone."""
    owners = set(session.scalars(select(Roster.group_id).where(Roster.role == role)))
    owners |= set(
        session.scalars(
            select(OnCallSlotRow.group_id)
            .where(OnCallSlotRow.role == role, OnCallSlotRow.group_id.is_not(None))
            .distinct()
        )
    )
    if not owners or not owners <= scope:
        raise PermissionDenied(f"you may send only to the on-call roles of the groups you manage, not to {role!r}")
