"""Creating, satisfying, pausing and recomputing a complaint's deadline rows. Called by the
complaint actions inside their transaction; never by pages or the API directly.

This first cut covers the calendar-time limits (R-SLA-2, R-SLA-3, R-SLA-5, R-SLA-6) with the
SPEC's defaults; working-time limits and admin-editable policies build on the same rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kesu.complaints.models import Complaint, Status

from .models import Deadline, DeadlineKind

HOURS = timedelta(hours=1)
DAYS = timedelta(days=1)

# What satisfies each limit: the complaint has reached one of these states.
MET_BY = {
    DeadlineKind.RESOLUTION: {Status.REPLIED, Status.FOLLOW_UP, Status.CLOSED},
    DeadlineKind.REPLY: {Status.REPLIED, Status.FOLLOW_UP, Status.CLOSED},
    DeadlineKind.CLOSE: {Status.CLOSED},
}
CANCELLED_BY = {Status.MERGED, Status.INVALID}


def _limits(complaint: Complaint) -> dict[str, timedelta]:
    return {
        DeadlineKind.RESOLUTION: 24 * HOURS if complaint.level == 1 else 48 * HOURS,
        DeadlineKind.REPLY: 7 * DAYS,
        DeadlineKind.CLOSE: (18 if complaint.foreign else 15) * DAYS,
    }


def schedule(complaint: Complaint, *, now: datetime) -> None:
    """Bring the rows in line with the complaint's level and state. Idempotent."""
    existing = {d.kind: d for d in Deadline.objects.filter(complaint=complaint)}
    for kind, length in _limits(complaint).items():
        row = existing.get(kind)
        due = complaint.received_at + length
        if row is None:
            row = Deadline.objects.create(complaint=complaint, kind=kind, due_at=due, created_at=now)
        elif row.is_open and row.paused_at is None and row.due_at != due and row.due_at > now:
            # R-WF-5: a recomputation never moves a deadline that was already missed.
            Deadline.objects.filter(pk=row.pk).update(due_at=due)
        _follow_state(row, complaint, now)


def _follow_state(row: Deadline, complaint: Complaint, now: datetime) -> None:
    status = complaint.status
    if status in CANCELLED_BY:
        Deadline.objects.filter(pk=row.pk, met_at=None, cancelled_at=None).update(cancelled_at=now)
    elif status in MET_BY[row.kind]:
        Deadline.objects.filter(pk=row.pk, met_at=None, cancelled_at=None).update(met_at=now)
    elif status == Status.ON_HOLD:
        Deadline.objects.filter(pk=row.pk, met_at=None, cancelled_at=None, paused_at=None).update(paused_at=now)
    elif row.paused_at is not None:
        # R-SLA-10: resume — the time on hold is added back to the limit.
        Deadline.objects.filter(pk=row.pk).update(due_at=row.due_at + (now - row.paused_at), paused_at=None)
    elif status == Status.REOPENED and not row.is_open:
        # A new handling round owes the customer a new resolution and reply.
        if row.kind != DeadlineKind.CLOSE or row.met_at is not None:
            Deadline.objects.filter(pk=row.pk).update(met_at=None, cancelled_at=None,
                                                      due_at=max(row.due_at, now + _limits(complaint)[row.kind]))
