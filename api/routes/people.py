"""People: admin and HR keep the register; managers read their groups' people; everyone reads themselves."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from api.deps import AuditDep, ClockDep, CurrentPerson, PageDep, SessionDep, SettingsDep, UowDep, request_meta
from api.permissions import ActsOnPersonId, HrOrAdmin, PeopleReader, grants_roles, register_within
from kernel.auth.service import require_may_administer
from kernel.directory import provisioning
from kernel.directory import service as directory
from kernel.directory.schemas import Page, PersonCreate, PersonRead, PersonUpdate
from notify.fleet.lifecycle import By
from notify.provisioning import people as provisioned_people

router = APIRouter(prefix="/api/v1/people", tags=["people"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PersonRead)
def create_person(
    body: PersonCreate,
    session: SessionDep,
    me: HrOrAdmin,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
    settings: SettingsDep,
) -> PersonRead:
    grants_roles(me, body.roles)
    person = directory.create_person(
        session=session, data=body, now=clock.now(), defaults=directory.PersonDefaults.of(settings)
    )
    audit.log(session, action="person.create", target_type="person", target_id=person.id, after=person.snapshot())
    uow.commit()
    return PersonRead.model_validate(person)


@router.get("", response_model=Page[PersonRead])
def list_people(
    session: SessionDep,
    me: PeopleReader,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=100, description="Part of a name or e-mail.")] = None,
    group: Annotated[list[uuid.UUID] | None, Query(description="Members of these groups and their subgroups.")] = None,
    profession: Annotated[str | None, Query(max_length=64)] = None,
    role: Annotated[str | None, Query(pattern="^(staff|manager|hr|admin|union|evaluator)$")] = None,
    active: Annotated[bool | None, Query()] = True,
) -> Page[PersonRead]:
    within = register_within(session, me)
    people, total = directory.list_people(
        session=session,
        limit=page.limit,
        offset=page.offset,
        q=q,
        group_ids=group,
        profession=profession,
        role=role,
        active=active,
        within=within,
    )
    return Page[PersonRead](
        items=[PersonRead.model_validate(p) for p in people], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/me", response_model=PersonRead)
def read_me(session: SessionDep, me: CurrentPerson) -> PersonRead:
    return PersonRead.model_validate(directory.require_person(session=session, person_id=me.person_id))


@router.get("/{person_id}", response_model=PersonRead)
def read_person(person_id: ActsOnPersonId, session: SessionDep) -> PersonRead:
    person = directory.require_person(session=session, person_id=person_id)
    return PersonRead.model_validate(person)


@router.patch("/{person_id}", response_model=PersonRead)
def update_person(
    person_id: uuid.UUID,
    body: PersonUpdate,
    session: SessionDep,
    me: HrOrAdmin,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> PersonRead:
    person = directory.require_person(session=session, person_id=person_id)
    require_may_administer(principal=me, person=person)
    if body.roles is not None:
        grants_roles(me, set(body.roles) ^ set(person.roles))
    # A field the identity system provides is changed there, not here (it would be overwritten).
    provisioning.refuse_local_change(
        provisioned=person.provisioned,
        changed=[k for k, v in body.model_dump(exclude_unset=True).items() if getattr(person, k) != v],
    )
    before = person.snapshot()
    directory.update_person(session=session, person=person, data=body, now=clock.now())
    audit.log(
        session,
        action="person.update",
        target_type="person",
        target_id=person.id,
        before=before,
        after=person.snapshot(),
    )
    uow.commit()
    return PersonRead.model_validate(person)


@router.post("/{person_id}/deactivate", response_model=PersonRead)
def deactivate_person(
    person_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    me: HrOrAdmin,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> PersonRead:
    """Deactivate a person: they can no longer sign in, their push devices are disabled at once,
    their tokens are revoked by a job, and their device checklist (offboarding) starts."""
    person = directory.require_person(session=session, person_id=person_id)
    require_may_administer(principal=me, person=person)
    before = person.snapshot()
    now = clock.now()
    by = By(person_id=me.person_id, label=me.label, roles=me.roles, meta=request_meta(request))
    provisioned_people.deactivate(session=session, person=person, by=by, now=now)
    audit.log(
        session,
        action="person.deactivate",
        target_type="person",
        target_id=person.id,
        before=before,
        after=person.snapshot(),
    )
    uow.commit()
    return PersonRead.model_validate(person)
