"""Prometheus metrics for operators (no authentication: expose it on the internal network only)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.deps import ClockDep, SessionDep
from notify import metrics

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
def prometheus(session: SessionDep, clock: ClockDep) -> Response:
    return Response(metrics.render(session=session, now=clock.now()), media_type=CONTENT_TYPE_LATEST)
