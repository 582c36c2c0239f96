"""Message templates per group, for the compose page and API senders."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from api.deps import AuditDep, ClockDep, CurrentPerson, SessionDep, UowDep
from kernel.vocabulary import Priority
from notify import templates

router = APIRouter(prefix="/api/v1", tags=["messages"])


class TemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_id: uuid.UUID
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    priority: Priority = "normal"
    deep_link: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        default=None, description="E.g. the Teams meeting's link (https:// or msteams:)."
    )

    @field_validator("deep_link")
    @classmethod
    def _link(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://", "msteams:", "vila:")):
            raise ValueError("a deep link must be an https:// URL or an app link (msteams:, vila:)")
        return value


class TemplateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    group_id: uuid.UUID
    name: str
    title: str
    body: str
    priority: str
    deep_link: str | None


@router.get("/templates", response_model=list[TemplateRead])
def list_templates(
    session: SessionDep,
    me: CurrentPerson,
    group: Annotated[uuid.UUID | None, Query(description="Only this group's templates.")] = None,
) -> list[TemplateRead]:
    """The templates of the groups you may send to."""
    return [TemplateRead.model_validate(t) for t in templates.visible(session=session, principal=me, group_id=group)]


@router.post("/templates", response_model=TemplateRead, status_code=status.HTTP_201_CREATED)
def create_template(
    body: TemplateCreate, session: SessionDep, me: CurrentPerson, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> TemplateRead:
    template = templates.create(session=session, principal=me, now=clock.now(), **body.model_dump())
    audit.log(
        session,
        action="template.create",
        target_type="message_template",
        target_id=template.id,
        after={"group_id": str(template.group_id), "name": template.name},
    )
    uow.commit()
    return TemplateRead.model_validate(template)


@router.delete("/templates/{template_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_template(
    template_id: uuid.UUID, session: SessionDep, me: CurrentPerson, audit: AuditDep, uow: UowDep
) -> None:
    template = templates.delete(session=session, principal=me, template_id=template_id)
    audit.log(
        session,
        action="template.delete",
        target_type="message_template",
        target_id=template_id,
        before={"group_id": str(template.group_id), "name": template.name},
    )
    uow.commit()
