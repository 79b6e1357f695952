"""Every change to a complaint. Pages, the API, commands and tasks call these; nothing else
writes complaint state (ARCHITECTURE principle 1).

Each action, in one transaction: checks permission and the workflow table (R-WF-1), applies
its change with a conditional UPDATE on ``version`` (R-WF-4), appends timeline events
(R-WF-2) and reschedules deadlines. Arguments are keyword-only with an explicit ``by=``;
``now`` is read once and may be passed by tests.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, router, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kesu.comms import outbox
from kesu.comms.models import Notification
from kesu.lib import inserts
from kesu.lib.errors import Conflict, Forbidden, Invalid
from kesu.lib.phones import InvalidPhone, normalize_phone
from kesu.lib.revisions import Signature, signature_now
from kesu.lib.statements import Slot, Statement, id_slot, time_slot
from kesu.lib.text import clean_text, dice, tokens
from kesu.org.directory import directory, signature_of
from kesu.org.models import Unit, User
from kesu.sla import deadlines

from . import notify, permissions, routing, timeline
from .classification import catalogue, suggest
from .models import (
    ACTION_LABELS,
    LEVEL_3_CHANNELS,
    PAPER_CHANNELS,
    RESUME,
    Category,
    Channel,
    Complaint,
    Customer,
    Event,
    IdempotencyKey,
    Level,
    Status,
    TimelineEvent,
    Transfer,
    TransitionNotAllowed,
    Visibility,
    ensure_transition,
)
from .numbering import next_number
from .search import complaint_tokens

REPEAT_WINDOW = timedelta(days=30)
REPEAT_SIMILARITY = 0.5  # Dice over bigrams; same matter written twice scores well above this
BOUNCE_LIMIT = 3  # R-RT-5: more transfers than this are flagged to tier 2
MAX_BACKDATE = timedelta(days=90)


class ConcurrentChange(Conflict):
    """R-WF-4: someone else changed the complaint since the caller read it."""

    code = "version_conflict"


def refuse_transition(exc: TransitionNotAllowed) -> Conflict:
    return Conflict(
        _("“%(action)s” is not allowed while the complaint is “%(status)s”.")
        % {"action": ACTION_LABELS.get(exc.action, exc.action), "status": Status(exc.status).label},
        field="status",
        code="transition_not_allowed",
    )


def _check(complaint: Complaint, action: str) -> str | None:
    try:
        transition = ensure_transition(complaint.status, action)
    except TransitionNotAllowed as exc:
        raise refuse_transition(exc) from None
    if transition.target == RESUME:
        return complaint.held_from or Status.ACCEPTED
    return transition.target


def _require(allowed: bool) -> None:
    if not allowed:
        raise Forbidden(_("You are not allowed to do this to the complaint."))


def _need_text(value: str, field_name: str, label: str, limit: int = 5000, *, required: bool = True) -> str:
    text = clean_text(value or "")
    if not text and required:
        raise Invalid(_("%(label)s is required.") % {"label": label}, field=field_name)
    if len(text) > limit:
        raise Invalid(
            _("%(label)s may be at most %(limit)d characters.") % {"label": label, "limit": limit},
            field=field_name,
        )
    return text


def _screen(text: str, field_name: str, override_reason: str) -> dict[str, Any]:
    """R-CM-2: a message to the customer with a forbidden phrase is refused, naming the phrases,
    unless the handler sends it anyway with a reason; the hits and the reason are logged."""
    from kesu.comms.phrases import check

    hits = check(text)
    if not hits:
        return {}
    reason = clean_text(override_reason)
    if not reason:
        raise Invalid(
            _("The message contains a forbidden phrase: %(phrases)s. Rephrase it, or give a reason "
              "to send it anyway.") % {"phrases": "、".join(f"“{h.phrase}”" for h in hits)},
            field=field_name, code="forbidden_phrase",
            phrases=[{"phrase": h.phrase, "matched": h.matched, "advice": h.advice} for h in hits],
        )
    return {"forbidden_phrases": [h.phrase for h in hits], "override_reason": reason}


def _save(complaint: Complaint, now: datetime, **changes: Any) -> dict[str, Any]:
    """Apply ``changes`` if nobody changed the complaint since it was read; return the old
    values of the fields that changed."""
    before = {k: getattr(complaint, k) for k in changes}
    updated = Complaint.objects.filter(pk=complaint.pk, version=complaint.version).update(
        **changes, version=F("version") + 1, updated_at=now
    )
    if updated != 1:
        current = Complaint.objects.filter(pk=complaint.pk).values("version", "status").first() or {}
        raise ConcurrentChange(
            _("Complaint %(number)s was changed by someone else (now version %(version)s). "
              "Reload it; your input has been kept.")
            % {"number": complaint.number, "version": current.get("version")},
            field="version",
            current_version=current.get("version"),
        )
    for key, value in changes.items():
        setattr(complaint, key, value)
    complaint.version += 1
    complaint.updated_at = now
    return {k: v for k, v in before.items() if v != changes[k]}


# --- registration ------------------------------------------------------------------------


@dataclass
class Intake:
    """What a clerk records (R-IN-2, R-IN-3). Shape is validated by the schema or form; rules
    that depend on stored data (phone formats, categories, repeats) are checked here."""

    channel: str
    summary: str
    customer_name: str = ""
    anonymous: bool = False
    contact_phone: str = ""
    other_contact: str = ""
    address: str = ""
    description: str = ""
    received_at: datetime | None = None
    category: str | None = None  # category code
    level: int | None = None
    complainant_type: str = "consumer"
    product: str = ""
    lot_number: str = ""
    order_number: str = ""
    quantity: int | None = None
    defective_quantity: int | None = None
    delivery_date: date | None = None
    store: str = ""
    region: str = ""
    purchase_amount: Decimal | None = None
    demand: str = ""
    demand_detail: str = ""
    foreign: bool = False
    unit: str | None = None  # unit code; default: the recorder's first unit
    extra: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        payload = {k: v for k, v in self.__dict__.items() if k != "extra"}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Registered:
    complaint: Complaint
    created: bool  # False when an idempotency key returned an earlier registration


def register(intake: Intake, *, by: User, idempotency_key: str = "", now: datetime | None = None) -> Registered:
    """Register a complaint (登记). R-IN-2…R-IN-8, R-CL-2…R-CL-4, R-RT-2, R-RT-3."""
    now = now or timezone.now()
    _require(permissions.can_register(by))
    if idempotency_key:
        earlier = _replay(by, idempotency_key, intake)
        if earlier is not None:
            return Registered(earlier, created=False)
    try:
        with transaction.atomic():
            complaint = _register(intake, by=by, now=now)
            if idempotency_key:
                IdempotencyKey.objects.create(
                    user=by, key=idempotency_key, request_hash=intake.fingerprint(), complaint=complaint
                )
    except IntegrityError:
        # Two requests with one key raced: the other one committed first and holds the key.
        earlier = _replay(by, idempotency_key, intake) if idempotency_key else None
        if earlier is None:
            raise
        return Registered(earlier, created=False)
    return Registered(complaint, created=True)


def _replay(by: User, key: str, intake: Intake) -> Complaint | None:
    """R-IN-8: the complaint an earlier request with this key created, if any."""
    found = IdempotencyKey.objects.filter(user=by, key=key).select_related("complaint").first()
    if found is None:
        return None
    if found.request_hash != intake.fingerprint():
        raise Conflict(
            _("This idempotency key was already used for a different complaint (%(number)s).")
            % {"number": found.complaint.number},
            field="idempotency_key",
            code="idempotency_key_reused",
        )
    return found.complaint


def _validated_contact(intake: Intake) -> tuple[str, str]:
    name = clean_text(intake.customer_name)
    if not intake.anonymous and not name:
        raise Invalid(_("Enter the customer's name, or mark the complaint anonymous."), field="customer_name")
    phone = ""
    if intake.contact_phone.strip():
        try:
            phone = normalize_phone(intake.contact_phone)
        except InvalidPhone:
            raise Invalid(
                _("“%(phone)s” is not a valid phone number: use an 11-digit mobile (1[3-9]…), "
                  "a landline with area code, or +country code.") % {"phone": intake.contact_phone},
                field="contact_phone",
            ) from None
    if not intake.anonymous and not phone and not clean_text(intake.other_contact):
        raise Invalid(_("Enter a contact phone or another contact for the customer."), field="contact_phone")
    return name, phone


def _received_at(intake: Intake, now: datetime) -> datetime:
    received = intake.received_at or now
    if timezone.is_naive(received):
        received = timezone.make_aware(received)
    if received > now + timedelta(minutes=1):
        raise Invalid(_("The received time cannot be in the future."), field="received_at")
    if received < now - MAX_BACKDATE:
        raise Invalid(_("The received time is more than 90 days ago."), field="received_at")
    if received < now - timedelta(hours=1) and intake.channel not in PAPER_CHANNELS:
        # Only a letter or fax registered late may be back-dated; a call is registered as it comes.
        raise Invalid(_("Only letters and faxes may be registered with an earlier received time."), field="received_at")
    return received


def _unit_for(intake: Intake, by: User, signature: Signature) -> Unit:
    known = directory(signature)
    if intake.unit:
        unit = known.active_units.get(intake.unit)
        if unit is None:
            raise Invalid(_("Unknown unit “%(code)s”.") % {"code": intake.unit}, field="unit")
        # Any unit: staff register what they receive even if another unit caused it (R-IN-5);
        # as first responder they keep seeing it.
        return unit
    units = known.units_of.get(by.pk)
    if not units:
        raise Invalid(_("You belong to no unit; ask an administrator to add you to one."), field="unit")
    return units[0]


def _category(code: str | None, fallback: Category | None, signature: Signature | None = None) -> Category:
    known = catalogue(signature)
    if code:
        category = known.active(code)
        if category is None:
            raise Invalid(_("Unknown category “%(code)s”.") % {"code": code}, field="category")
        return category
    if fallback is not None:
        return fallback
    return known.by_code.get("other") or Category.objects.get(code="other")


# The reads every registration runs, compiled once per process (kesu/lib/statements.py):
# building and compiling each cost more than running it.
_CUSTOMER = Statement(lambda: Customer.objects.filter(phone=Slot("phone")))


def _find_repeat(customer: Customer | None, intake: Intake, text: str, received: datetime) -> Complaint | None:
    """R-IN-7: the same customer, the same matter (order, product or similar text), within 30 days."""
    if customer is None:
        return None
    rows = _EARLIER.rows(customer=customer.pk, since=received - REPEAT_WINDOW, until=received)
    if not rows:
        return None
    # Compare as stored: the earlier complaint's order and product went through clean_text.
    order_number, product = clean_text(intake.order_number), clean_text(intake.product)
    wording = set(tokens(text))
    for row in rows:
        candidate = dict(zip(_REPEAT_COLUMNS, row))
        if ((order_number and candidate["order_number"] == order_number)
                or (product and candidate["product"] == product)
                or dice(wording, set(tokens(f"{candidate['summary']} {candidate['description']}")))
                >= REPEAT_SIMILARITY):
            return Complaint.from_db(router.db_for_read(Complaint), _REPEAT_COLUMNS, row)
    return None


# Only the compared columns (and the number, for the timeline), as plain rows: a frequent
# complainant has dozens of complaints in the window, each some 60 columns wide, and only the
# one found becomes a model instance (as ``.only()`` would have made it). In the model's field
# order, as Model.from_db takes a subset of the columns.
_REPEAT_COLUMNS = [f.attname for f in Complaint._meta.concrete_fields
                   if f.attname in {"id", "number", "order_number", "product", "summary", "description"}]


# Every registration of a known customer asks: compiled once (kesu/lib/statements.py).
_EARLIER = Statement(lambda: Complaint.objects.filter(
    customer_id=id_slot("customer"), received_at__gte=time_slot("since"), received_at__lte=time_slot("until"),
).exclude(status=Status.MERGED).order_by("-received_at", "-id").values_list(*_REPEAT_COLUMNS)[:50])


def intake_details(intake: Intake) -> dict[str, Any]:
    """The complaint fields taken from an intake as they are, text cleaned (R-IN-2/3); also
    what a legacy import writes."""
    return {
        "other_contact": clean_text(intake.other_contact),
        "address": clean_text(intake.address),
        "product": clean_text(intake.product),
        "lot_number": clean_text(intake.lot_number),
        "order_number": clean_text(intake.order_number),
        "quantity": intake.quantity,
        "defective_quantity": intake.defective_quantity,
        "delivery_date": intake.delivery_date,
        "store": clean_text(intake.store),
        "region": clean_text(intake.region),
        "purchase_amount": intake.purchase_amount,
        "demand": intake.demand,
        "demand_detail": clean_text(intake.demand_detail),
        "foreign": intake.foreign,
    }


def _register(intake: Intake, *, by: User, now: datetime) -> Complaint:
    if intake.channel not in Channel.values:
        raise Invalid(_("Unknown channel “%(channel)s”.") % {"channel": intake.channel}, field="channel")
    name, phone = _validated_contact(intake)
    summary = _need_text(intake.summary, "summary", _("Summary"), limit=200)
    description = clean_text(intake.description)
    received = _received_at(intake, now)
    # The organisation, calendar, policies, categories and keyword rules as this process keeps
    # them, checked once for the whole registration (kesu/lib/revisions.py): read with an API
    # token's user (ApiToken.objects.user_for), else now.
    signature = signature_of(by) or signature_now()
    unit = _unit_for(intake, by, signature)
    text = f"{summary} {description}"
    suggestion = suggest(f"{text} {intake.product} {intake.demand_detail}", signature=signature)
    category = _category(intake.category, suggestion.category, signature)
    if intake.level is not None and intake.level not in Level.values:
        raise Invalid(_("Level must be 1, 2 or 3."), field="level")

    customer = None
    if phone:
        # Mostly a known customer: read with the compiled statement, created (race-safe) if not.
        customer = _CUSTOMER.first(phone=phone) or Customer.objects.get_or_create(
            phone=phone, defaults={"name": name, "address": clean_text(intake.address), "created_at": now}
        )[0]
    repeat_of = _find_repeat(customer, intake, text, received)

    # R-CL-3/R-CL-4: the clerk's level (or the suggestion), raised by the category, the
    # channel and a repeat; never lowered by them.
    level = intake.level or suggestion.level or Level.ONE
    reasons: list[str] = []
    if category.default_level > level:
        level = category.default_level
        reasons.append("category")
    if intake.channel in LEVEL_3_CHANNELS and level < Level.THREE:
        level = Level.THREE
        reasons.append("channel")
    if repeat_of is not None and level < Level.TWO:
        level = Level.TWO
        reasons.append("repeat")

    # R-RT-2/R-RT-3: the handler and reviewer the level calls for, and the copy to the GM, are
    # known before the row is written, so they go into its INSERT rather than into UPDATEs
    # after it: the complaint starts at version 1, as the answer to the clerk says. The
    # timeline still records the routing as a change from the clerk (ROUTED, below).
    routed = _routing_changes(unit, level, owner=by, reviewer_id=None, signature=signature)
    gm_copy = _needs_gm_copy(level, category)
    complaint = Complaint(
        number=next_number(now),
        level=level,
        category=category,
        suggested_category=suggestion.category,
        suggested_level=suggestion.level,
        channel=intake.channel,
        customer=customer,
        customer_name=name,
        anonymous=intake.anonymous,
        contact_phone=phone,
        complainant_type=intake.complainant_type,
        summary=summary,
        description=description,
        **intake_details(intake),
        received_at=received,
        registered_at=now,
        recorded_by=by,
        first_responder=by,
        owner=routed.get("owner", by),
        reviewer=routed.get("reviewer"),
        gm_copy=gm_copy,
        unit=unit,
        repeat_of=repeat_of,
        updated_at=now,
    )
    complaint.search_tokens = complaint_tokens(complaint)
    # R-IN-6: a 6-digit lookup code for the portal, sent to the customer with the number. Only
    # its hash is stored (with the row, not by a second write); the plain code exists in the
    # acknowledgement and the answer to the clerk who registered it (to read out on the phone).
    lookup_code = _lookup_code()
    complaint.lookup_code_hash = hash_lookup_code(complaint.number, lookup_code)
    inserts.create([complaint])
    # The registration's events in one INSERT, in the order they happen (R-WF-2); their
    # notifications in another, in the same order as when each was written on its own.
    events = [timeline.event(
        complaint, Event.REGISTERED, by=by, at=now,
        after={"status": complaint.status, "level": level, "category": category.code,
               "channel": complaint.channel, "owner": by.pk},
        suggested_category=suggestion.category.code if suggestion.category else None,
        suggested_level=suggestion.level, matched_keywords=suggestion.matched,
        level_raised_by=reasons,
    )]
    if repeat_of is not None:
        events.append(timeline.event(complaint, Event.REPEAT_LINKED, by=by, at=now, repeat_of=repeat_of.number))
        # For the answer (present.repeat_number), which would otherwise read it back.
        complaint.repeat_of_number = repeat_of.number
    routed_event = None
    if routed:
        before = {"owner": by, "reviewer": None}
        routed_event = _routed_event(complaint, by=by, now=now, reason=_("Level routing at registration"),
                                     before={k: before[k] for k in routed}, after=routed)
        events.append(routed_event)
    gm_data = {"level": complaint.level, "category": complaint.category.code}
    gm_event = timeline.event(complaint, Event.GM_COPIED, by=by, at=now, **gm_data) if gm_copy else None
    if gm_event is not None:
        events.append(gm_event)
    timeline.record_all(events)
    messages: list[Notification] = []
    if routed_event is not None:
        _notify_routed(complaint, routed, event=routed_event, now=now, into=messages)
    if gm_event is not None:
        notify.gm_copied(complaint, event=gm_event, data=gm_data, now=now, into=messages, signature=signature)
    # Kept for the answer to the clerk, which shows them: no need to read them back; files
    # come afterwards, each by its own upload.
    complaint.new_deadlines = deadlines.schedule(complaint, now=now, new=True, signature=signature)
    complaint.has_attachments = False
    notify.acknowledge(complaint, lookup_code=lookup_code, now=now, into=messages)
    outbox.write(messages)
    complaint.lookup_code = lookup_code
    return complaint


def _lookup_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def hash_lookup_code(number: str, code: str) -> str:
    return hashlib.sha256(f"{number}:{code}".encode()).hexdigest()


# --- routing helpers (R-RT-2, R-RT-3) ------------------------------------------------------


def _routing_changes(unit: Unit, level: int, *, owner: User, reviewer_id: int | None,
                     signature: Signature | None = None) -> dict[str, User]:
    """The handler and reviewer the level calls for, where they differ from the present ones.
    The handler only ever moves up a tier here; a level-1 handler keeps it at level 1."""
    need, review = routing.handler_tier(level), routing.review_tier(level)
    moves_up = owner.tier < need
    found = routing.nearest_users(unit, (need, review) if moves_up and need != review else (review,),
                                  signature=signature)
    changes: dict[str, User] = {}
    if moves_up:
        target = found[need]
        if target is not None and target.pk != owner.pk:
            changes["owner"] = target
    reviewer = found[review]
    if reviewer is not None and reviewer.pk != reviewer_id:
        changes["reviewer"] = reviewer
    return changes


def _route(complaint: Complaint, *, by: User, now: datetime, reason: str) -> None:
    """Put the complaint with the handler and reviewer its level calls for."""
    changes = _routing_changes(complaint.unit, complaint.level, owner=complaint.owner,
                               reviewer_id=complaint.reviewer_id)
    if not changes:
        return
    before = _save(complaint, now, **changes)
    after = {k: v for k, v in changes.items() if k in before}
    event = timeline.record_all([_routed_event(complaint, by=by, now=now, reason=reason, before=before,
                                               after=after)])[0]
    _notify_routed(complaint, after, event=event, now=now)


def _routed_event(complaint: Complaint, *, by: User, now: datetime, reason: str,
                  before: dict[str, Any], after: dict[str, User]) -> TimelineEvent:
    return timeline.event(complaint, Event.ROUTED, by=by, at=now, body=reason, before=before,
                          after=after, level=complaint.level)


def _notify_routed(complaint: Complaint, after: dict[str, User], *, event: TimelineEvent, now: datetime,
                   into: list[Notification] | None = None) -> None:
    """The new handler and reviewer each hear of the routing (R-RT-2)."""
    for key in ("owner", "reviewer"):
        if key in after:
            notify.assigned(complaint, after[key], event=event, now=now, into=into)


def _needs_gm_copy(level: int, category: Category) -> bool:
    """R-RT-3: batch, claim and level-3 complaints are copied to the GM."""
    return level == Level.THREE or category.is_claim or category.is_batch


def _flag_gm_copy(complaint: Complaint, *, by: User, now: datetime) -> None:
    if _needs_gm_copy(complaint.level, complaint.category) and not complaint.gm_copy:
        _save(complaint, now, gm_copy=True)
        notify.copy_gm(complaint, by=by, now=now, level=complaint.level,
                        category=complaint.category.code)


def _lock(complaint: Complaint) -> None:
    """Fail fast with a conflict if the caller's copy is stale (R-WF-4)."""
    current = Complaint.objects.filter(pk=complaint.pk).values_list("version", flat=True).first()
    if current != complaint.version:
        raise ConcurrentChange(
            _("Complaint %(number)s was changed by someone else (now version %(version)s). "
              "Reload it; your input has been kept.")
            % {"number": complaint.number, "version": current},
            field="version",
            current_version=current,
        )


# --- handling ------------------------------------------------------------------------------


def _step(
    complaint: Complaint, action: str, event: Event, *, by: User, now: datetime | None,
    allowed: bool, body: str = "", visibility: Visibility = Visibility.INTERNAL,
    event_data: dict[str, Any] | None = None, **changes: Any,
) -> Complaint:
    """The common shape of a state change: check, save conditionally, record, reschedule."""
    now = now or timezone.now()
    target = _check(complaint, action)
    _require(allowed)
    with transaction.atomic():
        if target is not None:
            changes["status"] = target
        before = _save(complaint, now, **changes)
        recorded = timeline.record(complaint, event, by=by, at=now, body=body, visibility=visibility,
                                   before=before, after={k: changes[k] for k in before}, **(event_data or {}))
        if visibility == Visibility.CUSTOMER:
            notify.customer_message(complaint, event=recorded, now=now)
        if complaint.gm_copy and target is not None:
            notify.copy_gm(complaint, by=by, now=now, status=target)
        deadlines.schedule(complaint, now=now)
    return complaint


def accept(complaint: Complaint, *, by: User, note: str = "", now: datetime | None = None) -> Complaint:
    """受理: the handler has made first contact with the customer (R-SLA-1)."""
    now = now or timezone.now()
    return _step(complaint, "accept", Event.ACCEPTED, by=by, now=now,
                 allowed=permissions.can_handle(by, complaint), body=clean_text(note), accepted_at=now)


def investigate(complaint: Complaint, *, by: User, note: str = "", now: datetime | None = None) -> Complaint:
    return _step(complaint, "investigate", Event.INVESTIGATION_STARTED, by=by, now=now,
                 allowed=permissions.can_handle(by, complaint), body=clean_text(note))


def judge(
    complaint: Complaint, *, by: User, valid: bool, company_responsible: bool | None, reason: str,
    now: datetime | None = None,
) -> Complaint:
    """R-CL-5: valid or invalid, and whether the company is responsible, with the reasoning."""
    reason = _need_text(reason, "reason", _("Reason"))
    allowed = permissions.can_investigate(by, complaint)
    _agree_with_investigation(complaint, company_responsible)
    return _step(complaint, "judge", Event.JUDGED, by=by, now=now, allowed=allowed, body=reason,
                 valid=valid, company_responsible=company_responsible, validity_reason=reason)


def _agree_with_investigation(complaint: Complaint, company_responsible: bool | None) -> None:
    """The investigation's finding of who is responsible (R-IV-1) decides "company responsible";
    a judgement saying otherwise is refused rather than left to contradict it."""
    from kesu.quality.models import Investigation, Responsibility

    found = Investigation.objects.filter(complaint=complaint).values_list("responsibility", flat=True).first()
    if found is None or company_responsible is None:
        return
    if company_responsible != (found == Responsibility.COMPANY):
        raise Invalid(_("The investigation found: %(who)s. Correct the investigation to change who is responsible.")
                      % {"who": Responsibility(found).label}, field="company_responsible")


def propose(
    complaint: Complaint, *, by: User, resolution: str, amount: Decimal | None = None,
    now: datetime | None = None,
) -> Complaint:
    text = _need_text(resolution, "resolution", _("Resolution"))
    if amount is not None and amount < 0:
        raise Invalid(_("The amount cannot be negative."), field="amount")
    return _step(complaint, "propose", Event.RESOLUTION_PROPOSED, by=by, now=now,
                 allowed=permissions.can_handle(by, complaint), body=text,
                 resolution=text, resolution_amount=amount)


def request_approval(complaint: Complaint, *, by: User, note: str = "", now: datetime | None = None) -> Complaint:
    return _step(complaint, "request_approval", Event.APPROVAL_REQUESTED, by=by, now=now,
                 allowed=permissions.can_handle(by, complaint), body=clean_text(note))


def approve(complaint: Complaint, *, by: User, note: str = "", now: datetime | None = None) -> Complaint:
    return _step(complaint, "approve", Event.APPROVED, by=by, now=now,
                 allowed=permissions.can_approve(by), body=clean_text(note))


def reject(complaint: Complaint, *, by: User, reason: str, now: datetime | None = None) -> Complaint:
    reason = _need_text(reason, "reason", _("Reason"))
    return _step(complaint, "reject", Event.REJECTED, by=by, now=now,
                 allowed=permissions.can_approve(by), body=reason)


def resolve(complaint: Complaint, *, by: User, note: str = "", now: datetime | None = None) -> Complaint:
    """Carry out a resolution that needs no approval."""
    return _step(complaint, "resolve", Event.RESOLUTION_STARTED, by=by, now=now,
                 allowed=permissions.can_handle(by, complaint), body=clean_text(note))


def reply(
    complaint: Complaint, *, by: User, message: str, override_reason: str = "", now: datetime | None = None,
) -> Complaint:
    """回复: the written answer to the customer (customer-visible)."""
    now = now or timezone.now()
    text = _need_text(message, "message", _("Reply"))
    _check(complaint, "reply")
    screened = _screen(text, "message", override_reason)
    return _step(complaint, "reply", Event.REPLIED, by=by, now=now,
                 allowed=permissions.can_handle(by, complaint), body=text,
                 visibility=Visibility.CUSTOMER, event_data=screened, replied_at=now)


def start_follow_up(complaint: Complaint, *, by: User, note: str = "", now: datetime | None = None) -> Complaint:
    return _step(complaint, "start_follow_up", Event.FOLLOW_UP_STARTED, by=by, now=now,
                 allowed=permissions.can_handle(by, complaint), body=clean_text(note))


def review(complaint: Complaint, *, by: User, note: str = "", now: datetime | None = None) -> Complaint:
    """R-RT-2: the level's reviewer tier signs off before the complaint is archived."""
    now = now or timezone.now()
    return _step(complaint, "review", Event.REVIEWED, by=by, now=now,
                 allowed=permissions.can_review(by, complaint), body=clean_text(note),
                 reviewed_by=by, reviewed_at=now)


def close(complaint: Complaint, *, by: User, reason: str, now: datetime | None = None) -> Complaint:
    """结案. Needs the reviewer's sign-off for the current level (R-RT-2) and, for a valid
    complaint, the four no-lets-go (R-IV-6, ``kesu.followups.closure``)."""
    from kesu.followups import closure

    now = now or timezone.now()
    reason = _need_text(reason, "reason", _("Closing reason"))
    _check(complaint, "close")
    if complaint.reviewed_at is None or complaint.reviewed_by is None or (
        complaint.reviewed_by.tier < complaint.reviewer_tier
    ):
        raise Conflict(
            _("A tier-%(tier)d reviewer must sign off before this complaint can be closed.")
            % {"tier": complaint.reviewer_tier},
            field="reviewed_by", code="review_required",
        )
    closure.ensure_closable(complaint, now=now)
    return _step(complaint, "close", Event.CLOSED, by=by, now=now,
                 allowed=permissions.can_handle(by, complaint), body=reason,
                 closing_reason=reason, closed_at=now)


def reopen(complaint: Complaint, *, by: User, reason: str, now: datetime | None = None) -> Complaint:
    """A new handling round; the history stays and the review must be given again. Survey
    links of the old round stop working (``kesu.followups.closure.on_reopen``)."""
    from kesu.followups import closure

    now = now or timezone.now()
    reason = _need_text(reason, "reason", _("Reason"))
    with transaction.atomic():
        _step(complaint, "reopen", Event.REOPENED, by=by, now=now,
              allowed=permissions.can_handle(by, complaint), body=reason,
              closed_at=None, reviewed_at=None, reviewed_by=None, closing_reason="")
        closure.on_reopen(complaint, now=now)
    return complaint


def hold(complaint: Complaint, *, by: User, reason: str, now: datetime | None = None) -> Complaint:
    """Waiting for the customer: the clocks stop (R-SLA-10)."""
    reason = _need_text(reason, "reason", _("Reason"))
    return _step(complaint, "hold", Event.HELD, by=by, now=now,
                 allowed=permissions.can_handle(by, complaint), body=reason,
                 held_from=complaint.status)


def resume(complaint: Complaint, *, by: User, note: str = "", now: datetime | None = None) -> Complaint:
    return _step(complaint, "resume", Event.RESUMED, by=by, now=now,
                 allowed=permissions.can_handle(by, complaint), body=clean_text(note), held_from="")


def mark_invalid(
    complaint: Complaint, *, by: User, reason: str, reply: str, override_reason: str = "",
    now: datetime | None = None,
) -> Complaint:
    """R-CL-5: an invalid complaint still gets a reasoned reply, sent with the decision."""
    now = now or timezone.now()
    reason = _need_text(reason, "reason", _("Reason"))
    answer = _need_text(reply, "reply", _("Reply"))
    _check(complaint, "mark_invalid")
    screened = _screen(answer, "reply", override_reason)
    _require(permissions.can_handle(by, complaint))
    with transaction.atomic():
        _step(complaint, "mark_invalid", Event.MARKED_INVALID, by=by, now=now, allowed=True,
              body=reason, valid=False, validity_reason=reason, replied_at=now)
        replied = timeline.record(complaint, Event.REPLIED, by=by, at=now, body=answer,
                                  visibility=Visibility.CUSTOMER, **screened)
        notify.customer_message(complaint, event=replied, now=now)
    return complaint


def _append(complaint: Complaint, action: str, event: Event, *, by: User, now: datetime | None,
            allowed: bool, body: str, visibility: Visibility, **data: Any) -> Complaint:
    """Notes and messages only append to the timeline: they change no field, so they need no
    version and never make a colleague's open form stale."""
    now = now or timezone.now()
    _check(complaint, action)
    _require(allowed)
    with transaction.atomic():
        recorded = timeline.record(complaint, event, by=by, at=now, body=body, visibility=visibility, **data)
        if visibility == Visibility.CUSTOMER:
            notify.customer_message(complaint, event=recorded, now=now)
            deadlines.schedule(complaint, now=now)  # a contact meets or rolls contact limits
    return complaint


def note(complaint: Complaint, *, by: User, text: str, now: datetime | None = None) -> Complaint:
    """An internal note: never shown to the customer (R-WF-3)."""
    body = _need_text(text, "text", _("Note"))
    return _append(complaint, "note", Event.NOTE_ADDED, by=by, now=now,
                   allowed=permissions.can_note(by), body=body, visibility=Visibility.INTERNAL)


def message(
    complaint: Complaint, *, by: User, text: str, override_reason: str = "", now: datetime | None = None,
) -> Complaint:
    """A message to the customer, marked customer-visible (R-WF-3), screened for forbidden
    phrases (R-CM-2)."""
    body = _need_text(text, "text", _("Message"))
    _check(complaint, "message")
    screened = _screen(body, "text", override_reason)
    return _append(complaint, "message", Event.MESSAGE_SENT, by=by, now=now,
                   allowed=permissions.can_handle(by, complaint), body=body,
                   visibility=Visibility.CUSTOMER, **screened)


# --- level, classification and transfers ---------------------------------------------------


def classify(
    complaint: Complaint, *, by: User, category: str | None = None, level: int | None = None,
    reason: str = "", now: datetime | None = None,
) -> Complaint:
    """R-CL-2: the handler confirms or changes the suggested category and level; the change is
    recorded. Raising goes through ``escalate``'s rules; lowering needs tier 2 (R-CL-4)."""
    now = now or timezone.now()
    _check(complaint, "classify")
    _require(permissions.can_handle(by, complaint))
    new_category = _category(category, complaint.category) if category else complaint.category
    new_level = complaint.level if level is None else level
    if new_level not in Level.values:
        raise Invalid(_("Level must be 1, 2 or 3."), field="level")
    if new_level < complaint.level:
        return lower_level(complaint, by=by, level=new_level, reason=reason, now=now,
                           category=new_category)
    with transaction.atomic():
        before = _save(complaint, now, category=new_category, level=max(new_level, new_category.default_level))
        timeline.record(complaint, Event.CLASSIFIED, by=by, at=now, body=clean_text(reason),
                        before=before, after={k: getattr(complaint, k) for k in before},
                        confirmed=not before)
        if "level" in before:
            _route(complaint, by=by, now=now, reason=_("Level routing after classification"))
        _flag_gm_copy(complaint, by=by, now=now)
        deadlines.schedule(complaint, now=now, raised="level" in before)
    return complaint


def escalate(complaint: Complaint, *, by: User, reason: str, now: datetime | None = None) -> Complaint:
    """R-WF-5: one level up, re-routed, deadlines recomputed; a reason is required."""
    now = now or timezone.now()
    reason = _need_text(reason, "reason", _("Reason"))
    _check(complaint, "escalate")
    _require(permissions.can_handle(by, complaint) or permissions.can_note(by) and complaint.first_responder_id == by.pk)
    if complaint.level >= Level.THREE:
        raise Conflict(_("The complaint is already at the highest level."), field="level", code="already_highest")
    with transaction.atomic():
        before = _save(complaint, now, level=complaint.level + 1, reviewed_at=None, reviewed_by=None)
        timeline.record(complaint, Event.ESCALATED, by=by, at=now, body=reason,
                        before={"level": before["level"]}, after={"level": complaint.level})
        _route(complaint, by=by, now=now, reason=_("Level routing after escalation"))
        _flag_gm_copy(complaint, by=by, now=now)
        deadlines.schedule(complaint, now=now, raised=True)
    return complaint


def lower_level(
    complaint: Complaint, *, by: User, level: int, reason: str, now: datetime | None = None,
    category: Category | None = None,
) -> Complaint:
    """R-CL-4: a level is never silently lowered; a tier-2 user does it with a reason. The
    automatic floors (channel, repeat, category) still hold."""
    now = now or timezone.now()
    _check(complaint, "lower_level")
    if not permissions.can_lower_level(by):
        raise Forbidden(_("Only a tier-2 user or above may lower a complaint's level."), field="level")
    reason = _need_text(reason, "reason", _("Reason"))
    if level >= complaint.level:
        raise Invalid(
            _("Choose a level below the current level %(level)d; to raise it, escalate.")
            % {"level": complaint.level},
            field="level",
        )
    category = category or complaint.category
    floor = category.default_level
    if complaint.channel in LEVEL_3_CHANNELS:
        floor = Level.THREE
    elif complaint.repeat_of_id:
        floor = max(floor, Level.TWO)
    if level < floor:
        raise Invalid(
            _("This complaint cannot go below level %(level)d (channel, repeat or category rule).")
            % {"level": floor},
            field="level",
        )
    with transaction.atomic():
        before = _save(complaint, now, level=level, category=category)
        timeline.record(complaint, Event.LEVEL_LOWERED, by=by, at=now, body=reason, before=before,
                        after={k: getattr(complaint, k) for k in before})
        _route(complaint, by=by, now=now, reason=_("Level routing after the level was lowered"))
        deadlines.schedule(complaint, now=now)
    return complaint


def transfer(
    complaint: Complaint, *, by: User, to_unit: Unit, reason: str, to_user: User | None = None,
    new_handler: bool = False, now: datetime | None = None,
) -> Transfer:
    """R-RT-4: send the complaint to a responsible unit for investigation and countermeasures.
    The handler stays accountable unless ``new_handler`` hands the complaint to ``to_user``
    (R-IN-5: the handler changes only with a reason on the timeline). R-RT-5 flags bouncing."""
    now = now or timezone.now()
    reason = _need_text(reason, "reason", _("Reason"))
    _check(complaint, "transfer")
    _require(permissions.can_handle(by, complaint))
    if to_user is not None and not to_user.units.filter(pk=to_unit.pk).exists():
        raise Invalid(_("%(user)s is not a member of %(unit)s.") % {"user": to_user, "unit": to_unit}, field="to_user")
    if new_handler and to_user is None:
        raise Invalid(_("Choose the person who becomes the handler."), field="to_user")
    if new_handler and to_user is not None and (not to_user.is_active or to_user.is_read_only):
        raise Invalid(_("%(user)s cannot handle complaints.") % {"user": to_user}, field="to_user")
    with transaction.atomic():
        changes: dict[str, Any] = {"transfer_count": complaint.transfer_count + 1}
        if new_handler and to_user is not None:
            changes["owner"] = to_user
        before = _save(complaint, now, **changes)
        row = Transfer.objects.create(complaint=complaint, to_unit=to_unit, to_user=to_user,
                                      new_handler=new_handler, reason=reason, by=by, at=now)
        transferred = timeline.record(complaint, Event.TRANSFERRED, by=by, at=now, body=reason, before=before,
                                      after={k: changes[k] for k in before}, to_unit=to_unit.code,
                                      to_user=to_user.pk if to_user else None, transfer=row.pk)
        if to_user is not None:
            notify.assigned(complaint, to_user, event=transferred, now=now)
        if complaint.transfer_count > BOUNCE_LIMIT and not complaint.bounce_flag:
            _save(complaint, now, bounce_flag=True)
            manager = routing.nearest_user(complaint.unit, 2)
            timeline.record(complaint, Event.BOUNCE_FLAGGED, by=by, at=now,
                            transfers=complaint.transfer_count, manager=manager.pk if manager else None)
        if complaint.gm_copy:
            notify.copy_gm(complaint, by=by, now=now, transfer=row.pk)
        deadlines.schedule(complaint, now=now)
    return row


def answer(
    complaint: Complaint, *, by: User, transfer_id: int, cause: str, countermeasure: str,
    now: datetime | None = None,
) -> Transfer:
    """R-RT-4: the responsible unit answers with cause and countermeasure on the same record."""
    now = now or timezone.now()
    _check(complaint, "answer")
    row = Transfer.objects.filter(pk=transfer_id, complaint=complaint).select_related("to_unit").first()
    if row is None:
        raise Invalid(_("This complaint has no such transfer."), field="transfer_id")
    if row.answered_at is not None:
        raise Conflict(_("This transfer has already been answered."), field="transfer_id", code="already_answered")
    _require(permissions.can_answer(by, complaint, {row.to_unit_id}))
    cause = _need_text(cause, "cause", _("Cause"))
    countermeasure = _need_text(countermeasure, "countermeasure", _("Countermeasure"))
    with transaction.atomic():
        _save(complaint, now)
        claimed = Transfer.objects.filter(pk=row.pk, answered_at=None).update(
            cause=cause, countermeasure=countermeasure, answered_by=by, answered_at=now
        )
        if claimed != 1:
            raise Conflict(_("This transfer has already been answered."), field="transfer_id", code="already_answered")
        timeline.record(complaint, Event.ANSWERED, by=by, at=now, body=countermeasure, transfer=row.pk,
                        unit=row.to_unit.code, cause=cause)
        deadlines.schedule(complaint, now=now)
    row.refresh_from_db()
    return row


def merge(complaint: Complaint, *, by: User, into: Complaint, reason: str, now: datetime | None = None) -> Complaint:
    """R-WF-6: a duplicate keeps its number and points to the survivor."""
    now = now or timezone.now()
    reason = _need_text(reason, "reason", _("Reason"))
    _check(complaint, "merge")
    if into.pk == complaint.pk:
        raise Invalid(_("A complaint cannot be merged into itself."), field="into")
    if into.status in (Status.MERGED, Status.CLOSED):
        raise Conflict(_("Complaint %(number)s is %(status)s and cannot take a merge.")
                       % {"number": into.number, "status": into.get_status_display()},
                       field="into", code="survivor_finished")
    _require(permissions.can_handle(by, complaint) and permissions.can_handle(by, into))
    with transaction.atomic():
        # Lock both rows in id order so two opposite merges cannot deadlock.
        list(Complaint.objects.select_for_update().filter(pk__in=[complaint.pk, into.pk]).order_by("pk"))
        _lock(into)
        before = _save(complaint, now, status=Status.MERGED, merged_into=into)
        timeline.record(complaint, Event.MERGED, by=by, at=now, body=reason, before=before,
                        after={"status": Status.MERGED, "merged_into": into.pk}, into=into.number)
        _save(into, now)
        timeline.record(into, Event.MERGE_RECEIVED, by=by, at=now, body=reason, duplicate=complaint.number)
        deadlines.schedule(complaint, now=now)
    return complaint


EDITABLE = (
    "customer_name", "other_contact", "address", "summary", "description", "product", "lot_number",
    "order_number", "quantity", "defective_quantity", "delivery_date", "store", "region",
    "purchase_amount", "demand", "demand_detail", "foreign", "complainant_type",
)


def edit(complaint: Complaint, *, by: User, changes: dict[str, Any], now: datetime | None = None) -> Complaint:
    """Correct the details (R-IN-3). Each edit is a timeline event with before and after."""
    now = now or timezone.now()
    _check(complaint, "edit")
    _require(permissions.can_handle(by, complaint))
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        name = min(unknown)
        raise Invalid(_("“%(field)s” cannot be edited.") % {"field": name}, field=name)
    clean = {k: clean_text(v) if isinstance(v, str) else v for k, v in changes.items()}
    if "summary" in clean:
        clean["summary"] = _need_text(clean["summary"], "summary", _("Summary"), limit=200)
    with transaction.atomic():
        before = _save(complaint, now, **clean)
        if before:
            Complaint.objects.filter(pk=complaint.pk).update(search_tokens=complaint_tokens(complaint))
            timeline.record(complaint, Event.EDITED, by=by, at=now, before=before,
                            after={k: clean[k] for k in before})
    return complaint


def reveal_contact(complaint: Complaint, *, by: User, now: datetime | None = None) -> dict[str, str]:
    """R-AX-2: the full phone and address, for roles whose work needs them; every view is logged."""
    now = now or timezone.now()
    if not permissions.can_see_contact(by, complaint):
        raise Forbidden(_("Your role may not see customers' full contact details."))
    timeline.record(complaint, Event.CONTACT_REVEALED, by=by, at=now)
    return {"contact_phone": complaint.contact_phone, "address": complaint.address,
            "other_contact": complaint.other_contact}


# --- time limits (SPEC section 4) ---------------------------------------------------------

PROMISE_DEFAULT = timedelta(hours=24)
PROMISE_MAX = timedelta(days=30)


def promise_reply(
    complaint: Complaint, *, by: User, due_at: datetime | None = None, note: str = "",
    now: datetime | None = None,
) -> Complaint:
    """R-SLA-8: a handler who cannot answer on the spot records when they will; the promise
    becomes a deadline, met by the next message or reply to the customer."""
    from kesu.sla.models import Policy

    now = now or timezone.now()
    _check(complaint, "promise")
    _require(permissions.can_handle(by, complaint))
    if due_at is None:
        policy = Policy.objects.filter(kind="promised_reply", active=True).order_by("id").first()
        due_at = now + (timedelta(hours=float(policy.hours)) if policy else PROMISE_DEFAULT)
    if timezone.is_naive(due_at):
        due_at = timezone.make_aware(due_at)
    if due_at <= now:
        raise Invalid(_("The promised reply time must be in the future."), field="due_at")
    if due_at > now + PROMISE_MAX:
        raise Invalid(_("The promised reply time may be at most 30 days ahead."), field="due_at")
    with transaction.atomic():
        _save(complaint, now)
        deadlines.promise(complaint, due_at=due_at, now=now)
        timeline.record(complaint, Event.REPLY_PROMISED, by=by, at=now, body=clean_text(note), due_at=due_at)
    return complaint


def report_platform_result(complaint: Complaint, *, by: User, result: str, now: datetime | None = None) -> Complaint:
    """R-SLA-11: the handling result of a complaint transferred from 12315, recorded for
    reporting back to the platform."""
    now = now or timezone.now()
    text = _need_text(result, "result", _("Handling result"))
    _check(complaint, "report_platform_result")
    _require(permissions.can_handle(by, complaint))
    if complaint.channel != Channel.TRANSFER_12315:
        raise Conflict(_("Only complaints transferred from 12315 report a result to the platform."),
                       field="channel", code="not_from_12315")
    with transaction.atomic():
        before = _save(complaint, now, platform_result_at=now)
        timeline.record(complaint, Event.PLATFORM_RESULT_REPORTED, by=by, at=now, body=text,
                        before=before, after={"platform_result_at": now})
        deadlines.schedule(complaint, now=now)
    return complaint


def escalate_for_breach(complaint: Complaint, *, deadline_kind: str, now: datetime) -> Complaint:
    """R-SLA-9: 4 working hours after a breach the complaint goes up one tier — one level up,
    re-routed like any escalation. A level-3 complaint is already with tier 3: the escalation
    is recorded and the GM copied. Called by the sweep; the actor is the system."""
    with transaction.atomic():
        if complaint.level < Level.THREE:
            before = _save(complaint, now, level=complaint.level + 1, reviewed_at=None, reviewed_by=None)
            timeline.record(complaint, Event.ESCALATED, by=None, at=now, before={"level": before["level"]},
                            after={"level": complaint.level}, cause="breach", deadline=deadline_kind)
            _route(complaint, by=None, now=now, reason=_("Level routing after a missed time limit"))
        else:
            _save(complaint, now)
            timeline.record(complaint, Event.ESCALATED, by=None, at=now, cause="breach",
                            deadline=deadline_kind, level=complaint.level)
        _flag_gm_copy(complaint, by=None, now=now)
        if complaint.level == Level.THREE:
            notify.copy_gm(complaint, by=None, now=now, cause="breach")
        deadlines.schedule(complaint, now=now, raised=True)
    return complaint
