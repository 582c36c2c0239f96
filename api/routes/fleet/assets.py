"""Assets: the register, one asset with its history, its lifecycle transitions, app installs and
assignments; subscriptions. Thin: authorise, call one service, commit."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from api.deps import ClockDep, CurrentPerson, PageDep, SessionDep, UowDep
from api.routes.fleet.deps import ActorDep, ItPerson
from kernel.directory.schemas import Page
from kernel.errors import NotFound
from notify import devices
from notify.fleet import assets, installs, queries, subscriptions
from notify.fleet.access import may_run_fleet
from notify.fleet.lifecycle import By
from notify.fleet.models import Asset, AssetKind, AssetState, ManagedAccount
from notify.fleet.schemas import (
    AssetCreate,
    AssetDetail,
    AssetRead,
    AssetUpdate,
    AssignmentCreate,
    AssignmentRead,
    HistoryEntry,
    InstallRead,
    SubscriptionRead,
    SubscriptionUpdate,
    TransitionCreate,
)
from notify.schemas import DeviceCreate

router = APIRouter(prefix="/api/v1/fleet", tags=["fleet"])


@router.get("/assets", response_model=Page[AssetRead])
def list_assets(
    session: SessionDep,
    me: CurrentPerson,
    page: PageDep,
    state: Annotated[list[AssetState] | None, Query(description="Any of these states.")] = None,
    kind: Annotated[AssetKind | None, Query()] = None,
    site: Annotated[str | None, Query(max_length=64)] = None,
    unit: Annotated[uuid.UUID | None, Query(description="Charged to or shared with this unit or a subunit.")] = None,
    person: Annotated[uuid.UUID | None, Query(description="Assigned or lent to this person.")] = None,
    managed_account: Annotated[ManagedAccount | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=100, description="Serial, IMEI, model, number or holder.")] = None,
) -> Page[AssetRead]:
    """The fleet register. Without the role it or admin, a person sees only the assets they have."""
    if not may_run_fleet(me):
        person = me.person_id
    rows, total = queries.list_assets(
        session=session,
        limit=page.limit,
        offset=page.offset,
        states=state or (),
        kind=kind,
        site=site,
        unit=unit,
        person_id=person,
        managed_account=managed_account,
        q=q,
    )
    return Page[AssetRead](items=queries.read(session, rows), total=total, limit=page.limit, offset=page.offset)


@router.post("/assets", response_model=AssetRead, status_code=status.HTTP_201_CREATED)
def create_asset(
    body: AssetCreate, session: SessionDep, _: ItPerson, by: ActorDep, clock: ClockDep, uow: UowDep
) -> AssetRead:
    """Register a phone or tablet; it starts in stock. A serial number or IMEI already registered is a 409."""
    asset = assets.create(session=session, data=body, by=by, now=clock.now())
    uow.commit()
    return queries.read(session, [asset])[0]


def _visible(session: Session, by: By, asset_id: uuid.UUID) -> Asset:
    """The asset, if `by` runs the fleet, has it, or manages whoever has it; else 404."""
    asset = assets.require(session=session, asset_id=asset_id)
    if not assets.who(session, asset, by):
        raise NotFound(f"no asset with id {asset_id}")
    return asset


@router.get("/assets/{asset_id}", response_model=AssetDetail)
def read_asset(asset_id: uuid.UUID, session: SessionDep, by: ActorDep) -> AssetDetail:
    """One asset: its facts, holder, subscription, app installs and the transitions you may make now."""
    return queries.detail(session, _visible(session, by, asset_id), by)


@router.patch("/assets/{asset_id}", response_model=AssetRead)
def update_asset(
    asset_id: uuid.UUID, body: AssetUpdate, session: SessionDep, _: ItPerson, by: ActorDep, clock: ClockDep, uow: UowDep
) -> AssetRead:
    asset = assets.update(
        session=session, asset=assets.require(session=session, asset_id=asset_id), data=body, by=by, now=clock.now()
    )
    uow.commit()
    return queries.read(session, [asset])[0]


@router.get("/assets/{asset_id}/history", response_model=Page[HistoryEntry])
def asset_history(asset_id: uuid.UUID, session: SessionDep, _: ItPerson, page: PageDep) -> Page[HistoryEntry]:
    """Every audited change of the asset, newest first."""
    assets.require(session=session, asset_id=asset_id)
    rows, total = queries.history(session, asset_id=asset_id, limit=page.limit, offset=page.offset)
    return Page[HistoryEntry](
        items=[HistoryEntry.model_validate(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post(
    "/assets/{asset_id}/transitions",
    response_model=AssetDetail,
    responses={409: {"description": "Not allowed from the current state; the answer lists what is."}},
)
def transition(
    asset_id: uuid.UUID, body: TransitionCreate, session: SessionDep, by: ActorDep, clock: ClockDep, uow: UowDep
) -> AssetDetail:
    """Move the asset through its lifecycle (return, wipe, restock, repair, report lost, retire, ...).
    An illegal move is a 409 whose message and `details.allowed` say which moves are allowed from
    here. The person who has the asset, and their manager, may report it lost; its push devices
    are blocked at once."""
    asset = _visible(session, by, asset_id)
    assets.move(session=session, asset=asset, target=body.to, by=by, now=clock.now(), note=body.note)
    uow.commit()
    return queries.detail(session, asset, by)


@router.post("/assets/{asset_id}/installs", response_model=InstallRead, status_code=status.HTTP_201_CREATED)
def add_install(
    asset_id: uuid.UUID,
    body: DeviceCreate,
    session: SessionDep,
    _: ItPerson,
    by: ActorDep,
    clock: ClockDep,
    uow: UowDep,
) -> InstallRead:
    """Register the app's push endpoint on the asset (e.g. from device management's enrolment).
    On a shared ward tablet it belongs to no person: only its unit's and role's messages reach it."""
    asset = assets.require(session=session, asset_id=asset_id)
    device = installs.install(session=session, asset=asset, data=body, by=by, now=clock.now())
    uow.commit()
    return InstallRead.model_validate(device)


@router.put("/assets/{asset_id}/installs/{device_id}", response_model=InstallRead)
def link_install(
    asset_id: uuid.UUID,
    device_id: uuid.UUID,
    session: SessionDep,
    _: ItPerson,
    by: ActorDep,
    clock: ClockDep,
    uow: UowDep,
) -> InstallRead:
    """Link a person's registered push device to the asset it runs on."""
    asset = assets.require(session=session, asset_id=asset_id)
    device = devices.require(session=session, device_id=device_id)
    installs.link(session=session, asset=asset, device=device, by=by, now=clock.now())
    uow.commit()
    return InstallRead.model_validate(device)


@router.post("/assignments", response_model=AssignmentRead, status_code=status.HTTP_201_CREATED)
def assign(
    body: AssignmentCreate, session: SessionDep, _: ItPerson, by: ActorDep, clock: ClockDep, uow: UowDep
) -> AssignmentRead:
    """Give an asset in stock to a person, or a shared ward tablet to a unit or an on-call role."""
    assignment = assets.assign(session=session, data=body, by=by, now=clock.now())
    uow.commit()
    return AssignmentRead.model_validate(assignment)


@router.get("/assignments", response_model=list[AssignmentRead])
def list_assignments(
    session: SessionDep,
    _: ItPerson,
    asset: Annotated[uuid.UUID | None, Query()] = None,
    person: Annotated[uuid.UUID | None, Query()] = None,
) -> list[AssignmentRead]:
    """Assignments and loans, newest first, of an asset or a person (at most 500)."""
    return [AssignmentRead.model_validate(a) for a in queries.assignments(session, asset_id=asset, person_id=person)]


@router.get("/subscriptions", response_model=list[SubscriptionRead])
def list_subscriptions(
    session: SessionDep,
    _: ItPerson,
    active: Annotated[bool, Query(description="Only those not ended.")] = True,
    asset: Annotated[uuid.UUID | None, Query()] = None,
) -> list[SubscriptionRead]:
    return [
        queries.subscription_read(s) for s in subscriptions.list_all(session=session, active=active, asset_id=asset)
    ]


@router.patch("/subscriptions/{subscription_id}", response_model=SubscriptionRead)
def update_subscription(
    subscription_id: uuid.UUID,
    body: SubscriptionUpdate,
    session: SessionDep,
    _: ItPerson,
    by: ActorDep,
    clock: ClockDep,
    uow: UowDep,
) -> SubscriptionRead:
    """Move a subscription to another asset, or change its plan, cost, cost centre or extension."""
    sub = subscriptions.update(
        session=session,
        sub=subscriptions.require(session=session, subscription_id=subscription_id),
        data=body,
        by=by,
        now=clock.now(),
    )
    uow.commit()
    return queries.subscription_read(sub)
