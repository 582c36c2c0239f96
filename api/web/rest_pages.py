"""The "Min vilotid" page: a person's own rest record, rendered on the server, with its CSV export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import ClockDep, SessionDep
from api.web.pages import _principal, _render
from kernel.directory import service as directory
from policies.core.wallclock import local_date
from policies.record import own_record, record_years

router = APIRouter(include_in_schema=False)


def _hours(minutes: object) -> str:
    value = int(minutes) / 60 if isinstance(minutes, int | float) else 0.0
    return f"{value:g}"


@router.get("/rest", response_class=HTMLResponse)
def rest_page(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Response:
    principal = _principal(request, session, clock)
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    now = clock.now()
    zone = directory.require_person(session=session, person_id=principal.person_id).timezone
    years = record_years(local_date(zone, now).year)
    chosen = year if year in years else years[0]
    record = own_record(session=session, person_id=principal.person_id, year=chosen, zone=zone, now=now)
    for finding in record["findings"]:
        if finding["kind"] == "weekly_rest":
            finding["longest_h"] = _hours(finding["longest_rest_minutes"])
            finding["required_h"] = _hours(finding["required_minutes"])
    return _render(request, "rest.html", principal, "rest", record=record, years=years, year=chosen)
