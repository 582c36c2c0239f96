"""The device fleet's REST API under /api/v1/fleet: assets, assignments, loans, offboarding, imports, costs."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes.fleet import assets, imports, loans, offboarding, reports

router = APIRouter()
for module in (assets, loans, offboarding, imports, reports):
    router.include_router(module.router)
