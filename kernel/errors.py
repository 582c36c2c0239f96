"""Vila's exception tree, written down once and mapped to HTTP statuses in `api.errors`.

    VilaError                      every error the product raises on purpose
    ├── NotAuthenticated   401     no token, an unknown, expired or revoked token
    ├── PermissionDenied   403     a known person without the right to do this
    ├── NotFound           404     the thing named does not exist (or is not visible)
    ├── Conflict           409     the request contradicts stored state (duplicates, idempotency)
    ├── InvalidInput       422     well-formed but wrong: unknown zone, inverted window, ...
    └── PayloadTooLarge    413     a message that cannot fit in a push payload

Delivery results (sent, transient, permanent, token invalid) have their own tree in `notify.transports.base`.
"""

from __future__ import annotations

from typing import Any


class VilaError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotAuthenticated(VilaError):
    status_code = 401
    code = "not_authenticated"


class PermissionDenied(VilaError):
    status_code = 403
    code = "forbidden"


class NotFound(VilaError):
    status_code = 404
    code = "not_found"


class Conflict(VilaError):
    status_code = 409
    code = "conflict"


class InvalidInput(VilaError):
    status_code = 422
    code = "invalid"


class PayloadTooLarge(VilaError):
    status_code = 413
    code = "payload_too_large"
