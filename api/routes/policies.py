"""HR rest-time policies (create, version, assign, read) and the rest ledger."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import AuditDep, ClockDep, CurrentPerson, PageDep, SessionDep, UowDep
from api.permissions import ActsOnPersonId, HrOrAdmin, PolicyReader, reads_rest_records
from kernel.directory import service as directory
from kernel.errors import InvalidInput
from policies import decisions, ledger, rest_policies
from policies.models import RestPolicy
from policies.schemas.ledger import GrantCreate, LedgerEntryRead, LedgerPage
from policies.schemas.rest_policies import (
    PolicyCreate,
    PolicyInForce,
    PolicyRead,
    PolicyVersionCreate,
    PolicyVersionRead,
)

router = APIRouter(prefix="/api/v1", tags=["policies"])


def _read(session: SessionDep, policy: RestPolicy) -> PolicyRead:
    return PolicyRead(
        id=policy.id,
        name=policy.name,
        description=policy.description,
        versions=[
            PolicyVersionRead.model_validate(v) for v in rest_policies.versions_of(session=session, policy_id=policy.id)
        ],
        groups=rest_policies.groups_of_policy(session=session, policy_id=policy.id),
    )


@router.post("/policies", status_code=status.HTTP_201_CREATED, response_model=PolicyRead)
def create_policy(
    body: PolicyCreate, session: SessionDep, me: HrOrAdmin, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> PolicyRead:
    policy, _ = rest_policies.create_policy(session=session, data=body, author_id=me.person_id, now=clock.now())
    read = _read(session, policy)
    audit.log(
        session, action="policy.create", target_type="policy", target_id=policy.id, after=read.model_dump(mode="json")
    )
    uow.commit()
    return read


@router.get("/policies", response_model=list[PolicyRead])
def list_policies(session: SessionDep, me: PolicyReader) -> list[PolicyRead]:
    return [_read(session, p) for p in rest_policies.list_policies(session=session)]


@router.get("/policies/{policy_id}", response_model=PolicyRead)
def read_policy(policy_id: uuid.UUID, session: SessionDep, me: PolicyReader) -> PolicyRead:
    return _read(session, rest_policies.require_policy(session=session, policy_id=policy_id))


@router.post("/policies/{policy_id}/versions", status_code=status.HTTP_201_CREATED, response_model=PolicyVersionRead)
def add_version(
    policy_id: uuid.UUID,
    body: PolicyVersionCreate,
    session: SessionDep,
    me: HrOrAdmin,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> PolicyVersionRead:
    """A new version, in force from its effective date; earlier versions stay for the record."""
    policy = rest_policies.require_policy(session=session, policy_id=policy_id)
    version = rest_policies.add_version(
        session=session, policy=policy, data=body, author_id=me.person_id, now=clock.now()
    )
    read = PolicyVersionRead.model_validate(version)
    audit.log(
        session, action="policy.version", target_type="policy", target_id=policy.id, after=read.model_dump(mode="json")
    )
    uow.commit()
    return read


@router.put("/policies/{policy_id}/groups/{group_id}", response_model=PolicyRead)
def assign_policy(
    policy_id: uuid.UUID,
    group_id: uuid.UUID,
    session: SessionDep,
    me: HrOrAdmin,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> PolicyRead:
    """Assign the policy to a group (its members and subgroups inherit it, nearest group first)."""
    policy = rest_policies.require_policy(session=session, policy_id=policy_id)
    _, previous = rest_policies.assign_policy(
        session=session, policy=policy, group_id=group_id, by=me.person_id, now=clock.now()
    )
    audit.log(
        session,
        action="policy.assign",
        target_type="group",
        target_id=group_id,
        before={"policy_id": str(previous) if previous else None},
        after={"policy_id": str(policy.id)},
    )
    uow.commit()
    return _read(session, policy)


@router.delete("/groups/{group_id}/policy", status_code=status.HTTP_204_NO_CONTENT)
def unassign_policy(group_id: uuid.UUID, session: SessionDep, me: HrOrAdmin, audit: AuditDep, uow: UowDep) -> None:
    previous = rest_policies.unassign_policy(session=session, group_id=group_id)
    audit.log(
        session,
        action="policy.unassign",
        target_type="group",
        target_id=group_id,
        before={"policy_id": str(previous) if previous else None},
        after={"policy_id": None},
    )
    uow.commit()


@router.get("/people/{person_id}/policy", response_model=PolicyInForce)
def policy_in_force(person_id: ActsOnPersonId, session: SessionDep, clock: ClockDep) -> PolicyInForce:
    directory.require_person(session=session, person_id=person_id)
    params = rest_policies.policies_for(session=session, person_ids=[person_id], at=clock.now())[person_id]
    return PolicyInForce(
        person_id=person_id,
        policy_id=params.policy_id,
        name=params.name,
        version=params.version,
        version_id=params.version_id,
    )


# The rest ledger --------------------------------------------------------------------------------


@router.get("/rest-ledger", response_model=LedgerPage)
def read_ledger(
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    page: PageDep,
    person_id: Annotated[uuid.UUID | None, Query(description="One person's entries.")] = None,
    group_id: Annotated[uuid.UUID | None, Query(description="Members of the group and its subgroups.")] = None,
    since: Annotated[datetime | None, Query(description="From (aware instant); default 30 days ago.")] = None,
    until: Annotated[datetime | None, Query(description="Until (aware instant); default now.")] = None,
) -> LedgerPage:
    """Contacts during rest and the compensatory rest they created. HR and admin read any; a
    person reads their own."""
    now = clock.now()
    start = since or now - timedelta(days=30)
    end = until or now + timedelta(seconds=1)
    for value in (start, end):
        if value.tzinfo is None:
            raise InvalidInput("since and until need a time zone offset, e.g. 2026-03-29T00:00:00+01:00")
    if end <= start:
        raise InvalidInput("until must be after since")
    reads_rest_records(session, me, person_id=person_id, group_id=group_id)
    people: set[uuid.UUID] | None = None
    if group_id is not None:
        directory.require_group(session=session, group_id=group_id)
        groups = directory.descendant_ids(session=session, group_ids=[group_id])
        people = decisions.member_ids(session=session, group_ids=groups)
    if person_id is not None:
        people = {person_id} if people is None else people & {person_id}
    entries, total, owed, granted = ledger.list_ledger(
        session=session, person_ids=people, since=start, until=end, limit=page.limit, offset=page.offset
    )
    return LedgerPage(
        items=[LedgerEntryRead.model_validate(e) for e in entries],
        total=total,
        owed_minutes=owed,
        granted_minutes=granted,
    )


@router.post("/rest-ledger/{entry_id}/grant", response_model=LedgerEntryRead)
def grant(
    entry_id: uuid.UUID,
    body: GrantCreate,
    session: SessionDep,
    me: HrOrAdmin,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> LedgerEntryRead:
    """Record compensatory rest granted against what a contact created."""
    entry = ledger.require_ledger_entry(session=session, entry_id=entry_id)
    before = entry.granted_minutes
    ledger.grant_compensatory(session=session, entry=entry, minutes=body.minutes, by=me.person_id, now=clock.now())
    audit.log(
        session,
        action="ledger.grant",
        target_type="rest_ledger_entry",
        target_id=entry.id,
        before={"granted_minutes": before},
        after={"granted_minutes": entry.granted_minutes},
    )
    uow.commit()
    return LedgerEntryRead.model_validate(entry)
