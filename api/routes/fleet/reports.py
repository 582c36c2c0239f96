"""What the fleet costs per unit and month (JSON and CSV), and its figures for a cost model."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import ClockDep, SessionDep
from api.routes.fleet.deps import FiguresReader, ItPerson
from kernel.errors import InvalidInput
from kernel.i18n import text
from notify.fleet import costs
from notify.fleet.figures import FleetFigures, figures
from notify.fleet.schemas import CostsRead

router = APIRouter(prefix="/api/v1/fleet", tags=["fleet"])

MONTH = r"^(20\d\d|2100)-(0[1-9]|1[0-2])$"  # the sane span of kernel.instants: 2000 .. 2100
From = Annotated[str | None, Query(alias="from", pattern=MONTH, description="YYYY-MM; default 11 months before `to`.")]
To = Annotated[str | None, Query(alias="to", pattern=MONTH, description="YYYY-MM; default this month.")]
Unit = Annotated[uuid.UUID | None, Query(description="This unit and its subunits.")]
MAX_MONTHS = 36


def _period(first: str | None, last: str | None, today: date) -> tuple[date, date]:
    end = date.fromisoformat(f"{last}-01") if last else today.replace(day=1)
    back = end.year * 12 + end.month - 1 - 11
    start = date.fromisoformat(f"{first}-01") if first else date(back // 12, back % 12 + 1, 1)
    if start > end:
        raise InvalidInput("the period starts after it ends")
    if (end.year - start.year) * 12 + end.month - start.month >= MAX_MONTHS:
        raise InvalidInput(f"a period is at most {MAX_MONTHS} months")
    return start, end


@router.get("/costs", response_model=CostsRead)
def unit_costs(
    session: SessionDep,
    _: ItPerson,
    clock: ClockDep,
    first: From = None,
    last: To = None,
    unit: Unit = None,
) -> CostsRead:
    """Cost per unit and month in kronor: subscriptions plus purchase prices written off over
    `depreciation_years`, shared out per day to the unit that had each asset."""
    start, end = _period(first, last, clock.now().date())
    return costs.per_unit(session, first=start, last=end, unit=unit)


@router.get("/costs.csv", response_class=Response)
def unit_costs_csv(
    session: SessionDep,
    me: ItPerson,
    clock: ClockDep,
    first: From = None,
    last: To = None,
    unit: Unit = None,
) -> Response:
    """The same as CSV: one row per unit, one column per month, and the totals."""
    start, end = _period(first, last, clock.now().date())
    report = costs.per_unit(session, first=start, last=end, unit=unit)
    return Response(
        costs.to_csv(report, unallocated=text("fleet.costs.unallocated", me.language)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="vila-fleet-costs-{start:%Y-%m}-{end:%Y-%m}.csv"'},
    )


@router.get("/figures", response_model=FleetFigures)
def fleet_figures(session: SessionDep, me: FiguresReader, clock: ClockDep) -> FleetFigures:
    """The fleet's real figures for a cost model: average purchase price and subscription cost per
    month per device kind, and the depreciation period (roles it, admin and hr)."""
    return figures(session=session, at=clock.now())
