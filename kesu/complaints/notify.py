"""Which notifications the complaint actions write to the outbox (R-CM-5), in their
transaction. The actions decide *when*; this module decides *to whom* and with what key, so the
same event never queues two messages (dedupe keys name the event)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kesu.comms import outbox
from kesu.comms.models import Notification
from kesu.lib.revisions import Signature
from kesu.lib.statements import Statement
from kesu.org.directory import directory
from kesu.org.models import Role, User

from . import timeline
from .models import Complaint, Event, TimelineEvent


def acknowledge(complaint: Complaint, *, lookup_code: str, now: datetime,
                into: list[Notification] | None = None) -> None:
    """R-IN-6: the number and the lookup code, by SMS and/or email where the contact allows.
    ``into``: collect the rows for one ``outbox.write`` (registration), as in the functions below."""
    from django.conf import settings

    outbox.to_customer(complaint, "acknowledgement",
                       {"lookup_code": lookup_code, "portal_url": f"{settings.KESU_PUBLIC_URL}/portal/lookup/"},
                       now=now, dedupe_key=f"ack:{complaint.pk}:{lookup_code}", into=into)


def assigned(complaint: Complaint, user: User, *, event: TimelineEvent, now: datetime,
             into: list[Notification] | None = None) -> None:
    """A complaint landed with a new handler or reviewer (R-RT-2) or a responsible unit's person."""
    outbox.to_staff(user, "assignment", complaint, {"reason": event.body or event.get_kind_display()},
                    now=now, dedupe_key=f"assign:{event.pk}:{user.pk}", webhooks=False, into=into)


def customer_message(complaint: Complaint, *, event: TimelineEvent, now: datetime) -> None:
    """A reply or a progress message marked customer-visible (R-WF-3)."""
    kind = "reply" if event.kind == Event.REPLIED else "progress"
    outbox.to_customer(complaint, kind, {"message": event.body}, now=now, dedupe_key=f"msg:{event.pk}")


def copy_gm(complaint: Complaint, *, by: User | None, now: datetime, **data: Any) -> TimelineEvent:
    """R-RT-3: batch, claim and level-3 complaints are copied to the GM when raised and at
    every change of their handling: one timeline event and a message to each GM."""
    event = timeline.record(complaint, Event.GM_COPIED, by=by, at=now, **data)
    gm_copied(complaint, event=event, data=data, now=now)
    return event


def gm_copied(complaint: Complaint, *, event: TimelineEvent, data: dict[str, Any], now: datetime,
              into: list[Notification] | None = None, signature: Signature | None = None) -> None:
    """The messages of a recorded GM_COPIED event with its ``data`` (``copy_gm``; registration
    records the event with its others): one to each GM, the robots with the first, or the
    robots alone if there is no GM. With the reference data's ``signature`` the GMs and the
    robots are those the process keeps (kesu/lib/revisions.py)."""
    gms = _GMS.rows() if signature is None else directory(signature).gms
    for i, gm in enumerate(gms):
        outbox.to_staff(gm, "gm_copy", complaint, {"event": str(data)}, now=now,
                        dedupe_key=f"gm:{event.pk}:{gm.pk}", webhooks=i == 0, into=into, signature=signature)
    if not gms:
        outbox.to_staff(None, "gm_copy", complaint, {"event": str(data)}, now=now,
                        dedupe_key=f"gm:{event.pk}", webhooks=True, into=into, signature=signature)


# Compiled once (kesu/lib/statements.py): every change to a copied complaint asks.
_GMS = Statement(lambda: User.objects.filter(role=Role.GM, is_active=True).order_by("id"))
