"""Prometheus metrics for operators: counts only, never a person. Serve them on the internal
network; with VILA_METRICS_TOKEN set, a scrape must also carry that bearer token."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.deps import ClockDep, SessionDep, SettingsDep
from kernel.errors import NotAuthenticated
from notify import metrics

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
def prometheus(request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep) -> Response:
    if settings.metrics_token:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), settings.metrics_token.encode()):
            raise NotAuthenticated("the metrics need the bearer token set in VILA_METRICS_TOKEN")
    return Response(metrics.render(session=session, now=clock.now()), media_type=CONTENT_TYPE_LATEST)
