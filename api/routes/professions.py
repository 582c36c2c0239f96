"""Professions, a directory attribute: HR (and admin) list them and set one for many people at once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import AuditDep, ClockDep, SessionDep, UowDep
from api.permissions import HrOrAdmin
from kernel.directory import service as directory
from kernel.directory.schemas import ProfessionAssign, ProfessionCount

router = APIRouter(prefix="/api/v1/professions", tags=["people"])


@router.get("", response_model=list[ProfessionCount])
def list_professions(session: SessionDep, me: HrOrAdmin) -> list[ProfessionCount]:
    return [ProfessionCount(profession=p, people=n) for p, n in directory.professions(session=session)]


@router.post("/assign")
def assign(
    body: ProfessionAssign, session: SessionDep, me: HrOrAdmin, clock: ClockDep, audit: AuditDep, uow: UowDep
) -> dict[str, Any]:
    """Set one profession (or none) for many people; each change is audited on its person."""
    changed = directory.set_profession(
        session=session, person_ids=body.person_ids, profession=body.profession, now=clock.now()
    )
    for person_id, before in changed:
        audit.log(
            session,
            action="person.profession",
            target_type="person",
            target_id=person_id,
            before={"profession": before},
            after={"profession": body.profession},
        )
    uow.commit()
    return {"changed": len(changed), "unchanged": len(set(body.person_ids)) - len(changed)}
