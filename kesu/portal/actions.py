"""What a customer can do on the portal: submit a complaint, add photos to it, and find it by
number and lookup code. Submissions go through ``complaints.actions.register`` like every
other intake (R-IN-1 channel "web form").

Who registers a portal complaint? ``register`` needs a recorder, and R-IN-5 makes the recorder
the first responder. The portal records as its own system user ``portal`` (created by this
app's migration: no password, no unit, tier 1), so the timeline says truthfully that nobody on
the staff took the call. The complaint is then handed, with a reason on the timeline, to the
least busy intake clerk of the portal's unit (KESU_PORTAL_UNIT, default the organisation's
root), unless level routing already gave it to tier 2.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass, fields
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kesu.complaints import actions as complaint_actions
from kesu.complaints import notify, routing, timeline
from kesu.complaints.actions import _save
from kesu.complaints.attachments import attach, check_upload
from kesu.complaints.models import OPEN, AttachmentKind, Channel, Complaint, Demand, Event
from kesu.lib.errors import Conflict, Invalid
from kesu.lib.text import clean_text
from kesu.org.models import Role, Unit, User

PORTAL_USERNAME = "portal"
PHOTO_KINDS = frozenset({AttachmentKind.PHOTO})
DESCRIPTION_LIMIT = 5000
# Markup in what a customer types is refused rather than silently stripped: the customer sees
# why, and nothing that looks like HTML reaches a handler's page or an export.
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!?][^>]*>|<\s*script|javascript:", re.IGNORECASE)


@dataclass
class Submission:
    """What the portal form and the public API accept (R-IN-2, R-IN-3)."""

    description: str
    customer_name: str = ""
    anonymous: bool = False
    contact_phone: str = ""
    email: str = ""
    product: str = ""
    order_number: str = ""
    lot_number: str = ""
    demand: str = ""
    demand_detail: str = ""


LABELS = {
    "description": lambda: _("Description"), "customer_name": lambda: _("Name"),
    "contact_phone": lambda: _("Mobile phone"), "email": lambda: _("Email"),
    "product": lambda: _("Product or model"), "order_number": lambda: _("Order number"),
    "lot_number": lambda: _("Lot number"), "demand_detail": lambda: _("What you would like us to do"),
}


@dataclass
class Submitted:
    complaint: Complaint
    lookup_code: str


def portal_user() -> User:
    user = User.objects.filter(username=PORTAL_USERNAME).first()
    if user is None:
        raise Conflict(_("The portal is not set up: run “kesu migrate”."), code="portal_not_configured")
    return user


def portal_unit() -> Unit:
    qs = Unit.objects.filter(active=True)
    unit = (qs.filter(code=settings.KESU_PORTAL_UNIT).first() if settings.KESU_PORTAL_UNIT
            else qs.filter(parent=None).order_by("id").first())
    if unit is None:
        raise Conflict(_("The portal is not set up: no unit receives its complaints."),
                       code="portal_not_configured")
    return unit


def _refuse_markup(sub: Submission) -> None:
    for f in fields(sub):
        value = getattr(sub, f.name)
        if isinstance(value, str) and _MARKUP.search(value):
            label = LABELS[f.name]() if f.name in LABELS else f.name
            raise Invalid(_("“%(label)s” may not contain HTML or script code such as <script>; please write "
                            "plain text.") % {"label": label}, field=f.name)


def _summary(description: str) -> str:
    first = description.split("\n", 1)[0].strip()
    return first if len(first) <= 60 else first[:59] + "…"


def check_photos(photos: list[UploadedFile]) -> None:
    if len(photos) > settings.KESU_PORTAL_MAX_PHOTOS:
        raise Invalid(_("At most %(n)d photos.") % {"n": settings.KESU_PORTAL_MAX_PHOTOS}, field="photos")
    for photo in photos:
        check_upload(photo, limit=settings.KESU_PORTAL_MAX_PHOTO_BYTES, kinds=PHOTO_KINDS, field="photos")


def submit(sub: Submission, *, photos: list[UploadedFile] | None = None, now: datetime | None = None) -> Submitted:
    """Register a customer's own complaint (R-IN-6: the number and lookup code are returned for
    the screen and sent by SMS/email in the same transaction). Nothing is written unless
    everything — text, contact, every photo — is acceptable."""
    now = now or timezone.now()
    photos = photos or []
    _refuse_markup(sub)
    description = clean_text(sub.description)
    if not description:
        raise Invalid(_("Please describe the problem."), field="description")
    if len(description) > DESCRIPTION_LIMIT:
        raise Invalid(_("%(label)s may be at most %(limit)d characters.")
                      % {"label": _("Description"), "limit": DESCRIPTION_LIMIT}, field="description")
    if sub.demand and sub.demand not in Demand.values:
        raise Invalid(_("Choose what you would like us to do from the list."), field="demand")
    email = clean_text(sub.email)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise Invalid(_("“%(email)s” is not a valid email address.") % {"email": email}, field="email") from None
    check_photos(photos)
    user, unit = portal_user(), portal_unit()
    intake = complaint_actions.Intake(
        channel=Channel.WEB, summary=_summary(description), description=description,
        customer_name=sub.customer_name, anonymous=sub.anonymous, contact_phone=sub.contact_phone,
        other_contact=email, product=sub.product, order_number=sub.order_number, lot_number=sub.lot_number,
        demand=sub.demand, demand_detail=sub.demand_detail, unit=unit.code,
    )
    with transaction.atomic():
        complaint = complaint_actions.register(intake, by=user, now=now).complaint
        code = complaint.lookup_code  # type: ignore[attr-defined]  # set once by register
        _hand_over(complaint, by=user, unit=unit, now=now)
        for photo in photos:
            attach(complaint, by=user, upload=photo, now=now)
    return Submitted(complaint, code)


def _hand_over(complaint: Complaint, *, by: User, unit: Unit, now: datetime) -> None:
    """The portal never handles: the least busy intake clerk (then tier-1 handler) of the
    portal's unit and its sub-units takes the complaint, with the reason on the timeline."""
    if complaint.owner_id != by.pk:
        return  # level routing already gave it to tier 2
    staff = (User.objects.filter(is_active=True, tier=1, units__path__startswith=unit.path)
             .exclude(pk=by.pk).distinct()
             .annotate(load=Count("owned_complaints", filter=Q(owned_complaints__status__in=OPEN))))
    target = (staff.filter(role=Role.CLERK).order_by("load", "id").first()
              or staff.filter(role=Role.HANDLER).order_by("load", "id").first()
              or routing.nearest_user(unit, 2))
    if target is None:
        return  # nobody to hand to: the unit's managers see it in their queue
    before = _save(complaint, now, owner=target)
    event = timeline.record(complaint, Event.ROUTED, by=by, at=now,
                            body=_("Submitted on the customer portal: handed to the intake desk."),
                            before=before, after={"owner": target}, level=complaint.level)
    notify.assigned(complaint, target, event=event, now=now)


def find(number: str, code: str) -> Complaint | None:
    """The complaint if ``code`` is its lookup code (R-AX-3); None for a wrong number or code
    alike, so numbers cannot be probed."""
    number = (number or "").strip().upper()
    complaint = Complaint.objects.filter(number=number).first() if number else None
    expected = complaint.lookup_code_hash if complaint is not None and complaint.lookup_code_hash else "0" * 64
    given = complaint_actions.hash_lookup_code(number, (code or "").strip())
    if not hmac.compare_digest(expected, given) or complaint is None:
        return None
    return complaint


def add_photo(complaint: Complaint, *, upload: UploadedFile, now: datetime | None = None) -> None:
    """A photo the customer sends after submitting (the mini-program uploads one at a time)."""
    now = now or timezone.now()
    if complaint.status not in OPEN:
        raise Conflict(_("This complaint is finished; photos can no longer be added."), field="file",
                       code="complaint_finished")
    if complaint.attachments.count() >= settings.KESU_PORTAL_MAX_PHOTOS:
        raise Invalid(_("At most %(n)d photos.") % {"n": settings.KESU_PORTAL_MAX_PHOTOS}, field="file")
    check_upload(upload, limit=settings.KESU_PORTAL_MAX_PHOTO_BYTES, kinds=PHOTO_KINDS)
    attach(complaint, by=portal_user(), upload=upload, now=now)
