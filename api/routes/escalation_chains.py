"""Escalation chains (versioned, like policies) and a message's escalation run, step by step."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select

from api.deps import AuditDep, ClockDep, CurrentPerson, SessionDep, UowDep
from api.permissions import Keeper
from kernel.directory.models import Person
from kernel.errors import Conflict
from notify import chains, tracking
from notify.delivery import reasons_read
from notify.schemas import ReasonRead

router = APIRouter(prefix="/api/v1", tags=["escalation"])


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    who: Literal["role", "person", "manager"] = Field(
        description="role: whoever holds the on-call role then; person: this person; manager: the unit's managers."
    )
    role: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    person_id: uuid.UUID | None = None
    after_minutes: int = Field(ge=0, le=24 * 60, description="After the step before (or the send) without an ack.")
    channel: Literal["push", "email"] = Field(default="push", description="email: an e-mail as well as the push.")


class VersionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: list[Step] = Field(min_length=1, max_length=20)
    effective_from: AwareDatetime | None = Field(default=None, description="Default: now.")
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class ChainCreate(VersionCreate):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class VersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    effective_from: datetime
    steps: list[dict[str, Any]]
    note: str | None


class ChainRead(BaseModel):
    id: uuid.UUID
    name: str
    versions: list[VersionRead]


class StepRead(BaseModel):
    step_no: int
    who: str
    channel: str
    person_id: uuid.UUID | None
    name: str | None
    decision: str
    reasons: list[ReasonRead]
    at: datetime


def _read(session: SessionDep, chain: chains.EscalationChain) -> ChainRead:
    versions = session.scalars(
        select(chains.EscalationChainVersion)
        .where(chains.EscalationChainVersion.chain_id == chain.id)
        .order_by(chains.EscalationChainVersion.version)
    )
    return ChainRead(id=chain.id, name=chain.name, versions=[VersionRead.model_validate(v) for v in versions])


def _steps(body: VersionCreate) -> list[dict[str, Any]]:
    return [s.model_dump(mode="json", exclude_none=True) for s in body.steps]


@router.post("/escalation-chains", response_model=ChainRead, status_code=status.HTTP_201_CREATED)
def create_chain(
    body: ChainCreate, session: SessionDep, me: Keeper, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> ChainRead:
    now = clock.now()
    if session.scalar(select(chains.EscalationChain.id).where(chains.EscalationChain.name == body.name)):
        raise Conflict(f"an escalation chain named {body.name!r} exists")
    chain = chains.EscalationChain(name=body.name, created_at=now)
    session.add(chain)
    session.flush()
    chains.add_version(
        session=session,
        chain=chain,
        steps=_steps(body),
        effective_from=body.effective_from or now,
        note=body.note,
        author_id=me.person_id,
        now=now,
    )
    audit.log(
        session,
        action="escalation_chain.create",
        target_type="escalation_chain",
        target_id=chain.id,
        after={"name": chain.name, "steps": _steps(body)},
    )
    uow.commit()
    return _read(session, chain)


@router.post("/escalation-chains/{chain_id}/versions", response_model=ChainRead, status_code=status.HTTP_201_CREATED)
def add_version(
    chain_id: uuid.UUID,
    body: VersionCreate,
    session: SessionDep,
    me: Keeper,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> ChainRead:
    """A new version; messages already sent keep the version they were sent with."""
    now = clock.now()
    chain = chains.require_chain(session=session, chain_id=chain_id)
    version = chains.add_version(
        session=session,
        chain=chain,
        steps=_steps(body),
        effective_from=body.effective_from or now,
        note=body.note,
        author_id=me.person_id,
        now=now,
    )
    audit.log(
        session,
        action="escalation_chain.version",
        target_type="escalation_chain",
        target_id=chain.id,
        after={
            "version": version.version,
            "effective_from": version.effective_from.isoformat(),
            "steps": version.steps,
        },
    )
    uow.commit()
    return _read(session, chain)


@router.get("/escalation-chains", response_model=list[ChainRead])
def list_chains(session: SessionDep, me: CurrentPerson) -> list[ChainRead]:
    return [
        _read(session, c) for c in session.scalars(select(chains.EscalationChain).order_by(chains.EscalationChain.name))
    ]


@router.get("/messages/{message_id}/escalation", response_model=list[StepRead])
def escalation_run(message_id: uuid.UUID, session: SessionDep, me: CurrentPerson) -> list[StepRead]:
    """The message's escalation, step by step, each person reached (or not) with the reasons."""
    message = tracking.require_message(session=session, message_id=message_id)
    tracking.require_status_rights(session=session, message=message, principal=me)
    rows = session.execute(
        select(chains.EscalationStep, Person.name)
        .outerjoin(Person, Person.id == chains.EscalationStep.person_id)
        .where(chains.EscalationStep.message_id == message_id)
        .order_by(chains.EscalationStep.step_no, chains.EscalationStep.at)
    ).all()
    return [
        StepRead(
            step_no=s.step_no,
            who=s.who,
            channel=s.channel,
            person_id=s.person_id,
            name=name,
            decision=s.decision,
            reasons=reasons_read(s.reasons, me.language),
            at=s.at,
        )
        for s, name in rows
    ]
