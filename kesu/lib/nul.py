"""NUL characters (U+0000) in a request. PostgreSQL's text columns cannot hold them (psycopg
raises DataError: a 500 on PostgreSQL where SQLite stores them), and no complaint text needs
one, so they are refused where they come in, with an error naming the field: in the path, the
query string or a JSON body, by the middleware here (every page and endpoint; django-ninja
turns anything its body parser raises into "Cannot parse request body"). Page forms refuse
them too (Django's CharField validator)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _


def nul_at(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (or key) in ``value`` holding a NUL, else None."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return where
            found = nul_at(item, where)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_at(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


def message(field: str) -> str:
    return _("“%(field)s” contains a NUL character (U+0000), which cannot be stored.") % {"field": field}


class NulGuardMiddleware:
    """A NUL in the path, the query string or a JSON body is answered 422 under /api/ (JSON,
    naming the field, like every invalid field) and 400 elsewhere. On other requests the check
    is a few substring tests: the query is decoded only when its raw text has ``%00``, a body
    parsed only when it holds ``\u0000`` (JSON's only way of writing a NUL)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        field = None
        if "\x00" in request.path:
            field = "path"
        elif "%00" in request.META.get("QUERY_STRING", ""):
            field = next((key for key, values in request.GET.lists()
                          if "\x00" in key or any("\x00" in v for v in values)), "query")
        elif request.content_type == "application/json" and b"\\u0000" in request.body:
            try:
                field = nul_at(json.loads(request.body))
            except ValueError:  # not JSON after all: the API says so itself
                field = None
        if field is None:
            return self.get_response(request)
        text = message(field)
        if request.path.startswith("/api/"):
            return JsonResponse({"code": "invalid", "message": text, "field": field}, status=422,
                                json_dumps_params={"ensure_ascii": False})
        return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")
