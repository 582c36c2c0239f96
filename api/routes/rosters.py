"""On-call rosters: rotations, overrides, the resolved timeline and who is on call for a role.

Anyone signed in may read rosters and ask who is on call (staff need to know whom to call);
rosters of a group are kept by its managers, HR and admin.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import Field
from sqlalchemy.orm import Session

from api.deps import AuditDep, ClockDep, CurrentPerson, SessionDep, UowDep
from api.permissions import manages_group
from kernel.auth.service import Principal
from kernel.directory.service import names_of
from kernel.errors import InvalidInput, NotFound
from kernel.inputs import InputModel
from policies import rosters as service
from policies.models import OnCallReminder, Roster
from policies.schemas.rosters import (
    OnCallNowRead,
    OverlapRead,
    OverrideCreate,
    OverrideRead,
    RosterCreate,
    RosterLayerRead,
    RosterRead,
    RosterUpdate,
    SegmentRead,
    SpanRead,
    TimelineRead,
)

router = APIRouter(prefix="/api/v1", tags=["rosters"])


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(f"{name} needs a UTC offset, e.g. 2026-03-29T01:00:00+00:00")
    return value


def _read(session: Session, roster: Roster, now: datetime) -> RosterRead:
    ahead = service.timeline(session=session, roster=roster, start=now, end=now + service.HORIZON)
    return RosterRead(
        gaps=[SpanRead(start=g.start, end=g.end) for g in ahead.gaps[:20]],
        overlaps=[
            OverlapRead(start=o.start, end=o.end, winner=o.winner, shadowed=list(o.shadowed))
            for o in ahead.overlaps[:20]
        ],
        id=roster.id,
        group_id=roster.group_id,
        name=roster.name,
        role=roster.role,
        kind=roster.kind,
        timezone=roster.timezone,
        materialised_until=roster.materialised_until,
        layers=[
            RosterLayerRead.model_validate(layer) for layer in service.layers_of(session=session, roster_id=roster.id)
        ],
        overrides=[
            OverrideRead.model_validate(o)
            for o in service.overrides_of(session=session, roster_id=roster.id, since=now)
        ],
    )


def _keeper(session: Session, me: Principal, roster: Roster) -> None:
    manages_group(session, me, roster.group_id)


@router.post("/rosters", status_code=status.HTTP_201_CREATED, response_model=RosterRead)
def create_roster(
    body: RosterCreate, session: SessionDep, me: CurrentPerson, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> RosterRead:
    manages_group(session, me, body.group_id)
    now = clock.now()
    roster = service.create_roster(session=session, data=body, now=now)
    read = _read(session, roster, now)
    audit.log(
        session, action="roster.create", target_type="roster", target_id=roster.id, after=read.model_dump(mode="json")
    )
    uow.commit()
    return read


@router.get("/rosters", response_model=list[RosterRead])
def list_rosters(
    session: SessionDep, me: CurrentPerson, clock: ClockDep, group_id: uuid.UUID | None = None
) -> list[RosterRead]:
    now = clock.now()
    return [_read(session, r, now) for r in service.list_rosters(session=session, group_id=group_id)]


@router.get("/rosters/{roster_id}", response_model=RosterRead)
def read_roster(roster_id: uuid.UUID, session: SessionDep, me: CurrentPerson, clock: ClockDep) -> RosterRead:
    return _read(session, service.require_roster(session=session, roster_id=roster_id), clock.now())


@router.patch("/rosters/{roster_id}", response_model=RosterRead)
def update_roster(
    roster_id: uuid.UUID,
    body: RosterUpdate,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> RosterRead:
    """Change the name, role, kind, zone or (replacing them all) the layers; slots are rewritten."""
    roster = service.require_roster(session=session, roster_id=roster_id)
    _keeper(session, me, roster)
    now = clock.now()
    before = _read(session, roster, now).model_dump(mode="json")
    service.update_roster(session=session, roster=roster, data=body, now=now)
    read = _read(session, roster, now)
    audit.log(
        session,
        action="roster.update",
        target_type="roster",
        target_id=roster.id,
        before=before,
        after=read.model_dump(mode="json"),
    )
    uow.commit()
    return read


@router.delete("/rosters/{roster_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_roster(
    roster_id: uuid.UUID, session: SessionDep, me: CurrentPerson, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> None:
    roster = service.require_roster(session=session, roster_id=roster_id)
    _keeper(session, me, roster)
    now = clock.now()
    before = _read(session, roster, now).model_dump(mode="json")
    service.delete_roster(session=session, roster=roster, now=now)
    audit.log(session, action="roster.delete", target_type="roster", target_id=roster_id, before=before)
    uow.commit()


@router.post("/rosters/{roster_id}/overrides", status_code=status.HTTP_201_CREATED, response_model=OverrideRead)
def add_override(
    roster_id: uuid.UUID,
    body: OverrideCreate,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> OverrideRead:
    """A person covers the role for a span (a swap, sickness cover); it wins over every layer."""
    roster = service.require_roster(session=session, roster_id=roster_id)
    _keeper(session, me, roster)
    row = service.add_override(session=session, roster=roster, data=body, by=me.person_id, now=clock.now())
    read = OverrideRead.model_validate(row)
    audit.log(
        session,
        action="roster.override.create",
        target_type="roster",
        target_id=roster.id,
        after=read.model_dump(mode="json"),
    )
    uow.commit()
    return read


@router.delete("/rosters/{roster_id}/overrides/{override_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_override(
    roster_id: uuid.UUID,
    override_id: uuid.UUID,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> None:
    roster = service.require_roster(session=session, roster_id=roster_id)
    _keeper(session, me, roster)
    row = service.remove_override(session=session, roster=roster, override_id=override_id, now=clock.now())
    audit.log(
        session,
        action="roster.override.delete",
        target_type="roster",
        target_id=roster.id,
        before=OverrideRead.model_validate(row).model_dump(mode="json"),
    )
    uow.commit()


@router.get("/rosters/{roster_id}/timeline", response_model=TimelineRead)
def read_timeline(
    roster_id: uuid.UUID,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    start: Annotated[datetime | None, Query(description="From this instant (default now).")] = None,
    end: Annotated[datetime | None, Query(description="Until this instant (default 14 days after start).")] = None,
) -> TimelineRead:
    """Who covers each span, with the gaps nobody covers and the overlaps (who won, who was shadowed)."""
    roster = service.require_roster(session=session, roster_id=roster_id)
    first = _aware(start, "start") or clock.now()
    last = _aware(end, "end") or first + timedelta(days=14)
    resolved = service.timeline(session=session, roster=roster, start=first, end=last)
    names = names_of(session=session, person_ids={s.person_id for s in resolved.segments})
    return TimelineRead(
        roster_id=roster.id,
        role=roster.role,
        start=first,
        end=last,
        segments=[
            SegmentRead(
                start=s.start, end=s.end, person_id=s.person_id, person_name=names.get(s.person_id), source=s.source
            )
            for s in resolved.segments
        ],
        gaps=[SpanRead(start=g.start, end=g.end) for g in resolved.gaps],
        overlaps=[
            OverlapRead(start=o.start, end=o.end, winner=o.winner, shadowed=list(o.shadowed)) for o in resolved.overlaps
        ],
    )


@router.get("/on-call", response_model=OnCallNowRead)
def who_is_on_call(
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    role: Annotated[str, Query(min_length=1, max_length=100, description="The roster role, e.g. 'Jour medicin'.")],
    at: Annotated[datetime | None, Query(description="The instant (default now).")] = None,
) -> OnCallNowRead:
    """Who holds the role at the instant, by id and name; both are null inside a gap."""
    instant = _aware(at, "at") or clock.now()
    roster, segment = service.on_call_at(session=session, role=role, at=instant)
    names = names_of(session=session, person_ids=[segment.person_id] if segment else [])
    return OnCallNowRead(
        role=roster.role,
        roster_id=roster.id,
        kind=roster.kind,
        at=instant,
        person_id=segment.person_id if segment else None,
        person_name=names.get(segment.person_id) if segment else None,
        start=segment.start if segment else None,
        end=segment.end if segment else None,
        source=segment.source if segment else None,
    )


# Going-on-call reminder -------------------------------------------------------------------------


class ReminderIn(InputModel):
    lead_minutes: int = Field(ge=5, le=2 * 24 * 60, description="How long before the slot starts.")


class ReminderRead(ReminderIn):
    enabled: bool


@router.get("/people/me/on-call-reminder", response_model=ReminderRead)
def read_reminder(session: SessionDep, me: CurrentPerson) -> ReminderRead:
    row = session.get(OnCallReminder, me.person_id)
    return ReminderRead(enabled=row is not None, lead_minutes=row.lead_minutes if row else 60)


@router.put("/people/me/on-call-reminder", response_model=ReminderRead)
def set_reminder(
    body: ReminderIn, session: SessionDep, me: CurrentPerson, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> ReminderRead:
    """Opt in: a reminder (as `info`, only inside your working time) before each on-call slot."""
    service.set_reminder(session=session, person_id=me.person_id, lead_minutes=body.lead_minutes, now=clock.now())
    read = ReminderRead(enabled=True, lead_minutes=body.lead_minutes)
    audit.log(
        session,
        action="on_call.reminder",
        target_type="person",
        target_id=me.person_id,
        after=read.model_dump(mode="json"),
    )
    uow.commit()
    return read


@router.delete("/people/me/on-call-reminder", status_code=status.HTTP_204_NO_CONTENT)
def clear_reminder(session: SessionDep, me: CurrentPerson, audit: AuditDep, uow: UowDep) -> None:
    if not service.clear_reminder(session=session, person_id=me.person_id):
        raise NotFound("you have no on-call reminder")
    audit.log(session, action="on_call.reminder_off", target_type="person", target_id=me.person_id)
    uow.commit()
