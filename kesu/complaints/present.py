"""Turning complaints into what a user may see: masking (R-AX-2), labels, allowed actions.
Shared by the API and the pages so both show the same thing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django.db import models
from django.urls import reverse
from django.utils import timezone

from kesu.lib.phones import mask_address, mask_phone
from kesu.lib.statements import Statement, id_slot
from kesu.org.models import User
from kesu.sla.models import Deadline, DeadlineKind

from . import permissions
from .models import (
    Attachment,
    Channel,
    Complaint,
    Event,
    Level,
    Status,
    TimelineEvent,
    Transfer,
    allowed_actions,
)

# Actions a user must be able to handle the complaint for; the rest are checked in actions.
_HANDLER_ACTIONS = {
    "accept", "investigate", "propose", "request_approval", "resolve", "reply", "start_follow_up",
    "close", "reopen", "hold", "resume", "mark_invalid", "merge", "escalate", "classify",
    "transfer", "message", "edit", "judge", "promise", "report_platform_result",
    "record_follow_up", "send_survey", "waive_follow_up",
}
_QUALITY_ACTIONS = {"record_investigation", "open_capa", "link_capa"}


def choice_label(choices: type[models.TextChoices], value: str) -> str:
    """``get_FOO_display()`` without its cost (it rebuilds the field's choice map on every call:
    0.2 ms, times every event of a timeline); an unknown value shows as itself, as there."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def user_ref(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"username": user.username, "name": user.name, "tier": user.tier}


def actions_for(user: User, complaint: Complaint) -> list[str]:
    """What the user may do now: the workflow table intersected with their permissions."""
    out = []
    for action in allowed_actions(complaint.status):
        if action in _HANDLER_ACTIONS and not permissions.can_handle(user, complaint):
            continue
        if action in _QUALITY_ACTIONS and not permissions.can_investigate(user, complaint):
            continue
        if action == "review" and not permissions.can_review(user, complaint):
            continue
        if action in {"approve", "reject"} and not permissions.can_approve(user):
            continue
        if action == "lower_level" and (complaint.level == Level.ONE or not permissions.can_lower_level(user)):
            continue
        if action in {"note", "attach", "answer"} and user.is_read_only:
            continue
        if action == "escalate" and complaint.level == Level.THREE:
            continue
        if action == "report_platform_result" and complaint.channel != Channel.TRANSFER_12315:
            continue
        out.append(action)
    return out


def repeat_number(c: Complaint) -> str | None:
    """The number of the complaint ``c`` repeats; lists read them for a whole page at once
    (``queries.with_repeat_numbers``)."""
    if not c.repeat_of_id:
        return None
    if hasattr(c, "repeat_of_number"):
        return c.repeat_of_number
    return Complaint.objects.filter(pk=c.repeat_of_id).values_list("number", flat=True).first()


def list_item(c: Complaint, user: User) -> dict[str, Any]:
    return {
        "number": c.number,
        "version": c.version,
        "status": c.status,
        "status_label": str(Status(c.status).label),
        "level": c.level,
        "level_label": str(Level(c.level).label),
        "category": {"code": c.category.code, "name": c.category.label},
        "channel": c.channel,
        "channel_label": str(Channel(c.channel).label),
        "customer_name": c.customer_name,
        # Lists are always masked: they are read over shoulders and exported; the full number
        # is one logged click away (R-AX-2).
        "contact_phone": mask_phone(c.contact_phone),
        "summary": c.summary,
        "received_at": c.received_at,
        "owner": user_ref(c.owner),
        "unit": {"code": c.unit.code, "name": c.unit.name},
        "gm_copy": c.gm_copy,
        "bounce_flag": c.bounce_flag,
        "repeat_of": repeat_number(c),
    }


# Read for every complaint shown: compiled once (kesu/lib/statements.py). The deadlines as the
# four values a row shows: a deadline row has some ten moments, and reading them all for six
# rows was a tenth of a lookup's time.
_DEADLINES = Statement(lambda: Deadline.objects.filter(complaint_id=id_slot("complaint"), cancelled_at=None)
                       .order_by("due_at", "id").values_list("kind", "due_at", "met_at", "paused_at"))
_ATTACHMENTS = Statement(lambda: Attachment.objects.filter(complaint_id=id_slot("complaint")))


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # SQLite's: UTC


def deadline_rows(c: Complaint, now: datetime) -> list[dict[str, Any]]:
    # A complaint registered in this request carries the rows it was given (actions.register);
    # one looked up by number, their values in JSON (queries.access_complaint).
    fresh = getattr(c, "new_deadlines", None)
    given = getattr(c, "deadline_values", False)
    # By limit, then by id: several limits can fall due at the same moment.
    if fresh is not None:
        rows = [(d.kind, d.due_at, d.met_at, d.paused_at) for d in sorted(fresh, key=lambda d: (d.due_at, d.pk or 0))]
    elif given is not False:
        read = sorted((_moment(due), pk, kind, _moment(met), _moment(paused))
                      for pk, kind, due, met, paused in json.loads(given or "[]"))
        rows = [(kind, due, met, paused) for due, _pk, kind, met, paused in read]
    else:
        rows = _DEADLINES.rows(complaint=c.pk)
    return [
        {
            "kind": kind,
            "label": choice_label(DeadlineKind, kind),
            "due_at": due_at,
            "met_at": met_at,
            "paused": paused_at is not None,
            "breached": (met_at or now) > due_at if paused_at is None else paused_at > due_at,
        }
        for kind, due_at, met_at, paused_at in rows
    ]


def transfer_row(t: Transfer) -> dict[str, Any]:
    return {
        "id": t.pk, "to_unit": {"code": t.to_unit.code, "name": t.to_unit.name},
        "to_user": user_ref(t.to_user), "new_handler": t.new_handler, "reason": t.reason,
        "by": user_ref(t.by), "at": t.at, "cause": t.cause, "countermeasure": t.countermeasure,
        "answered_by": user_ref(t.answered_by), "answered_at": t.answered_at,
    }


def _suggested_category_code(c: Complaint) -> str | None:
    if not c.suggested_category_id:
        return None
    if c.suggested_category_id == c.category_id:  # mostly: the clerk kept the suggestion
        return c.category.code
    return c.suggested_category.code


def detail(c: Complaint, user: User) -> dict[str, Any]:
    now = timezone.now()
    out = list_item(c, user)
    out.update(
        anonymous=c.anonymous,
        contact_masked=True,
        contact_phone=mask_phone(c.contact_phone),
        other_contact=mask_phone(c.other_contact) if c.other_contact else "",
        address=mask_address(c.address),
        complainant_type=c.complainant_type,
        description=c.description,
        product=c.product,
        lot_number=c.lot_number,
        order_number=c.order_number,
        quantity=c.quantity,
        defective_quantity=c.defective_quantity,
        delivery_date=c.delivery_date,
        store=c.store,
        region=c.region,
        purchase_amount=c.purchase_amount,
        demand=c.demand,
        demand_detail=c.demand_detail,
        foreign=c.foreign,
        registered_at=c.registered_at,
        recorded_by=user_ref(c.recorded_by),
        first_responder=user_ref(c.first_responder),
        reviewer=user_ref(c.reviewer),
        reviewer_tier=c.reviewer_tier,
        suggested_category=_suggested_category_code(c),
        suggested_level=c.suggested_level,
        merged_into=c.merged_into.number if c.merged_into_id else None,
        transfer_count=c.transfer_count,
        valid=c.valid,
        company_responsible=c.company_responsible,
        validity_reason=c.validity_reason,
        resolution=c.resolution,
        resolution_amount=c.resolution_amount,
        reviewed_by=user_ref(c.reviewed_by),
        reviewed_at=c.reviewed_at,
        accepted_at=c.accepted_at,
        replied_at=c.replied_at,
        closed_at=c.closed_at,
        closing_reason=c.closing_reason,
        allowed_actions=actions_for(user, c),
        deadlines=deadline_rows(c, now),
        # Every transfer counts itself in the same transaction: most complaints have none.
        transfers=[transfer_row(t) for t in c.transfers.select_related("to_unit", "to_user", "by", "answered_by")]
        if c.transfer_count else [],
        attachments=[attachment_row(c, a) for a in
                     (_ATTACHMENTS.rows(complaint=c.pk) if getattr(c, "has_attachments", True) else ())],
    )
    return out


def attachment_row(c: Complaint, a: Attachment) -> dict[str, Any]:
    return {"id": a.pk, "name": a.original_name, "kind": a.kind, "content_type": a.content_type,
            "size": a.size, "uploaded_at": a.uploaded_at,
            "url": reverse("api-1.0.0:attachment_download", kwargs={"number": c.number, "attachment_id": a.pk})}


def event_row(e: TimelineEvent) -> dict[str, Any]:
    return {
        "id": e.pk, "kind": e.kind, "label": choice_label(Event, e.kind), "actor": user_ref(e.actor),
        "at": e.at, "visibility": e.visibility, "body": e.body, "before": e.before,
        "after": e.after, "data": e.data,
    }
