"""Pydantic shapes of the fleet API: assets, transitions, assignments and loans, subscriptions,
offboarding, imports. Amounts are in kronor (SEK) here and in whole öre in the database."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from kernel.inputs import InputModel
from notify.fleet import identifiers
from notify.fleet.models import AssetKind, AssetState, ManagedAccount

Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Site = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Serial = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=64)]
Amount = Annotated[Decimal, Field(ge=0, lt=10_000_000, decimal_places=2)]
StepOutcome = Literal["disabled", "returned", "lost", "wiped", "ended", "transferred", "not_needed"]


class _In(InputModel):
    pass


def _imei(value: str | None) -> str | None:
    return identifiers.imei(value) if value else None


class AssetCreate(_In):
    kind: AssetKind = Field(description="phone, tablet, or shared_tablet (a ward tablet for a unit or a role).")
    model: Text100
    manufacturer: Text100 | None = None
    serial: Serial = Field(description="The manufacturer's serial number; unique in the register.")
    imei: str | None = Field(default=None, description="15 digits, the last one its Luhn check digit.")
    purchase_date: date | None = None
    purchase_price: Amount | None = Field(default=None, description="In kronor, excluding VAT.")
    warranty_end: date | None = None
    managed_account: ManagedAccount = Field(
        default="unknown",
        description="managed: enrolled in device management with a managed account; personal: a private "
        "Apple or Google account is on it; none: not enrolled.",
    )
    mdm_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = Field(
        default=None, description="The device's id in device management (Intune's Device ID)."
    )
    site: Site | None = Field(default=None, description="Where it is kept when not in use: its loaner pool.")
    note: Note | None = None

    @field_validator("imei")
    @classmethod
    def _check_imei(cls, value: str | None) -> str | None:
        return _imei(value)


class AssetUpdate(_In):
    model: Text100 | None = None
    manufacturer: Text100 | None = None
    imei: str | None = None
    purchase_date: date | None = None
    purchase_price: Amount | None = None
    warranty_end: date | None = None
    managed_account: ManagedAccount | None = None
    mdm_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    site: Site | None = None
    note: Note | None = None

    @field_validator("imei")
    @classmethod
    def _check_imei(cls, value: str | None) -> str | None:
        return _imei(value)


class HolderRead(BaseModel):
    """Who has the asset now."""

    assignment_id: uuid.UUID
    kind: Literal["assignment", "loan"]
    person_id: uuid.UUID | None
    person_name: str | None
    group_id: uuid.UUID | None
    group_name: str | None
    role: str | None
    since: datetime


class SubscriptionRead(BaseModel):
    id: uuid.UUID
    number: str = Field(description="E.164, e.g. +46701234567.")
    extension: str | None
    operator: str
    plan: str
    monthly_cost: float = Field(description="Kronor per month.")
    cost_centre: str | None
    asset_id: uuid.UUID | None
    ended_at: datetime | None


class AssetRead(BaseModel):
    id: uuid.UUID
    kind: str
    model: str
    manufacturer: str | None
    serial: str
    imei: str | None
    purchase_date: date | None
    purchase_price: float | None = Field(description="Kronor.")
    warranty_end: date | None
    managed_account: str
    mdm_id: str | None
    site: str | None
    state: str
    state_since: datetime
    last_check_in_at: datetime | None
    note: str | None
    holder: HolderRead | None
    subscription: SubscriptionRead | None


class TransitionRead(BaseModel):
    action: str
    to: str
    who: list[str] = Field(description="Who may make it: it (device administration), holder, holder_manager.")


class InstallRead(BaseModel):
    """A push device installed on the asset."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID | None = Field(description="Empty for a shared ward tablet: it is no one's device.")
    name: str
    platform: str
    provider: str
    state: str
    state_reason: str | None
    last_seen_at: datetime


class AssetDetail(AssetRead):
    installs: list[InstallRead]
    allowed: list[TransitionRead] = Field(description="The transitions the lifecycle allows from the current state.")


class TransitionCreate(_In):
    to: AssetState = Field(description="The state to move to; assigned and on_loan go through assignments and loans.")
    note: Note | None = None


class AssignmentCreate(_In):
    """Give an asset to a person, or a shared ward tablet to a unit or an on-call role: exactly one of them."""

    asset_id: uuid.UUID
    person_id: uuid.UUID | None = None
    group_id: uuid.UUID | None = Field(default=None, description="A unit (shared ward tablets only).")
    role: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = Field(
        default=None, description="An on-call roster role (shared ward tablets only)."
    )
    cost_unit_id: uuid.UUID | None = Field(
        default=None, description="The unit that pays; by default the person's unit or the tablet's unit."
    )
    note: Note | None = None

    @model_validator(mode="after")
    def _one_target(self) -> AssignmentCreate:
        given = [x for x in (self.person_id, self.group_id, self.role) if x is not None]
        if len(given) != 1:
            raise ValueError("name exactly one of person_id, group_id or role")
        return self


class AssignmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    asset_id: uuid.UUID
    kind: str
    person_id: uuid.UUID | None
    group_id: uuid.UUID | None
    role: str | None
    cost_unit_id: uuid.UUID | None
    replaces_asset_id: uuid.UUID | None
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    note: str | None


class LoanCreate(_In):
    """Lend a loaner to a person: a named one, or any available one at a site."""

    person_id: uuid.UUID
    asset_id: uuid.UUID | None = None
    site: Site | None = None
    replaces_asset_id: uuid.UUID | None = Field(
        default=None, description="The person's own asset that is lost or in repair (by default found for you)."
    )
    note: Note | None = None

    @model_validator(mode="after")
    def _which(self) -> LoanCreate:
        if (self.asset_id is None) == (self.site is None):
            raise ValueError("name either asset_id or site")
        return self


class LoanRead(BaseModel):
    assignment_id: uuid.UUID
    asset_id: uuid.UUID
    serial: str
    model: str
    site: str | None
    person_id: uuid.UUID
    person_name: str
    since: datetime
    replaces_asset_id: uuid.UUID | None
    replaces_serial: str | None


class PoolAsset(BaseModel):
    id: uuid.UUID
    serial: str
    model: str
    kind: str


class SiteRead(BaseModel):
    site: str
    available: list[PoolAsset]
    on_loan: list[LoanRead]


class WithoutDeviceRead(BaseModel):
    person_id: uuid.UUID
    name: str
    since: datetime = Field(description="When their last working device left them.")
    deadline: datetime = Field(description="One working day later: the goal is a working device by then.")
    over_goal: bool
    asset_id: uuid.UUID | None = Field(description="Their own asset, lost or in repair.")
    asset_state: str | None


class GoalRead(BaseModel):
    """The goal the region holds: nobody without a working device for more than one working day."""

    without_device: int
    over_goal: int
    met: bool


class PoolRead(BaseModel):
    sites: list[SiteRead]
    goal: GoalRead
    without_device: list[WithoutDeviceRead]


class SubscriptionUpdate(_In):
    asset_id: uuid.UUID | None = None
    extension: str | None = None
    plan: Text100 | None = None
    monthly_cost: Amount | None = None
    cost_centre: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None

    @field_validator("extension")
    @classmethod
    def _check_extension(cls, value: str | None) -> str | None:
        return identifiers.extension(value) if value else None


class StepRead(BaseModel):
    id: uuid.UUID
    kind: str
    asset_id: uuid.UUID | None
    serial: str | None
    subscription_id: uuid.UUID | None
    number: str | None
    extension: str | None
    owner_id: uuid.UUID | None
    owner_name: str | None
    due_at: datetime
    overdue: bool
    done_at: datetime | None
    done_by: str | None
    outcome: str | None
    note: str | None
    reminders: int


class OffboardingRead(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    person_name: str
    reason: str
    leaving_on: date | None
    started_at: datetime
    finished_at: datetime | None
    steps: list[StepRead]


class OffboardingCreate(_In):
    """Start a leaver's checklist before they are deactivated, e.g. from a known leaving date."""

    person_id: uuid.UUID
    leaving_on: date = Field(description="The last working day; push devices are disabled when it has ended.")


class StepDone(_In):
    outcome: StepOutcome = Field(
        description="disable_push: disabled; return_asset: returned or lost; wipe_asset: wiped; "
        "subscription and extension: ended or transferred; any step: not_needed."
    )
    note: Note | None = None
    transfer_to_asset_id: uuid.UUID | None = Field(
        default=None, description="subscription transferred: the asset it moves to (optional)."
    )


class StepUpdate(_In):
    owner_id: uuid.UUID | None = None
    due_at: AwareDatetime | None = None


class RejectedRow(BaseModel):
    line: int
    ref: str = Field(description="The row's serial number or phone number, as given.")
    reason: str


class ImportWarning(BaseModel):
    line: int
    ref: str
    text: str


class ImportRead(BaseModel):
    """The outcome of an import: every row written, or (with any rejected row) none."""

    rows: int
    created: int
    updated: int
    unchanged: int
    skipped: int = Field(description="Rows left out: not a phone or tablet (the PCs in an Intune export).")
    written: bool
    rejected: list[RejectedRow]
    warnings: list[ImportWarning] = Field(description="Rows written, with something to look at.")


class UnitCost(BaseModel):
    unit_id: uuid.UUID | None = Field(description="Empty: not assigned to a unit (stock, loaner pool).")
    unit_name: str
    months: dict[str, float] = Field(description="Kronor per month (YYYY-MM).")
    total: float


class CostsRead(BaseModel):
    months: list[str]
    units: list[UnitCost]
    totals: dict[str, float]
    depreciation_years: int


class HistoryEntry(BaseModel):
    """One audited change of an asset: a transition, an edit, an import."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_label: str
    action: str = Field(description="fleet.asset.<transition or create/update>.")
    before: dict[str, Any] | None
    after: dict[str, Any] | None
