"""The fleet register as the cost model's `FleetCostSource`: the average purchase price and monthly
subscription per device kind of the devices the pilot's people have (`notify.fleet.figures`), of
the region's fleet for a kind none of them has. The composition root hands it in."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy.orm import Session

from notify.fleet.figures import figures
from pilot.costs.fleet import Figure, FleetFigures
from pilot.vocabulary import DEVICE_KINDS, DeviceKind


class FleetRegister:
    def figures(self, *, session: Session, person_ids: Sequence[uuid.UUID]) -> FleetFigures:
        found = figures(session=session, person_ids=person_ids)
        price: dict[DeviceKind, Figure] = {}
        subscription: dict[DeviceKind, Figure] = {}
        for kind in DEVICE_KINDS:
            k = found.kind(kind)
            if k is None:
                continue
            if k.average_price_sek is not None:
                price[kind] = Figure(Decimal(str(k.average_price_sek)), k.priced)
            if k.subscription_per_month_sek is not None:
                subscription[kind] = Figure(Decimal(str(k.subscription_per_month_sek)), k.subscriptions)
        return FleetFigures(price=price, subscription_per_month=subscription)
