"""Answering the surveys, anonymously: "has answered" and "what was answered" are kept apart.

Answering flips the person's invitation to answered and adds an answer row that carries only the
group it counts in (arm, profession, device kind), the values and the free text: no person, no
time, a random id. Nothing here returns an answer to anyone; results are aggregates (`results`),
and the free text leaves only as the evaluator's export, in an order that says nothing.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from kernel.errors import Conflict, NotFound
from kernel.spreadsheet import SafeWriter
from pilot.models import Answer, Invitation, Participant, Pilot, Survey
from pilot.schemas import AnswerCreate
from pilot.vocabulary import MIN_GROUP


@dataclass(frozen=True)
class Invited:
    survey: Survey
    pilot: Pilot
    answered: bool


def open_for(*, session: Session, person_id: uuid.UUID, now: datetime) -> list[Invited]:
    """The surveys this person is asked to answer that are open now, answered or not."""
    rows = session.execute(
        select(Survey, Pilot, Invitation.answered)
        .join(Invitation, Invitation.survey_id == Survey.id)
        .join(Pilot, Pilot.id == Survey.pilot_id)
        .where(Invitation.person_id == person_id, Survey.opens_at <= now, Survey.closes_at > now)
        .order_by(Survey.closes_at)
    ).all()
    return [Invited(survey=s, pilot=p, answered=bool(a)) for s, p, a in rows]


def answer(*, session: Session, survey_id: uuid.UUID, person_id: uuid.UUID, data: AnswerCreate, now: datetime) -> None:
    """Record one person's answer to one wave, once. Two answers sent at the same moment: the
    conditional update lets exactly one through (the row lock on PostgreSQL, the single writer
    on SQLite); the other gets a 409."""
    survey = session.get(Survey, survey_id)
    invitation = session.get(Invitation, (survey_id, person_id)) if survey is not None else None
    if survey is None or invitation is None:
        raise NotFound(f"survey {survey_id} is not one you are asked to answer")
    if now < survey.opens_at:
        raise Conflict("this survey has not opened yet")
    if now >= survey.closes_at:
        raise Conflict("this survey has closed")
    participant = session.get(Participant, (survey.pilot_id, person_id))
    if participant is None:
        raise NotFound(f"survey {survey_id} is not one you are asked to answer")
    claimed = session.execute(
        update(Invitation)
        .where(Invitation.survey_id == survey_id, Invitation.person_id == person_id, Invitation.answered.is_(False))
        .values(answered=True)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(claimed, "rowcount", 0) or 0) != 1:
        raise Conflict("you have already answered this survey; answers are anonymous, so they cannot be changed")
    session.add(
        Answer(
            survey_id=survey_id,
            arm=participant.arm,
            profession=participant.profession,
            device_kind=participant.device_kind,
            reachability=data.reachability,
            stress=data.stress,
            coordination=data.coordination,
            information=data.information,
            disturbance=data.disturbance,
            free_text=data.free_text,
        )
    )
    session.flush()


def participation(*, session: Session, pilot_id: uuid.UUID) -> dict[uuid.UUID, tuple[int, int]]:
    """Per survey: (invited, answered). Counts only, never who."""
    rows = session.execute(
        select(Invitation.survey_id, func.count(), func.sum(case((Invitation.answered.is_(True), 1), else_=0)))
        .join(Survey, Survey.id == Invitation.survey_id)
        .where(Survey.pilot_id == pilot_id)
        .group_by(Invitation.survey_id)
    ).all()
    return {sid: (int(invited), int(answered or 0)) for sid, invited, answered in rows}


def free_text_csv(*, session: Session, pilot_id: uuid.UUID, now: datetime) -> str:
    """The free-text answers of the closed waves, for the evaluator: only wave and arm beside the
    text, only for wave and arm groups of at least `MIN_GROUP` answers, sorted by the text itself
    so the order says nothing about who answered or when."""
    counts = {
        (wave, arm): int(n)
        for wave, arm, n in session.execute(
            select(Survey.wave, Answer.arm, func.count())
            .join(Survey, Survey.id == Answer.survey_id)
            .where(Survey.pilot_id == pilot_id, Survey.closes_at <= now)
            .group_by(Survey.wave, Answer.arm)
        )
    }
    rows = session.execute(
        select(Survey.wave, Answer.arm, Answer.free_text)
        .join(Survey, Survey.id == Answer.survey_id)
        .where(Survey.pilot_id == pilot_id, Survey.closes_at <= now, Answer.free_text.is_not(None))
    ).all()
    order = {"baseline": 0, "midpoint": 1, "final": 2}
    kept = sorted(
        ((wave, arm, text) for wave, arm, text in rows if counts.get((wave, arm), 0) >= MIN_GROUP),
        key=lambda r: (order[r[0]], r[1], r[2]),
    )
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(["wave", "arm", "text"])
    writer.writerows(kept)
    return out.getvalue()
