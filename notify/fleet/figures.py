"""The fleet's real figures for a cost model (the pilot evaluation's): what a device costs to buy,
over how many years it is written off, and what its subscription costs per month, per device kind.

    from notify.fleet.figures import figures
    f = figures(session=session)                     # the region's whole fleet
    f = figures(session=session, person_ids=ids)     # the devices these people have, where known
    phone = f.kind("phone")            # KindFigures or None
    phone.average_price_sek            # mean purchase price of the phones with a price, or None
    phone.subscription_per_month_sek   # mean monthly cost of an active subscription on a phone, or None
    phone.scope                        # "people": of their devices; "region": of the whole fleet
    f.depreciation_years               # the write-off period the fleet's cost figures use

Read-only, and the same over HTTP: `GET /api/v1/fleet/figures` (roles it, admin, hr). Retired
assets are left out. With `person_ids`, a kind's figures are those of the assets assigned or lent
to these people; a kind none of them has falls back to the whole fleet (and says so in `scope`).
A kind with no priced asset (or no subscription) says None rather than 0, so a cost model can fall
back to its own input. `pilot/costs/fleet_register.py` hands these to the pilot's cost model.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel.db import among
from notify.fleet.costs import DEPRECIATION_YEARS
from notify.fleet.models import ASSET_KINDS, Asset, Assignment, Subscription


class KindFigures(BaseModel):
    kind: str = Field(description="phone, tablet or shared_tablet.")
    scope: Literal["people", "region"] = Field(description="Of the people's devices, or of the whole fleet.")
    assets: int = Field(description="In scope and not retired.")
    in_use: int = Field(description="Assigned or on loan now.")
    priced: int = Field(description="Of them, with a purchase price.")
    average_price_sek: float | None = Field(description="Mean purchase price (SEK, excl. VAT) of the priced ones.")
    subscriptions: int = Field(description="Active subscriptions attached to assets of this kind.")
    subscription_per_month_sek: float | None = Field(description="Mean monthly cost of those subscriptions (SEK).")


class FleetFigures(BaseModel):
    at: datetime | None = Field(description="When the figures were read, if the caller said.")
    depreciation_years: int = Field(description="Years over which a purchase price is written off.")
    loaner_pool: int = Field(description="Assets in the loaner pool, available or on loan.")
    kinds: list[KindFigures]

    def kind(self, name: str) -> KindFigures | None:
        return next((k for k in self.kinds if k.kind == name), None)


def _per_kind(session: Session, held_by: Sequence[uuid.UUID] | None) -> dict[str, dict[str, int]]:
    """Counts and sums per kind, of the whole fleet or of the assets these people have now."""
    live: list[Any] = [Asset.state != "retired"]
    if held_by is not None:
        held = select(Assignment.asset_id).where(
            Assignment.ended_at.is_(None), among(session, Assignment.person_id, list(held_by))
        )
        live.append(Asset.id.in_(held))
    out: dict[str, dict[str, int]] = {kind: {} for kind in ASSET_KINDS}
    for kind, n, in_use, priced, price in session.execute(
        select(
            Asset.kind,
            func.count(),
            func.count().filter(Asset.state.in_(("assigned", "on_loan"))),
            func.count(Asset.purchase_price_ore),
            func.sum(Asset.purchase_price_ore),
        )
        .where(*live)
        .group_by(Asset.kind)
    ):
        out.setdefault(kind, {}).update(assets=n, in_use=in_use, priced=priced, price=int(price or 0))
    for kind, n, cost in session.execute(
        select(Asset.kind, func.count(), func.sum(Subscription.monthly_cost_ore))
        .join(Asset, Asset.id == Subscription.asset_id)
        .where(*live, Subscription.ended_at.is_(None))
        .group_by(Asset.kind)
    ):
        out.setdefault(kind, {}).update(subscriptions=n, cost=int(cost or 0))
    return out


def _figures(kind: str, scope: Literal["people", "region"], c: dict[str, int]) -> KindFigures:
    priced, subscribed = c.get("priced", 0), c.get("subscriptions", 0)
    return KindFigures(
        kind=kind,
        scope=scope,
        assets=c.get("assets", 0),
        in_use=c.get("in_use", 0),
        priced=priced,
        average_price_sek=round(c["price"] / priced / 100, 2) if priced else None,
        subscriptions=subscribed,
        subscription_per_month_sek=round(c["cost"] / subscribed / 100, 2) if subscribed else None,
    )


def figures(
    *,
    session: Session,
    at: datetime | None = None,
    person_ids: Sequence[uuid.UUID] | None = None,
    depreciation_years: int = DEPRECIATION_YEARS,
) -> FleetFigures:
    region = _per_kind(session, None)
    theirs = _per_kind(session, person_ids) if person_ids else {}
    kinds = [
        _figures(kind, "people", theirs[kind]) if theirs.get(kind) else _figures(kind, "region", region[kind])
        for kind in ASSET_KINDS
    ]
    pool = session.scalar(select(func.count()).where(Asset.state.in_(("loaner", "on_loan")))) or 0
    return FleetFigures(at=at, depreciation_years=depreciation_years, loaner_pool=int(pool), kinds=kinds)
