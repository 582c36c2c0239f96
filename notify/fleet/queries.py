"""Reading the register: the fleet list with its filters, one asset in full, and its history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kernel.audit.models import AuditRecord
from kernel.directory import service as directory
from kernel.directory.models import Group, Person
from notify.fleet import installs, lifecycle
from notify.fleet.assets import who
from notify.fleet.identifiers import kronor
from notify.fleet.lifecycle import By
from notify.fleet.models import Asset, Assignment, Subscription
from notify.fleet.schemas import (
    AssetDetail,
    AssetRead,
    HolderRead,
    InstallRead,
    SubscriptionRead,
    TransitionRead,
)


def subscription_read(sub: Subscription) -> SubscriptionRead:
    return SubscriptionRead(
        id=sub.id,
        number=sub.number,
        extension=sub.extension,
        operator=sub.operator,
        plan=sub.plan,
        monthly_cost=sub.monthly_cost_ore / 100,
        cost_centre=sub.cost_centre,
        asset_id=sub.asset_id,
        ended_at=sub.ended_at,
    )


def read(session: Session, assets: Sequence[Asset]) -> list[AssetRead]:
    """Assets with their holder and current subscription, in a few queries for the whole page."""
    ids = [a.id for a in assets]
    holders = {
        h.asset_id: h
        for h in session.scalars(select(Assignment).where(Assignment.asset_id.in_(ids), Assignment.ended_at.is_(None)))
    }
    subs: dict[uuid.UUID, Subscription] = {}
    for sub in session.scalars(
        select(Subscription)
        .where(Subscription.asset_id.in_(ids), Subscription.ended_at.is_(None))
        .order_by(Subscription.created_at)
    ):
        if sub.asset_id is not None:
            subs.setdefault(sub.asset_id, sub)
    people = directory.names_of(session=session, person_ids=[h.person_id for h in holders.values() if h.person_id])
    group_ids = {h.group_id for h in holders.values() if h.group_id}
    groups = (
        dict(session.execute(select(Group.id, Group.name).where(Group.id.in_(group_ids))).all()) if group_ids else {}
    )
    out = []
    for a in assets:
        h = holders.get(a.id)
        holder = (
            HolderRead(
                assignment_id=h.id,
                kind=h.kind,
                person_id=h.person_id,
                person_name=people.get(h.person_id) if h.person_id else None,
                group_id=h.group_id,
                group_name=groups.get(h.group_id) if h.group_id else None,
                role=h.role,
                since=h.started_at,
            )
            if h is not None
            else None
        )
        current = subs.get(a.id)
        out.append(
            AssetRead(
                id=a.id,
                kind=a.kind,
                model=a.model,
                manufacturer=a.manufacturer,
                serial=a.serial,
                imei=a.imei,
                purchase_date=a.purchase_date,
                purchase_price=kronor(a.purchase_price_ore),
                warranty_end=a.warranty_end,
                managed_account=a.managed_account,
                mdm_id=a.mdm_id,
                site=a.site,
                state=a.state,
                state_since=a.state_since,
                last_check_in_at=a.last_check_in_at,
                note=a.note,
                holder=holder,
                subscription=subscription_read(current) if current else None,
            )
        )
    return out


def list_assets(
    *,
    session: Session,
    limit: int,
    offset: int,
    states: Sequence[str] = (),
    kind: str | None = None,
    site: str | None = None,
    unit: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
    managed_account: str | None = None,
    q: str | None = None,
) -> tuple[list[Asset], int]:
    """The fleet list. `unit` includes its subgroups: assets charged to them or shared with them."""
    stmt = select(Asset)
    open_holder = select(Assignment.asset_id).where(Assignment.ended_at.is_(None))
    if states:
        stmt = stmt.where(Asset.state.in_(list(states)))
    if kind:
        stmt = stmt.where(Asset.kind == kind)
    if site:
        stmt = stmt.where(Asset.site == site)
    if managed_account:
        stmt = stmt.where(Asset.managed_account == managed_account)
    if person_id is not None:
        stmt = stmt.where(Asset.id.in_(open_holder.where(Assignment.person_id == person_id)))
    if unit is not None:
        tree = directory.descendant_ids(session=session, group_ids=[unit])
        stmt = stmt.where(
            Asset.id.in_(open_holder.where(or_(Assignment.cost_unit_id.in_(tree), Assignment.group_id.in_(tree))))
        )
    if q:
        like = f"%{q.strip().lower()}%"
        holders = (
            select(Assignment.asset_id)
            .join(Person, Person.id == Assignment.person_id)
            .where(Assignment.ended_at.is_(None), func.lower(Person.name).like(like))
        )
        numbers = select(Subscription.asset_id).where(
            Subscription.number.like(like), Subscription.asset_id.is_not(None)
        )
        stmt = stmt.where(
            or_(
                func.lower(Asset.serial).like(like),
                Asset.imei.like(like),
                func.lower(Asset.model).like(like),
                Asset.id.in_(holders),
                Asset.id.in_(numbers),
            )
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Asset.serial).limit(limit).offset(offset)).all()
    return list(rows), int(total)


def detail(session: Session, asset: Asset, by: By) -> AssetDetail:
    kinds = who(session, asset, by)
    allowed = [
        TransitionRead(action=t.action, to=t.target, who=sorted(t.who))
        for t in lifecycle.allowed_from(asset.state)
        if t.who & kinds
    ]
    return AssetDetail(
        **read(session, [asset])[0].model_dump(),
        installs=[InstallRead.model_validate(d) for d in installs.installs_of(session, asset.id)],
        allowed=allowed,
    )


def history(session: Session, *, asset_id: uuid.UUID, limit: int, offset: int) -> tuple[list[AuditRecord], int]:
    """Every audited change of the asset, newest first: transitions, edits, imports."""
    stmt = select(AuditRecord).where(AuditRecord.target_type == "asset", AuditRecord.target_id == str(asset_id))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(AuditRecord.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), int(total)


def assignments(session: Session, *, asset_id: uuid.UUID | None, person_id: uuid.UUID | None) -> list[Assignment]:
    stmt = select(Assignment)
    if asset_id is not None:
        stmt = stmt.where(Assignment.asset_id == asset_id)
    if person_id is not None:
        stmt = stmt.where(Assignment.person_id == person_id)
    return list(session.scalars(stmt.order_by(Assignment.started_at.desc()).limit(500)).all())
