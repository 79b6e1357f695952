"""The header's user facts for every workbench page, including Django's auth views (login,
password change) whose context we don't build. Lazy: pages that don't show the header (the
admin, the API) never run the query."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .session_cache import kept

UNITS_SESSION_KEY = "workbench.units"
UNITS_TTL = 60  # seconds the header's unit names may lag behind an administrator's change


def header(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    role, tier = str(user.get_role_display()), str(user.get_tier_display())
    return {
        "user_units": SimpleLazyObject(lambda: unit_names(request, user)),
        # Some roles' names already say the tier (二级客服主管); don't print it twice.
        "tier_label": "" if tier == role else tier,
        "role_label": role,
    }


def unit_names(request: HttpRequest, user: Any) -> list[str]:
    """The user's units, kept in the session for ``UNITS_TTL`` seconds: one query and its
    objects on every page were a twentieth of a queue page's time, for a label that changes
    when an administrator moves someone. What the user may see is never taken from here
    (``queries.visible_to`` reads the units on each request)."""
    return list(kept(request, UNITS_SESSION_KEY, ttl=UNITS_TTL, tag=user.pk,
                     make=lambda: list(user.units.values_list("name", flat=True))))
