"""The SCIM 2.0 service provider (RFC 7643/7644) at /scim/v2, for the identity system's provisioning."""

from __future__ import annotations

from fastapi import APIRouter

from api.scim import bulk, discovery, groups, users

router = APIRouter(prefix="/scim/v2", tags=["scim"])
for module in (discovery, users, groups, bulk):
    router.include_router(module.router)
