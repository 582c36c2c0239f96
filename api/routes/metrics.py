"""Prometheus metrics for operators: counts only, never a person. A scrape must carry the bearer token
set in VILA_METRICS_TOKEN; without one set they are refused (403), except by `vila serve` listening
on a loopback address, where only the machine itself can reach them."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.deps import ClockDep, SessionDep, SettingsDep
from kernel.errors import NotAuthenticated, PermissionDenied
from notify import metrics

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
def prometheus(request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep) -> Response:
    if settings.metrics_token:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), settings.metrics_token.encode()):
            raise NotAuthenticated("the metrics need the bearer token set in VILA_METRICS_TOKEN")
    elif not request.app.state.open_metrics:
        raise PermissionDenied(
            "the metrics are not served without a token: set VILA_METRICS_TOKEN and give Prometheus the "
            "same value as its bearer token"
        )
    return Response(metrics.render(session=session, now=clock.now()), media_type=CONTENT_TYPE_LATEST)
