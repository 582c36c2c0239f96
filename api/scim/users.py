"""SCIM Users (RFC 7644 §3): create, read, list with a filter, replace, patch, and delete as deactivation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Request, Response
from scim2_models import Context, ListResponse, PatchOp
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import ClockDep, SessionDep, UowDep
from api.scim.common import ACTION, Scim, ScimDep, query
from api.scim.errors import ScimResponse, ScimRoute, scim_json
from api.scim.mapping import ScimUser, normalise_user_body, person_to_user, user_values
from kernel.directory.models import Person
from kernel.errors import NotFound
from kernel.uow import UnitOfWork
from notify.provisioning import people

router = APIRouter(route_class=ScimRoute)
JsonBody = Body(..., media_type="application/scim+json")
FILTERABLE = ("userName", "externalId", "displayName")


def _person(session: Session, user_id: str) -> Person:
    try:
        person = session.get(Person, uuid.UUID(user_id))
    except ValueError:
        person = None
    if person is None:
        raise NotFound(f"no user with id {user_id}")
    return person


def _answer(person: Person, scim: Scim, status_code: int = 200) -> ScimResponse:
    user = person_to_user(person, base_url=scim.base_url)
    ctx = Context.RESOURCE_CREATION_RESPONSE if status_code == 201 else Context.RESOURCE_REPLACEMENT_RESPONSE
    headers = {"Location": f"{scim.base_url}/Users/{person.id}"}
    return scim_json(user.model_dump(scim_ctx=ctx), status_code=status_code, headers=headers)


@router.post("/Users", status_code=201)
def create_user(
    body: dict[str, Any] = JsonBody, *, session: SessionDep, uow: UowDep, scim: ScimDep, clock: ClockDep
) -> Response:
    user = ScimUser.model_validate(normalise_user_body(body), scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    person = people.create(
        session=session,
        values=user_values(user),
        provisioned=scim.provisioned,
        by=scim.by,
        now=clock.now(),
        action=f"{ACTION}.person",
        defaults=scim.defaults,
    )
    scim.audited()
    uow.commit()
    return _answer(person, scim, 201)


@router.get("/Users")
def list_users(request: Request, session: SessionDep, scim: ScimDep) -> Response:
    q = query(request, FILTERABLE)
    stmt = select(Person)
    if q.equals is not None:
        attr, value = q.equals
        if attr == "username":
            stmt = stmt.where(Person.email == value.strip().lower())
        elif attr == "externalid":
            stmt = stmt.where(Person.external_id == value)
        else:
            stmt = stmt.where(Person.name == value)
    found = (
        list(session.scalars(stmt.order_by(Person.created_at, Person.id).offset(q.offset).limit(q.count)))
        if q.count
        else []
    )
    # A first page that is not full holds them all (Entra's lookups): no count query needed.
    whole = q.offset == 0 and 0 < q.count and len(found) < q.count
    total = len(found) if whole else session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    listing = ListResponse[ScimUser](
        total_results=total,
        start_index=q.offset + 1,
        items_per_page=len(found),
        resources=[person_to_user(p, base_url=scim.base_url) for p in found],
    )
    return scim_json(listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=q.request))


@router.get("/Users/{user_id}")
def read_user(user_id: str, session: SessionDep, scim: ScimDep) -> Response:
    return _answer(_person(session, user_id), scim)


@router.put("/Users/{user_id}")
def replace_user(
    user_id: str, body: dict[str, Any] = JsonBody, *, session: SessionDep, uow: UowDep, scim: ScimDep, clock: ClockDep
) -> Response:
    person = _person(session, user_id)
    user = ScimUser.model_validate(normalise_user_body(body), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    return _apply(uow, person, user, scim, now=clock.now())


@router.patch("/Users/{user_id}")
def patch_user(
    user_id: str, body: dict[str, Any] = JsonBody, *, session: SessionDep, uow: UowDep, scim: ScimDep, clock: ClockDep
) -> Response:
    """Entra ID's forms included: `active` as the string "False", paths with a value filter
    (`emails[type eq "work"].value`), operations without a path, and capitalised op names."""
    person = _person(session, user_id)
    for operation in body.get("Operations") or []:
        if isinstance(operation, dict) and isinstance(operation.get("value"), dict):
            normalise_user_body(operation["value"])
        if isinstance(operation, dict) and str(operation.get("path", "")).endswith(":manager"):
            if isinstance(operation.get("value"), str):
                operation["value"] = {"value": operation["value"], "$ref": f"../Users/{operation['value']}"}
    patch = PatchOp[ScimUser].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    user = person_to_user(person, base_url=scim.base_url)
    patch.patch(user)
    return _apply(uow, person, user, scim, now=clock.now())


def _apply(uow: UnitOfWork, person: Person, user: ScimUser, scim: Scim, *, now: datetime) -> Response:
    """A replaced or patched user written back (only the provisioned fields), audited if it changed."""
    if people.apply(
        session=uow.session,
        person=person,
        values=user_values(user),
        provisioned=scim.provisioned,
        by=scim.by,
        now=now,
        action=f"{ACTION}.person",
    ):
        scim.audited()
    uow.commit()
    return _answer(person, scim)


@router.delete("/Users/{user_id}", status_code=204)
def delete_user(user_id: str, session: SessionDep, uow: UowDep, scim: ScimDep, clock: ClockDep) -> Response:
    """Deletion deactivates: the person's history (audit, rest ledger, deliveries) stays."""
    person = _person(session, user_id)
    now = clock.now()
    before = person.snapshot()
    if people.deactivate(session=session, person=person, by=scim.by, now=now):
        people.log(session, by=scim.by, now=now, action=f"{ACTION}.person.deactivate", person=person, before=before)
        scim.audited()
    uow.commit()
    return Response(status_code=204)
