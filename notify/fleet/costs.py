"""What the fleet costs per unit and month.

An asset's cost in a month is its subscription's monthly cost (while the subscription runs) plus
its purchase price written off evenly over `DEPRECIATION_YEARS` from its purchase date, shared out
per day to the unit charged for whoever had it (`Assignment.cost_unit_id`). Days it was with no
unit (in stock, in the loaner pool, in repair) are "not allocated". A subscription is counted with
the asset it is attached to now. Days are Stockholm calendar days.
"""

from __future__ import annotations

import calendar
import io
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time

import pytz
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kernel.directory import service as directory
from kernel.directory.models import Group
from kernel.spreadsheet import SafeWriter
from kernel.timezones import local_instant
from notify.fleet.models import Asset, Assignment, Subscription
from notify.fleet.schemas import CostsRead, UnitCost

DEPRECIATION_YEARS = 3
ZONE = "Europe/Stockholm"


@dataclass(frozen=True)
class _Month:
    key: str
    first: date
    end: date  # the first day of the next month
    days: int


def months(first: date, last: date) -> list[_Month]:
    out = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        days = calendar.monthrange(year, month)[1]
        nxt = date(year + month // 12, month % 12 + 1, 1)
        out.append(_Month(f"{year:04d}-{month:02d}", date(year, month, 1), nxt, days))
        year, month = nxt.year, nxt.month
    return out


def _local_day(instant: datetime) -> date:
    tz = pytz.timezone(ZONE)
    return tz.normalize(instant.astimezone(tz)).date()


def _day(instant: datetime | None) -> date | None:
    return None if instant is None else _local_day(instant)


def _overlap(start: date, end: date | None, month: _Month) -> int:
    """Days of the month in [start, end)."""
    lo, hi = max(start, month.first), min(end or month.end, month.end)
    return max(0, (hi - lo).days)


def depreciation_ore(price_ore: int | None, purchased: date | None, month: _Month, years: int) -> float:
    """The month's share of the purchase price while the asset is being written off."""
    if not price_ore or purchased is None:
        return 0.0
    until = date(purchased.year + years, purchased.month, min(purchased.day, 28))
    days = _overlap(purchased, until, month)
    return price_ore / (years * 12) * days / month.days


def per_unit(
    session: Session,
    *,
    first: date,
    last: date,
    unit: uuid.UUID | None = None,
    years: int = DEPRECIATION_YEARS,
) -> CostsRead:
    """Cost per unit and month from `first`'s month to `last`'s; with `unit`, that unit and its subgroups."""
    span = months(first, last)
    period_start, period_end = span[0].first, span[-1].end
    assets = list(session.scalars(select(Asset)))
    subs: dict[uuid.UUID, list[Subscription]] = defaultdict(list)
    for sub in session.scalars(select(Subscription).where(Subscription.asset_id.is_not(None))):
        subs[sub.asset_id].append(sub)  # type: ignore[index]  # filtered above
    spans: dict[uuid.UUID, list[tuple[date, date | None, uuid.UUID | None]]] = defaultdict(list)
    for a in session.scalars(
        select(Assignment).where(or_(Assignment.ended_at.is_(None), Assignment.ended_at >= _instant(period_start)))
    ):
        spans[a.asset_id].append((_local_day(a.started_at), _day(a.ended_at), a.cost_unit_id))
    ore: dict[uuid.UUID | None, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for asset in assets:
        created = _local_day(asset.created_at)
        exists_from = min(asset.purchase_date, created) if asset.purchase_date else created
        exists_to = _day(asset.state_since) if asset.state == "retired" else None
        if exists_from >= period_end or (exists_to is not None and exists_to <= period_start):
            continue
        for month in span:
            alive = _overlap(exists_from, exists_to, month)
            if not alive:
                continue
            monthly = depreciation_ore(asset.purchase_price_ore, asset.purchase_date, month, years)
            per_day = sum(
                s.monthly_cost_ore / month.days
                for s in subs.get(asset.id, [])
                if _overlap(_day(s.created_at) or month.first, _day(s.ended_at), month)
            )
            allocated = 0
            for start, end, cost_unit in spans.get(asset.id, []):
                days = _overlap(max(start, exists_from), end, month)
                if days:
                    allocated += days
                    ore[cost_unit][month.key] += per_day * days + monthly * days / alive
            if alive > allocated:
                ore[None][month.key] += per_day * (alive - allocated) + monthly * (alive - allocated) / alive
    if unit is not None:
        tree = directory.descendant_ids(session=session, group_ids=[unit])
        ore = defaultdict(lambda: defaultdict(float), {k: v for k, v in ore.items() if k in tree})
    names = dict(session.execute(select(Group.id, Group.name).where(Group.id.in_([k for k in ore if k]))).all())
    keys = [m.key for m in span]
    units = [
        UnitCost(
            unit_id=unit_id,
            unit_name=names.get(unit_id, "") if unit_id else "",
            months={k: round(values.get(k, 0.0) / 100, 2) for k in keys},
            total=round(sum(values.values()) / 100, 2),
        )
        for unit_id, values in ore.items()
    ]
    units.sort(key=lambda u: (u.unit_id is None, u.unit_name))
    totals = {k: round(sum(u.months[k] for u in units), 2) for k in keys}
    return CostsRead(months=keys, units=units, totals=totals, depreciation_years=years)


def _instant(day: date) -> datetime:
    return local_instant(ZONE, day, time(0))


def _kr(value: float) -> str:
    """Kronor with two decimals and Swedish Excel's decimal comma."""
    return f"{value:.2f}".replace(".", ",")


def to_csv(costs: CostsRead, *, unallocated: str) -> str:
    """One row per unit, one column per month (kronor), and the total."""
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(["unit", *costs.months, "total"])
    for u in costs.units:
        writer.writerow([u.unit_name or unallocated, *(_kr(u.months[m]) for m in costs.months), _kr(u.total)])
    writer.writerow(["total", *(_kr(costs.totals[m]) for m in costs.months), _kr(sum(costs.totals.values()))])
    return out.getvalue()
