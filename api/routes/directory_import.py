"""Bulk import of people, groups and memberships from CSV (admin and HR), for regions without SCIM."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from api.deps import AuditDep, ClockDep, SessionDep, SettingsDep, UowDep, request_meta
from api.permissions import HrOrAdmin
from api.routes.shifts import CsvBody
from kernel.directory.fields import parse_fields
from kernel.directory.service import PersonDefaults
from kernel.errors import InvalidInput
from notify.fleet.lifecycle import By
from notify.provisioning import csv_import
from policies.schemas.availability import ShiftImportRead as ImportRead

router = APIRouter(prefix="/api/v1/directory", tags=["people"])


@router.post(
    "/import/{kind}",
    response_model=ImportRead,
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}},
)
def import_directory(
    body: CsvBody,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    me: HrOrAdmin,
    clock: ClockDep,
    audit: AuditDep,
    uow: UowDep,
    kind: Annotated[str, Path(pattern="^(people|groups|memberships)$", description="people, groups or memberships")],
    dry_run: Annotated[bool, Query(description="Check and report, write nothing.")] = False,
) -> ImportRead:
    """Import a CSV file (docs/directory.md has the columns). All rows or none: any rejected row fails
    the import with 422 and a report of every rejected row and why. Importing a file twice changes nothing."""
    by = By(person_id=me.person_id, label=me.label, roles=me.roles, meta=request_meta(request))
    try:
        report = csv_import.import_csv(
            session=session,
            kind=kind,  # type: ignore[arg-type]  # the path pattern admits only the three kinds
            data=body,
            provisioned=parse_fields(settings.provisioned_fields),
            by=by,
            now=clock.now(),
            defaults=PersonDefaults.of(settings),
        )
    except csv_import.MalformedFile as exc:
        raise InvalidInput(str(exc)) from exc
    read = ImportRead.model_validate(report.as_dict())
    if report.rejected:
        uow.rollback()
        raise InvalidInput(
            f"{len(report.rejected)} of {report.rows} rows were rejected; nothing was imported",
            details=read.model_dump(mode="json"),
        )
    if dry_run:
        uow.rollback()
        read.written = False
        audit.exempt()
        return read
    audit.log(
        session,
        action=f"import.{kind}",
        target_type="import",
        target_id=None,
        after=read.model_dump(exclude={"rejected"}),
    )
    uow.commit()
    return read
