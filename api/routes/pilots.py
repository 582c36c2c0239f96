"""Pilots: HR and admin set them up and enrol people; the evaluator, HR and admin read and cost them."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import AuditDep, ClockDep, SessionDep, SettingsDep, UowDep
from api.routes.pilot_access import CostEditor, PilotManager, Reminder, ReportReader
from pilot import pilots, reminders
from pilot.schemas import (
    CostsRead,
    CostsUpdate,
    ParticipantRead,
    ParticipantsAdd,
    PilotCreate,
    PilotRead,
    PilotUpdate,
    RemindersSent,
    SurveyRead,
    SurveyTimes,
    SurveyWindow,
)
from pilot.vocabulary import Wave

router = APIRouter(prefix="/api/v1/pilots", tags=["pilots"])


@router.get("", response_model=list[PilotRead])
def list_pilots(session: SessionDep, me: ReportReader) -> list[PilotRead]:
    return [pilots.read(session=session, pilot=p) for p in pilots.list_pilots(session=session)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PilotRead)
def create_pilot(
    body: PilotCreate, session: SessionDep, me: PilotManager, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> PilotRead:
    pilot = pilots.create(session=session, data=body, now=clock.now())
    audit.log(session, action="pilot.create", target_type="pilot", target_id=pilot.id, after=pilot.snapshot())
    uow.commit()
    return pilots.read(session=session, pilot=pilot)


@router.get("/{ref}", response_model=PilotRead)
def read_pilot(ref: str, session: SessionDep, me: ReportReader) -> PilotRead:
    return pilots.read(session=session, pilot=pilots.require(session=session, ref=ref))


@router.patch("/{ref}", response_model=PilotRead)
def update_pilot(
    ref: str, body: PilotUpdate, session: SessionDep, me: PilotManager, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> PilotRead:
    pilot = pilots.require(session=session, ref=ref)
    before = pilot.snapshot()
    pilots.update(session=session, pilot=pilot, data=body, now=clock.now())
    audit.log(
        session, action="pilot.update", target_type="pilot", target_id=pilot.id, before=before, after=pilot.snapshot()
    )
    uow.commit()
    return pilots.read(session=session, pilot=pilot)


@router.put("/{ref}/surveys/{wave}", response_model=SurveyRead)
def schedule_survey(
    ref: str,
    wave: Wave,
    body: SurveyTimes,
    session: SessionDep,
    me: PilotManager,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> SurveyRead:
    """Schedule a wave, or move it while it has not opened (an opened wave keeps its window: 409)."""
    pilot = pilots.require(session=session, ref=ref)
    window = SurveyWindow.model_validate({"wave": wave, **body.model_dump()})
    survey = pilots.set_survey(session=session, pilot=pilot, window=window, now=clock.now())
    audit.log(
        session,
        action="pilot.survey.schedule",
        target_type="pilot_survey",
        target_id=survey.id,
        after={"pilot": pilot.code, "wave": wave, **body.model_dump(mode="json")},
    )
    uow.commit()
    return next(s for s in pilots.read(session=session, pilot=pilot).surveys if s.id == survey.id)


@router.get("/{ref}/participants", response_model=list[ParticipantRead])
def list_participants(ref: str, session: SessionDep, me: PilotManager) -> list[ParticipantRead]:
    pilot = pilots.require(session=session, ref=ref)
    return [_participant(row) for row in pilots.participants(session=session, pilot_id=pilot.id)]


@router.post("/{ref}/participants", response_model=list[ParticipantRead])
def enrol(
    ref: str,
    body: ParticipantsAdd,
    session: SessionDep,
    me: PilotManager,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> list[ParticipantRead]:
    """Enrol people (or change their enrolment); each is invited to the waves that have not closed."""
    pilot = pilots.require(session=session, ref=ref)
    rows = pilots.enrol(session=session, pilot=pilot, people=body.participants, now=clock.now())
    for row in rows:
        audit.log(
            session,
            action="pilot.participant.enrol",
            target_type="person",
            target_id=row.person_id,
            after={
                "pilot": pilot.code,
                "arm": row.arm,
                "device_kind": row.device_kind,
                "profession": row.profession,
                "unit_id": str(row.unit_id) if row.unit_id else None,
            },
        )
    uow.commit()
    enrolled = {row.person_id for row in rows}
    return [
        _participant(r)
        for r in pilots.participants(session=session, pilot_id=pilot.id)
        if r.participant.person_id in enrolled
    ]


def _participant(row: pilots.ParticipantRow) -> ParticipantRead:
    p = row.participant
    return ParticipantRead(
        person_id=p.person_id,
        name=row.name,
        profession=p.profession,
        device_kind=p.device_kind,
        unit_id=p.unit_id,
        unit_name=row.unit_name,
        arm=p.arm,
    )


@router.get("/{ref}/costs", response_model=CostsRead)
def read_costs(ref: str, session: SessionDep, me: ReportReader) -> CostsRead:
    inputs, rollout = pilots.costs_of(pilots.require(session=session, ref=ref))
    return CostsRead(inputs=inputs, rollout=rollout)


@router.put("/{ref}/costs", response_model=CostsRead)
def set_costs(
    ref: str, body: CostsUpdate, session: SessionDep, me: CostEditor, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> CostsRead:
    """Replace the cost model's inputs (defaults for what is left out) and the roll-out table."""
    pilot = pilots.require(session=session, ref=ref)
    before = {"inputs": dict(pilot.cost_inputs), "rollout": list(pilot.rollout)}
    pilots.set_costs(session=session, pilot=pilot, data=body, now=clock.now())
    after = {"inputs": dict(pilot.cost_inputs), "rollout": list(pilot.rollout)}
    audit.log(session, action="pilot.costs", target_type="pilot", target_id=pilot.id, before=before, after=after)
    uow.commit()
    inputs, rollout = pilots.costs_of(pilot)
    return CostsRead(inputs=inputs, rollout=rollout)


@router.post("/{ref}/reminders", response_model=RemindersSent)
def send_reminders(
    ref: str,
    session: SessionDep,
    me: Reminder,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
    settings: SettingsDep,
) -> RemindersSent:
    """Remind everyone who has not answered an open wave: an `info` message that respects rest
    time. The answer says how many, never who."""
    pilot = pilots.require(session=session, ref=ref)
    sent = reminders.remind(session=session, pilot=pilot, now=clock.now(), settings=settings)
    audit.log(
        session,
        action="pilot.survey.remind",
        target_type="pilot",
        target_id=pilot.id,
        after={"reminded": sent.reminded, "not_yet": sent.not_yet},
    )
    uow.commit()
    return RemindersSent(reminded=sent.reminded, not_yet=sent.not_yet)
