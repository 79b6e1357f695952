"""The sweep (R-SLA-9): warn at 75 %, record and report breaches, escalate 4 working hours after.

Each step reads due rows through its own partial index, in due order, and claims them with a
conditional UPDATE of its step timestamp before doing anything else, in the same transaction
as the step's effects. So a pass costs what is due, not what is open; running it twice, or on
two workers at once, never repeats a warning, a breach record or an escalation; and a step
whose effects fail leaves its rows unclaimed for the next pass.

What keeps a pass cheap per due row (docs/performance.md, "Where a pass spends its time"):
a complaint's due rows of a step are claimed together with one ``UPDATE … RETURNING`` and
loaded with one query, in one transaction per complaint; warnings for rows already past due
(which the breach step reports instead) are stamped with one UPDATE; who manages a unit and
which webhook robots are active are read once per pass; and a complaint escalates once for
all its rows due in the pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Case, DateTimeField, QuerySet, Value, When
from django.utils import timezone

from kesu.comms import outbox
from kesu.complaints import routing, timeline
from kesu.complaints.models import FINISHED, Complaint, Event, Status
from kesu.org.models import User

from . import deadlines
from .calendar import BusinessCalendar
from .models import (
    OPEN_ROW,
    AccountabilityRecord,
    AccountabilityRule,
    Breach,
    Deadline,
    DeadlineKind,
)

log = logging.getLogger(__name__)
ESCALATE_AFTER = timedelta(hours=4)  # working time after the breach (R-SLA-9)
BATCH = 500

# What the warning and breach effects read of a row, its complaint, owner, unit and policy:
# the complaint has some 60 columns, and compiling and reading them all for every row was a
# large part of a pass.
_ROW_FIELDS = (
    "id", "complaint_id", "kind", "policy_id", "due_at", "warn_at", "escalate_at",
    "policy__id", "policy__escalates",
    "complaint__id", "complaint__number", "complaint__summary", "complaint__level",
    "complaint__status", "complaint__owner_id", "complaint__unit_id",
    "complaint__owner__id", "complaint__owner__username", "complaint__owner__email",
    "complaint__owner__display_name", "complaint__owner__tier",
    "complaint__unit__id", "complaint__unit__path",
)


@dataclass
class SweepResult:
    warned: int = 0
    breached: int = 0
    escalated: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.warned + self.breached + self.escalated


@dataclass
class _Pass:
    now: datetime
    calendar: BusinessCalendar
    _rule: AccountabilityRule | None | bool = False  # False: not read yet
    # Complaints this pass has escalated or found finished: their other due rows (a batch
    # holds rows in escalation order, so a complaint's rows may come in several) are claimed
    # without loading anything, as the escalation at ``now`` covers them.
    settled: set[int] = field(default_factory=set)

    def first_contact_rule(self) -> AccountabilityRule | None:
        if self._rule is False:
            self._rule = AccountabilityRule.objects.filter(code="first_contact_missed", active=True).first()
        return self._rule  # type: ignore[return-value]


@dataclass
class _Step:
    counter: str  # the SweepResult field
    stamp: str  # the claim's timestamp column
    time: str  # the column that says when the row is due for the step
    effect: Callable[[int, list[int], _Pass], int]  # complaint, its claimed row ids → count


def run(now: datetime | None = None, *, batch: int = BATCH) -> SweepResult:
    """One pass over everything due at ``now``."""
    now = now or timezone.now()
    state = _Pass(now=now, calendar=BusinessCalendar.load())
    result = SweepResult()
    steps = [
        _Step("warned", "warned_at", "warn_at", _warn_rows),
        _Step("breached", "breached_at", "due_at", _breach_rows),
        _Step("escalated", "escalated_at", "escalate_at", _escalate_rows),
    ]
    with routing.memoized(), outbox.robots_memoized(), deadlines.policies_memoized():
        # A row first seen already past its limit gets no warning: the breach step reports it.
        # Stamping them all at once keeps the warning loop to rows still before their limit.
        Deadline.objects.filter(OPEN_ROW, warned_at=None, warn_at__lte=now, due_at__lte=now) \
            .update(warned_at=now)
        for step in steps:
            _run_step(step, state, result, batch)
    return result


def _run_step(step: _Step, state: _Pass, result: SweepResult, batch: int) -> None:
    due: QuerySet[Deadline] = Deadline.objects.filter(
        OPEN_ROW, **{step.stamp: None, f"{step.time}__lte": state.now}
    ).order_by(step.time)
    failed: set[int] = set()
    while True:
        # Claimed rows leave the step's filter, so each query returns the next due rows;
        # rows whose effects failed are skipped for the rest of this pass.
        rows = list(due.exclude(pk__in=failed).values_list("pk", "complaint_id")[:batch])
        if not rows:
            break
        by_complaint: dict[int, list[int]] = {}
        for pk, complaint_id in rows:
            by_complaint.setdefault(complaint_id, []).append(pk)
        for complaint_id, ids in by_complaint.items():
            try:
                _claim_and_apply(step, complaint_id, ids, state, result)
            except Exception as exc:  # noqa: BLE001 - one bad row must not stop the sweep; logged
                if len(ids) == 1:
                    _failed(step, ids[0], exc, failed, result)
                    continue
                # Nor hold back the complaint's other rows: they are tried one by one.
                for pk in ids:
                    try:
                        _claim_and_apply(step, complaint_id, [pk], state, result)
                    except Exception as exc:  # noqa: BLE001 - logged by _failed
                        _failed(step, pk, exc, failed, result)


def _claim_and_apply(step: _Step, complaint_id: int, ids: list[int], state: _Pass,
                     result: SweepResult) -> None:
    with transaction.atomic():
        claimed = _claim(step, ids, state.now)
        count = step.effect(complaint_id, claimed, state) if claimed else 0
    setattr(result, step.counter, getattr(result, step.counter) + count)


def _failed(step: _Step, pk: int, exc: Exception, failed: set[int], result: SweepResult) -> None:
    log.exception("sweep %s failed for deadline %s", step.counter, pk)
    failed.add(pk)
    result.errors.append(f"{step.counter} {pk}: {exc}")


def _claim(step: _Step, ids: list[int], now: datetime) -> list[int]:
    """Stamp those of ``ids`` that are still due for the step and unclaimed; return them. Another
    worker's claim, or an action that met, paused or cancelled a row since it was read, leaves
    it out. One ``UPDATE … RETURNING`` where the database has it (PostgreSQL, SQLite ≥ 3.35)."""
    if not _update_returning():
        return [pk for pk in ids
                if Deadline.objects.filter(OPEN_ROW, pk=pk, **{step.stamp: None, f"{step.time}__lte": now})
                .update(**{step.stamp: now}) == 1]
    qn = connection.ops.quote_name
    at = connection.ops.adapt_datetimefield_value(now)
    sql = (
        f"UPDATE {qn(Deadline._meta.db_table)} SET {qn(step.stamp)} = %s "
        f"WHERE {qn('id')} IN ({', '.join(['%s'] * len(ids))}) AND {qn(step.stamp)} IS NULL "
        f"AND {qn(step.time)} <= %s AND {qn('met_at')} IS NULL AND {qn('cancelled_at')} IS NULL "
        f"AND {qn('paused_at')} IS NULL RETURNING {qn('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [at, *ids, at])
        return [row[0] for row in cursor.fetchall()]


def _update_returning() -> bool:
    if connection.vendor == "postgresql":
        return True
    if connection.vendor == "sqlite":
        import sqlite3

        return sqlite3.sqlite_version_info >= (3, 35)
    return False


def _rows(ids: list[int], order: str) -> list[Deadline]:
    return list(
        Deadline.objects.filter(pk__in=ids)
        .select_related("complaint__owner", "complaint__unit", "policy")
        .only(*_ROW_FIELDS)
        .order_by(order, "pk")
    )


# --- the steps' effects, on the claimed rows of one complaint --------------------------------


def _warn_rows(complaint_id: int, ids: list[int], state: _Pass) -> int:
    return sum(_warn(row, state.now) for row in _rows(ids, "warn_at"))


def _warn(row: Deadline, now: datetime) -> bool:
    if row.due_at <= now:
        return False  # first seen already past due: the breach step reports it instead
    complaint = row.complaint
    timeline.record(complaint, Event.DEADLINE_WARNED, by=None, at=now, deadline=row.kind,
                    due_at=row.due_at)
    outbox.to_staff(complaint.owner, "warning", complaint, _context(row), now=now,
                    dedupe_key=f"warning:{row.pk}:{row.due_at.isoformat()}")
    return True


def _breach_rows(complaint_id: int, ids: list[int], state: _Pass) -> int:
    rows = _rows(ids, "due_at")
    escalate_at = {row.pk: state.calendar.add(row.due_at, ESCALATE_AFTER)
                   for row in rows if row.policy is None or row.policy.escalates}
    if escalate_at:
        Deadline.objects.filter(pk__in=escalate_at).update(
            escalate_at=Case(*(When(pk=pk, then=Value(t)) for pk, t in escalate_at.items()),
                             output_field=DateTimeField()))
    for row in rows:
        _breach(row, state)
    return len(rows)


def _breach(row: Deadline, state: _Pass) -> None:
    now = state.now
    complaint = row.complaint
    owner = complaint.owner
    # A row met late and reopened can breach again (reopen renews it): one Breach per row,
    # brought up to date (INSERT … ON CONFLICT DO UPDATE).
    values = {"complaint": complaint, "kind": row.kind, "due_at": row.due_at, "breached_at": now,
              "owner": owner, "unit": complaint.unit, "level": complaint.level}
    Breach.objects.bulk_create([Breach(deadline=row, **values)], update_conflicts=True,
                               unique_fields=["deadline"], update_fields=list(values))
    manager = _manager_of(complaint, owner)
    timeline.record(complaint, Event.DEADLINE_BREACHED, by=None, at=now, deadline=row.kind,
                    due_at=row.due_at, manager=manager.pk if manager else None)
    if manager is not None:
        outbox.to_staff(manager, "breach", complaint, _context(row), now=now,
                        dedupe_key=f"breach:{row.pk}:{row.due_at.isoformat()}")
    if row.kind == DeadlineKind.FIRST_CONTACT:
        _propose_accountability(row, complaint, owner, state)


def _escalate_rows(complaint_id: int, ids: list[int], state: _Pass) -> int:
    """Several limits missed together escalate the complaint one tier, not one tier each: the
    complaint escalates once for the rows claimed together, and not at all if a breach
    escalation since the latest of their escalation times already covers them."""
    from kesu.complaints import actions

    if complaint_id in state.settled:
        return 0
    now = state.now
    rows = list(Deadline.objects.filter(pk__in=ids).only("id", "complaint_id", "kind", "due_at", "escalate_at")
                .order_by("escalate_at", "pk"))
    # The lock makes a second worker's escalation of the same complaint wait for this one
    # and then see its event (PostgreSQL; SQLite's single writer does the same).
    complaint = (Complaint.objects.select_for_update(of=("self",))
                 .select_related("owner", "unit", "category").get(pk=complaint_id))
    if complaint.status in FINISHED or complaint.status == Status.INVALID:
        state.settled.add(complaint.pk)
        return 0
    last = (complaint.events.filter(kind=Event.ESCALATED, data__cause="breach")
            .order_by("-at").values_list("at", flat=True).first())
    # The first row (in escalation order) that no breach escalation covers yet.
    row = next((r for r in rows if last is None or (r.escalate_at is not None and r.escalate_at > last)), None)
    if row is None:
        return 0
    actions.escalate_for_breach(complaint, deadline_kind=row.kind, now=now)
    outbox.to_staff(complaint.owner, "escalation", complaint, _context(row), now=now,
                    dedupe_key=f"escalation:{row.pk}:{row.due_at.isoformat()}")
    # After commit only: a rolled-back escalation must leave the complaint's rows to be tried.
    transaction.on_commit(lambda: state.settled.add(complaint.pk))
    return 1


def _manager_of(complaint: Complaint, owner: User) -> User | None:
    """The owner's manager: the nearest tier-2 user above the complaint's unit, or tier 3 when
    the owner is a manager already."""
    tier = 2 if owner.tier < 2 else 3
    return routing.nearest_user(complaint.unit, tier)


def _propose_accountability(row: Deadline, complaint: Complaint, owner: User, state: _Pass) -> None:
    """R-AC-1: a missed first contact proposes a record against the handler at the time."""
    rule = state.first_contact_rule()
    if rule is None:
        return
    # One record per row, ever; the row's claim keeps a second worker out meanwhile.
    if AccountabilityRecord.objects.filter(deadline=row).exists():
        return
    record = AccountabilityRecord.objects.create(
        deadline=row, rule=rule, complaint=complaint, person=owner, amount=rule.default_amount,
        reason=f"{complaint.number}: {rule.name}", created_at=state.now)
    timeline.record(complaint, Event.ACCOUNTABILITY_PROPOSED, by=None, at=state.now, rule=rule.code,
                    person=owner.pk, amount=record.amount)


def _context(row: Deadline) -> dict[str, object]:
    # The template names the limit from its code, in the recipient's language.
    return {"deadline": row.kind, "due_at": row.due_at}
