"""The loaner pool per site: lend loaners, and see who is without a working device and since when,
against the goal the region holds: nobody without a working device for more than one working day.

A person is without a working device when the asset they had was reported lost or sent to repair
(or a loan that stood in for it ended) and they have none assigned or lent since. Their deadline
is one working day later: the same local time on the next working day (Monday to Friday, not a
public holiday); if it happened on a day off, the end of the next working day.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.directory.models import Person
from kernel.errors import Conflict, InvalidInput
from notify.fleet import assets
from notify.fleet.lifecycle import By
from notify.fleet.models import Asset, Assignment
from notify.fleet.schemas import (
    GoalRead,
    LoanCreate,
    LoanRead,
    PoolAsset,
    PoolRead,
    SiteRead,
    WithoutDeviceRead,
)
from notify.fleet.workdays import add_working_days

GONE = ("lost", "in_repair")  # an assignment that ended so leaves its person without a device
NO_SITE = ""


def deadline(since: datetime, zone: str) -> datetime:
    """One working day after `since` (see the module's docstring)."""
    return add_working_days(since, zone, 1)


def _own_gone(session: Session, person_id: uuid.UUID) -> uuid.UUID | None:
    """The person's own asset that was lost or sent to repair most recently, if any."""
    return session.scalar(
        select(Assignment.asset_id)
        .where(
            Assignment.person_id == person_id,
            Assignment.kind == "assignment",
            Assignment.end_reason.in_(GONE),
        )
        .order_by(Assignment.ended_at.desc())
        .limit(1)
    )


def lend(*, session: Session, data: LoanCreate, by: By, now: datetime) -> Assignment:
    """Lend the named loaner, or any available one at the site."""
    if data.asset_id is not None:
        asset = assets.require(session=session, asset_id=data.asset_id)
    else:
        found = session.scalar(
            select(Asset).where(Asset.state == "loaner", Asset.site == data.site).order_by(Asset.serial).limit(1)
        )
        if found is None:
            raise Conflict(f"no loaner is available at {data.site}")
        asset = found
    if asset.state != "loaner":
        raise Conflict(f"{asset.serial} is {asset.state}, not an available loaner")
    replaces = data.replaces_asset_id or _own_gone(session, data.person_id)
    if replaces is not None and session.get(Asset, replaces) is None:
        raise InvalidInput(f"no asset with id {replaces}")
    return assets.lend(
        session=session,
        asset=asset,
        person_id=data.person_id,
        replaces_asset_id=replaces,
        note=data.note,
        by=by,
        now=now,
    )


def without_device(session: Session, *, now: datetime) -> list[WithoutDeviceRead]:
    """Active people without a working device, longest first."""
    holding = select(Assignment.person_id).where(Assignment.ended_at.is_(None), Assignment.person_id.is_not(None))
    rows = session.execute(
        select(Assignment, Person.name, Person.timezone)
        .join(Person, Person.id == Assignment.person_id)
        .where(Assignment.ended_at.is_not(None), Person.active.is_(True), Assignment.person_id.not_in(holding))
        .order_by(Assignment.ended_at)
    ).all()
    history: dict[uuid.UUID, list[Assignment]] = defaultdict(list)
    names: dict[uuid.UUID, tuple[str, str]] = {}
    for assignment, name, zone in rows:
        if assignment.person_id is not None:  # joined to a person
            history[assignment.person_id].append(assignment)
            names[assignment.person_id] = (name, zone)
    gone = {a.asset_id for items in history.values() for a in items if a.end_reason in GONE}
    states = dict(session.execute(select(Asset.id, Asset.state).where(Asset.id.in_(gone))).all()) if gone else {}
    out: list[WithoutDeviceRead] = []
    for person_id, items in history.items():
        latest = items[-1]
        own = next((a for a in reversed(items) if a.kind == "assignment"), None)
        if latest.end_reason in GONE:
            cause = latest
        elif latest.kind == "loan" and own is not None and own.end_reason in GONE:
            cause = own
        else:
            continue
        since = latest.ended_at
        if since is None:  # selected as ended; never happens
            continue
        name, zone = names[person_id]
        due = deadline(since, zone)
        out.append(
            WithoutDeviceRead(
                person_id=person_id,
                name=name,
                since=since,
                deadline=due,
                over_goal=now > due,
                asset_id=cause.asset_id,
                asset_state=states.get(cause.asset_id),
            )
        )
    return sorted(out, key=lambda w: w.since)


def pool(session: Session, *, now: datetime, site: str | None = None) -> PoolRead:
    """Loaners per site, available and out on loan, and who is without a working device."""
    stmt = select(Asset).where(Asset.state.in_(("loaner", "on_loan")))
    if site is not None:
        stmt = stmt.where(Asset.site == site)
    pool_assets = list(session.scalars(stmt.order_by(Asset.serial)).all())
    loans = {
        a.asset_id: a
        for a in session.scalars(
            select(Assignment).where(
                Assignment.asset_id.in_([p.id for p in pool_assets]),
                Assignment.ended_at.is_(None),
                Assignment.kind == "loan",
            )
        )
    }
    people = dict(
        session.execute(
            select(Person.id, Person.name).where(Person.id.in_({a.person_id for a in loans.values()}))
        ).all()
    )
    replaced = {a.replaces_asset_id for a in loans.values() if a.replaces_asset_id}
    serials = (
        dict(session.execute(select(Asset.id, Asset.serial).where(Asset.id.in_(replaced))).all()) if replaced else {}
    )
    sites: dict[str, SiteRead] = {}
    for asset in pool_assets:
        entry = sites.setdefault(asset.site or NO_SITE, SiteRead(site=asset.site or NO_SITE, available=[], on_loan=[]))
        loan = loans.get(asset.id)
        if asset.state == "loaner":
            entry.available.append(PoolAsset(id=asset.id, serial=asset.serial, model=asset.model, kind=asset.kind))
        elif loan is not None and loan.person_id is not None:
            entry.on_loan.append(
                LoanRead(
                    assignment_id=loan.id,
                    asset_id=asset.id,
                    serial=asset.serial,
                    model=asset.model,
                    site=asset.site,
                    person_id=loan.person_id,
                    person_name=people.get(loan.person_id, ""),
                    since=loan.started_at,
                    replaces_asset_id=loan.replaces_asset_id,
                    replaces_serial=serials.get(loan.replaces_asset_id) if loan.replaces_asset_id else None,
                )
            )
    without = without_device(session, now=now)
    over = sum(1 for w in without if w.over_goal)
    return PoolRead(
        sites=[sites[k] for k in sorted(sites)],
        goal=GoalRead(without_device=len(without), over_goal=over, met=over == 0),
        without_device=without,
    )
