"""Offboarding: the queue of leavers' checklists, starting one from a leaving date, doing a step."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import ClockDep, CurrentPerson, SessionDep, UowDep
from api.routes.fleet.deps import ActorDep, ItPerson
from notify.fleet import followup, offboarding
from notify.fleet.access import may_run_fleet
from notify.fleet.schemas import OffboardingCreate, OffboardingRead, StepDone, StepUpdate

router = APIRouter(prefix="/api/v1/fleet/offboarding", tags=["fleet"])


@router.get("", response_model=list[OffboardingRead])
def offboarding_queue(
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    finished: Annotated[bool, Query(description="Finished checklists too.")] = False,
) -> list[OffboardingRead]:
    """Leavers' checklists, oldest first, with each step's owner, due date and whether it is overdue.
    Without the role it or admin, only the checklists with a step you own."""
    owner = None if may_run_fleet(me) else me.person_id
    return followup.queue(session, now=clock.now(), finished=finished, owner_id=owner)


@router.post("", response_model=OffboardingRead, status_code=status.HTTP_201_CREATED)
def start_offboarding(
    body: OffboardingCreate, session: SessionDep, _: ItPerson, by: ActorDep, clock: ClockDep, uow: UowDep
) -> OffboardingRead:
    """Start a leaver's checklist from their leaving date (deactivating a person starts one by itself)."""
    started = offboarding.start(
        session=session, person_id=body.person_id, leaving_on=body.leaving_on, by=by, now=clock.now()
    )
    uow.commit()
    return followup.one(session, offboarding_id=started.id, now=clock.now())


@router.post("/{offboarding_id}/steps/{step_id}/done", response_model=OffboardingRead)
def step_done(
    offboarding_id: uuid.UUID,
    step_id: uuid.UUID,
    body: StepDone,
    session: SessionDep,
    me: CurrentPerson,
    by: ActorDep,
    clock: ClockDep,
    uow: UowDep,
) -> OffboardingRead:
    """Do a step (its owner, or device administration): returning or wiping moves the asset,
    ending the subscription ends it, all audited."""
    step = offboarding.require_step(session=session, offboarding_id=offboarding_id, step_id=step_id)
    offboarding.complete(session=session, step=step, data=body, by=by, now=clock.now())
    uow.commit()
    return followup.one(session, offboarding_id=offboarding_id, now=clock.now())


@router.patch("/{offboarding_id}/steps/{step_id}", response_model=OffboardingRead)
def update_step(
    offboarding_id: uuid.UUID,
    step_id: uuid.UUID,
    body: StepUpdate,
    session: SessionDep,
    _: ItPerson,
    by: ActorDep,
    clock: ClockDep,
    uow: UowDep,
) -> OffboardingRead:
    """Give a step another owner or due date."""
    step = offboarding.require_step(session=session, offboarding_id=offboarding_id, step_id=step_id)
    offboarding.update_step(session=session, step=step, data=body, by=by, now=clock.now())
    uow.commit()
    return followup.one(session, offboarding_id=offboarding_id, now=clock.now())
