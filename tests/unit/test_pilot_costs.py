"""The cost model's outputs follow from its inputs: every figure here is worked out by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from pilot.costs.fleet import Figure, FleetFigures, resolve
from pilot.costs.inputs import CostInputs
from pilot.costs.model import cost, loaner_count

INPUTS = CostInputs(
    phone_price=Decimal(6000),
    tablet_price=Decimal(4800),
    depreciation_years=3,
    phone_subscription_per_month=Decimal(200),
    tablet_subscription_per_month=Decimal(100),
    licence_per_device_per_month=Decimal(50),
    admin_hours_per_device_per_year=Decimal(2),
    admin_hourly_cost=Decimal(500),
    support_cases_per_device_per_year=Decimal(2),
    support_cost_per_case=Decimal(300),
    loaner_pool_percent=Decimal(10),
    training_hours_per_person=Decimal(3),
    staff_hourly_cost=Decimal(400),
)


def test_one_person_with_each_kind_of_device() -> None:
    costing = cost(INPUTS, {})
    phone, tablet = costing.per_device["phone"], costing.per_device["tablet"]
    # Introduction: the device and 3 h of training at 400 kr.
    assert phone.introduction == 6000 + 3 * 400 == 7200
    assert tablet.introduction == 4800 + 3 * 400 == 6000
    # A year: 6000/3 depreciation + 12 x 200 subscription + 12 x 50 licence + 2 h x 500 admin + 2 x 300 support.
    assert phone.operation == 2000 + 2400 + 600 + 1000 + 600 == 6600
    assert tablet.operation == 1600 + 1200 + 600 + 1000 + 600 == 5000


def test_a_population_with_its_loaner_pool_per_profession_and_per_person() -> None:
    costing = cost(INPUTS, {"sjuksköterska": {"phone": 7, "tablet": 3}, "läkare": {"phone": 5}})
    # 12 phones and 3 tablets handed out; 10 % rounded up: 2 loaner phones and 1 loaner tablet.
    assert (costing.loaners["phone"].count, costing.loaners["tablet"].count) == (2, 1)
    # A loaner costs its price to introduce; per year its depreciation, licence and admin, no subscription.
    assert costing.loaners["phone"].introduction == 2 * 6000
    assert costing.loaners["phone"].operation == 2 * (2000 + 600 + 1000)
    assert costing.loaners["tablet"].operation == 1600 + 600 + 1000
    nurses, doctors = costing.groups
    # Nurses: 7 phones, 3 tablets, 7/12 of the phone pool and the whole tablet pool.
    assert nurses.introduction == 7 * 7200 + 3 * 6000 + 12000 * 7 / Decimal(12) + 4800 == 80200
    assert nurses.operation == 7 * 6600 + 3 * 5000 + 7200 * 7 / Decimal(12) + 3200 == 68600
    assert (nurses.introduction_per_person, nurses.operation_per_person) == (8020, 6860)
    # Doctors: 5 phones and 5/12 of the phone pool.
    assert doctors.introduction == 5 * 7200 + 5000 == 41000
    assert doctors.operation == 5 * 6600 + 3000 == 36000
    assert (doctors.introduction_per_person, doctors.operation_per_person) == (8200, 7200)
    assert (costing.introduction, costing.operation, costing.people) == (121200, 104600, 15)
    assert round(costing.operation_per_person, 2) == Decimal("6973.33")


def test_the_loaner_pool_rounds_up_and_is_empty_without_devices() -> None:
    assert [loaner_count(INPUTS, n) for n in (0, 1, 10, 11, 20)] == [0, 1, 1, 2, 2]
    nothing = cost(INPUTS.model_copy(update={"loaner_pool_percent": Decimal(0)}), {"läkare": {"phone": 4}})
    assert nothing.loaners["phone"].count == 0 and nothing.introduction == 4 * 7200


def test_inputs_are_checked() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        CostInputs(phone_price=Decimal(-1))
    with pytest.raises(ValidationError, match="depreciation_years"):
        CostInputs(depreciation_years=0)
    with pytest.raises(ValidationError, match="Extra inputs"):
        CostInputs.model_validate({"phone_prize": 5})


def test_the_fleet_registers_figures_replace_the_inputs_and_say_so() -> None:
    fleet = FleetFigures(
        price={"phone": Figure(Decimal("5123.456"), 40)},
        subscription_per_month={"tablet": Figure(Decimal(89), 12), "phone": Figure(Decimal(1), 0)},
    )
    resolved = resolve(stored={"training_hours_per_person": "4", "staff_hourly_cost": "420"}, fleet=fleet)
    assert resolved.inputs.phone_price == Decimal("5123.46")
    assert resolved.inputs.tablet_subscription_per_month == 89
    assert resolved.inputs.phone_subscription_per_month == CostInputs().phone_subscription_per_month, "no devices"
    assert resolved.sources["phone_price"] == "fleet" and resolved.fleet_counts["phone_price"] == 40
    assert resolved.sources["training_hours_per_person"] == "entered"
    assert resolved.sources["staff_hourly_cost"] == "assumption", "entered, but the same as the default"
    assert resolved.sources["tablet_price"] == "assumption"
    costing = cost(resolved.inputs, {"x": {"phone": 1}})
    assert costing.per_device["phone"].device == Decimal("5123.46")
