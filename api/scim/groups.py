"""SCIM Groups (RFC 7644 §3): create, read, list with a filter, replace, patch (members added and
removed without reading the whole group), and delete as deactivation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Request, Response
from scim2_models import Context, InvalidValueException, ListResponse, PatchOp
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import ClockDep, SessionDep, UowDep
from api.scim.common import ACTION, Scim, ScimDep, query
from api.scim.errors import ScimResponse, ScimRoute, scim_json
from api.scim.mapping import ScimGroup, group_to_scim, member_ids, parent_ref, parse_id
from kernel.directory.models import Group, GroupMember, Person
from kernel.errors import InvalidInput, NotFound
from notify.provisioning import groups

router = APIRouter(route_class=ScimRoute)
JsonBody = Body(..., media_type="application/scim+json")
FILTERABLE = ("displayName", "externalId")
_MEMBERS_FILTER = "members[value eq "


def _group(session: Session, group_id: str) -> Group:
    try:
        group = session.get(Group, uuid.UUID(group_id))
    except ValueError:
        group = None
    if group is None:
        raise NotFound(f"no group with id {group_id}")
    return group


def _members(session: Session, group_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    rows = session.execute(
        select(Person.id, Person.name)
        .join(GroupMember, GroupMember.person_id == Person.id)
        .where(GroupMember.group_id == group_id)
        .order_by(Person.name)
    )
    return [(pid, name) for pid, name in rows]


def _wants_members(request: Request) -> bool:
    excluded = request.query_params.get("excludedAttributes", "")
    return "members" not in {a.strip().lower() for a in excluded.split(",")}


def _answer(
    session: Session, group: Group, scim: Scim, status_code: int = 200, *, members: bool = True
) -> ScimResponse:
    scim_group = group_to_scim(group, _members(session, group.id) if members else [], base_url=scim.base_url)
    ctx = Context.RESOURCE_CREATION_RESPONSE if status_code == 201 else Context.RESOURCE_REPLACEMENT_RESPONSE
    headers = {"Location": f"{scim.base_url}/Groups/{group.id}"}
    return scim_json(scim_group.model_dump(scim_ctx=ctx), status_code=status_code, headers=headers)


@router.post("/Groups", status_code=201)
def create_group(
    body: dict[str, Any] = JsonBody, *, session: SessionDep, uow: UowDep, scim: ScimDep, clock: ClockDep
) -> Response:
    scim_group = ScimGroup.model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    name = scim_group.display_name or ""
    parent = groups.resolve_parent(
        session=session, name=name, parent_ref=parent_ref(scim_group), separator=scim.group_separator
    )
    group = groups.create(
        session=session,
        name=name,
        external_id=scim_group.external_id,
        parent_id=parent,
        member_ids=member_ids(scim_group),
        by=scim.by,
        now=clock.now(),
        action=f"{ACTION}.group",
    )
    scim.audited()
    uow.commit()
    return _answer(session, group, scim, 201)


@router.get("/Groups")
def list_groups(request: Request, session: SessionDep, scim: ScimDep) -> Response:
    q = query(request, FILTERABLE)
    stmt = select(Group).where(Group.active.is_(True))
    if q.equals is not None:
        attr, value = q.equals
        stmt = stmt.where(Group.external_id == value if attr == "externalid" else Group.name == value)
    found = (
        list(session.scalars(stmt.order_by(Group.created_at, Group.id).offset(q.offset).limit(q.count)))
        if q.count
        else []
    )
    whole = q.offset == 0 and 0 < q.count and len(found) < q.count
    total = len(found) if whole else session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    with_members = _wants_members(request)
    listing = ListResponse[ScimGroup](
        total_results=total,
        start_index=q.offset + 1,
        items_per_page=len(found),
        resources=[
            group_to_scim(g, _members(session, g.id) if with_members else [], base_url=scim.base_url) for g in found
        ],
    )
    return scim_json(listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=q.request))


@router.get("/Groups/{group_id}")
def read_group(group_id: str, request: Request, session: SessionDep, scim: ScimDep) -> Response:
    return _answer(session, _group(session, group_id), scim, members=_wants_members(request))


@router.put("/Groups/{group_id}")
def replace_group(
    group_id: str, body: dict[str, Any] = JsonBody, *, session: SessionDep, uow: UowDep, scim: ScimDep, clock: ClockDep
) -> Response:
    group = _group(session, group_id)
    scim_group = ScimGroup.model_validate(body, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    name = scim_group.display_name or ""
    parent = groups.resolve_parent(
        session=session, name=name, parent_ref=parent_ref(scim_group), separator=scim.group_separator, own_id=group.id
    )
    now = clock.now()
    action = f"{ACTION}.group"
    groups.update(
        session=session,
        group=group,
        name=name,
        external_id=scim_group.external_id,
        parent_id=parent,
        by=scim.by,
        now=now,
        action=action,
    )
    groups.set_members(
        session=session, group=group, person_ids=member_ids(scim_group), by=scim.by, now=now, action=action
    )
    scim.audited()
    uow.commit()
    return _answer(session, group, scim)


def _member_values(value: Any, bulk_ids: dict[str, str] | None = None) -> list[uuid.UUID]:
    items = value if isinstance(value, list) else [value]
    ids = []
    for item in items:
        raw = item.get("value") if isinstance(item, dict) else item
        if not raw:
            raise InvalidInput("a member needs a value: the member's id")
        raw = str(raw)
        if bulk_ids is not None and raw.startswith("bulkId:"):
            raw = bulk_ids.get(raw[7:], raw)
        ids.append(parse_id(raw, "member"))
    return ids


@router.patch("/Groups/{group_id}", status_code=204)
def patch_group(
    group_id: str, body: dict[str, Any] = JsonBody, *, session: SessionDep, uow: UowDep, scim: ScimDep, clock: ClockDep
) -> Response:
    apply_patch(session=session, group=_group(session, group_id), body=body, scim=scim, now=clock.now())
    scim.audited()
    uow.commit()
    return Response(status_code=204)  # RFC 7644 §3.5.2: a server may answer a patch with no body


def apply_patch(
    *,
    session: Session,
    group: Group,
    body: dict[str, Any],
    scim: Scim,
    now: datetime,
    ids: dict[str, str] | None = None,
) -> None:
    """Members are added and removed as Entra ID sends them (`add members [{value}]`, `remove members
    [{value}]`, `remove members[value eq "id"]`), straight into the membership table; the other
    operations (displayName, externalId, parent) are applied to the resource by scim2-models.
    `ids` resolves `bulkId:` references of a bulk request."""
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations or not all(isinstance(o, dict) for o in operations):
        PatchOp[ScimGroup].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)  # says what is wrong
        raise InvalidValueException(detail="Operations must be a list of operation objects")
    add: list[uuid.UUID] = []
    remove: list[uuid.UUID] = []
    others: list[dict[str, Any]] = []
    replace_members: list[uuid.UUID] | None = None
    for raw in operations:
        op = str(raw.get("op", "")).lower()
        if op not in ("add", "remove", "replace"):
            raise InvalidValueException(detail=f"{raw.get('op')!r} is not a PATCH operation: add, remove or replace")
        path = str(raw.get("path") or "")
        if path.lower() == "members":
            if op == "add":
                add += _member_values(raw.get("value"), ids)
            elif op == "remove" and raw.get("value") is not None:
                remove += _member_values(raw.get("value"), ids)
            elif op == "remove":
                replace_members = []
            else:
                replace_members = _member_values(raw.get("value") or [], ids)
        elif path.lower().startswith(_MEMBERS_FILTER) and op == "remove":
            remove.append(parse_id(path[len(_MEMBERS_FILTER) :].rstrip("]").strip().strip('"'), "member"))
        else:
            others.append(raw)
    action = f"{ACTION}.group"
    if others:
        current = group_to_scim(group, [], base_url=scim.base_url)
        PatchOp[ScimGroup].model_validate(
            {**body, "Operations": others}, scim_ctx=Context.RESOURCE_PATCH_REQUEST
        ).patch(current)
        if current.members:
            add += member_ids(current)
        name = current.display_name or ""
        parent = groups.resolve_parent(
            session=session,
            name=name,
            parent_ref=parent_ref(current),
            separator=scim.group_separator,
            own_id=group.id,
        )
        groups.update(
            session=session,
            group=group,
            name=name,
            external_id=current.external_id,
            parent_id=parent,
            by=scim.by,
            now=now,
            action=action,
        )
    if replace_members is not None:
        groups.set_members(session=session, group=group, person_ids=replace_members, by=scim.by, now=now, action=action)
    groups.change_members(session=session, group=group, add=add, remove=remove, by=scim.by, now=now, action=action)


@router.delete("/Groups/{group_id}", status_code=204)
def delete_group(group_id: str, session: SessionDep, uow: UowDep, scim: ScimDep, clock: ClockDep) -> Response:
    """Deletion deactivates the group; its memberships and history are kept."""
    group = _group(session, group_id)
    groups.deactivate(session=session, group=group, by=scim.by, now=clock.now(), action=f"{ACTION}.group")
    scim.audited()
    uow.commit()
    return Response(status_code=204)
