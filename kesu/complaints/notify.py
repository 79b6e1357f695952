"""Which notifications the complaint actions write to the outbox (R-CM-5), in their
transaction. The actions decide *when*; this module decides *to whom* and with what key, so the
same event never queues two messages (dedupe keys name the event)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kesu.comms import outbox
from kesu.org.models import Role, User

from . import timeline
from .models import Complaint, Event, TimelineEvent


def acknowledge(complaint: Complaint, *, lookup_code: str, now: datetime) -> None:
    """R-IN-6: the number and the lookup code, by SMS and/or email where the contact allows."""
    from django.conf import settings

    outbox.to_customer(complaint, "acknowledgement",
                       {"lookup_code": lookup_code, "portal_url": f"{settings.KESU_PUBLIC_URL}/portal/lookup/"},
                       now=now, dedupe_key=f"ack:{complaint.pk}:{lookup_code}")


def assigned(complaint: Complaint, user: User, *, event: TimelineEvent, now: datetime) -> None:
    """A complaint landed with a new handler or reviewer (R-RT-2) or a responsible unit's person."""
    outbox.to_staff(user, "assignment", complaint, {"reason": event.body or event.get_kind_display()},
                    now=now, dedupe_key=f"assign:{event.pk}:{user.pk}", webhooks=False)


def customer_message(complaint: Complaint, *, event: TimelineEvent, now: datetime) -> None:
    """A reply or a progress message marked customer-visible (R-WF-3)."""
    kind = "reply" if event.kind == Event.REPLIED else "progress"
    outbox.to_customer(complaint, kind, {"message": event.body}, now=now, dedupe_key=f"msg:{event.pk}")


def copy_gm(complaint: Complaint, *, by: User | None, now: datetime, **data: Any) -> TimelineEvent:
    """R-RT-3: batch, claim and level-3 complaints are copied to the GM when raised and at
    every change of their handling: one timeline event and a message to each GM."""
    event = timeline.record(complaint, Event.GM_COPIED, by=by, at=now, **data)
    gms = list(User.objects.filter(role=Role.GM, is_active=True).order_by("id"))
    for i, gm in enumerate(gms):
        outbox.to_staff(gm, "gm_copy", complaint, {"event": str(data)}, now=now,
                        dedupe_key=f"gm:{event.pk}:{gm.pk}", webhooks=i == 0)
    if not gms:
        outbox.to_staff(None, "gm_copy", complaint, {"event": str(data)}, now=now, dedupe_key=f"gm:{event.pk}")
    return event
