"""The sweep (R-SLA-9): warn at 75 %, record and report breaches, escalate 4 working hours after.

Each step reads due rows through its own partial index, in due order, and claims each row with
a conditional UPDATE of its step timestamp before doing anything else, in the same transaction
as the step's effects. So a pass costs what is due, not what is open; running it twice, or on
two workers at once, never repeats a warning, a breach record or an escalation; and a step
whose effects fail leaves its row unclaimed for the next pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from kesu.comms import outbox
from kesu.complaints import routing, timeline
from kesu.complaints.models import FINISHED, Complaint, Event, Status
from kesu.org.models import User

from .calendar import BusinessCalendar
from .models import (
    AccountabilityRecord,
    AccountabilityRule,
    Breach,
    Deadline,
    DeadlineKind,
)

log = logging.getLogger(__name__)
ESCALATE_AFTER = timedelta(hours=4)  # working time after the breach (R-SLA-9)
BATCH = 500


@dataclass
class SweepResult:
    warned: int = 0
    breached: int = 0
    escalated: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.warned + self.breached + self.escalated


def run(now: datetime | None = None, *, batch: int = BATCH) -> SweepResult:
    """One pass over everything due at ``now``."""
    now = now or timezone.now()
    calendar = BusinessCalendar.load()
    result = SweepResult()
    open_rows = Deadline.objects.filter(met_at=None, cancelled_at=None, paused_at=None)
    steps = [
        ("warned", open_rows.filter(warned_at=None, warn_at__lte=now).order_by("warn_at"),
         "warned_at", lambda row: _warn(row, now)),
        ("breached", open_rows.filter(breached_at=None, due_at__lte=now).order_by("due_at"),
         "breached_at", lambda row: _breach(row, now, calendar)),
        ("escalated", open_rows.filter(escalated_at=None, escalate_at__lte=now).order_by("escalate_at"),
         "escalated_at", lambda row: _escalate(row, now)),
    ]
    for counter, due, stamp, effect in steps:
        failed: set[int] = set()
        while True:
            # Claimed rows leave the step's filter, so each query returns the next due rows;
            # rows whose effects failed are skipped for the rest of this pass.
            ids = list(due.exclude(pk__in=failed).values_list("pk", flat=True)[:batch])
            if not ids:
                break
            for pk in ids:
                try:
                    with transaction.atomic():
                        if Deadline.objects.filter(pk=pk, **{stamp: None}).update(**{stamp: now}) != 1:
                            continue  # another worker took it
                        if effect(Deadline.objects.select_related("complaint", "policy").get(pk=pk)) is not False:
                            setattr(result, counter, getattr(result, counter) + 1)
                except Exception as exc:  # one bad row must not stop the sweep
                    log.exception("sweep %s failed for deadline %s", counter, pk)
                    failed.add(pk)
                    result.errors.append(f"{counter} {pk}: {exc}")
    return result


def _warn(row: Deadline, now: datetime) -> bool:
    if row.due_at <= now:
        return False  # first seen already past due: the breach step reports it instead
    complaint = row.complaint
    timeline.record(complaint, Event.DEADLINE_WARNED, by=None, at=now, deadline=row.kind,
                    due_at=row.due_at)
    outbox.to_staff(complaint.owner, "warning", complaint, _context(row), now=now,
                    dedupe_key=f"warning:{row.pk}:{row.due_at.isoformat()}")
    return True


def _breach(row: Deadline, now: datetime, calendar: BusinessCalendar) -> None:
    complaint = row.complaint
    owner = complaint.owner
    if row.policy is None or row.policy.escalates:
        Deadline.objects.filter(pk=row.pk).update(escalate_at=calendar.add(row.due_at, ESCALATE_AFTER))
    Breach.objects.update_or_create(
        deadline=row,
        defaults={"complaint": complaint, "kind": row.kind, "due_at": row.due_at, "breached_at": now,
                  "owner": owner, "unit": complaint.unit, "level": complaint.level},
    )
    manager = _manager_of(complaint, owner)
    timeline.record(complaint, Event.DEADLINE_BREACHED, by=None, at=now, deadline=row.kind,
                    due_at=row.due_at, manager=manager.pk if manager else None)
    if manager is not None:
        outbox.to_staff(manager, "breach", complaint, _context(row), now=now,
                        dedupe_key=f"breach:{row.pk}:{row.due_at.isoformat()}")
    if row.kind == DeadlineKind.FIRST_CONTACT:
        _propose_accountability(row, complaint, owner, now)


def _escalate(row: Deadline, now: datetime) -> bool:
    from kesu.complaints import actions

    complaint = Complaint.objects.select_related("owner", "unit", "category").get(pk=row.complaint_id)
    if complaint.status in FINISHED or complaint.status == Status.INVALID:
        return False
    # Several limits missed together escalate the complaint one tier, not one tier each.
    assert row.escalate_at is not None
    if complaint.events.filter(kind=Event.ESCALATED, data__cause="breach", at__gte=row.escalate_at).exists():
        return False
    actions.escalate_for_breach(complaint, deadline_kind=row.kind, now=now)
    outbox.to_staff(complaint.owner, "escalation", complaint, _context(row), now=now,
                    dedupe_key=f"escalation:{row.pk}:{row.due_at.isoformat()}")
    return True


def _manager_of(complaint: Complaint, owner: User) -> User | None:
    """The owner's manager: the nearest tier-2 user above the complaint's unit, or tier 3 when
    the owner is a manager already."""
    tier = 2 if owner.tier < 2 else 3
    return routing.nearest_user(complaint.unit, tier)


def _propose_accountability(row: Deadline, complaint: Complaint, owner: User, now: datetime) -> None:
    """R-AC-1: a missed first contact proposes a record against the handler at the time."""
    rule = AccountabilityRule.objects.filter(code="first_contact_missed", active=True).first()
    if rule is None:
        return
    record, created = AccountabilityRecord.objects.get_or_create(
        deadline=row,
        defaults={"rule": rule, "complaint": complaint, "person": owner, "amount": rule.default_amount,
                  "reason": f"{complaint.number}: {rule.name}", "created_at": now},
    )
    if created:
        timeline.record(complaint, Event.ACCOUNTABILITY_PROPOSED, by=None, at=now, rule=rule.code,
                        person=owner.pk, amount=record.amount)


def _context(row: Deadline) -> dict[str, object]:
    # The template names the limit from its code, in the recipient's language.
    return {"deadline": row.kind, "due_at": row.due_at}
