"""Appending to a complaint's timeline (R-WF-2). Called by actions only, inside their transaction."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connections, router
from django.db import models as djm

from kesu.lib import inserts

from .models import Category, Complaint, Event, TimelineEvent, Visibility


def _plain(value: Any) -> Any:
    """Store codes and ids, never display strings or model objects."""
    if isinstance(value, Category):
        return value.code  # as the registration event records it; pks differ between databases
    if isinstance(value, djm.Model):
        return value.pk
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def event(
    complaint: Complaint,
    kind: Event,
    *,
    by: Any,
    at: datetime,
    body: str = "",
    visibility: Visibility = Visibility.INTERNAL,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    **data: Any,
) -> TimelineEvent:
    """An event not yet stored: for ``record_all``."""
    return TimelineEvent(
        complaint=complaint,
        kind=kind,
        actor=by,
        at=at,
        body=body,
        visibility=visibility,
        before={k: _plain(v) for k, v in (before or {}).items()},
        after={k: _plain(v) for k, v in (after or {}).items()},
        data={k: _plain(v) for k, v in data.items()},
    )


def record(complaint: Complaint, kind: Event, *, by: Any, at: datetime, **fields: Any) -> TimelineEvent:
    """Append one event (the arguments of ``event``)."""
    recorded = event(complaint, kind, by=by, at=at, **fields)
    inserts.create([recorded])
    return recorded


def record_all(events: list[TimelineEvent]) -> list[TimelineEvent]:
    """Append several events of one action in one INSERT, in the order given: ids ascend in
    that order (the timeline's order), and each event gets its id for the dedupe keys of the
    notifications about it. Where the database cannot return the ids of a multi-row insert,
    one INSERT each."""
    if connections[router.db_for_write(TimelineEvent)].features.can_return_rows_from_bulk_insert:
        return inserts.create(events)
    for e in events:
        e.save(force_insert=True)
    return events
