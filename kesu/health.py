"""``GET /healthz`` for load balancers (ARCHITECTURE "Scale path", docs/deploy.md).

Answered by the first middleware, before host validation and the HTTPS redirect: a load
balancer probes each host by its address over plain HTTP, which ``ALLOWED_HOSTS`` and
``SECURE_SSL_REDIRECT`` would turn into a 400 or a 301 and take every host out of rotation.
200 when the primary database answers, else 503. A configured read replica is reported but
does not fail the check: the web host still serves everything from the primary.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse, JsonResponse

from . import replica

PATH = "/healthz"


def _ping(alias: str) -> str | None:
    """None when the database answers, else the error."""
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any database failure means "not healthy"
        return str(exc) or exc.__class__.__name__
    return None


def healthz(request: HttpRequest) -> JsonResponse:
    error = _ping(DEFAULT_DB_ALIAS)
    if error is not None:
        return JsonResponse({"status": "error", "database": error}, status=503)
    body = {"status": "ok", "database": connections[DEFAULT_DB_ALIAS].vendor}
    if replica.configured():
        body["replica"] = _ping(replica.REPLICA) or "ok"
    return JsonResponse(body)


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == PATH and request.method in ("GET", "HEAD"):
            return healthz(request)
        return self.get_response(request)
