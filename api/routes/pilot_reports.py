"""The board's report of a pilot (JSON, HTML or PDF) and its exports: aggregated survey results as
CSV for the readers of the report, the free-text answers as CSV for the evaluator alone."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import ClockDep, SessionDep
from api.routes.pilot_access import FleetDep, FreeTextReader, ReportReader
from pilot import pilots, surveys
from pilot.report import as_json, html, pdf
from pilot.report.build import build
from pilot.results import survey_results, to_csv

router = APIRouter(prefix="/api/v1/pilots", tags=["pilots"])

Format = Literal["json", "html", "pdf"]
Language = Annotated[Literal["sv", "en"] | None, Query(description="Default: the reader's language.")]


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@router.get(
    "/{ref}/report",
    responses={200: {"content": {"application/json": {}, "text/html": {}, "application/pdf": {}}}},
)
def report(
    ref: str,
    session: SessionDep,
    me: ReportReader,
    clock: ClockDep,
    fleet: FleetDep,
    format: Format = "json",
    lang: Language = None,
) -> Response:
    """The report to the board: summary, benefit per profession, the reachability worry before and
    after, usage, costs and the pilot's open questions. No figure for a group under five."""
    pilot = pilots.require(session=session, ref=ref)
    built = build(session=session, pilot=pilot, now=clock.now(), fleet=fleet)
    language = lang or me.language
    if format == "json":
        body: dict[str, Any] = as_json.to_dict(built)
        return JSONResponse(body)
    if format == "html":
        return HTMLResponse(html.document(built, language))
    return Response(
        pdf.to_pdf(built, language), media_type="application/pdf", headers=_attachment(f"pilot-{pilot.code}.pdf")
    )


@router.get("/{ref}/survey-results.csv", response_class=Response)
def survey_results_csv(ref: str, session: SessionDep, me: ReportReader, clock: ClockDep) -> Response:
    """Mean per item, group and closed wave; a hidden group's cells are empty."""
    pilot = pilots.require(session=session, ref=ref)
    professions = pilots.professions(session=session, pilot_id=pilot.id)
    results = survey_results(session=session, pilot_id=pilot.id, professions=professions, now=clock.now())
    return Response(
        to_csv(results), media_type="text/csv; charset=utf-8", headers=_attachment(f"pilot-{pilot.code}-results.csv")
    )


@router.get("/{ref}/free-text.csv", response_class=Response)
def free_text_csv(ref: str, session: SessionDep, me: FreeTextReader, clock: ClockDep) -> Response:
    """The free-text answers of the closed waves, for the evaluator only, sorted by their text."""
    pilot = pilots.require(session=session, ref=ref)
    return Response(
        surveys.free_text_csv(session=session, pilot_id=pilot.id, now=clock.now()),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(f"pilot-{pilot.code}-free-text.csv"),
    )
