"""Pydantic shapes of devices, messages, previews and the inbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from kernel.inputs import InputModel
from kernel.vocabulary import Platform, Priority, Provider
from notify.transports.webpush import InvalidSubscription, Subscription

Ownership = Literal["work", "private"]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _In(InputModel):
    pass


# Devices ---------------------------------------------------------------------------------------


class WebPushKeysIn(_In):
    """`PushSubscription.toJSON().keys` of a browser."""

    p256dh: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    auth: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


Token = Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=4096)]


class DeviceCreate(_In):
    platform: Platform
    provider: Provider
    token: Token = Field(description="The FCM or APNs device token; for Web Push the subscription's endpoint.")
    keys: WebPushKeysIn | None = Field(default=None, description="Web Push only: the subscription's keys.")
    replaces: Token | None = Field(
        default=None,
        description="The token this registration replaces (a browser's pushsubscriptionchange): that device "
        "of yours is removed.",
    )
    ownership: Ownership = "work"
    name: Text200 = "Arbetstelefon"
    app_version: Annotated[str, StringConstraints(max_length=32)] | None = None
    locale: Annotated[str, StringConstraints(max_length=16)] | None = None
    serial: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=64)] | None = Field(
        default=None,
        description="The serial number of the phone or tablet the app runs on, as device management's app "
        "configuration gives it: links this install to the region's asset, which must be assigned or lent to you.",
    )

    @model_validator(mode="after")
    def _platform_matches_provider(self) -> DeviceCreate:
        if self.provider == "apns" and self.platform != "ios":
            raise ValueError("provider apns serves only platform ios")
        if self.provider == "webpush" and self.platform != "web":
            raise ValueError("provider webpush serves only platform web")
        if self.provider == "apns" and not all(c in "0123456789abcdefABCDEF" for c in self.token):
            raise ValueError("an APNs device token is hexadecimal")
        if self.provider == "webpush":
            if self.keys is None:
                raise ValueError("a webpush subscription needs keys.p256dh and keys.auth (PushSubscription.toJSON())")
            try:
                Subscription.check(self.token, p256dh=self.keys.p256dh, auth=self.keys.auth)
            except InvalidSubscription as exc:
                raise ValueError(f"not a usable web push subscription: {exc}") from None
        elif self.keys is not None:
            raise ValueError("keys belong to a webpush subscription only")
        return self


class DeviceUpdate(_In):
    name: Text200 | None = None
    ownership: Ownership | None = None
    app_version: Annotated[str, StringConstraints(max_length=32)] | None = None
    locale: Annotated[str, StringConstraints(max_length=16)] | None = None
    lost: bool | None = Field(default=None, description="Mark the device lost: nothing is sent to it any more.")


class DeviceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID | None
    asset_id: uuid.UUID | None = Field(description="The region's asset this app is installed on, if any.")
    name: str
    platform: str
    provider: str
    ownership: str
    app_version: str | None
    locale: str | None
    state: str
    state_reason: str | None
    last_seen_at: datetime
    created_at: datetime


class WebPushKeyRead(BaseModel):
    public_key: str = Field(description="Uncompressed P-256 point, base64url: applicationServerKey.")


# Messages --------------------------------------------------------------------------------------


class Audience(_In):
    groups: list[uuid.UUID] = Field(default_factory=list, max_length=200, description="Groups, with their subgroups.")
    people: list[uuid.UUID] = Field(default_factory=list, max_length=10_000)
    professions: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=20, description="Only these professions within the groups."
    )
    roles: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=20, description="Roster roles: whoever is on call for them."
    )

    @model_validator(mode="after")
    def _not_empty(self) -> Audience:
        if not (self.groups or self.people or self.roles):
            raise ValueError("the audience names no group, person or role")
        if self.professions and not self.groups:
            raise ValueError("professions narrow groups: name at least one group")
        return self


class MessageCreate(_In):
    title: Text200
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    priority: Priority = "normal"
    audience: Audience
    category: Annotated[str, StringConstraints(max_length=64)] | None = None
    expires_at: AwareDatetime | None = None
    collapse_key: Annotated[str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")] | None = None
    deep_link: Annotated[str, StringConstraints(max_length=2000)] | None = None
    requires_ack: bool = False
    ack_timeout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    sensitive: bool = False
    override_reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    escalation_chain_id: uuid.UUID | None = Field(
        default=None, description="Escalate by this chain (its version in force now) until someone acknowledges."
    )
    send_at: AwareDatetime | None = Field(
        default=None, description="Send at this instant (within a year); who is reached is decided then, not now."
    )

    @field_validator("deep_link")
    @classmethod
    def _link(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://", "msteams:", "vila:")):
            raise ValueError("a deep link must be an https:// URL or an app link (msteams:, vila:)")
        return value

    @model_validator(mode="after")
    def _emergency_reason(self) -> MessageCreate:
        if self.priority == "emergency" and not self.override_reason:
            raise ValueError("an emergency message needs a reason (override_reason)")
        if self.requires_ack and self.priority not in ("urgent", "emergency"):
            raise ValueError("requires_ack is for urgent and emergency messages")
        if self.escalation_chain_id and not self.requires_ack:
            raise ValueError("an escalation chain needs requires_ack: it runs until someone acknowledges")
        return self


class MessageSizeProbe(_In):
    """The parts of a message that take room in its push."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""  # as MessageCreate reads
    body: Annotated[str, StringConstraints(strip_whitespace=True, max_length=8000)] = ""
    deep_link: Annotated[str, StringConstraints(max_length=2000)] | None = None
    category: Annotated[str, StringConstraints(max_length=64)] | None = None


class PushSize(BaseModel):
    bytes: int = Field(description="Bytes of the largest push this message would make (any provider).")
    limit: int = Field(description="The most any provider takes; a send above it is answered 413.")
    fits: bool


class ReasonRead(BaseModel):
    rule: str
    text: str
    sv: str
    en: str


class RecipientDecision(BaseModel):
    person_id: uuid.UUID
    name: str
    decision: str
    level: str | None = None
    release_at: datetime | None = None
    reroute_to: uuid.UUID | None = None
    devices: int
    reasons: list[ReasonRead]


class DecisionCounts(BaseModel):
    deliver: int = 0
    hold: int = 0
    reroute: int = 0
    drop: int = 0


class Preview(BaseModel):
    recipients_total: int
    counts: DecisionCounts
    summary: list[str] = Field(description="Readable lines, e.g. '12 held until 07:00 (rest)'.")
    recipients: list[RecipientDecision]
    breaks_rest: int = Field(description="How many recipients this would contact during their rest.")


class SendAccepted(BaseModel):
    message_id: uuid.UUID
    status: Literal["decided", "deciding", "scheduled"]
    recipients_total: int
    counts: DecisionCounts | None
    summary: list[str]
    status_url: str


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    sender_id: uuid.UUID
    title: str
    body: str
    priority: str
    category: str | None
    expires_at: datetime | None
    collapse_key: str | None
    deep_link: str | None
    requires_ack: bool
    sensitive: bool
    override_reason: str | None
    audience_label: str
    state: str
    recipients_total: int
    created_at: datetime
    recalled_at: datetime | None = None
    send_at: datetime | None = None
    send_error: str | None = None


class DeliveryCounts(BaseModel):
    pending: int = 0
    held: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    uncertain: int = Field(default=0, description="No answer from the provider in time: perhaps delivered, not resent.")
    digested: int = 0
    dropped: int = 0
    pruned: int = 0
    recalled: int = 0
    withdrawn: int = 0


class RecipientStatus(BaseModel):
    person_id: uuid.UUID
    name: str
    decision: str
    release_at: datetime | None
    reasons: list[ReasonRead]
    deliveries: dict[str, int]
    read: bool | None = Field(description="None when the read happened outside working time (not shown).")
    read_at: datetime | None
    acknowledged: bool | None
    acknowledged_at: datetime | None


class MessageStatus(BaseModel):
    message: MessageRead
    decided: int
    counts: DecisionCounts
    deliveries: DeliveryCounts
    read: int
    acknowledged: int
    recipients: list[RecipientStatus]


class InboxItem(BaseModel):
    message_id: uuid.UUID
    title: str
    body: str
    priority: str
    category: str | None
    deep_link: str | None
    sender_id: uuid.UUID
    sender_name: str
    audience_label: str
    created_at: datetime
    decision: str
    held_until: datetime | None
    reasons: list[ReasonRead]
    requires_ack: bool
    read_at: datetime | None
    acked_at: datetime | None
