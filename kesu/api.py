"""The one NinjaAPI, mounted at /api/v1. Errors are JSON ``{"code", "message", "field"}``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, django_auth

from kesu.lib.errors import DomainError
from kesu.org.models import ApiToken


class ShanghaiTimeEncoder(NinjaJSONEncoder):
    """Times leave the API in Asia/Shanghai (``2026-11-22T10:57:00+08:00``), as the pages show
    them; the instant is the same, only the offset a reader sees changes."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime) and o.utcoffset() is not None:
            # The default zone (TIME_ZONE), which nothing overrides per request: localtime()
            # asks the request's context for the current one, a third of rendering a complaint.
            return o.astimezone(timezone.get_default_timezone()).isoformat()
        return super().default(o)


class ShanghaiJSONRenderer(JSONRenderer):
    encoder_class = ShanghaiTimeEncoder


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = ApiToken.objects.user_for(token)
        if user is None:
            return None
        request.user = user
        return user


api = NinjaAPI(
    title="Kesu API",
    version="1.0.0",
    description="Kesu (客诉) complaint management. Authenticate with `POST /api/v1/auth/token` "
    "and send `Authorization: Bearer <token>`, or use the session of the web pages.",
    auth=[BearerToken(), django_auth],
    urls_namespace="api-1.0.0",
    renderer=ShanghaiJSONRenderer(),
)
api.add_router("", "kesu.org.api.router")
# Before the complaints router: its /complaints/{number} would take "export" for a number.
api.add_router("", "kesu.imports.api.router")
api.add_router("", "kesu.complaints.api.router")
api.add_router("", "kesu.followups.api.router")
api.add_router("", "kesu.quality.api.router")
api.add_router("", "kesu.portal.api.router")  # /public/…: no login (auth=None on the router)
api.add_router("", "kesu.comms.api.router")


def _error(request: HttpRequest, status: int, code: str, message: str, field: str | None, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, "field": field, **extra}, status=status)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _error(request, exc.status, exc.code, str(exc.message), exc.field, **exc.extra)


@api.exception_handler(NinjaValidationError)
def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    """Schema (pydantic) errors in the request's language. Each message names the field by its
    verbose name where a model gives one; ``message`` is the first error's, ``errors`` has all.
    Error types without a translation here keep pydantic's own (English) text."""
    import re

    from django.core.exceptions import FieldDoesNotExist
    from django.utils.functional import Promise

    from kesu.complaints.models import Complaint, Transfer

    # Request fields that are no model field.
    api_labels = {
        "version": _("version"), "amount": _("amount"), "message": _("message"),
        "reply": _("reply"), "note": _("note"), "text": _("text"), "to_user": _("person"),
        "transfer_id": _("transfer"), "into": _("surviving complaint"),
        "new_handler": _("new handler"), "limit": _("page size"), "cursor": _("cursor"),
        "username": _("username"), "password": _("password"), "file": _("file"),
        "q": _("search text"), "phone": _("phone"), "owner": _("handler"),
        "overdue": _("overdue"), "received_from": _("received from"),
        "received_to": _("received before"), "state": _("state"),
        "Idempotency-Key": _("idempotency key"),
    }

    def label(names: list[str], field: str | None) -> str:
        if not names:
            return str(_("request body"))
        for model in (Complaint, Transfer):
            try:
                verbose = model._meta.get_field(names[-1]).verbose_name
            except FieldDoesNotExist:
                continue
            if isinstance(verbose, Promise):  # an explicit, translated verbose name
                return str(verbose)
        return str(api_labels.get(names[-1], field or names[-1]))

    def choices(expected: Any) -> str:
        """pydantic's "'a', 'b' or 'c'" as "a, b, c" (no English "or" in a Chinese sentence)."""
        text = str(expected)
        values = re.findall(r"'([^']*)'", text) or re.split(r",\s*|\s+or\s+", text)
        return ", ".join(v for v in values if v)

    # type → message that needs only the field's name
    plain: dict[str, str] = {}
    for kinds, text in (
        (("missing",), _("“%(field)s” is required.")),
        (("string_type",), _("“%(field)s” must be text.")),
        (("int_parsing", "int_type", "int_from_float", "int_parsing_size"),
         _("“%(field)s” must be a whole number.")),
        (("float_parsing", "float_type", "decimal_parsing", "decimal_type", "finite_number"),
         _("“%(field)s” must be a number.")),
        (("bool_parsing", "bool_type"), _("“%(field)s” must be true or false.")),
        (("datetime_parsing", "datetime_from_date_parsing", "datetime_type",
          "datetime_object_invalid"),
         _("“%(field)s” must be a date and time, such as 2026-11-01T09:30:00+08:00.")),
        (("date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact", "date_type"),
         _("“%(field)s” must be a date, such as 2026-11-01.")),
        (("json_invalid", "json_type"), _("“%(field)s” is not valid JSON.")),
        (("model_attributes_type", "dict_type", "model_type"),
         _("“%(field)s” must be a JSON object.")),
        (("list_type", "tuple_type", "set_type"), _("“%(field)s” must be a list.")),
    ):
        plain.update(dict.fromkeys(kinds, text))
    # type → (ctx key, message using it as %(limit)s)
    limited = {
        "string_too_long": ("max_length", _("“%(field)s” may be at most %(limit)s characters.")),
        "string_too_short": ("min_length", _("“%(field)s” must be at least %(limit)s characters.")),
        "too_long": ("max_length", _("“%(field)s” may have at most %(limit)s items.")),
        "too_short": ("min_length", _("“%(field)s” needs at least %(limit)s items.")),
        "greater_than": ("gt", _("“%(field)s” must be greater than %(limit)s.")),
        "greater_than_equal": ("ge", _("“%(field)s” must be at least %(limit)s.")),
        "less_than": ("lt", _("“%(field)s” must be less than %(limit)s.")),
        "less_than_equal": ("le", _("“%(field)s” may be at most %(limit)s.")),
        "decimal_max_digits": ("max_digits", _("“%(field)s” may have at most %(limit)s digits.")),
        "decimal_max_places": (
            "decimal_places", _("“%(field)s” may have at most %(limit)s decimal places.")),
        "decimal_whole_digits": (
            "whole_digits",
            _("“%(field)s” may have at most %(limit)s digits before the decimal point.")),
    }

    def describe(err: dict[str, Any], field: str | None, names: list[str]) -> str:
        kind = err.get("type", "")
        ctx = err.get("ctx") or {}
        name = label(names, field)
        if kind == "string_too_short" and ctx.get("min_length") == 1:
            return _("“%(field)s” cannot be empty.") % {"field": name}
        if kind in plain:
            return plain[kind] % {"field": name}
        if kind in limited and limited[kind][0] in ctx:
            key, text = limited[kind]
            return text % {"field": name, "limit": ctx[key]}
        if kind in ("enum", "literal_error") and "expected" in ctx:
            return _("“%(field)s” must be one of: %(expected)s.") % {
                "field": name, "expected": choices(ctx["expected"])}
        # value_error (a validator's ValueError): its own text, without "Value error, ".
        detail = err.get("msg", "")
        if kind == "value_error" and ctx.get("error"):
            detail = str(ctx["error"])
        return _("Invalid value for “%(field)s”: %(detail)s") % {"field": name, "detail": detail}

    sources = ("body", "payload", "query", "filters", "path", "header")
    errors = []
    for err in exc.errors:
        parts = list(err.get("loc", ()))
        if len(parts) > 1 and parts[0] == "file":  # the source of File[...] parameters
            parts = parts[1:]
        parts = [p for p in parts if p not in sources]
        field = ".".join(str(p) for p in parts) or None
        names = [p for p in parts if isinstance(p, str)]  # without list indexes: level.0 → level
        try:
            message = describe(err, field, names)
        except (KeyError, TypeError, ValueError):  # an unexpected ctx: pydantic's text is right
            message = err.get("msg", "")
        errors.append({"field": field, "message": message, "type": err.get("type", "")})
    first = errors[0] if errors else {"field": None, "message": _("The request is not valid.")}
    return _error(request, 422, "invalid", first["message"], first["field"], errors=errors)


@api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthorized", _("Log in or send a valid API token."), None)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "http_error", str(exc), None)
