"""Imports: Intune's device export and the operator's subscription list, as CSV request bodies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from api.deps import ClockDep, UowDep
from api.routes.fleet.deps import ActorDep, ItPerson
from kernel.errors import InvalidInput, PayloadTooLarge
from kernel.uow import UnitOfWork
from notify.fleet import intune, subscriptions
from notify.fleet.imports import MalformedFile, Report, decode
from notify.fleet.lifecycle import By
from notify.fleet.schemas import ImportRead

router = APIRouter(prefix="/api/v1/fleet/imports", tags=["fleet"])

MAX_BYTES = 20_000_000
CSV_BODY: dict[str, Any] = {"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}}
DryRun = Annotated[bool, Query(description="Check and report, write nothing.")]


async def _csv(request: Request) -> str:
    raw = await request.body()
    if len(raw) > MAX_BYTES:
        raise PayloadTooLarge(f"an import is at most {MAX_BYTES // 1_000_000} MB; split the file")
    try:
        return decode(raw)
    except MalformedFile as exc:
        raise InvalidInput(str(exc)) from exc


Csv = Annotated[str, Depends(_csv)]
Importer = Callable[..., Report]


def _run(importer: Importer, uow: UnitOfWork, data: str, by: By, now: datetime, dry_run: bool) -> ImportRead:
    try:
        report = importer(session=uow.session, data=data, by=by, now=now, dry_run=dry_run)
    except MalformedFile as exc:
        raise InvalidInput(str(exc)) from exc
    read = ImportRead.model_validate(report.as_dict())
    if report.rejected:
        raise InvalidInput(
            f"{len(report.rejected)} of {report.rows} rows were rejected; nothing was imported",
            details=read.model_dump(mode="json"),
        )
    uow.commit()
    return read


@router.post("/intune", response_model=ImportRead, openapi_extra=CSV_BODY)
def import_intune(
    body: Csv, uow: UowDep, _: ItPerson, by: ActorDep, clock: ClockDep, dry_run: DryRun = False
) -> ImportRead:
    """Intune's device export (Devices > All devices > Export), with its own column names. All rows
    or none: any rejected row (bad IMEI check digit, unknown person, serial number twice) fails the
    import with 422 and a report of every rejected row. Importing again updates, never duplicates."""
    return _run(intune.import_intune, uow, body, by, clock.now(), dry_run)


@router.post("/subscriptions", response_model=ImportRead, openapi_extra=CSV_BODY)
def import_subscriptions(
    body: Csv, uow: UowDep, _: ItPerson, by: ActorDep, clock: ClockDep, dry_run: DryRun = False
) -> ImportRead:
    """The operator's subscription list: `number,operator,plan,monthly_cost,cost_centre` and optionally
    `extension,serial` (docs/fleet.md). All rows or none, like the Intune import; a number already
    known is updated."""
    return _run(subscriptions.import_subscriptions, uow, body, by, clock.now(), dry_run)
