"""Complaints: customers, complaints, their timeline, attachments, categories and the workflow table.

Nothing here writes complaint state: ``actions.py`` does (ARCHITECTURE principle 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kesu.lib.revisions import Revisioned
from kesu.org.models import Unit


class Channel(models.TextChoices):
    """R-IN-1: every way a complaint can reach the company."""

    PHONE = "phone", _("Phone")
    VISIT = "visit", _("Visit in person")
    LETTER = "letter", _("Letter")
    FAX = "fax", _("Fax")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    WEB = "web", _("Web form")
    WECHAT = "wechat", _("WeChat or app")
    TRANSFER_12315 = "12315", _("Transfer from 12315")
    REGULATOR = "regulator", _("Other regulator")
    MEDIA = "media", _("Media report")
    SOCIAL = "social", _("Social-media monitoring")
    DEALER = "dealer", _("Dealer or franchisee report")
    INTERNAL = "internal", _("Internal staff report")


# R-CL-4: complaints from these channels are level 3 whatever the text says.
LEVEL_3_CHANNELS = frozenset({Channel.TRANSFER_12315, Channel.REGULATOR, Channel.MEDIA})
# Channels where a letter or fax may be registered days after it arrived (back-dating).
PAPER_CHANNELS = frozenset({Channel.LETTER, Channel.FAX})


class Level(models.IntegerChoices):
    """R-CL-3."""

    ONE = 1, _("Level 1 (general)")
    TWO = 2, _("Level 2 (serious)")
    THREE = 3, _("Level 3 (very serious)")


class ComplainantType(models.TextChoices):
    CONSUMER = "consumer", _("Consumer")
    DEALER = "dealer", _("Franchisee or dealer")
    REGULATOR = "regulator", _("Regulator")
    COMMUNITY = "community", _("Community")
    EMPLOYEE = "employee", _("Employee")
    OTHER = "other", _("Other related party")


class Demand(models.TextChoices):
    REFUND = "refund", _("Refund")
    REPLACEMENT = "replacement", _("Replacement")
    REPAIR = "repair", _("Repair")
    COMPENSATION = "compensation", _("Compensation")
    APOLOGY = "apology", _("Apology")
    EXPLANATION = "explanation", _("Explanation")
    OTHER = "other", _("Other")


class Status(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    ACCEPTED = "accepted", _("Accepted")
    INVESTIGATING = "investigating", _("Investigating")
    PROPOSED = "proposed", _("Resolution proposed")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    RESOLVING = "resolving", _("Resolving")
    REPLIED = "replied", _("Replied")
    FOLLOW_UP = "follow_up", _("Follow-up")
    CLOSED = "closed", _("Closed")
    ON_HOLD = "on_hold", _("On hold (waiting for customer)")
    REOPENED = "reopened", _("Reopened")
    INVALID = "invalid", _("Invalid")
    MERGED = "merged", _("Merged")


S = Status
FINISHED = frozenset({S.CLOSED, S.MERGED})
OPEN = frozenset(set(S) - FINISHED - {S.INVALID})
HANDLING = frozenset(OPEN - {S.REGISTERED})
HOLDABLE = frozenset(HANDLING - {S.ON_HOLD, S.AWAITING_APPROVAL})
RESUME = "resume"  # target marker: back to the state the complaint was held from


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str | None  # None: the action records something and leaves the state as it is


# R-WF-1: the one table of what may happen in which state. Every action in ``actions.py`` looks
# itself up here; anything not listed is refused with TransitionNotAllowed and changes nothing.
TRANSITIONS: dict[str, Transition] = {
    "accept": Transition(frozenset({S.REGISTERED}), S.ACCEPTED),
    "investigate": Transition(frozenset({S.ACCEPTED, S.REOPENED}), S.INVESTIGATING),
    # From "proposed" too: a resolution sent back (reject) is redrafted.
    "propose": Transition(frozenset({S.ACCEPTED, S.INVESTIGATING, S.PROPOSED, S.REOPENED}), S.PROPOSED),
    "request_approval": Transition(frozenset({S.PROPOSED}), S.AWAITING_APPROVAL),
    "approve": Transition(frozenset({S.AWAITING_APPROVAL}), S.RESOLVING),
    "reject": Transition(frozenset({S.AWAITING_APPROVAL}), S.PROPOSED),
    "resolve": Transition(frozenset({S.PROPOSED}), S.RESOLVING),
    "reply": Transition(
        frozenset({S.ACCEPTED, S.INVESTIGATING, S.RESOLVING, S.REOPENED}), S.REPLIED
    ),
    "start_follow_up": Transition(frozenset({S.REPLIED}), S.FOLLOW_UP),
    "review": Transition(frozenset({S.REPLIED, S.FOLLOW_UP, S.INVALID}), None),
    "close": Transition(frozenset({S.REPLIED, S.FOLLOW_UP, S.INVALID}), S.CLOSED),
    "reopen": Transition(frozenset({S.REPLIED, S.FOLLOW_UP, S.CLOSED, S.INVALID}), S.REOPENED),
    "hold": Transition(HOLDABLE, S.ON_HOLD),
    "resume": Transition(frozenset({S.ON_HOLD}), RESUME),
    "mark_invalid": Transition(
        frozenset({S.REGISTERED, S.ACCEPTED, S.INVESTIGATING, S.REOPENED}), S.INVALID
    ),
    "merge": Transition(OPEN, S.MERGED),
    "escalate": Transition(OPEN, None),
    "lower_level": Transition(OPEN, None),
    "classify": Transition(OPEN, None),
    "transfer": Transition(OPEN, None),
    "answer": Transition(HANDLING, None),
    "judge": Transition(frozenset({S.ACCEPTED, S.INVESTIGATING, S.PROPOSED, S.REOPENED}), None),
    "message": Transition(OPEN | {S.INVALID}, None),
    "note": Transition(frozenset(S), None),
    "edit": Transition(OPEN, None),
    "attach": Transition(OPEN | {S.INVALID}, None),
    "promise": Transition(OPEN - {S.ON_HOLD}, None),
    "report_platform_result": Transition(OPEN | {S.CLOSED}, None),
    # SPEC section 9 (kesu.followups.actions): a visit or a survey link starts the follow-up;
    # a visit answered 4–5 then reopens the complaint (R-FU-3).
    "record_follow_up": Transition(frozenset({S.REPLIED, S.FOLLOW_UP}), S.FOLLOW_UP),
    "send_survey": Transition(frozenset({S.REPLIED, S.FOLLOW_UP}), S.FOLLOW_UP),
    "waive_follow_up": Transition(frozenset({S.REPLIED, S.FOLLOW_UP}), None),
    # SPEC section 6 (kesu.quality.actions): the investigation's findings and the CAPA, while
    # the complaint is handled; a valid complaint needs both before it closes (R-IV-6).
    "record_investigation": Transition(HANDLING, None),
    "open_capa": Transition(HANDLING, None),
    "link_capa": Transition(HANDLING, None),
}


# What each action is called on pages and in error messages.
ACTION_LABELS = {
    "accept": _("Accept"),
    "investigate": _("Start the investigation"),
    "judge": _("Judge validity"),
    "propose": _("Propose a resolution"),
    "request_approval": _("Send for approval"),
    "approve": _("Approve"),
    "reject": _("Send back"),
    "resolve": _("Carry out the resolution"),
    "reply": _("Reply"),
    "start_follow_up": _("Start the follow-up"),
    "review": _("Sign off the review"),
    "close": _("Close"),
    "reopen": _("Reopen"),
    "hold": _("Hold: wait for the customer"),
    "resume": _("Resume"),
    "mark_invalid": _("Mark invalid"),
    "escalate": _("Escalate"),
    "lower_level": _("Lower the level"),
    "classify": _("Change category or level"),
    "transfer": _("Transfer"),
    "note": _("Add an internal note"),
    "message": _("Send a message to the customer"),
    "promise": _("Promise a reply within 24 h"),
    "report_platform_result": _("Record the 12315 result"),
    "merge": _("Merge"),
    "answer": _("Responsible unit answered"),
    "edit": _("Details edited"),
    "attach": _("Attachment added"),
    "record_follow_up": _("Record a follow-up visit"),
    "send_survey": _("Send a satisfaction survey link"),
    "waive_follow_up": _("No follow-up needed"),
    "record_investigation": _("Record the investigation"),
    "open_capa": _("Open a CAPA"),
    "link_capa": _("Add to an existing CAPA"),
}


class TransitionNotAllowed(Exception):
    def __init__(self, action: str, status: str):
        self.action, self.status = action, status
        super().__init__(f"{action} is not allowed in state {status}")


def ensure_transition(status: str, action: str) -> Transition:
    transition = TRANSITIONS.get(action)
    if transition is None or status not in transition.sources:
        raise TransitionNotAllowed(action, status)
    return transition


def allowed_actions(status: str) -> list[str]:
    return [name for name, t in TRANSITIONS.items() if status in t.sources]


class Category(Revisioned):
    """R-CL-1: the admin-editable category tree. ``default_level`` is the least level a
    complaint of this category gets; the flags drive GM copy (R-RT-3) and QA involvement."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent category"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="children",
    )
    default_level = models.PositiveSmallIntegerField(
        _("default level"), choices=Level.choices, default=Level.ONE
    )
    is_quality = models.BooleanField(_("product quality"), default=False)
    is_claim = models.BooleanField(_("claim for compensation"), default=False)
    is_batch = models.BooleanField(_("batch problem"), default=False)
    active = models.BooleanField(_("active"), default=True)
    sort = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["sort", "code"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        lang = get_language() or ""
        if lang.startswith("en") and self.name_en:
            return self.name_en
        return self.name


class KeywordRule(Revisioned):
    """R-CL-2: if any of the keywords occurs in a complaint's text, suggest this category
    and/or level. Rules with higher weight win the category; the highest level wins."""

    keywords = models.TextField(
        _("keywords"), help_text=_("One or more keywords separated by commas or new lines.")
    )
    category = models.ForeignKey(
        Category, verbose_name=_("category"), null=True, blank=True, on_delete=models.CASCADE
    )
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices, null=True, blank=True)
    weight = models.PositiveSmallIntegerField(_("weight"), default=10)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("keyword rule")
        verbose_name_plural = _("keyword rules")
        ordering = ["-weight", "id"]

    def __str__(self) -> str:
        return self.keywords[:40]

    def keyword_list(self) -> list[str]:
        return keyword_list(self.keywords)


def keyword_list(keywords: str) -> list[str]:
    """A rule's keywords, separated by commas (either width), 、 or new lines."""
    return [k.strip() for k in _KEYWORD_SEPARATORS.split(keywords) if k.strip()]


_KEYWORD_SEPARATORS = re.compile(r"[,，、\n]")


class Customer(models.Model):
    """A complainant, deduplicated by normalised phone number (anonymous ones have none)."""

    name = models.CharField(_("name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=30, null=True, blank=True, unique=True)
    other_contact = models.CharField(_("other contact"), max_length=200, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return self.name or str(_("Anonymous"))


class NumberSequence(models.Model):
    """R-IN-4: the last serial issued in a month. Incremented with one UPSERT … RETURNING so
    the row lock serialises concurrent registrations on both databases."""

    month = models.CharField(max_length=6, primary_key=True)
    last = models.PositiveIntegerField(default=0)


class ComplaintQuerySet(models.QuerySet):
    # How a newest-first page should read a text search (complaints/search.py, ``Slice``): set
    # by ``filter_text``, kept through the filters chained after it, read by ``keyset_page``.
    text_slice: Any = None

    def open(self) -> "ComplaintQuerySet":
        return self.filter(status__in=OPEN)

    def _clone(self) -> "ComplaintQuerySet":
        clone = super()._clone()  # type: ignore[misc]
        clone.text_slice = self.text_slice
        return clone


class Complaint(models.Model):
    """One complaint (投诉). ``owner`` is the handler; ``first_responder`` never changes (R-IN-5).
    ``version`` is bumped by every change for optimistic locking (R-WF-4)."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(_("state"), max_length=20, choices=Status.choices, default=Status.REGISTERED)
    held_from = models.CharField(max_length=20, choices=Status.choices, blank=True)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices, default=Level.ONE)
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.PROTECT)
    suggested_category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suggested_level = models.PositiveSmallIntegerField(choices=Level.choices, null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="complaints",
    )
    customer_name = models.CharField(_("customer name"), max_length=100, blank=True)
    anonymous = models.BooleanField(_("anonymous"), default=False)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True, db_index=True)
    other_contact = models.CharField(_("other contact"), max_length=200, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    complainant_type = models.CharField(
        _("complainant type"), max_length=20, choices=ComplainantType.choices,
        default=ComplainantType.CONSUMER,
    )

    summary = models.CharField(_("summary"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    product = models.CharField(_("product or model"), max_length=200, blank=True)
    lot_number = models.CharField(_("lot number"), max_length=100, blank=True, db_index=True)
    order_number = models.CharField(_("order number"), max_length=100, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), null=True, blank=True)
    defective_quantity = models.PositiveIntegerField(_("defective quantity"), null=True, blank=True)
    delivery_date = models.DateField(_("delivery date"), null=True, blank=True)
    store = models.CharField(_("store or branch"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    purchase_amount = models.DecimalField(
        _("purchase amount (CNY)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    demand = models.CharField(_("customer's demand"), max_length=20, choices=Demand.choices, blank=True)
    demand_detail = models.CharField(_("demand details"), max_length=500, blank=True)
    foreign = models.BooleanField(_("foreign customer"), default=False)

    received_at = models.DateTimeField(_("received at"))
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorder"), on_delete=models.PROTECT, related_name="+"
    )
    first_responder = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("first responder"), on_delete=models.PROTECT,
        related_name="first_responded",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("handler"), on_delete=models.PROTECT,
        related_name="owned_complaints",
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewer"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="reviewing",
    )
    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="complaints")

    repeat_of = models.ForeignKey(
        "self", verbose_name=_("repeat of"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="repeats",
    )
    merged_into = models.ForeignKey(
        "self", verbose_name=_("merged into"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="merged",
    )
    gm_copy = models.BooleanField(_("copied to GM"), default=False)
    bounce_flag = models.BooleanField(_("flagged for bouncing"), default=False)
    transfer_count = models.PositiveIntegerField(_("transfers"), default=0)
    valid = models.BooleanField(_("valid"), null=True, blank=True)
    company_responsible = models.BooleanField(_("company responsible"), null=True, blank=True)
    validity_reason = models.TextField(_("validity reasoning"), blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    resolution_amount = models.DecimalField(
        _("resolution cost (CNY)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closing_reason = models.TextField(_("closing reason"), blank=True)
    # R-SLA-11: when the handling result was reported back to the 12315 platform; the result
    # itself is the body of that timeline event. (Nullable columns only: adding a NOT NULL
    # column makes SQLite rebuild the table, which drops the search triggers of 0004.)
    platform_result_at = models.DateTimeField(_("reported to 12315 at"), null=True, blank=True)
    # R-IN-6: SHA-256 of number and the customer's portal lookup code (nullable: see above).
    lookup_code_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    # Bigram tokens of the texts (see kesu.lib.text); indexed by FTS5 on SQLite, GIN on PostgreSQL.
    search_tokens = models.TextField(default="", editable=False)

    objects = ComplaintQuerySet.as_manager()

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        indexes = [
            # Queues: newest first within a unit, owner or state (keyset pagination on -id).
            models.Index(fields=["unit", "-id"], name="complaint_unit_recent"),
            models.Index(fields=["owner", "-id"], name="complaint_owner_recent"),
            models.Index(fields=["status", "-id"], name="complaint_status_recent"),
            models.Index(fields=["received_at"], name="complaint_received"),
            # Repeat detection (R-IN-7): a customer's complaints of the last 30 days.
            models.Index(fields=["customer", "received_at"], name="complaint_customer_recent"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def reviewer_tier(self) -> int:
        """R-RT-2: level 1 is reviewed by tier 2, levels 2 and 3 by tier 3."""
        return 2 if self.level == Level.ONE else 3


class Transfer(models.Model):
    """R-RT-4: a complaint sent to a responsible unit, and that unit's answer on the same record."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="transfers")
    to_unit = models.ForeignKey(Unit, verbose_name=_("responsible unit"), on_delete=models.PROTECT, related_name="+")
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    new_handler = models.BooleanField(default=False)
    reason = models.TextField(_("reason"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    cause = models.TextField(_("cause"), blank=True)
    countermeasure = models.TextField(_("countermeasure"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["to_unit", "answered_at"], name="transfer_unit_open")]

    def __str__(self) -> str:
        return f"{self.complaint_id} → {self.to_unit_id}"


class Event(models.TextChoices):
    """Timeline event kinds, past tense (R-WF-2)."""

    REGISTERED = "registered", _("Registered")
    ROUTED = "routed", _("Routed by level")
    ACCEPTED = "accepted", _("Accepted (first contact made)")
    CLASSIFIED = "classified", _("Classification confirmed")
    ESCALATED = "escalated", _("Escalated")
    LEVEL_LOWERED = "level_lowered", _("Level lowered")
    TRANSFERRED = "transferred", _("Transferred")
    ANSWERED = "answered", _("Responsible unit answered")
    BOUNCE_FLAGGED = "bounce_flagged", _("Flagged for too many transfers")
    GM_COPIED = "gm_copied", _("Copied to the GM")
    REPEAT_LINKED = "repeat_linked", _("Linked as a repeat complaint")
    INVESTIGATION_STARTED = "investigation_started", _("Investigation started")
    JUDGED = "judged", _("Validity judged")
    RESOLUTION_PROPOSED = "resolution_proposed", _("Resolution proposed")
    APPROVAL_REQUESTED = "approval_requested", _("Approval requested")
    APPROVED = "approved", _("Resolution approved")
    REJECTED = "rejected", _("Resolution sent back")
    RESOLUTION_STARTED = "resolution_started", _("Resolution under way")
    REPLIED = "replied", _("Replied to the customer")
    FOLLOW_UP_STARTED = "follow_up_started", _("Follow-up started")
    REVIEWED = "reviewed", _("Reviewed")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")
    HELD = "held", _("Put on hold")
    RESUMED = "resumed", _("Resumed")
    MARKED_INVALID = "marked_invalid", _("Marked invalid")
    MERGED = "merged", _("Merged into another complaint")
    MERGE_RECEIVED = "merge_received", _("Duplicate merged in")
    NOTE_ADDED = "note_added", _("Internal note")
    MESSAGE_SENT = "message_sent", _("Message to the customer")
    EDITED = "edited", _("Details edited")
    ATTACHMENT_ADDED = "attachment_added", _("Attachment added")
    CONTACT_REVEALED = "contact_revealed", _("Full contact details viewed")
    REPLY_PROMISED = "reply_promised", _("Reply time promised")
    DEADLINE_WARNED = "deadline_warned", _("Time limit warning")
    DEADLINE_BREACHED = "deadline_breached", _("Time limit breached")
    ACCOUNTABILITY_PROPOSED = "accountability_proposed", _("Accountability record proposed")
    NOTIFICATION_SENT = "notification_sent", _("Notification delivered")
    NOTIFICATION_FAILED = "notification_failed", _("Notification failed")
    PLATFORM_RESULT_REPORTED = "platform_result_reported", _("Result reported to 12315")
    FOLLOW_UP_RECORDED = "follow_up_recorded", _("Follow-up visit recorded")
    SURVEY_SENT = "survey_sent", _("Satisfaction survey sent")
    FOLLOW_UP_WAIVED = "follow_up_waived", _("No follow-up needed")
    GM_AGENDA_ADDED = "gm_agenda_added", _("Put on the GM meeting agenda")
    INVESTIGATION_RECORDED = "investigation_recorded", _("Investigation recorded")
    CAPA_LINKED = "capa_linked", _("Covered by a CAPA")
    CAPA_CLOSED = "capa_closed", _("CAPA closed: effect confirmed")


class Visibility(models.TextChoices):
    INTERNAL = "internal", _("Internal")
    CUSTOMER = "customer", _("Visible to the customer")


class ImmutableEvent(Exception):
    pass


class TimelineEvent(models.Model):
    """R-WF-2: one append-only entry of a complaint's history: who, when, what, before/after.

    Rows are only ever inserted (``timeline.record``); save() on an existing row and delete()
    raise, and corrections are new events.
    """

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=30, choices=Event.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.INTERNAL)
    body = models.TextField(blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["complaint", "id"], name="event_complaint")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ImmutableEvent("timeline events are never edited")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[override]
        raise ImmutableEvent("timeline events are never deleted")


class AttachmentKind(models.TextChoices):
    PHOTO = "photo", _("Photo")
    DOCUMENT = "document", _("Document")
    RECORDING = "recording", _("Call recording")


def attachment_path(instance: "Attachment", filename: str) -> str:
    return f"attachments/{instance.complaint.number}/{filename}"


class Attachment(models.Model):
    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=AttachmentKind.choices)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]


class IdempotencyKey(models.Model):
    """R-IN-8: a client's key for one registration; the same key returns the same complaint."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key")]
