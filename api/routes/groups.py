"""Groups: the nested units of the region, with their managers and members."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import AuditDep, Auditor, ClockDep, CurrentPerson, PageDep, SessionDep, UowDep
from api.permissions import HrOrAdmin, ManagesGroup, sees_members_of, sends_as_manager_to
from kernel.auth.service import require_administers_all
from kernel.directory import service as directory
from kernel.directory.schemas import (
    GroupCreate,
    GroupDetail,
    GroupRead,
    GroupUpdate,
    MembershipChange,
    Page,
    PersonRead,
)
from kernel.uow import UnitOfWork

router = APIRouter(prefix="/api/v1/groups", tags=["groups"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=GroupRead)
def create_group(
    body: GroupCreate, session: SessionDep, me: HrOrAdmin, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> GroupRead:
    group = directory.create_group(session=session, data=body, now=clock.now())
    audit.log(session, action="group.create", target_type="group", target_id=group.id, after=group.snapshot())
    uow.commit()
    return GroupRead.model_validate(group)


@router.get("", response_model=Page[GroupRead])
def list_groups(
    session: SessionDep,
    me: CurrentPerson,
    page: PageDep,
    parent: Annotated[uuid.UUID | None, Query(description="Only the direct subgroups of this group.")] = None,
    kind: Annotated[str | None, Query(pattern="^(region|administration|unit|team)$")] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    managed: Annotated[bool, Query(description="Only groups you may send to as a manager (admin: all).")] = False,
) -> Page[GroupRead]:
    groups, total = directory.list_groups(
        session=session, limit=page.limit, offset=page.offset, parent_id=parent, kind=kind, q=q
    )
    if managed and (mine := sends_as_manager_to(session, me)) is not None:
        # Few groups per region, so filtering the page here is simpler than a second query path.
        groups = [g for g in groups if g.id in mine]
        total = len(groups)
    return Page[GroupRead](
        items=[GroupRead.model_validate(g) for g in groups], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/{group_id}", response_model=GroupDetail)
def read_group(group_id: uuid.UUID, session: SessionDep, me: CurrentPerson) -> GroupDetail:
    group = directory.require_group(session=session, group_id=group_id)
    members: list[PersonRead] = []
    if sees_members_of(session, me, group_id):
        members = [PersonRead.model_validate(p) for p in directory.members(session=session, group_id=group_id)]
    return GroupDetail(
        **GroupRead.model_validate(group).model_dump(),
        managers=[PersonRead.model_validate(p) for p in directory.managers(session=session, group_id=group_id)],
        members=members,
        subgroups=[GroupRead.model_validate(g) for g in directory.subgroups(session=session, group_id=group_id)],
    )


@router.patch("/{group_id}", response_model=GroupRead)
def update_group(
    group_id: uuid.UUID,
    body: GroupUpdate,
    session: SessionDep,
    me: HrOrAdmin,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> GroupRead:
    group = directory.require_group(session=session, group_id=group_id)
    before = group.snapshot()
    directory.update_group(session=session, group=group, data=body, now=clock.now())
    audit.log(
        session, action="group.update", target_type="group", target_id=group.id, before=before, after=group.snapshot()
    )
    uow.commit()
    return GroupRead.model_validate(group)


MembershipOp = Callable[..., int]


def _change(
    uow: UnitOfWork,
    audit: Auditor,
    *,
    group_id: uuid.UUID,
    body: MembershipChange,
    op: MembershipOp,
    action: str,
) -> dict[str, int]:
    """Apply one membership change and audit it in the same transaction."""
    session = uow.session
    count = op(session=session, group_id=group_id, person_ids=body.person_ids)
    ids = {"person_ids": sorted(str(p) for p in body.person_ids)}
    adding = action.endswith(".add")
    audit.log(
        session,
        action=action,
        target_type="group",
        target_id=group_id,
        after=ids if adding else None,
        before=None if adding else ids,
    )
    uow.commit()
    return {"added" if adding else "removed": count}


@router.post("/{group_id}/members", response_model=dict[str, int])
def add_members(
    group_id: ManagesGroup, body: MembershipChange, session: SessionDep, me: CurrentPerson, audit: AuditDep, uow: UowDep
) -> dict[str, int]:
    """Add members; a manager may do it for the groups they manage, with people already in them."""
    directory.require_group(session=session, group_id=group_id)
    require_administers_all(session=session, principal=me, person_ids=body.person_ids)
    return _change(uow, audit, group_id=group_id, body=body, op=directory.add_members, action="group.members.add")


@router.delete("/{group_id}/members", response_model=dict[str, int])
def remove_members(
    group_id: ManagesGroup, body: MembershipChange, session: SessionDep, me: CurrentPerson, audit: AuditDep, uow: UowDep
) -> dict[str, int]:
    directory.require_group(session=session, group_id=group_id)
    require_administers_all(session=session, principal=me, person_ids=body.person_ids)
    return _change(uow, audit, group_id=group_id, body=body, op=directory.remove_members, action="group.members.remove")


@router.post("/{group_id}/managers", response_model=dict[str, int])
def add_managers(
    group_id: uuid.UUID, body: MembershipChange, session: SessionDep, me: HrOrAdmin, audit: AuditDep, uow: UowDep
) -> dict[str, int]:
    """Make people managers of the group (and grant them the role manager). HR and admin only."""
    directory.require_group(session=session, group_id=group_id)
    return _change(uow, audit, group_id=group_id, body=body, op=directory.add_managers, action="group.managers.add")


@router.delete("/{group_id}/managers", response_model=dict[str, int])
def remove_managers(
    group_id: uuid.UUID, body: MembershipChange, session: SessionDep, me: HrOrAdmin, audit: AuditDep, uow: UowDep
) -> dict[str, int]:
    directory.require_group(session=session, group_id=group_id)
    return _change(
        uow, audit, group_id=group_id, body=body, op=directory.remove_managers, action="group.managers.remove"
    )
