"""Map Vila's exception tree (kernel.errors) and validation failures to HTTP answers, in one place."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import loggable_path
from kernel.errors import InvalidInput, VilaError
from kernel.inputs import control_character

log = logging.getLogger("vila.api")


def _where(loc: tuple[Any, ...]) -> str:
    """The field a validation error is about ("audience.groups.0"), or "" for the request as a whole."""
    # Only the first element says where (a message's field `body` is a field, not the location).
    if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
        loc = loc[1:]
    return ".".join(str(p) for p in loc)


def _said(error: Mapping[str, Any]) -> str:
    """Pydantic's message without its "Value error, " prefix: the validator's own sentence."""
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _limits(ctx: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers a validation rule names (min_length, le, ...), never a value the caller sent."""
    return {k: v for k, v in ctx.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def _problem(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"error": code, "message": message}
    if details is not None:
        body["details"] = details
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _conflict(exc: IntegrityError) -> str:
    """Say which rule the request broke, in the database's own words for the columns: a unique
    value taken (PostgreSQL's constraint name, SQLite's table.column), or a reference to a row
    that does not exist. Never the values themselves."""
    text = str(exc.orig)
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    if "UNIQUE constraint failed:" in text:
        columns = text.split("UNIQUE constraint failed:", 1)[1].strip().splitlines()[0]
        return f"the request conflicts with data that already exists: {columns} must be unique"
    if "FOREIGN KEY" in text.upper():
        where = f" ({constraint})" if constraint else ""
        return f"the request refers to something that does not exist{where}"
    if constraint:
        return f"the request conflicts with data that already exists ({constraint})"
    return "the request conflicts with data that already exists"


RETRY_AFTER_S = 5  # how soon a client may try again while the database cannot be reached


async def no_control_characters(request: Request) -> None:
    """Query and path parameters, and the text fields of web forms, follow the rule of JSON bodies
    (`kernel.inputs`): a 422, not a NUL byte handed to the database. A form has been read before
    dependencies run, so reading it here parses nothing twice; uploaded files are left alone."""
    params: list[tuple[str, object]] = [*request.query_params.multi_items(), *request.path_params.items()]
    kind = request.headers.get("content-type", "")
    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        params.extend((name, value) for name, value in (await request.form()).multi_items() if isinstance(value, str))
    for name, value in params:
        found = control_character(name) or (control_character(value) if isinstance(value, str) else None)
        if found:
            raise InvalidInput(
                f"{name}: text may not contain a control character ({found})",
                details=[{"field": name, "message": f"text may not contain a control character ({found})"}],
            )


def install(app: FastAPI) -> None:
    @app.exception_handler(VilaError)
    async def vila_error(_request: Request, exc: VilaError) -> JSONResponse:
        return _problem(exc.status_code, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Each error also carries pydantic's type and its limits (`ctx`), so a page can say it in
        # the reader's language; a whole-request error has no field name to show.
        errors = [
            {
                "field": _where(tuple(e.get("loc", ()))),
                "message": _said(e),
                "type": str(e.get("type", "")),
                **({"limits": _limits(e["ctx"])} if e.get("ctx") and _limits(e["ctx"]) else {}),
            }
            for e in exc.errors()
        ]
        summary = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else str(e["message"]) for e in errors)
        return _problem(422, "invalid", summary, errors)

    @app.exception_handler(IntegrityError)
    async def integrity(_request: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity error: %s", exc.orig)
        return _problem(409, "conflict", _conflict(exc))

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        # Connection refused, lost, a pool with no free connection, a statement cancelled: the
        # request may well succeed shortly. The cause goes to the log, not to the caller.
        log.error("database unavailable on %s %s: %s", request.method, loggable_path(request), type(exc).__name__)
        answer = _problem(503, "unavailable", "the database cannot be reached just now; try again shortly")
        answer.headers["Retry-After"] = str(RETRY_AFTER_S)
        return answer

    for kind in (OperationalError, InterfaceError, DisconnectionError, PoolTimeout):
        app.add_exception_handler(kind, unavailable)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _problem(exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, loggable_path(request))
        return _problem(500, "internal", "an internal error occurred; it has been logged")
