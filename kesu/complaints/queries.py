"""Permission-checked lookups and named list queries for complaints."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from kesu.lib.errors import Invalid, NotFound
from kesu.lib.phones import InvalidPhone, normalize_phone
from kesu.org.models import Unit, User

from .models import Category, Complaint, Level, TimelineEvent, Transfer, Visibility
from .search import filter_text


def visible_to(user: User) -> QuerySet[Complaint]:
    """R-AX-1: the complaints of the user's units and their sub-units, those they handle or
    first responded to, and those transferred to their units. Org-wide roles see all."""
    qs = Complaint.objects.all()
    if user.sees_everything:
        return qs
    unit_paths = list(user.units.values_list("path", "id"))
    scope = Q(owner=user) | Q(first_responder=user) | Q(reviewer=user)
    for path, _unit_id in unit_paths:
        scope |= Q(unit__path__startswith=path)
    unit_ids = [unit_id for _path, unit_id in unit_paths]
    if unit_ids:
        scope |= Q(Exists(Transfer.objects.filter(complaint=OuterRef("pk"), to_unit_id__in=unit_ids)))
    return qs.filter(scope)


def access_complaint(user: User, number: str, *, for_update: bool = False) -> Complaint:
    """The complaint ``number`` if ``user`` may see it. A complaint they may not see is
    reported as not found, so numbers cannot be probed."""
    qs = visible_to(user).select_related(
        "category", "customer", "owner", "first_responder", "recorded_by", "reviewer", "unit",
        "repeat_of", "merged_into",
    )
    if for_update:
        qs = qs.select_for_update(of=("self",))
    complaint = qs.filter(number=number).first()
    if complaint is None:
        raise NotFound(_("Complaint %(number)s was not found.") % {"number": number}, field="number")
    return complaint


def overdue(qs: QuerySet[Complaint], now: datetime) -> QuerySet[Complaint]:
    from kesu.sla.models import Deadline

    return qs.filter(Exists(Deadline.objects.filter(
        complaint=OuterRef("pk"), met_at=None, cancelled_at=None, paused_at=None, due_at__lt=now
    )))


def customer_visible_events(complaint: Complaint) -> QuerySet[TimelineEvent]:
    """R-WF-3: what the customer may read about their complaint — customer-visible messages
    and replies only, never internal notes or forms."""
    return complaint.events.filter(visibility=Visibility.CUSTOMER).order_by("id")


_overdue = overdue  # filter_complaints' ``overdue`` parameter shadows the function


def filter_complaints(
    qs: QuerySet[Complaint], *, now: datetime, state: list[str] | None = None,
    level: list[int] | None = None, category: str | None = None, channel: list[str] | None = None,
    unit: str | None = None, owner: str | None = None, overdue: bool | None = None,
    received_from: datetime | None = None, received_to: datetime | None = None,
    q: str | None = None, phone: str | None = None,
) -> QuerySet[Complaint]:
    """The list filters shared by the API and the workbench queues, so both narrow the same
    way. Unknown codes raise Invalid with the parameter's name as ``field``."""
    if state:
        qs = qs.filter(status__in=state)
    if level:
        if any(lv not in Level.values for lv in level):
            raise Invalid(_("Level must be 1, 2 or 3."), field="level")
        qs = qs.filter(level__in=level)
    if category:
        found = Category.objects.filter(code=category).first()
        if found is None:
            raise Invalid(_("Unknown category “%(code)s”.") % {"code": category}, field="category")
        # The whole subtree: admins may nest categories deeper than the default two levels.
        ids, frontier = {found.pk}, [found.pk]
        while frontier:
            frontier = list(Category.objects.filter(parent_id__in=frontier).exclude(pk__in=ids)
                            .values_list("pk", flat=True))
            ids.update(frontier)
        qs = qs.filter(category_id__in=ids)
    if channel:
        qs = qs.filter(channel__in=channel)
    if unit:
        found_unit = Unit.objects.filter(code=unit).first()
        if found_unit is None:
            raise Invalid(_("Unknown unit “%(code)s”.") % {"code": unit}, field="unit")
        qs = qs.filter(unit__path__startswith=found_unit.path)
    if owner:
        qs = qs.filter(owner__username=owner)
    if overdue:
        qs = _overdue(qs, now)
    if received_from:
        qs = qs.filter(received_at__gte=received_from)
    if received_to:
        qs = qs.filter(received_at__lt=received_to)
    if phone:
        try:
            qs = qs.filter(contact_phone=normalize_phone(phone))
        except InvalidPhone:
            raise Invalid(_("“%(phone)s” is not a valid phone number.") % {"phone": phone}, field="phone") from None
    if q:
        qs = filter_text(qs, q)
    return qs


@dataclass
class Page:
    rows: list[Complaint]
    next_cursor: str | None


def decode_cursor(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(base64.urlsafe_b64decode(value.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise Invalid(_("The cursor is not valid; start again from the first page."), field="cursor") from None


def keyset_page(qs: QuerySet[Complaint], cursor: str | None, limit: int) -> Page:
    """Newest first, ``limit`` rows after ``cursor`` (the last id of the previous page). Keyset,
    not OFFSET/COUNT: a page costs the same on page 1 and page 10,000 of a million rows."""
    after = decode_cursor(cursor)
    if after is not None:
        qs = qs.filter(id__lt=after)
    rows = list(qs.select_related("category", "owner", "unit", "repeat_of").order_by("-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = base64.urlsafe_b64encode(str(rows[-1].pk).encode()).decode() if more else None
    return Page(rows, next_cursor)


def capped_count(qs: QuerySet[Any], cap: int = 99) -> int:
    """At most ``cap + 1``: counts a LIMITed subquery, so a navigation badge never scans a
    whole queue. Callers show "99+" for anything above ``cap``."""
    return qs.order_by()[: cap + 1].count()
