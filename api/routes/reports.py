"""HR's compliance report: JSON for the dashboard and CSV for each of its tables."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.deps import ClockDep, SessionDep
from api.permissions import ComplianceReader
from kernel.auth.service import Principal
from kernel.directory import service as directory
from kernel.errors import InvalidInput
from kernel.spreadsheet import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE
from policies import decisions, reports

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

Table = Literal[
    "after-hours", "overrides", "broken-rest", "compensatory", "weekly-rest", "jour-limits", "policy-changes"
]


def _build(
    session: Session, me: Principal, now: datetime, weeks: int, group_id: uuid.UUID | None
) -> reports.ComplianceReport:
    people: set[uuid.UUID] | None = None
    if group_id is not None:
        directory.require_group(session=session, group_id=group_id)
        people = decisions.member_ids(
            session=session, group_ids=directory.descendant_ids(session=session, group_ids=[group_id])
        )
    if weeks < 1:
        raise InvalidInput("weeks must be at least 1")
    tz = directory.require_person(session=session, person_id=me.person_id).timezone  # weeks as the reader counts them
    return reports.compliance(
        session=session,
        since=now - timedelta(weeks=weeks),
        until=now + timedelta(seconds=1),
        today=decisions.today(tz, now),
        tz=tz,
        person_ids=people,
    )


Weeks = Annotated[int, Query(ge=1, le=52, description="How many weeks back from now.")]
GroupFilter = Annotated[uuid.UUID | None, Query(description="Members of this group and its subgroups.")]


@router.get("/compliance")
def compliance(
    session: SessionDep, me: ComplianceReader, clock: ClockDep, weeks: Weeks = 8, group_id: GroupFilter = None
) -> dict[str, Any]:
    """After-hours contacts per week and group, overrides per sender, broken rest per week,
    compensatory rest owed, granted and overdue, people without weekly rest per group and week,
    people above the jour limits per group, and policy versions created in the period."""
    r = _build(session, me, clock.now(), weeks, group_id)
    return {
        "since": r.since.isoformat(),
        "until": r.until.isoformat(),
        "weeks": r.weeks,
        "after_hours": r.after_hours,
        "overrides": [{"sender": s, "count": n} for s, n in r.overrides],
        "broken_rest": r.broken_rest,
        "compensatory": {
            "owed_minutes": r.owed_minutes,
            "granted_minutes": r.granted_minutes,
            "overdue_minutes": r.overdue_minutes,
            "overdue_entries": r.overdue_entries,
        },
        "weekly_rest": r.weekly_rest,
        "jour_limits": r.jour_limits,
        "policy_changes": r.policy_changes,
    }


@router.get("/compliance/{table}.csv", response_class=Response)
def compliance_csv(
    table: Table,
    session: SessionDep,
    me: ComplianceReader,
    clock: ClockDep,
    weeks: Weeks = 8,
    group_id: GroupFilter = None,
) -> Response:
    r = _build(session, me, clock.now(), weeks, group_id)
    return Response(
        reports.to_csv(r, table),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="vila-{table}.csv"'},
    )


@router.get("/compliance/{table}.xlsx", response_class=Response)
def compliance_xlsx(
    table: Table,
    session: SessionDep,
    me: ComplianceReader,
    clock: ClockDep,
    weeks: Weeks = 8,
    group_id: GroupFilter = None,
) -> Response:
    """The same table as the CSV, as an Excel workbook."""
    r = _build(session, me, clock.now(), weeks, group_id)
    return Response(
        reports.to_xlsx(r, table),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="vila-{table}.xlsx"'},
    )
