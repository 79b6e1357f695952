"""Read-replica routing (issue 6): read-only report and list queries that are marked for it go
to the ``replica`` database alias when ``KESU_REPLICA_URL`` configures one; everything else,
and every write, goes to ``default``.

    from kesu import replica

    with replica.reads():                    # a block
        rows = list(Complaint.objects.filter(...))

    @replica.reading                          # a whole read-only view or API endpoint
    def list_complaints(request, ...): ...

A replica lags its primary by its replication delay, so only what may be a moment old is
marked: lists and reports, never the page a user lands on after an action (they would not see
their own change), never an action's own reads. Without a replica, the marks change nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

REPLICA = "replica"
_reading: ContextVar[bool] = ContextVar("kesu_replica_reads", default=False)
F = TypeVar("F", bound=Callable[..., Any])


def configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def reads() -> Iterator[None]:
    """Reads inside the block go to the replica (when there is one)."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def reading(view: F) -> F:
    """Run a read-only view (or API endpoint) with its reads on the replica."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with reads():
            return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class Router:
    """``DATABASE_ROUTERS`` entry. Writes always go to ``default`` — also for an object read
    from the replica, which Django would otherwise save back where it came from."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        if _reading.get() and configured():
            return REPLICA
        return None

    def db_for_write(self, model: type, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # Both aliases hold the same data.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA, None}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        # The replica follows the primary's schema through replication, never by migrating.
        return False if db == REPLICA else None
