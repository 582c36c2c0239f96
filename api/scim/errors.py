"""SCIM error bodies (RFC 7644 §3.12): every failure under /scim/v2 answers with an Error message,
its HTTP status and, where the RFC names one, its scimType; a refused request is also kept for the
admin's provisioning status page.

    SCIMException (scim2-models)      its own status and scimType
    RequestValidationError / JSON     400 invalidSyntax
    pydantic ValidationError          400 with the scimType the model names, else invalidValue
    NotAuthenticated                  401
    PermissionDenied                  403
    NotFound                          404
    Conflict / IntegrityError         409 uniqueness
    InvalidInput                      400 invalidValue
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from scim2_models import Context, Error, SCIMException
from sqlalchemy.exc import IntegrityError

from kernel.db import unit_of_work
from kernel.directory import provisioning
from kernel.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied, VilaError

log = logging.getLogger("vila.scim")
MEDIA_TYPE = "application/scim+json"


class ScimResponse(JSONResponse):
    media_type = MEDIA_TYPE


def scim_json(body: dict[str, Any], status_code: int = 200, headers: dict[str, str] | None = None) -> ScimResponse:
    return ScimResponse(body, status_code=status_code, headers=headers)


def _from_validation(exc: ValidationError) -> tuple[int, str | None, str]:
    first: dict[str, Any] = dict(exc.errors()[0]) if exc.errors() else {}
    ctx = first.get("ctx") or {}
    scim_type = ctx.get("scim_type") or "invalidValue"
    where = ".".join(str(p) for p in first.get("loc", ()))
    message = str(first.get("msg", "invalid"))
    return int(ctx.get("status") or 400), scim_type, f"{where}: {message}" if where else message


def to_error(exc: Exception) -> tuple[int, str | None, str]:
    """(status, scimType, detail) for an exception raised while serving a SCIM request."""
    if isinstance(exc, SCIMException):
        return exc.status, exc.scim_type or None, exc.detail
    if isinstance(exc, ValidationError):
        return _from_validation(exc)
    if isinstance(exc, RequestValidationError):
        first = dict(exc.errors()[0]) if exc.errors() else {}
        return 400, "invalidSyntax", f"the request body is not a SCIM JSON object: {first.get('msg', 'invalid')}"
    if isinstance(exc, Conflict):
        return 409, "uniqueness", exc.message
    if isinstance(exc, IntegrityError):
        return 409, "uniqueness", "the request conflicts with data that already exists"
    if isinstance(exc, InvalidInput):
        return 400, "invalidValue", exc.message
    if isinstance(exc, NotAuthenticated | PermissionDenied | NotFound):
        return exc.status_code, None, exc.message
    if isinstance(exc, VilaError):
        return exc.status_code, None, exc.message
    raise exc


def error_response(status: int, scim_type: str | None, detail: str) -> ScimResponse:
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if status == 401 else None
    return scim_json(body, status_code=status, headers=headers)


class ScimRoute(APIRoute):
    """Turns every failure of a SCIM route, its dependencies (authentication) included, into a SCIM Error."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def scim_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                status, scim_type, detail = to_error(exc)
            if status >= 400 and status != 401:
                _keep(request, status, scim_type, detail)
            return error_response(status, scim_type, detail)

        return scim_handler


def _keep(request: Request, status: int, scim_type: str | None, detail: str) -> None:
    """A refused request, kept in its own transaction (the request's own was rolled back)."""
    try:
        with unit_of_work(request.app.state.session_factory) as session:
            provisioning.record_error(
                session=session,
                now=request.app.state.clock.now(),
                source="scim",
                method=request.method,
                path=request.url.path,
                status=status,
                scim_type=scim_type,
                detail=detail,
            )
    except Exception:  # the answer to the client matters more than the status page
        log.exception("could not record a provisioning error")
