"""The e-mail channel: a person's choice to get held messages and digests also by e-mail, and the
bounce intake (a delivery status notification from the mail system marks the address)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel, EmailStr, Field

from api.deps import AuditDep, ClockDep, CurrentPerson, SessionDep, UowDep
from api.permissions import BounceIntake
from kernel.directory.models import Person
from kernel.errors import InvalidInput, NotFound
from notify.mail import service

router = APIRouter(prefix="/api/v1", tags=["e-mail"])


class EmailChoiceRead(BaseModel):
    address: str
    enabled: bool = Field(description="Held messages and digests also as ONE e-mail at release time.")
    bounced_at: str | None = Field(description="The address bounced then: nothing is sent until it is given again.")
    bounce_reason: str | None


class EmailChoiceUpdate(BaseModel):
    enabled: bool
    address: EmailStr | None = Field(default=None, description="Default: the address in the directory.")


class BouncesRead(BaseModel):
    bounced: list[str] = Field(description="The addresses the report names as failed for good.")
    people_marked: int


def _read(choice: service.Choice) -> EmailChoiceRead:
    return EmailChoiceRead(
        address=choice.address,
        enabled=choice.enabled,
        bounced_at=choice.bounced_at.isoformat() if choice.bounced_at else None,
        bounce_reason=choice.bounce_reason,
    )


def _me(session: SessionDep, me: CurrentPerson) -> Person:
    person = session.get(Person, me.person_id)
    if person is None:
        raise NotFound("no such person")
    return person


@router.get("/people/me/email", response_model=EmailChoiceRead)
def my_email(session: SessionDep, me: CurrentPerson) -> EmailChoiceRead:
    """Whether you get held messages and digests also by e-mail, and where."""
    return _read(service.choice_of(session=session, person=_me(session, me)))


@router.put("/people/me/email", response_model=EmailChoiceRead)
def choose_email(
    body: EmailChoiceUpdate, session: SessionDep, me: CurrentPerson, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> EmailChoiceRead:
    """Opt in or out. The e-mail is written at release time only, never during your rest."""
    choice = service.choose(
        session=session, person=_me(session, me), enabled=body.enabled, address=body.address, now=clock.now()
    )
    audit.log(
        session,
        action="email.choice",
        target_type="person",
        target_id=me.person_id,
        after={"enabled": choice.enabled, "address": choice.address},
    )
    uow.commit()
    return _read(choice)


@router.post("/email/bounces", response_model=BouncesRead)
def bounce_intake(
    session: SessionDep,
    me: BounceIntake,
    clock: ClockDep,
    audit: AuditDep,
    report: Annotated[bytes, Body(media_type="message/rfc822", description="A delivery status notification.")],
    uow: UowDep,
) -> BouncesRead:
    """Read a delivery status notification (RFC 3464): each address it reports as failed for good is
    marked bounced. For the mail system's bounce mailbox (roles admin or it)."""
    bounces = service.parse_dsn(report)
    if not bounces:
        raise InvalidInput("the body is no delivery status notification with a permanent failure")
    marked = 0
    for bounce in bounces:
        people = service.mark_bounced(session=session, address=bounce.address, reason=bounce.reason, now=clock.now())
        marked += len(people)
    audit.log(
        session,
        action="email.bounce",
        target_type="email",
        target_id=None,
        after={"addresses": [b.address for b in bounces], "people": marked},
    )
    uow.commit()
    return BouncesRead(bounced=[b.address for b in bounces], people_marked=marked)
