"""R-CM-1: which standard scripts (话术) fit a complaint's situation, with their placeholders
filled from the complaint. The scripts themselves are rows (``models.Script``, admin-edited);
this module only chooses and renders them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone, translation

from kesu.complaints.models import ComplainantType, Complaint, Status

from .models import Script, Situation

SIT = Situation
_ANSWERS = [SIT.SOLVE_NOW, SIT.REFER, SIT.RECORD_CALLBACK, SIT.CHECK_UNIT, SIT.REPORT_UP]
_FIRST_CONTACT = [SIT.GREETING, SIT.CLARIFYING, *_ANSWERS, SIT.CLOSING]
_IN_HANDLING = [SIT.GREETING, SIT.PROGRESS, SIT.RECORD_CALLBACK, SIT.CHECK_UNIT, SIT.REPORT_UP, SIT.REFER,
                SIT.CLOSING]

# The complaint's state → what the handler is likely to say next (the seeds' 来电接听 flow for
# a new complaint, 节点回复 while it is handled, 已完成业务回复 and 回访 afterwards).
BY_STATE: dict[str, list[str]] = {
    Status.REGISTERED: _FIRST_CONTACT,
    Status.ACCEPTED: _IN_HANDLING,
    Status.INVESTIGATING: _IN_HANDLING,
    Status.PROPOSED: _IN_HANDLING,
    Status.AWAITING_APPROVAL: _IN_HANDLING,
    Status.RESOLVING: [SIT.PROGRESS, SIT.SOLVE_NOW, SIT.COMPLETION, SIT.CLOSING],
    Status.REOPENED: _IN_HANDLING,
    Status.ON_HOLD: [SIT.GREETING, SIT.CLARIFYING, SIT.RECORD_CALLBACK, SIT.CLOSING],
    Status.REPLIED: [SIT.COMPLETION, SIT.SURVEY, SIT.CLOSING],
    Status.FOLLOW_UP: [SIT.SURVEY, SIT.COMPLETION, SIT.CLOSING],
    Status.INVALID: [SIT.SOLVE_NOW, SIT.COMPLETION, SIT.CLOSING],
    Status.CLOSED: [SIT.COMPLETION, SIT.CLOSING],
    Status.MERGED: [SIT.CLOSING],
}

# The text box the script goes into narrows the choice: a written reply explains and closes,
# a first-contact note follows the call, a follow-up asks about satisfaction.
BY_ACTION: dict[str, list[str]] = {
    "accept": _FIRST_CONTACT,
    "reply": [SIT.SOLVE_NOW, SIT.COMPLETION, SIT.CLOSING],
    "mark_invalid": [SIT.SOLVE_NOW, SIT.CLOSING],
    "promise": [SIT.RECORD_CALLBACK, SIT.CHECK_UNIT, SIT.REPORT_UP],
    "start_follow_up": [SIT.SURVEY, SIT.CLOSING],
    "record_follow_up": [SIT.SURVEY, SIT.CLOSING],
}

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Rendered:
    id: int
    situation: str
    situation_label: str
    title: str
    text: str


def situations_for(complaint: Complaint, action: str | None = None) -> list[str]:
    """The situations whose scripts fit ``complaint`` now, in the order a handler meets them.
    ``action`` is the text box's workflow action (``reply``, ``message`` …), if known."""
    chosen = list(BY_ACTION.get(action or "") or BY_STATE.get(complaint.status, [SIT.CLOSING]))
    if complaint.complainant_type == ComplainantType.DEALER and action in (None, "", "message"):
        chosen.insert(-1, SIT.PAYMENT_REMINDER)  # franchisees get the seeds' 催款 call too
    return [str(s) for s in chosen]


def _expected(complaint: Complaint) -> datetime | None:
    """When the customer can expect the next answer: a promised reply time if there is one,
    else the written-reply or resolution limit, else the earliest open limit."""
    from kesu.sla.models import Deadline

    rows = list(Deadline.objects.filter(complaint=complaint, met_at=None, cancelled_at=None).order_by("due_at"))
    for kind in ("promised_reply", "reply", "resolution"):
        for row in rows:
            if row.kind == kind:
                return row.due_at
    return rows[0].due_at if rows else None


def _speakable(moment: datetime | None) -> str:
    if moment is None:
        return "约定时间"
    local = timezone.localtime(moment)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def context_for(complaint: Complaint, speaker: Any = None) -> dict[str, str]:
    """Placeholder values. Scripts are said to Chinese customers, so labels are in Chinese
    whatever the handler's page language is. ``handler`` is the one speaking (the user who
    inserts the script), else the complaint's handler."""
    last_transfer = complaint.transfers.select_related("to_unit").order_by("-at", "-id").first()
    units = complaint.unit.ancestors()
    with translation.override("zh-hans"):
        status = str(Status(complaint.status).label)
    handler = speaker if speaker is not None and getattr(speaker, "is_authenticated", False) else complaint.owner
    return {
        "customer_name": "" if complaint.anonymous else complaint.customer_name,
        "number": complaint.number,
        "handler": getattr(handler, "name", "") or "",
        "unit": complaint.unit.name,
        "responsible_unit": last_transfer.to_unit.name if last_transfer else "相关部门",
        "expected_date": _speakable(_expected(complaint)),
        "status": status,
        "summary": complaint.summary,
        "company": units[0].name if units else complaint.unit.name,
    }


def render(text: str, values: dict[str, str]) -> str:
    """Fill ``{name}`` placeholders; unknown names stay as written so an admin sees the typo.
    An empty customer name becomes a neutral address (匿名 customers are greeted as 客户)."""
    values = {**values, "customer_name": values.get("customer_name") or "客户"}
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def active_scripts() -> list[Script]:
    return list(Script.objects.filter(active=True))


def for_complaint(complaint: Complaint, *, action: str | None = None, speaker: Any = None,
                  values: dict[str, str] | None = None, library: list[Script] | None = None) -> list[Rendered]:
    """The active scripts for the complaint's situation, rendered, in situation order.
    ``values`` (from ``context_for``) and ``library`` (from ``active_scripts``) save their
    queries when a page renders several boxes."""
    situations = situations_for(complaint, action)
    rows = [r for r in (library if library is not None else active_scripts()) if r.situation in situations]
    rank = {s: i for i, s in enumerate(situations)}
    values = values if values is not None else context_for(complaint, speaker)
    labels = dict(Situation.choices)
    return [
        Rendered(r.pk, r.situation, str(labels.get(r.situation, r.situation)), r.title, render(r.text, values))
        for r in sorted(rows, key=lambda r: (rank[r.situation], r.order, r.pk))
    ]
