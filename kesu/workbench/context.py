"""The header's user facts for every workbench page, including Django's auth views (login,
password change) whose context we don't build. Lazy: pages that don't show the header (the
admin, the API) never run the query."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def header(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    role, tier = str(user.get_role_display()), str(user.get_tier_display())
    return {
        "user_units": SimpleLazyObject(lambda: [u.name for u in user.units.all()]),
        # Some roles' names already say the tier (二级客服主管); don't print it twice.
        "tier_label": "" if tier == role else tier,
        "role_label": role,
    }
