"""The fleet register's tables: assets, their assignments and loans, subscriptions, offboardings.

    Asset 1--* Assignment (to a person, or for a shared ward tablet to a unit or an on-call role;
                           a loan is an assignment of kind "loan"; at most one is open per asset)
    Asset 1--* Subscription (the number, extension and plan attached to it; ended, never deleted)
    Asset 1--* Device (an app install: a push endpoint on the asset, `device.asset_id`)
    Offboarding 1--* OffboardingStep (a leaver's checklist: each step an owner and a due date)

Money is kept in whole öre (1/100 SEK), so sums are exact on every database. Nothing here is
deleted: an asset is retired, an assignment ended, a subscription ended, a step done.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal, get_args

from sqlalchemy import Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from kernel.checks import one_of
from kernel.db import Base, UTCDateTime, new_id

AssetKind = Literal["phone", "tablet", "shared_tablet"]
AssetState = Literal["in_stock", "assigned", "loaner", "on_loan", "returned", "wiped", "in_repair", "lost", "retired"]
# managed: enrolled in the region's device management with a managed account; personal: a private
# Apple or Google account on it (what blocks reuse); none: not enrolled.
ManagedAccount = Literal["managed", "personal", "none", "unknown"]
AssignmentKind = Literal["assignment", "loan"]
StepKind = Literal["disable_push", "return_asset", "wipe_asset", "subscription", "extension"]
OffboardingReason = Literal["deactivated", "leaving"]

ASSET_KINDS: tuple[AssetKind, ...] = get_args(AssetKind)
ASSET_STATES: tuple[AssetState, ...] = get_args(AssetState)
MANAGED_ACCOUNTS: tuple[ManagedAccount, ...] = get_args(ManagedAccount)

_OPEN = text("ended_at IS NULL")
_UNFINISHED = text("finished_at IS NULL")
_NOT_DONE = text("done_at IS NULL")


class Asset(Base):
    """A region-owned phone or tablet."""

    __tablename__ = "fleet_asset"
    __table_args__ = (
        Index("ix_fleet_asset_state", "state"),
        one_of("kind", ASSET_KINDS),
        one_of("state", ASSET_STATES),
        one_of("managed_account", MANAGED_ACCOUNTS),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[AssetKind] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(100))
    manufacturer: Mapped[str | None] = mapped_column(String(100))
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    imei: Mapped[str | None] = mapped_column(String(15), unique=True)
    purchase_date: Mapped[date | None] = mapped_column(Date)
    purchase_price_ore: Mapped[int | None] = mapped_column(Integer)
    warranty_end: Mapped[date | None] = mapped_column(Date)
    managed_account: Mapped[ManagedAccount] = mapped_column(String(16), default="unknown")
    mdm_id: Mapped[str | None] = mapped_column(String(64), index=True)
    site: Mapped[str | None] = mapped_column(String(64), index=True)
    state: Mapped[AssetState] = mapped_column(String(16))
    state_since: Mapped[datetime] = mapped_column(UTCDateTime())
    last_check_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def snapshot(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "model": self.model,
            "manufacturer": self.manufacturer,
            "serial": self.serial,
            "imei": self.imei,
            "purchase_date": self.purchase_date.isoformat() if self.purchase_date else None,
            "purchase_price_ore": self.purchase_price_ore,
            "warranty_end": self.warranty_end.isoformat() if self.warranty_end else None,
            "managed_account": self.managed_account,
            "mdm_id": self.mdm_id,
            "site": self.site,
            "state": self.state,
            "note": self.note,
        }


class Assignment(Base):
    """Who has an asset, from when until when: a person, or a unit or on-call role (shared tablets)."""

    __tablename__ = "fleet_assignment"
    __table_args__ = (
        Index("uq_fleet_assignment_open", "asset_id", unique=True, postgresql_where=_OPEN, sqlite_where=_OPEN),
        Index("ix_fleet_assignment_person", "person_id"),
        one_of("kind", get_args(AssignmentKind)),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    asset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("fleet_asset.id", ondelete="RESTRICT"))
    kind: Mapped[AssignmentKind] = mapped_column(String(16), default="assignment")
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("group.id", ondelete="RESTRICT"))
    role: Mapped[str | None] = mapped_column(String(100), index=True)
    cost_unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("group.id", ondelete="RESTRICT"))
    replaces_asset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("fleet_asset.id", ondelete="RESTRICT"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(500))


class Subscription(Base):
    """A mobile subscription: its number (E.164), internal extension, operator, plan and cost."""

    __tablename__ = "fleet_subscription"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    extension: Mapped[str | None] = mapped_column(String(16))
    operator: Mapped[str] = mapped_column(String(64))
    plan: Mapped[str] = mapped_column(String(100))
    monthly_cost_ore: Mapped[int] = mapped_column(Integer)
    cost_centre: Mapped[str | None] = mapped_column(String(32))
    asset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("fleet_asset.id", ondelete="RESTRICT"), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def snapshot(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "extension": self.extension,
            "operator": self.operator,
            "plan": self.plan,
            "monthly_cost_ore": self.monthly_cost_ore,
            "cost_centre": self.cost_centre,
            "asset_id": str(self.asset_id) if self.asset_id else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
        }


class Offboarding(Base):
    """A leaver's checklist; at most one unfinished per person."""

    __tablename__ = "fleet_offboarding"
    __table_args__ = (
        Index(
            "uq_fleet_offboarding_open",
            "person_id",
            unique=True,
            postgresql_where=_UNFINISHED,
            sqlite_where=_UNFINISHED,
        ),
        one_of("reason", get_args(OffboardingReason)),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    reason: Mapped[OffboardingReason] = mapped_column(String(16))
    leaving_on: Mapped[date | None] = mapped_column(Date)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OffboardingStep(Base):
    """One thing to do for a leaver, with its owner and due date; done with an outcome."""

    __tablename__ = "fleet_offboarding_step"
    __table_args__ = (
        Index("ix_fleet_offboarding_step_offboarding", "offboarding_id"),
        Index("ix_fleet_offboarding_step_due", "due_at", postgresql_where=_NOT_DONE, sqlite_where=_NOT_DONE),
        one_of("kind", get_args(StepKind)),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    offboarding_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("fleet_offboarding.id", ondelete="RESTRICT"))
    kind: Mapped[StepKind] = mapped_column(String(16))
    asset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("fleet_asset.id", ondelete="RESTRICT"))
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("fleet_subscription.id", ondelete="RESTRICT"))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by: Mapped[str | None] = mapped_column(String(254))
    outcome: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(500))
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminders: Mapped[int] = mapped_column(Integer, default=0)
