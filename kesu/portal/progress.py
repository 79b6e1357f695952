"""What a customer sees of their complaint (R-AX-3): the state in plain words, the messages
and replies marked customer-visible (``queries.customer_visible_events``, R-WF-3), and when to
expect a reply. Never internal notes, forms, names of staff, levels or categories."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext_lazy as _

from kesu.complaints.models import Complaint, Event, Status
from kesu.complaints.queries import customer_visible_events
from kesu.sla.models import Deadline, DeadlineKind

S = Status
# The customer's words for each state: what is happening and what they can expect.
CUSTOMER_STATES = {
    S.REGISTERED: _("Received: we will contact you shortly."),
    S.ACCEPTED: _("Accepted: we are looking into it."),
    S.INVESTIGATING: _("Being investigated."),
    S.PROPOSED: _("We are preparing a solution."),
    S.AWAITING_APPROVAL: _("We are preparing a solution."),
    S.RESOLVING: _("The solution is being carried out."),
    S.REPLIED: _("We have replied to you."),
    S.FOLLOW_UP: _("We have replied; we would like to know whether you are satisfied."),
    S.CLOSED: _("Closed. Thank you for your patience."),
    S.ON_HOLD: _("Waiting for information from you."),
    S.REOPENED: _("Being handled again."),
    S.INVALID: _("We have replied to you."),
    S.MERGED: _("Handled together with another complaint of yours."),
}
REPLIED_STATES = {S.REPLIED, S.FOLLOW_UP, S.CLOSED, S.INVALID, S.MERGED}


@dataclass
class Message:
    at: datetime
    kind: str  # "reply" or "message"
    label: str
    body: str


@dataclass
class Progress:
    number: str
    state: str
    state_text: str
    received_at: datetime
    expected_reply_by: datetime | None
    closed_at: datetime | None
    messages: list[Message] = field(default_factory=list)


def progress(complaint: Complaint) -> Progress:
    messages = [
        Message(e.at, "reply" if e.kind == Event.REPLIED else "message",
                str(_("Reply") if e.kind == Event.REPLIED else _("Message from customer service")), e.body)
        for e in customer_visible_events(complaint)
    ]
    expected = None
    if complaint.status not in REPLIED_STATES:
        row = (Deadline.objects.filter(complaint=complaint, kind__in=[DeadlineKind.REPLY, DeadlineKind.PROMISED_REPLY],
                                       met_at=None, cancelled_at=None).order_by("due_at").first())
        expected = row.due_at if row is not None else None
    return Progress(
        number=complaint.number, state=complaint.status, state_text=str(CUSTOMER_STATES[Status(complaint.status)]),
        received_at=complaint.received_at, expected_reply_by=expected,
        closed_at=complaint.closed_at if complaint.status == S.CLOSED else None, messages=messages,
    )
