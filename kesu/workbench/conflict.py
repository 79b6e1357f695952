"""R-WF-4 on pages: what changed on a complaint since the user's form was loaded, field by
field, read from the timeline events' before/after diffs (the events are the audit trail, so
the page shows exactly what was recorded)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from kesu.complaints.models import Category, Complaint, TimelineEvent
from kesu.org.models import User

# Bookkeeping columns that change with other fields and say nothing to the user.
_HIDDEN = {"version", "updated_at", "search_tokens", "held_from", "reviewed_at"}


def _label(name: str) -> str:
    try:
        return str(Complaint._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


def _shown(name: str, value: Any) -> str:
    """A stored diff value (codes and ids, ISO times) as the page shows it."""
    if value in (None, ""):
        return "—"
    try:
        field = Complaint._meta.get_field(name)
    except FieldDoesNotExist:
        return str(value)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if field.is_relation:
        model = field.related_model
        if model is Category:
            row = Category.objects.filter(code=value).first()
            return row.label if row else str(value)
        if model is Complaint:
            return Complaint.objects.filter(pk=value).values_list("number", flat=True).first() or str(value)
        if model is User or getattr(model, "_meta", None) and model._meta.label == User._meta.label:
            user = User.objects.filter(pk=value).first()
            return user.name if user else str(value)
        row = model.objects.filter(pk=value).first()
        return str(row) if row else str(value)
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, str):
        moment = parse_datetime(value) if "T" in value else None
        if moment is not None:
            return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if timezone.is_aware(moment) else str(moment)
        day = parse_date(value) if len(value) == 10 else None
        if isinstance(day, date) and not isinstance(day, datetime):
            return day.isoformat()
    return str(value)


def changed_fields(complaint: Complaint, seen_event: int) -> list[dict[str, str]]:
    """One row per field changed by events after ``seen_event``: its label, the value the user
    saw (the ``before`` of the first such event) and the value now (the ``after`` of the last)."""
    rows: dict[str, dict[str, Any]] = {}
    events = TimelineEvent.objects.filter(complaint=complaint, pk__gt=seen_event).order_by("id")
    for e in events.only("before", "after"):
        for name, after in (e.after or {}).items():
            if name in _HIDDEN:
                continue
            if name not in rows:
                rows[name] = {"seen": (e.before or {}).get(name), "now": after}
            else:
                rows[name]["now"] = after
    return [
        {"field": name, "label": _label(name), "seen": _shown(name, r["seen"]), "now": _shown(name, r["now"])}
        for name, r in rows.items()
        if r["seen"] != r["now"]
    ]
