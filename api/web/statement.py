"""The accessibility statement (tillgänglighetsredogörelse): a public page, Swedish with English,
linked from every page's footer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import ClockDep, SessionDep
from api.web.pages import _principal, _render

router = APIRouter(include_in_schema=False)


@router.get("/accessibility", response_class=HTMLResponse)
def statement(request: Request, session: SessionDep, clock: ClockDep) -> Response:
    """Readable signed in or not: the law asks that anyone can find it."""
    return _render(request, "accessibility.html", _principal(request, session, clock), "accessibility")
