"""Where the cost model meets the fleet register: real device prices and subscription costs.

The fleet register (assets with purchase prices, subscriptions with monthly costs) implements
`FleetCostSource` and the composition root hands it in; until then `NO_FLEET` answers that it knows
nothing, and every input stays as entered or assumed. A figure from the fleet replaces the matching
input, and the report names its source and how many devices it averages.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol

from sqlalchemy.orm import Session

from pilot.costs.inputs import CostInputs
from pilot.vocabulary import DeviceKind

Source = Literal["assumption", "entered", "fleet"]
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Figure:
    """An average over `count` devices (or subscriptions) in the fleet register."""

    value: Decimal
    count: int


@dataclass(frozen=True)
class FleetFigures:
    price: Mapping[DeviceKind, Figure] = field(default_factory=dict)
    subscription_per_month: Mapping[DeviceKind, Figure] = field(default_factory=dict)


class FleetCostSource(Protocol):
    def figures(self, *, session: Session, person_ids: Sequence[uuid.UUID]) -> FleetFigures:
        """Average purchase price and monthly subscription per device kind: of the devices these
        people carry where the register has them, else of the region's fleet; empty when unknown."""
        ...


class NoFleet:
    """No fleet register: the cost model runs on its inputs alone."""

    def figures(self, *, session: Session, person_ids: Sequence[uuid.UUID]) -> FleetFigures:
        return FleetFigures()


NO_FLEET = NoFleet()

_FLEET_FIELDS: dict[str, tuple[str, DeviceKind]] = {
    "phone_price": ("price", "phone"),
    "tablet_price": ("price", "tablet"),
    "phone_subscription_per_month": ("subscription_per_month", "phone"),
    "tablet_subscription_per_month": ("subscription_per_month", "tablet"),
}


@dataclass(frozen=True)
class ResolvedInputs:
    inputs: CostInputs
    sources: Mapping[str, Source]
    fleet_counts: Mapping[str, int]  # input -> devices the fleet's figure averages


def resolve(*, stored: Mapping[str, object], fleet: FleetFigures) -> ResolvedInputs:
    """The inputs the model runs on: the fleet's figure where it has one, else what was entered,
    else the default (an assumption, and the report says so)."""
    entered = CostInputs.model_validate(dict(stored))
    defaults = CostInputs()
    values = entered.model_dump()
    sources: dict[str, Source] = {}
    counts: dict[str, int] = {}
    for name in values:
        sources[name] = "entered" if name in stored and values[name] != getattr(defaults, name) else "assumption"
        if name in _FLEET_FIELDS:
            table, kind = _FLEET_FIELDS[name]
            figure = getattr(fleet, table).get(kind)
            if figure is not None and figure.count > 0:
                values[name] = figure.value.quantize(CENT)  # an average may have more decimals
                sources[name] = "fleet"
                counts[name] = figure.count
    return ResolvedInputs(inputs=CostInputs.model_validate(values), sources=sources, fleet_counts=counts)
