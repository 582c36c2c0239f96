"""The cost model's arithmetic: from inputs and a population (people per group and device kind) to the
cost of introduction and the yearly cost of operation, in total, per group and per person.

    introduction, per person      device price + training hours x staff hourly cost
    operation per year, per person  price / depreciation years + 12 x subscription + 12 x licence
                                    + admin hours x admin hourly cost + support cases x cost per case
    loaner pool, per device kind  ceil(devices x loaner percent / 100) devices; each costs its price
                                    to introduce and price / years + 12 x licence + admin per year
                                    (no subscription: a loaner takes the borrower's SIM)

The pool of each device kind is shared out over the groups in proportion to their devices of that
kind. Depreciation in the yearly cost is the devices' replacement; the first purchase is in the
introduction. Exact decimals throughout; rounding is the reader's (the report's) business.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from pilot.costs.inputs import CostInputs
from pilot.vocabulary import DEVICE_KINDS, DeviceKind

MONTHS = Decimal(12)


@dataclass(frozen=True)
class DeviceCost:
    """What one person with one device of a kind costs, line by line."""

    kind: DeviceKind
    device: Decimal
    training: Decimal
    depreciation: Decimal
    subscription: Decimal
    licence: Decimal
    admin: Decimal
    support: Decimal

    @property
    def introduction(self) -> Decimal:
        return self.device + self.training

    @property
    def operation(self) -> Decimal:
        return self.depreciation + self.subscription + self.licence + self.admin + self.support


@dataclass(frozen=True)
class LoanerCost:
    kind: DeviceKind
    count: int
    introduction: Decimal  # the pool's total
    operation: Decimal  # the pool's total per year


@dataclass(frozen=True)
class GroupCost:
    """A group's share: its people's own costs and its part of the loaner pools."""

    group: str
    people: int
    devices: Mapping[DeviceKind, int]
    introduction: Decimal
    operation: Decimal

    @property
    def introduction_per_person(self) -> Decimal | None:
        return self.introduction / self.people if self.people else None

    @property
    def operation_per_person(self) -> Decimal | None:
        return self.operation / self.people if self.people else None


@dataclass(frozen=True)
class Costing:
    per_device: Mapping[DeviceKind, DeviceCost]
    loaners: Mapping[DeviceKind, LoanerCost]
    groups: tuple[GroupCost, ...]

    @property
    def people(self) -> int:
        return sum(g.people for g in self.groups)

    @property
    def introduction(self) -> Decimal:
        return sum((g.introduction for g in self.groups), Decimal(0))

    @property
    def operation(self) -> Decimal:
        return sum((g.operation for g in self.groups), Decimal(0))

    @property
    def introduction_per_person(self) -> Decimal | None:
        return self.introduction / self.people if self.people else None

    @property
    def operation_per_person(self) -> Decimal | None:
        return self.operation / self.people if self.people else None


def device_cost(inputs: CostInputs, kind: DeviceKind) -> DeviceCost:
    price = inputs.price(kind)
    return DeviceCost(
        kind=kind,
        device=price,
        training=inputs.training_hours_per_person * inputs.staff_hourly_cost,
        depreciation=price / inputs.depreciation_years,
        subscription=MONTHS * inputs.subscription(kind),
        licence=MONTHS * inputs.licence_per_device_per_month,
        admin=inputs.admin_hours_per_device_per_year * inputs.admin_hourly_cost,
        support=inputs.support_cases_per_device_per_year * inputs.support_cost_per_case,
    )


def loaner_count(inputs: CostInputs, devices: int) -> int:
    """Loaners for this many devices handed out: the share, rounded up to whole devices."""
    if devices <= 0:
        return 0
    return math.ceil(Decimal(devices) * inputs.loaner_pool_percent / 100)


def loaner_cost(inputs: CostInputs, kind: DeviceKind, count: int) -> LoanerCost:
    one = device_cost(inputs, kind)
    return LoanerCost(
        kind=kind,
        count=count,
        introduction=count * one.device,
        operation=count * (one.depreciation + one.licence + one.admin),
    )


def cost(inputs: CostInputs, population: Mapping[str, Mapping[DeviceKind, int]]) -> Costing:
    """The costing of a population: group name -> people per device kind (one device each)."""
    per_device = {kind: device_cost(inputs, kind) for kind in DEVICE_KINDS}
    devices = {kind: sum(counts.get(kind, 0) for counts in population.values()) for kind in DEVICE_KINDS}
    loaners = {kind: loaner_cost(inputs, kind, loaner_count(inputs, devices[kind])) for kind in DEVICE_KINDS}
    groups = []
    for name, counts in population.items():
        introduction = Decimal(0)
        operation = Decimal(0)
        for kind in DEVICE_KINDS:
            n = counts.get(kind, 0)
            if not n:
                continue
            introduction += n * per_device[kind].introduction + loaners[kind].introduction * n / devices[kind]
            operation += n * per_device[kind].operation + loaners[kind].operation * n / devices[kind]
        people = sum(counts.get(kind, 0) for kind in DEVICE_KINDS)
        groups.append(
            GroupCost(
                group=name,
                people=people,
                devices={kind: counts.get(kind, 0) for kind in DEVICE_KINDS},
                introduction=introduction,
                operation=operation,
            )
        )
    return Costing(per_device=per_device, loaners=loaners, groups=tuple(groups))
