"""The one NinjaAPI, mounted at /api/v1. Errors are JSON ``{"code", "message", "field"}``."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, django_auth

from kesu.lib.errors import DomainError
from kesu.org.models import ApiToken


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = ApiToken.objects.authenticate(token)
        if found is None:
            return None
        request.user = found.user
        return found.user


api = NinjaAPI(
    title="Kesu API",
    version="1.0.0",
    description="Kesu (客诉) complaint management. Authenticate with `POST /api/v1/auth/token` "
    "and send `Authorization: Bearer <token>`, or use the session of the web pages.",
    auth=[BearerToken(), django_auth],
    urls_namespace="api-1.0.0",
)
api.add_router("", "kesu.org.api.router")
api.add_router("", "kesu.complaints.api.router")


def _error(request: HttpRequest, status: int, code: str, message: str, field: str | None, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, "field": field, **extra}, status=status)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _error(request, exc.status, exc.code, str(exc.message), exc.field, **exc.extra)


@api.exception_handler(NinjaValidationError)
def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "payload", "query", "filters", "path", "header")]
        errors.append({"field": ".".join(loc) or None, "message": err.get("msg", ""), "type": err.get("type", "")})
    first = errors[0] if errors else {"field": None, "message": ""}
    message = _("Invalid value for “%(field)s”: %(detail)s") % {"field": first["field"], "detail": first["message"]}
    return _error(request, 422, "invalid", message, first["field"], errors=errors)


@api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthorized", _("Log in or send a valid API token."), None)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "http_error", str(exc), None)
