"""Domain errors. Actions raise them; one handler in ``kesu.api`` maps each to an HTTP status and
a JSON body ``{"code", "message", "field"}`` so that every client sees the same shape."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: Any, *, field: str | None = None, code: str | None = None, **extra: Any):
        super().__init__(str(message))
        self.message = message
        self.field = field
        if code:
            self.code = code
        self.extra = extra


class Invalid(DomainError):
    status = 422
    code = "invalid"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
