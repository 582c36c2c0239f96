"""The pilot report page: the same report as the PDF, inside the web app, with its downloads and,
for those who may, the cost model's inputs to edit (their script saves them through the REST API)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import ClockDep, SessionDep
from api.routes.pilot_access import fleet_costs
from api.web.pages import _language, _principal, _render
from pilot import permissions, pilots
from pilot.costs.inputs import INPUT_FIELDS
from pilot.report import html
from pilot.report.build import build

router = APIRouter(include_in_schema=False)


@router.get("/pilot-report.css")
def stylesheet() -> Response:
    return Response(html.stylesheet(), media_type="text/css; charset=utf-8")


@router.get("/pilots/{ref}", response_class=HTMLResponse)
def report_page(ref: str, request: Request, session: SessionDep, clock: ClockDep) -> Response:
    principal = _principal(request, session, clock)
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    pilot = pilots.find(session=session, ref=ref) if permissions.may_read_pilot_report(principal) else None
    if pilot is None:
        response = _render(request, "home.html", principal, "home")
        response.status_code = 404 if permissions.may_read_pilot_report(principal) else 403
        return response
    built = build(session=session, pilot=pilot, now=clock.now(), fleet=fleet_costs(request))
    inputs, rollout = pilots.costs_of(pilot)
    return _render(
        request,
        "pilot_report.html",
        principal,
        "pilots",
        pilot=pilot,
        report=html.fragment(built, _language(request, principal)),
        can_edit=permissions.may_edit_pilot_costs(principal),
        can_export=permissions.may_export_free_text(principal),
        inputs=[(name, str(getattr(inputs, name))) for name in INPUT_FIELDS],
        rollout=rollout,
    )
