"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import SessionDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(session: SessionDep) -> JSONResponse:
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means not ready; the kind, not the connection details
        return JSONResponse(
            {"status": "unavailable", "database": type(exc).__name__}, status_code=503, headers={"Retry-After": "5"}
        )
    return JSONResponse({"status": "ok", "database": "ok"})
