"""Values a page may show a little late, kept in the user's session for a few seconds: the same
for every web worker (a process cache would differ between them), and gone with the session."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest

T = TypeVar("T")


def kept(request: HttpRequest, key: str, *, ttl: float, tag: Any, make: Callable[[], T]) -> T:
    """``make()``, or what it gave within the last ``ttl`` seconds for the same ``tag`` (what
    the value depends on: the user, a cap). ``tag`` and the value go through the session's
    JSON, so a string or a number, not a tuple (it would come back a list and never match).
    Without a session, ``make()`` every time."""
    session = getattr(request, "session", None)
    stored = session.get(key) if session is not None else None
    if (isinstance(stored, dict) and stored.get("tag") == tag
            and 0 <= time.time() - stored.get("at", 0) < ttl):
        return stored["value"]
    value = make()
    if session is not None:
        session[key] = {"at": time.time(), "tag": tag, "value": value}
    return value


def forget(request: HttpRequest, key: str) -> None:
    session = getattr(request, "session", None)
    if session is not None:
        session.pop(key, None)
