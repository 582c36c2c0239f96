"""Pilots and their participants: typed, keyword-only services that add and flush; the caller commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel.directory.models import Group, GroupMember, Person
from kernel.errors import Conflict, InvalidInput, NotFound
from kernel.timezones import local_instant
from pilot.costs.inputs import CostInputs, RolloutRow
from pilot.models import Invitation, Participant, Pilot, Survey
from pilot.schemas import CostsUpdate, ParticipantIn, PilotCreate, PilotRead, PilotUpdate, SurveyRead, SurveyWindow
from pilot.surveys import participation


def find(*, session: Session, ref: str) -> Pilot | None:
    """A pilot by its code, or by its id."""
    pilot = session.scalar(select(Pilot).where(Pilot.code == ref.strip().lower()))
    if pilot is None:
        try:
            pilot = session.get(Pilot, uuid.UUID(ref))
        except ValueError:
            return None
    return pilot


def require(*, session: Session, ref: str) -> Pilot:
    pilot = find(session=session, ref=ref)
    if pilot is None:
        raise NotFound(f"no pilot with code or id {ref!r}")
    return pilot


def list_pilots(*, session: Session) -> list[Pilot]:
    return list(session.scalars(select(Pilot).order_by(Pilot.start_date.desc(), Pilot.code)).all())


def create(*, session: Session, data: PilotCreate, now: datetime) -> Pilot:
    if session.scalar(select(Pilot.id).where(Pilot.code == data.code)) is not None:
        raise Conflict(f"a pilot with code {data.code!r} already exists")
    pilot = Pilot(
        code=data.code,
        name=data.name,
        description=data.description,
        start_date=data.start_date,
        end_date=data.end_date,
        timezone=data.timezone,
        status=data.status,
        open_questions=list(data.open_questions),
        cost_inputs={},
        rollout=[],
        created_at=now,
        updated_at=now,
    )
    session.add(pilot)
    session.flush()
    for window in data.surveys:
        set_survey(session=session, pilot=pilot, window=window, now=now)
    return pilot


def update(*, session: Session, pilot: Pilot, data: PilotUpdate, now: datetime) -> Pilot:
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is None and key != "description":
            raise InvalidInput(f"{key} cannot be empty")
        setattr(pilot, key, value)
    pilot.updated_at = now
    session.flush()
    return pilot


def read(*, session: Session, pilot: Pilot) -> PilotRead:
    """The pilot with its participant counts and, per wave, how many were asked and have answered."""
    counts = arm_counts(session=session, pilot_id=pilot.id)
    answered = participation(session=session, pilot_id=pilot.id)
    return PilotRead(
        id=pilot.id,
        code=pilot.code,
        name=pilot.name,
        description=pilot.description,
        start_date=pilot.start_date,
        end_date=pilot.end_date,
        timezone=pilot.timezone,
        status=pilot.status,
        open_questions=list(pilot.open_questions),
        participants=counts.get("pilot", 0),
        comparison=counts.get("comparison", 0),
        surveys=[
            SurveyRead(
                id=s.id,
                wave=s.wave,
                opens_at=s.opens_at,
                closes_at=s.closes_at,
                invited=answered.get(s.id, (0, 0))[0],
                answered=answered.get(s.id, (0, 0))[1],
            )
            for s in surveys(session=session, pilot_id=pilot.id)
        ],
    )


def period(pilot: Pilot) -> tuple[datetime, datetime]:
    """The pilot's period as instants: from its first day's midnight to the midnight after its last."""
    return (
        local_instant(pilot.timezone, pilot.start_date, time(0, 0)),
        local_instant(pilot.timezone, pilot.end_date + timedelta(days=1), time(0, 0)),
    )


# Surveys ---------------------------------------------------------------------------------------


def surveys(*, session: Session, pilot_id: uuid.UUID) -> list[Survey]:
    rows = session.scalars(select(Survey).where(Survey.pilot_id == pilot_id)).all()
    order = {"baseline": 0, "midpoint": 1, "final": 2}
    return sorted(rows, key=lambda s: order[s.wave])


def set_survey(*, session: Session, pilot: Pilot, window: SurveyWindow, now: datetime) -> Survey:
    """Schedule a wave, or move it while it has not opened. An open or closed wave keeps its window:
    results are shown only once a wave has closed, and a wave that opened again later would let
    a reader tell a late answer apart by comparing the figures before and after."""
    survey = session.scalar(select(Survey).where(Survey.pilot_id == pilot.id, Survey.wave == window.wave))
    if survey is None:
        survey = Survey(
            pilot_id=pilot.id, wave=window.wave, opens_at=window.opens_at, closes_at=window.closes_at, created_at=now
        )
        session.add(survey)
        session.flush()
        people = session.scalars(select(Participant.person_id).where(Participant.pilot_id == pilot.id)).all()
        session.add_all(Invitation(survey_id=survey.id, person_id=p, answered=False, reminders=0) for p in people)
    elif survey.opens_at <= now:
        raise Conflict(f"the {window.wave} survey has already opened; its window can no longer change")
    else:
        survey.opens_at, survey.closes_at = window.opens_at, window.closes_at
    session.flush()
    return survey


# Participants ----------------------------------------------------------------------------------


def _units(session: Session, person_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Each person's unit: the first group of kind `unit` they belong to, by name."""
    rows = session.execute(
        select(GroupMember.person_id, Group.id)
        .join(Group, Group.id == GroupMember.group_id)
        .where(GroupMember.person_id.in_(list(person_ids)), Group.kind == "unit")
        .order_by(Group.name)
    ).all()
    units: dict[uuid.UUID, uuid.UUID] = {}
    for person_id, group_id in rows:
        units.setdefault(person_id, group_id)
    return units


def enrol(*, session: Session, pilot: Pilot, people: Sequence[ParticipantIn], now: datetime) -> list[Participant]:
    """Add people to the pilot or change their enrolment; each is invited to the waves not yet closed."""
    ids = [p.person_id for p in people]
    if len(set(ids)) != len(ids):
        raise InvalidInput("a person may appear once per request")
    found = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise InvalidInput(f"unknown person(s): {', '.join(sorted(missing))}")
    inactive = [found[i].email for i in ids if not found[i].active]
    if inactive:
        raise InvalidInput(f"deactivated person(s): {', '.join(sorted(inactive))}")
    unit_ids = {p.unit_id for p in people if p.unit_id is not None}
    known_units = set(session.scalars(select(Group.id).where(Group.id.in_(unit_ids))).all())
    if unit_ids - known_units:
        raise InvalidInput(f"unknown unit(s): {', '.join(sorted(str(u) for u in unit_ids - known_units))}")
    no_profession = [found[p.person_id].email for p in people if not (p.profession or found[p.person_id].profession)]
    if no_profession:
        raise InvalidInput(
            f"no profession for {', '.join(sorted(no_profession))}: give one, or let HR set it in the directory"
        )
    units = _units(session, ids)
    existing = {
        row.person_id: row
        for row in session.scalars(
            select(Participant).where(Participant.pilot_id == pilot.id, Participant.person_id.in_(ids))
        )
    }
    open_surveys = [s.id for s in surveys(session=session, pilot_id=pilot.id) if s.closes_at > now]
    invited = {
        (survey_id, person_id)
        for survey_id, person_id in session.execute(
            select(Invitation.survey_id, Invitation.person_id).where(
                Invitation.survey_id.in_(open_surveys), Invitation.person_id.in_(ids)
            )
        )
    }
    result = []
    for item in people:
        row = existing.get(item.person_id)
        if row is None:
            row = Participant(pilot_id=pilot.id, person_id=item.person_id, created_at=now)
            session.add(row)
        row.arm = item.arm
        row.device_kind = item.device_kind
        row.profession = item.profession or found[item.person_id].profession or ""
        row.unit_id = item.unit_id or units.get(item.person_id)
        for survey_id in open_surveys:
            if (survey_id, item.person_id) not in invited:
                session.add(Invitation(survey_id=survey_id, person_id=item.person_id, answered=False, reminders=0))
        result.append(row)
    pilot.updated_at = now
    session.flush()
    return result


@dataclass(frozen=True)
class ParticipantRow:
    participant: Participant
    name: str
    unit_name: str | None


def participants(*, session: Session, pilot_id: uuid.UUID) -> list[ParticipantRow]:
    rows = session.execute(
        select(Participant, Person.name, Group.name)
        .join(Person, Person.id == Participant.person_id)
        .outerjoin(Group, Group.id == Participant.unit_id)
        .where(Participant.pilot_id == pilot_id)
        .order_by(Participant.arm.desc(), Participant.profession, Person.name)
    ).all()
    return [ParticipantRow(participant=p, name=name, unit_name=unit) for p, name, unit in rows]


def professions(*, session: Session, pilot_id: uuid.UUID) -> tuple[str, ...]:
    """The professions of the pilot arm, in the reader's alphabetical order."""
    found = session.scalars(
        select(Participant.profession).where(Participant.pilot_id == pilot_id, Participant.arm == "pilot").distinct()
    ).all()
    return tuple(sorted(found, key=str.casefold))


def arm_counts(*, session: Session, pilot_id: uuid.UUID) -> dict[str, int]:
    rows = session.execute(
        select(Participant.arm, func.count()).where(Participant.pilot_id == pilot_id).group_by(Participant.arm)
    ).all()
    return {arm: int(n) for arm, n in rows}


# Costs -----------------------------------------------------------------------------------------


def costs_of(pilot: Pilot) -> tuple[CostInputs, list[RolloutRow]]:
    return CostInputs.model_validate(pilot.cost_inputs or {}), [RolloutRow.model_validate(r) for r in pilot.rollout]


def set_costs(*, session: Session, pilot: Pilot, data: CostsUpdate, now: datetime) -> Pilot:
    """Store the inputs as entered (the report tells entered figures from assumed defaults)."""
    pilot.cost_inputs = data.inputs.model_dump(mode="json", exclude_defaults=True)
    pilot.rollout = [row.model_dump(mode="json") for row in data.rollout]
    pilot.updated_at = now
    session.flush()
    return pilot
