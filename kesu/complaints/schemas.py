"""Request and response shapes of the complaints API. Shape only: rules that depend on stored
data are checked by the actions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema

from .models import Channel, ComplainantType, Demand, Status

Text200 = Field(default="", max_length=200)


class ComplaintIn(Schema):
    channel: Channel
    summary: str = Field(..., min_length=1, max_length=200)
    description: str = Field(default="", max_length=10000)
    customer_name: str = Field(default="", max_length=100)
    anonymous: bool = False
    contact_phone: str = Field(default="", max_length=30)
    other_contact: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=300)
    received_at: datetime | None = None
    category: str | None = Field(default=None, max_length=50)
    level: int | None = Field(default=None, ge=1, le=3)
    complainant_type: ComplainantType = ComplainantType.CONSUMER
    product: str = Text200
    lot_number: str = Field(default="", max_length=100)
    order_number: str = Field(default="", max_length=100)
    quantity: int | None = Field(default=None, ge=0, le=1_000_000_000)
    defective_quantity: int | None = Field(default=None, ge=0, le=1_000_000_000)
    delivery_date: date | None = None
    store: str = Field(default="", max_length=100)
    region: str = Field(default="", max_length=100)
    purchase_amount: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    demand: Demand | None = None
    demand_detail: str = Field(default="", max_length=500)
    foreign: bool = False
    unit: str | None = Field(default=None, max_length=50)


class ComplaintFilters(Schema):
    """The filters of ``queries.filter_complaints``, shared by the list and the export."""

    state: list[Status] | None = None
    level: list[int] | None = None
    category: str | None = None
    channel: list[str] | None = None
    unit: str | None = None
    owner: str | None = None
    overdue: bool | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    q: str | None = None
    phone: str | None = None


class Versioned(Schema):
    version: int = Field(..., ge=1, description="The version you read; a stale one gets HTTP 409.")


class NoteIn(Schema):
    text: str = Field(..., max_length=5000)


class ReasonIn(Versioned):
    reason: str = Field(..., max_length=5000)


class OptionalNoteIn(Versioned):
    note: str = Field(default="", max_length=5000)


OverrideReason = Field(
    default="", max_length=1000,
    description="Send despite a forbidden phrase (R-CM-2): why. Logged on the timeline.",
)


class ReplyIn(Versioned):
    message: str = Field(..., max_length=10000)
    override_reason: str = OverrideReason


class MessageIn(Schema):
    text: str = Field(..., max_length=5000)
    override_reason: str = OverrideReason


class ProposeIn(Versioned):
    resolution: str = Field(..., max_length=5000)
    amount: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)


class JudgeIn(Versioned):
    valid: bool
    company_responsible: bool | None = None
    reason: str = Field(..., max_length=5000)


class InvalidIn(Versioned):
    reason: str = Field(..., max_length=5000)
    reply: str = Field(..., max_length=10000)
    override_reason: str = OverrideReason


class ClassifyIn(Versioned):
    category: str | None = Field(default=None, max_length=50)
    level: int | None = Field(default=None, ge=1, le=3)
    reason: str = Field(default="", max_length=5000)


class LowerLevelIn(Versioned):
    level: int = Field(..., ge=1, le=2)
    reason: str = Field(..., max_length=5000)


class TransferIn(Versioned):
    to_unit: str = Field(..., max_length=50, description="Code of the responsible unit")
    to_user: str | None = Field(default=None, max_length=150, description="Username in that unit")
    new_handler: bool = Field(default=False, description="Hand the complaint over to to_user")
    reason: str = Field(..., max_length=5000)


class AnswerIn(Versioned):
    transfer_id: int
    cause: str = Field(..., max_length=5000)
    countermeasure: str = Field(..., max_length=5000)


class MergeIn(Versioned):
    into: str = Field(..., max_length=20, description="Number of the surviving complaint")
    reason: str = Field(..., max_length=5000)


class DetailsIn(Schema):
    """The correctable details; send only the fields that change."""

    customer_name: str | None = Field(default=None, max_length=100)
    other_contact: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    summary: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10000)
    complainant_type: ComplainantType | None = None
    product: str | None = Field(default=None, max_length=200)
    lot_number: str | None = Field(default=None, max_length=100)
    order_number: str | None = Field(default=None, max_length=100)
    quantity: int | None = Field(default=None, ge=0, le=1_000_000_000)
    defective_quantity: int | None = Field(default=None, ge=0, le=1_000_000_000)
    delivery_date: date | None = None
    store: str | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    purchase_amount: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    demand: Demand | None = None
    demand_detail: str | None = Field(default=None, max_length=500)
    foreign: bool | None = None


class EditIn(Versioned):
    changes: DetailsIn


class SuggestIn(Schema):
    text: str = Field(..., max_length=10000)


class Ref(Schema):
    code: str
    name: str


class UserRef(Schema):
    username: str
    name: str
    tier: int


class DeadlineOut(Schema):
    kind: str
    label: str
    due_at: datetime
    met_at: datetime | None
    paused: bool
    breached: bool


class TransferOut(Schema):
    id: int
    to_unit: Ref
    to_user: UserRef | None
    new_handler: bool
    reason: str
    by: UserRef
    at: datetime
    cause: str
    countermeasure: str
    answered_by: UserRef | None
    answered_at: datetime | None


class AttachmentOut(Schema):
    id: int
    name: str
    kind: str
    content_type: str
    size: int
    uploaded_at: datetime
    url: str


class ComplaintListItem(Schema):
    number: str
    version: int
    status: str
    status_label: str
    level: int
    level_label: str
    category: Ref
    channel: str
    channel_label: str
    customer_name: str
    contact_phone: str
    summary: str
    received_at: datetime
    owner: UserRef
    unit: Ref
    gm_copy: bool
    bounce_flag: bool
    repeat_of: str | None


class ComplaintOut(ComplaintListItem):
    anonymous: bool
    contact_masked: bool
    other_contact: str
    address: str
    complainant_type: str
    description: str
    product: str
    lot_number: str
    order_number: str
    quantity: int | None
    defective_quantity: int | None
    delivery_date: date | None
    store: str
    region: str
    purchase_amount: Decimal | None
    demand: str
    demand_detail: str
    foreign: bool
    registered_at: datetime
    recorded_by: UserRef
    first_responder: UserRef
    reviewer: UserRef | None
    reviewer_tier: int
    suggested_category: str | None
    suggested_level: int | None
    merged_into: str | None
    transfer_count: int
    valid: bool | None
    company_responsible: bool | None
    validity_reason: str
    resolution: str
    resolution_amount: Decimal | None
    reviewed_by: UserRef | None
    reviewed_at: datetime | None
    accepted_at: datetime | None
    replied_at: datetime | None
    closed_at: datetime | None
    closing_reason: str
    allowed_actions: list[str]
    deadlines: list[DeadlineOut]
    transfers: list[TransferOut]
    attachments: list[AttachmentOut]


class ComplaintPage(Schema):
    items: list[ComplaintListItem]
    next_cursor: str | None


class RegisteredOut(Schema):
    created: bool
    lookup_code: str | None = Field(
        default=None, description="The customer's portal lookup code (R-IN-6), returned once at registration"
    )
    complaint: ComplaintOut


class EventOut(Schema):
    id: int
    kind: str
    label: str
    actor: UserRef | None
    at: datetime
    visibility: str
    body: str
    before: dict[str, Any]
    after: dict[str, Any]
    data: dict[str, Any]


class CategoryOut(Schema):
    code: str
    name: str
    name_en: str
    parent: str | None
    default_level: int
    is_quality: bool
    is_claim: bool
    is_batch: bool


class SuggestionOut(Schema):
    category: Ref | None
    level: int | None
    matched: list[str]


class ContactOut(Schema):
    contact_phone: str
    address: str
    other_contact: str


class PromiseIn(Versioned):
    due_at: datetime | None = Field(default=None, description="Default: 24 hours from now (R-SLA-8)")
    note: str = Field(default="", max_length=5000)


class PlatformResultIn(Versioned):
    result: str = Field(..., max_length=10000)


class PhraseCheckIn(Schema):
    text: str = Field(..., max_length=10000)


class PhraseHitOut(Schema):
    phrase: str
    matched: str
    advice: str
