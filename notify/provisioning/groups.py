"""Provisioned groups: create, rename, nest (by a parent reference or by a naming rule), set and
change their members, and deactivate them (a group is never deleted: the audit and reports name it)."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kernel.audit import service as audit
from kernel.db import bulk_insert
from kernel.directory import service as directory
from kernel.directory.models import Group, GroupMember, Person
from kernel.errors import Conflict, InvalidInput
from notify.fleet.lifecycle import By


def _log(
    session: Session,
    *,
    by: By,
    now: datetime,
    action: str,
    group: Group,
    before: dict[str, object] | None,
    after: dict[str, object] | None = None,
) -> None:
    audit.record(
        session=session,
        now=now,
        actor_id=by.person_id,
        actor_label=by.label,
        action=action,
        target_type="group",
        target_id=group.id,
        meta=by.meta,
        before=before,
        after=after if after is not None else group.snapshot(),
    )


def code_for(name: str) -> str:
    """A group code from a name: ASCII, lower case, with a random tail so it is unique."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:40] or "group"
    return f"{slug}-{uuid.uuid4().hex[:8]}"


def resolve_parent(
    *, session: Session, name: str, parent_ref: str | None, separator: str, own_id: uuid.UUID | None = None
) -> uuid.UUID | None:
    """The parent of a provisioned group: the group a parent reference names (its Vila id or external
    id), or else, when a separator is configured, the group named like this one's path without its
    last part ('Medicin / Avd 12' goes below 'Medicin'). None: a top-level group."""
    if parent_ref:
        parent = None
        try:
            parent = session.get(Group, uuid.UUID(parent_ref))
        except ValueError:
            pass
        if parent is None:
            parent = session.scalar(select(Group).where(Group.external_id == parent_ref))
        if parent is None:
            raise InvalidInput(f"unknown parent group {parent_ref}")
        return _not_below_itself(session, parent.id, own_id)
    if separator and separator in name:
        parent_name = name.rsplit(separator, 1)[0].strip()
        parent_id = session.scalar(
            select(Group.id)
            .where(Group.name == parent_name, Group.active.is_(True))
            .order_by(Group.provisioned.desc(), Group.created_at)
            .limit(1)
        )
        if parent_id is None:
            raise InvalidInput(f"no group named {parent_name!r} to nest {name!r} below; provision it first")
        return _not_below_itself(session, parent_id, own_id)
    return None


def _not_below_itself(session: Session, parent_id: uuid.UUID, own_id: uuid.UUID | None) -> uuid.UUID:
    if own_id is not None and parent_id in directory.descendant_ids(session=session, group_ids=[own_id]):
        raise InvalidInput("a group cannot be nested below itself or one of its subgroups")
    return parent_id


def create(
    *,
    session: Session,
    name: str,
    external_id: str | None,
    parent_id: uuid.UUID | None,
    member_ids: Iterable[uuid.UUID],
    by: By,
    now: datetime,
    action: str,
) -> Group:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a group's name must have 1 to 200 characters")
    if external_id and session.scalar(select(Group.id).where(Group.external_id == external_id)) is not None:
        raise Conflict(f"a group with externalId {external_id} already exists")
    group = Group(
        name=name,
        code=code_for(name),
        kind="unit" if parent_id else "administration",
        parent_id=parent_id,
        active=True,
        external_id=external_id,
        provisioned=True,
        created_at=now,
        updated_at=now,
    )
    session.add(group)
    session.flush()
    _log(session, by=by, now=now, action=f"{action}.create", group=group, before=None)
    set_members(session=session, group=group, person_ids=member_ids, by=by, now=now, action=action)
    return group


def update(
    *,
    session: Session,
    group: Group,
    name: str,
    external_id: str | None,
    parent_id: uuid.UUID | None,
    by: By,
    now: datetime,
    action: str,
) -> None:
    before = group.snapshot()
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a group's name must have 1 to 200 characters")
    if external_id and external_id != group.external_id:
        other = session.scalar(select(Group.id).where(Group.external_id == external_id))
        if other is not None and other != group.id:
            raise Conflict(f"a group with externalId {external_id} already exists")
    changed = (group.name, group.external_id, group.parent_id) != (name, external_id, parent_id)
    group.name, group.external_id, group.parent_id = name, external_id, parent_id
    group.provisioned = True
    if not group.active:
        group.active, changed = True, True
    if changed:
        group.updated_at = now
        session.flush()
        _log(session, by=by, now=now, action=f"{action}.update", group=group, before=before)


def deactivate(*, session: Session, group: Group, by: By, now: datetime, action: str) -> None:
    """A group removed in the identity system: inactive, with its members and history kept."""
    if group.active:
        before = group.snapshot()
        group.active = False
        group.updated_at = now
        session.flush()
        _log(session, by=by, now=now, action=f"{action}.deactivate", group=group, before=before)


def member_ids(session: Session, group_id: uuid.UUID) -> set[uuid.UUID]:
    return set(session.scalars(select(GroupMember.person_id).where(GroupMember.group_id == group_id)))


def set_members(
    *, session: Session, group: Group, person_ids: Iterable[uuid.UUID], by: By, now: datetime, action: str
) -> tuple[int, int]:
    """Make the group's members exactly these people (all must exist). Returns (added, removed)."""
    wanted = set(person_ids)
    current = member_ids(session, group.id)
    return change_members(
        session=session, group=group, add=wanted - current, remove=current - wanted, by=by, now=now, action=action
    )


def change_members(
    *,
    session: Session,
    group: Group,
    add: Iterable[uuid.UUID],
    remove: Iterable[uuid.UUID],
    by: By,
    now: datetime,
    action: str,
) -> tuple[int, int]:
    """Add and remove members in two statements (a group of thousands is one request). Unknown people
    refuse the whole change; adding a member twice or removing a non-member changes nothing."""
    current = member_ids(session, group.id)
    to_add = sorted(set(add) - current)
    to_remove = sorted(set(remove) & current)
    if to_add:
        found = set(session.scalars(select(Person.id).where(Person.id.in_(to_add))))
        missing = [str(p) for p in to_add if p not in found]
        if missing:
            raise InvalidInput(f"unknown member(s): {', '.join(missing[:10])}")
        bulk_insert(session, GroupMember, [{"group_id": group.id, "person_id": p} for p in to_add])
    if to_remove:
        session.execute(
            delete(GroupMember).where(GroupMember.group_id == group.id, GroupMember.person_id.in_(to_remove))
        )
    if to_add or to_remove:
        _log(
            session,
            by=by,
            now=now,
            action=f"{action}.members",
            group=group,
            before=None,
            after={"added": [str(p) for p in to_add], "removed": [str(p) for p in to_remove]},
        )
    return len(to_add), len(to_remove)
