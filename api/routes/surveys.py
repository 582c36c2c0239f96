"""Staff answer their pilot surveys. What they answer is stored without a link to them (pilot.surveys)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from api.deps import AuditDep, ClockDep, CurrentPerson, SessionDep, UowDep
from kernel.i18n import text
from pilot import surveys
from pilot.questionnaire import ITEM_KEYS
from pilot.schemas import AnswerCreate, ItemRead, MySurvey

router = APIRouter(prefix="/api/v1/surveys", tags=["surveys"])


@router.get("/mine", response_model=list[MySurvey])
def my_surveys(session: SessionDep, me: CurrentPerson, clock: ClockDep) -> list[MySurvey]:
    """The surveys you are asked to answer that are open now, with their statements in your language."""
    lang = me.language
    items = [ItemRead(key=key, text=text(f"survey.item.{key}", lang)) for key in ITEM_KEYS]
    return [
        MySurvey(
            survey_id=i.survey.id,
            pilot_name=i.pilot.name,
            wave=i.survey.wave,
            wave_label=text(f"survey.wave.{i.survey.wave}", lang),
            opens_at=i.survey.opens_at,
            closes_at=i.survey.closes_at,
            answered=i.answered,
            items=items,
        )
        for i in surveys.open_for(session=session, person_id=me.person_id, now=clock.now())
    ]


@router.post("/{survey_id}/answers", status_code=status.HTTP_201_CREATED)
def answer(
    survey_id: uuid.UUID,
    body: AnswerCreate,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
) -> dict[str, bool]:
    """Answer a survey once. The audit log keeps that you answered, never what."""
    surveys.answer(session=session, survey_id=survey_id, person_id=me.person_id, data=body, now=clock.now())
    audit.log(session, action="pilot.survey.answer", target_type="pilot_survey", target_id=survey_id)
    uow.commit()
    return {"answered": True}
