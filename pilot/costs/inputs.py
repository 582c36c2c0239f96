"""The cost model's inputs, each with a default that the report states as an assumption.

HR or finance edit them per pilot; the fleet register's real figures (device prices, subscription
costs) replace the matching inputs where it has them (`pilot.costs.fleet`). Amounts are Swedish
kronor excluding VAT; times are hours.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from kernel.inputs import InputModel
from pilot.vocabulary import DeviceKind

Money = Annotated[Decimal, Field(ge=0, le=10_000_000, max_digits=12, decimal_places=2)]
Hours = Annotated[Decimal, Field(ge=0, le=10_000, max_digits=9, decimal_places=2)]


class CostInputs(InputModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    phone_price: Money = Field(default=Decimal(6000), description="Purchase price of one work phone.")
    tablet_price: Money = Field(default=Decimal(5500), description="Purchase price of one tablet.")
    depreciation_years: int = Field(default=3, ge=1, le=10, description="Years a device is written off over.")
    phone_subscription_per_month: Money = Field(default=Decimal(150), description="Mobile subscription of a phone.")
    tablet_subscription_per_month: Money = Field(default=Decimal(99), description="Data subscription of a tablet.")
    licence_per_device_per_month: Money = Field(default=Decimal(60), description="Device-management licence.")
    admin_hours_per_device_per_year: Hours = Field(default=Decimal(2), description="IT administration per device.")
    admin_hourly_cost: Money = Field(default=Decimal(550), description="Cost of an hour of IT administration.")
    support_cases_per_device_per_year: Hours = Field(default=Decimal(1), description="Support cases per device.")
    support_cost_per_case: Money = Field(default=Decimal(450), description="Cost of handling one support case.")
    loaner_pool_percent: Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)] = Field(
        default=Decimal(5), description="Loaner devices as a share of the devices handed out, rounded up."
    )
    training_hours_per_person: Hours = Field(default=Decimal(2), description="Training time per person.")
    staff_hourly_cost: Money = Field(default=Decimal(420), description="Cost of an hour of a trainee's time.")

    def price(self, kind: DeviceKind) -> Decimal:
        return self.phone_price if kind == "phone" else self.tablet_price

    def subscription(self, kind: DeviceKind) -> Decimal:
        return self.phone_subscription_per_month if kind == "phone" else self.tablet_subscription_per_month


INPUT_FIELDS: tuple[str, ...] = tuple(CostInputs.model_fields)


class RolloutRow(InputModel):
    """One line of the broad roll-out table: how many people of a profession, with which device."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profession: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    headcount: int = Field(ge=0, le=1_000_000)
    device_kind: DeviceKind = "phone"
