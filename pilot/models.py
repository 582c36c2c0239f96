"""Pilots, their participants and surveys, and the anonymous answers.

    Pilot 1--* Participant (person, profession, device kind, unit, arm)
    Pilot 1--* Survey (one per wave) 1--* Invitation  "has answered": person, never what
                                     1--* Answer      "what was answered": never who, never when

An invitation and an answer are written in one transaction and share nothing but the survey: an
answer row has no person, no timestamp and a random (not time-ordered) id, and on SQLite it lives
in a table without a rowid, so neither its columns nor its position tell when or by whom it came.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import Base, UTCDateTime, json_type, new_id
from pilot.questionnaire import ITEM_KEYS
from pilot.vocabulary import ARMS, DEVICE_KINDS, PILOT_STATUSES, WAVES, sql_in


class Pilot(Base):
    """A time-boxed trial of work devices, with the inputs of its cost model and roll-out table."""

    __tablename__ = "pilot"
    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="period"),
        CheckConstraint(sql_in("status", PILOT_STATUSES), name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text())
    start_date: Mapped[date] = mapped_column(Date())
    end_date: Mapped[date] = mapped_column(Date())  # the last day of the pilot
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Stockholm")
    status: Mapped[str] = mapped_column(String(16), default="planned")
    open_questions: Mapped[list[str]] = mapped_column(json_type(), default=list)
    cost_inputs: Mapped[dict[str, Any]] = mapped_column(json_type(), default=dict)
    rollout: Mapped[list[dict[str, Any]]] = mapped_column(json_type(), default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def snapshot(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat(),
            "status": self.status,
            "open_questions": list(self.open_questions),
        }


class Participant(Base):
    """A person in a pilot: the pilot arm carries a phone or a tablet, the comparison arm none."""

    __tablename__ = "pilot_participant"
    __table_args__ = (
        CheckConstraint(sql_in("arm", ARMS), name="arm"),
        CheckConstraint(f"device_kind IS NULL OR {sql_in('device_kind', DEVICE_KINDS)}", name="device_kind"),
        CheckConstraint("arm = 'comparison' OR device_kind IS NOT NULL", name="pilot_has_device"),
    )

    pilot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    profession: Mapped[str] = mapped_column(String(64))
    device_kind: Mapped[str | None] = mapped_column(String(8))
    unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("group.id", ondelete="SET NULL"))
    arm: Mapped[str] = mapped_column(String(16), default="pilot")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Survey(Base):
    """One wave of the built-in questionnaire, open for answers from `opens_at` until `closes_at`."""

    __tablename__ = "pilot_survey"
    __table_args__ = (
        UniqueConstraint("pilot_id", "wave"),
        CheckConstraint(sql_in("wave", WAVES), name="wave"),
        CheckConstraint("closes_at > opens_at", name="window"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    pilot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"))
    wave: Mapped[str] = mapped_column(String(16))
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Invitation(Base):
    """Who is asked, whether they have answered and when they were last reminded. Never what they answered."""

    __tablename__ = "pilot_survey_invitation"

    survey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pilot_survey.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminders: Mapped[int] = mapped_column(Integer, default=0)


def random_id() -> uuid.UUID:
    """A random id: unlike the time-ordered ids elsewhere, it says nothing about when a row came."""
    return uuid.uuid4()


class Answer(Base):
    """One questionnaire as answered: the group it counts in, the item values and the free text.
    No person, no timestamp (see the module's docstring)."""

    __tablename__ = "pilot_survey_answer"
    __table_args__ = (
        CheckConstraint(sql_in("arm", ARMS), name="arm"),
        *(CheckConstraint(f"{key} BETWEEN 1 AND 5", name=key) for key in ITEM_KEYS),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=random_id)
    survey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pilot_survey.id", ondelete="CASCADE"), index=True)
    arm: Mapped[str] = mapped_column(String(16))
    profession: Mapped[str] = mapped_column(String(64))
    device_kind: Mapped[str | None] = mapped_column(String(8))
    reachability: Mapped[int] = mapped_column(SmallInteger)
    stress: Mapped[int] = mapped_column(SmallInteger)
    coordination: Mapped[int] = mapped_column(SmallInteger)
    information: Mapped[int] = mapped_column(SmallInteger)
    disturbance: Mapped[int] = mapped_column(SmallInteger)
    free_text: Mapped[str | None] = mapped_column(Text())
