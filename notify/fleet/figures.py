"""The fleet's real figures for a cost model (the pilot evaluation's): what a device costs to buy,
over how many years it is written off, and what its subscription costs per month, per device kind.

    from notify.fleet.figures import figures
    f = figures(session=session, at=now)
    phone = f.kind("phone")            # KindFigures or None
    phone.average_price_sek            # mean purchase price of the phones with a price, or None
    phone.subscription_per_month_sek   # mean monthly cost of an active subscription on a phone, or None
    f.depreciation_years               # the write-off period the fleet's cost figures use

Read-only, and the same over HTTP: `GET /api/v1/fleet/figures` (roles it, admin, hr). Retired
assets are left out; a kind with no priced asset (or no subscription) says None rather than 0, so
a cost model can fall back to its own input.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notify.fleet.costs import DEPRECIATION_YEARS
from notify.fleet.models import ASSET_KINDS, Asset, Subscription


class KindFigures(BaseModel):
    kind: str = Field(description="phone, tablet or shared_tablet.")
    assets: int = Field(description="In the register and not retired.")
    in_use: int = Field(description="Assigned or on loan now.")
    priced: int = Field(description="Of them, with a purchase price.")
    average_price_sek: float | None = Field(description="Mean purchase price (SEK, excl. VAT) of the priced ones.")
    subscriptions: int = Field(description="Active subscriptions attached to assets of this kind.")
    subscription_per_month_sek: float | None = Field(description="Mean monthly cost of those subscriptions (SEK).")


class FleetFigures(BaseModel):
    at: datetime
    depreciation_years: int = Field(description="Years over which a purchase price is written off.")
    loaner_pool: int = Field(description="Assets in the loaner pool, available or on loan.")
    kinds: list[KindFigures]

    def kind(self, name: str) -> KindFigures | None:
        return next((k for k in self.kinds if k.kind == name), None)


def figures(*, session: Session, at: datetime, depreciation_years: int = DEPRECIATION_YEARS) -> FleetFigures:
    live = Asset.state != "retired"
    counts = dict(session.execute(select(Asset.kind, func.count()).where(live).group_by(Asset.kind)).all())
    in_use = dict(
        session.execute(
            select(Asset.kind, func.count()).where(Asset.state.in_(("assigned", "on_loan"))).group_by(Asset.kind)
        ).all()
    )
    prices = {
        kind: (int(n), int(total or 0))
        for kind, n, total in session.execute(
            select(Asset.kind, func.count(), func.sum(Asset.purchase_price_ore))
            .where(live, Asset.purchase_price_ore.is_not(None))
            .group_by(Asset.kind)
        )
    }
    subs = {
        kind: (int(n), int(total or 0))
        for kind, n, total in session.execute(
            select(Asset.kind, func.count(), func.sum(Subscription.monthly_cost_ore))
            .join(Asset, Asset.id == Subscription.asset_id)
            .where(live, Subscription.ended_at.is_(None))
            .group_by(Asset.kind)
        )
    }
    pool = session.scalar(select(func.count()).where(Asset.state.in_(("loaner", "on_loan")))) or 0
    kinds = []
    for kind in ASSET_KINDS:
        priced, price_total = prices.get(kind, (0, 0))
        subscribed, sub_total = subs.get(kind, (0, 0))
        kinds.append(
            KindFigures(
                kind=kind,
                assets=int(counts.get(kind, 0)),
                in_use=int(in_use.get(kind, 0)),
                priced=priced,
                average_price_sek=round(price_total / priced / 100, 2) if priced else None,
                subscriptions=subscribed,
                subscription_per_month_sek=round(sub_total / subscribed / 100, 2) if subscribed else None,
            )
        )
    return FleetFigures(at=at, depreciation_years=depreciation_years, loaner_pool=int(pool), kinds=kinds)
