"""API tokens: a person manages their own; an admin issues and revokes anyone's."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AuditDep, ClockDep, CurrentPerson, SessionDep, SettingsDep, UowDep
from api.permissions import issues_token_for
from kernel.auth import service as auth
from kernel.auth.models import ApiToken
from kernel.directory import service as directory
from kernel.directory.models import Role
from kernel.errors import InvalidInput
from kernel.inputs import InputModel

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])


class TokenCreate(InputModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="api", min_length=1, max_length=100)
    person_id: uuid.UUID | None = Field(default=None, description="Whose token; only an admin may name another person.")
    roles: list[Role] | None = Field(
        default=None,
        description="Limit the token to these roles; never more than the credential that creates it carries.",
    )
    ttl_days: int | None = Field(default=None, ge=1, le=3650, description="At most VILA_TOKEN_TTL_DAYS.")


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    name: str
    prefix: str
    roles: list[str] | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenIssued(TokenRead):
    token: str = Field(description="The secret. It is shown once and cannot be retrieved later.")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TokenIssued)
def create_token(
    body: TokenCreate,
    session: SessionDep,
    me: CurrentPerson,
    clock: ClockDep,
    settings: SettingsDep,
    audit: AuditDep,
    uow: UowDep,
) -> TokenIssued:
    person_id = body.person_id or me.person_id
    issues_token_for(me, person_id)
    person = directory.require_person(session=session, person_id=person_id)
    roles = auth.bounded_roles(creator=me, person=person, requested=body.roles)
    if body.ttl_days is not None and body.ttl_days > settings.token_ttl_days:
        raise InvalidInput(f"a token lives at most {settings.token_ttl_days} days here (VILA_TOKEN_TTL_DAYS)")
    ttl = timedelta(days=body.ttl_days or settings.token_ttl_days)
    token, secret = auth.issue_token(
        session=session, person=person, now=clock.now(), name=body.name, roles=roles, ttl=ttl
    )
    audit.log(
        session,
        action="token.create",
        target_type="token",
        target_id=token.id,
        after={"person_id": str(person.id), "name": token.name, "roles": token.roles},
    )
    uow.commit()
    return TokenIssued(**TokenRead.model_validate(token).model_dump(), token=secret)


@router.get("", response_model=list[TokenRead])
def list_tokens(session: SessionDep, me: CurrentPerson) -> list[TokenRead]:
    return [TokenRead.model_validate(t) for t in auth.list_tokens(session=session, person_id=me.person_id)]


@router.delete("/{token_id}", response_model=TokenRead)
def revoke_token(
    token_id: uuid.UUID, session: SessionDep, me: CurrentPerson, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> TokenRead:
    token: ApiToken = auth.revoke_token(session=session, token_id=token_id, by=me, now=clock.now())
    audit.log(session, action="token.revoke", target_type="token", target_id=token.id)
    uow.commit()
    return TokenRead.model_validate(token)
