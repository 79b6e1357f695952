"""Permission-checked lookups and named list queries for complaints."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from kesu.lib.errors import NotFound
from kesu.org.models import User

from .models import Complaint, TimelineEvent, Transfer, Visibility


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
