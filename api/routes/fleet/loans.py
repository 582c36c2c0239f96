"""The loaner pool: per site, who has a loaner, who is without a working device; lend and take back."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import ClockDep, SessionDep, UowDep
from api.routes.fleet.deps import ActorDep, ItPerson
from kernel.errors import NotFound
from notify.fleet import assets, loans, queries
from notify.fleet.models import Assignment
from notify.fleet.schemas import AssetRead, AssignmentRead, LoanCreate, PoolRead

router = APIRouter(prefix="/api/v1/fleet/loans", tags=["fleet"])


@router.get("", response_model=PoolRead)
def pool(
    session: SessionDep, _: ItPerson, clock: ClockDep, site: Annotated[str | None, Query(max_length=64)] = None
) -> PoolRead:
    """Loaners per site (available and on loan), who is without a working device since when, and
    the goal: nobody without one for more than one working day."""
    return loans.pool(session, now=clock.now(), site=site)


@router.post("", response_model=AssignmentRead, status_code=status.HTTP_201_CREATED)
def lend(
    body: LoanCreate, session: SessionDep, _: ItPerson, by: ActorDep, clock: ClockDep, uow: UowDep
) -> AssignmentRead:
    """Lend a loaner (a named one, or the first available at a site). It stands in for the person's
    own asset that is lost or in repair, found for you unless you name it."""
    loan = loans.lend(session=session, data=body, by=by, now=clock.now())
    uow.commit()
    return AssignmentRead.model_validate(loan)


@router.post("/{assignment_id}/return", response_model=AssetRead)
def take_back(
    assignment_id: uuid.UUID, session: SessionDep, _: ItPerson, by: ActorDep, clock: ClockDep, uow: UowDep
) -> AssetRead:
    """The loaner is back: it is returned, to be wiped before it goes into the pool again."""
    loan = session.get(Assignment, assignment_id)
    if loan is None or loan.kind != "loan" or loan.ended_at is not None:
        raise NotFound(f"no loan out with id {assignment_id}")
    asset = assets.require(session=session, asset_id=loan.asset_id)
    assets.move(session=session, asset=asset, target="returned", by=by, now=clock.now(), note="loan returned")
    uow.commit()
    return queries.read(session, [asset])[0]
