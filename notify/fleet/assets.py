"""Assets: register and edit them, and move them through the lifecycle, assignment and loans
included. Every move goes through `move` or `_hand_over`, which check the transition table, end or
open the assignment, block the asset's push devices when it leaves its holder, close the offboarding
steps it settles, and write the audit record. Services add and flush; the caller commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.audit import service as audit
from kernel.db import among
from kernel.directory import service as directory
from kernel.directory.models import Group, GroupMember, Person
from kernel.errors import Conflict, InvalidInput, NotFound
from notify.fleet import identifiers, installs, lifecycle, steps
from notify.fleet.lifecycle import NEEDS_ASSIGNEE, By, Transition, Who
from notify.fleet.models import Asset, AssetState, Assignment
from notify.fleet.schemas import AssetCreate, AssetUpdate, AssignmentCreate


def require(*, session: Session, asset_id: uuid.UUID) -> Asset:
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFound(f"no asset with id {asset_id}")
    return asset


def _audit(session: Session, *, by: By, now: datetime, action: str, asset: Asset, **values: Any) -> None:
    audit.record(
        session=session,
        now=now,
        actor_id=by.person_id,
        actor_label=by.label,
        action=f"fleet.asset.{action}",
        target_type="asset",
        target_id=asset.id,
        meta=by.meta,
        **values,
    )


def _check_unique(session: Session, *, serial: str | None, imei: str | None, except_id: uuid.UUID | None) -> None:
    if serial is not None:
        other = session.scalar(select(Asset.id).where(Asset.serial == serial))
        if other is not None and other != except_id:
            raise Conflict(f"an asset with serial number {serial} is already registered")
    if imei is not None:
        other = session.scalar(select(Asset.id).where(Asset.imei == imei))
        if other is not None and other != except_id:
            raise Conflict(f"an asset with IMEI {imei} is already registered")


def create(*, session: Session, data: AssetCreate, by: By, now: datetime) -> Asset:
    """A new asset enters the register in stock."""
    _check_unique(session, serial=data.serial, imei=data.imei, except_id=None)
    values = data.model_dump(exclude={"purchase_price"})
    asset = Asset(**values, state="in_stock", state_since=now, created_at=now, updated_at=now)
    asset.purchase_price_ore = identifiers.ore(data.purchase_price) if data.purchase_price is not None else None
    session.add(asset)
    session.flush()
    _audit(session, by=by, now=now, action="create", asset=asset, after=asset.snapshot())
    return asset


def update(*, session: Session, asset: Asset, data: AssetUpdate, by: By, now: datetime) -> Asset:
    changes = data.model_dump(exclude_unset=True)
    if "model" in changes and changes["model"] is None:
        raise InvalidInput("model cannot be empty")
    _check_unique(session, serial=None, imei=changes.get("imei"), except_id=asset.id)
    before = asset.snapshot()
    if "purchase_price" in changes:
        price = changes.pop("purchase_price")
        asset.purchase_price_ore = identifiers.ore(price) if price is not None else None
    for key, value in changes.items():
        setattr(asset, key, value)
    asset.updated_at = now
    session.flush()
    _audit(session, by=by, now=now, action="update", asset=asset, before=before, after=asset.snapshot())
    return asset


def who(session: Session, asset: Asset, by: By) -> frozenset[Who]:
    """Which of the transition table's actor kinds `by` is for this asset."""
    kinds: set[Who] = {"it"} if by.is_it else set()
    holder = installs.holder_of(session, asset.id)
    if holder is not None and holder.person_id is not None and by.person_id is not None:
        if holder.person_id == by.person_id:
            kinds.add("holder")
        elif "manager" in by.roles:
            theirs = set(directory.group_ids_of(session=session, person_id=holder.person_id))
            if theirs & directory.managed_group_ids(session=session, person_id=by.person_id):
                kinds.add("holder_manager")
    return frozenset(kinds)


def _holder_json(holder: Assignment | None) -> dict[str, Any] | None:
    if holder is None:
        return None
    return {
        "kind": holder.kind,
        "person_id": str(holder.person_id) if holder.person_id else None,
        "group_id": str(holder.group_id) if holder.group_id else None,
        "role": holder.role,
    }


def move(*, session: Session, asset: Asset, target: str, by: By, now: datetime, note: str | None = None) -> Transition:
    """Move the asset to `target` (not to assigned or on_loan: those go through `assign` and `lend`)."""
    transition = lifecycle.check(asset.state, target, who(session, asset, by))
    if transition.target in NEEDS_ASSIGNEE:
        raise InvalidInput(f"{transition.action} needs someone to give it to: use the assignments or loans endpoint")
    source, holder = asset.state, installs.holder_of(session, asset.id)
    if holder is not None:
        holder.ended_at, holder.end_reason = now, transition.target
    asset.state, asset.state_since, asset.updated_at = transition.target, now, now
    blocked = installs.block_asset(session, asset_id=asset.id, reason=f"asset {asset.serial} {target}", now=now)
    session.flush()
    _audit(
        session,
        by=by,
        now=now,
        action=transition.action,
        asset=asset,
        before={"state": source, "holder": _holder_json(holder)},
        after={"state": transition.target, "note": note, "blocked_devices": len(blocked)},
    )
    steps.close_for_asset(session, asset_id=asset.id, state=transition.target, by=by, now=now, note=note)
    return transition


def _hand_over(session: Session, *, asset: Asset, assignment: Assignment, by: By, now: datetime) -> Assignment:
    """Open an assignment or loan: the asset moves to assigned or on_loan, audited."""
    target: AssetState = "on_loan" if assignment.kind == "loan" else "assigned"
    transition = lifecycle.check(asset.state, target, who(session, asset, by))
    if installs.holder_of(session, asset.id) is not None:
        raise Conflict("the asset is already with someone; return it first")
    source = asset.state
    assignment.asset_id, assignment.started_at = asset.id, now
    session.add(assignment)
    asset.state, asset.state_since, asset.updated_at = target, now, now
    session.flush()
    _audit(
        session,
        by=by,
        now=now,
        action=transition.action,
        asset=asset,
        before={"state": source},
        after={"state": target, "holder": _holder_json(assignment), "note": assignment.note},
    )
    return assignment


def units_of(session: Session, person_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """The unit each person's device costs are charged to: the unit they belong to, or the unit
    above their team (the first by name when there are several). In two queries for any number."""
    wanted = list(set(person_ids))
    if not wanted:
        return {}
    groups = {
        gid: (kind, parent) for gid, kind, parent in session.execute(select(Group.id, Group.kind, Group.parent_id))
    }
    memberships: dict[uuid.UUID, list[uuid.UUID]] = {}
    for i in range(0, len(wanted), 5000):
        for person_id, group_id in session.execute(
            select(GroupMember.person_id, GroupMember.group_id)
            .join(Group, Group.id == GroupMember.group_id)
            .where(among(session, GroupMember.person_id, wanted[i : i + 5000]))
            .order_by(Group.name)
        ):
            memberships.setdefault(person_id, []).append(group_id)

    def unit_above(group_id: uuid.UUID) -> uuid.UUID | None:
        seen: set[uuid.UUID] = set()
        current: uuid.UUID | None = group_id
        while current is not None and current not in seen and current in groups:
            seen.add(current)
            if groups[current][0] == "unit":
                return current
            current = groups[current][1]
        return None

    out: dict[uuid.UUID, uuid.UUID] = {}
    for person_id, member_of in memberships.items():
        direct = next((g for g in member_of if groups.get(g, ("",))[0] == "unit"), None)
        found = direct or next((u for u in map(unit_above, member_of) if u is not None), None)
        out[person_id] = found or member_of[0]
    return out


def unit_of(session: Session, person_id: uuid.UUID) -> uuid.UUID | None:
    return units_of(session, [person_id]).get(person_id)


def _require_active_person(session: Session, person_id: uuid.UUID) -> Person:
    person = session.get(Person, person_id)
    if person is None or not person.active:
        raise InvalidInput(f"no active person with id {person_id}")
    return person


def assign(*, session: Session, data: AssignmentCreate, by: By, now: datetime) -> Assignment:
    """Give an asset to a person; a shared ward tablet to a unit or an on-call role."""
    asset = require(session=session, asset_id=data.asset_id)
    shared = asset.kind == "shared_tablet"
    if data.person_id is not None and shared:
        raise InvalidInput("a shared ward tablet is assigned to a unit or an on-call role, not to a person")
    if data.person_id is None and not shared:
        raise InvalidInput(f"a {asset.kind} is assigned to a person; only shared ward tablets go to a unit or role")
    cost_unit = data.cost_unit_id
    if data.person_id is not None:
        _require_active_person(session, data.person_id)
        cost_unit = cost_unit or unit_of(session, data.person_id)
    if data.group_id is not None:
        directory.require_group(session=session, group_id=data.group_id)
        cost_unit = cost_unit or data.group_id
    if cost_unit is not None:
        directory.require_group(session=session, group_id=cost_unit)
    assignment = Assignment(
        kind="assignment",
        person_id=data.person_id,
        group_id=data.group_id,
        role=data.role,
        cost_unit_id=cost_unit,
        note=data.note,
    )
    return _hand_over(session, asset=asset, assignment=assignment, by=by, now=now)


def lend(
    *,
    session: Session,
    asset: Asset,
    person_id: uuid.UUID,
    replaces_asset_id: uuid.UUID | None,
    note: str | None,
    by: By,
    now: datetime,
) -> Assignment:
    """Lend a loaner from the pool to a person, for the asset of theirs that is lost or in repair."""
    _require_active_person(session, person_id)
    assignment = Assignment(
        kind="loan",
        person_id=person_id,
        cost_unit_id=unit_of(session, person_id),
        replaces_asset_id=replaces_asset_id,
        note=note,
    )
    return _hand_over(session, asset=asset, assignment=assignment, by=by, now=now)
