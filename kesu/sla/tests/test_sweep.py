"""R-SLA-9 (warnings, breaches, escalation) and R-AC-1 (proposed accountability) through the
sweep, with a controlled clock; and the sweep's idempotence."""

from __future__ import annotations

import pytest

from conftest import intake
from kesu.comms.models import Notification
from kesu.complaints import actions
from kesu.complaints.models import Complaint, Event
from kesu.sla import sweep
from kesu.sla.models import AccountabilityRecord, Breach, Deadline, DeadlineKind

from .sweeping import at, sweep_in_two_threads

K = DeadlineKind


def registered_monday(org):
    # Monday 12 Oct 2026 09:00: first contact due 18:00 the same day, warned at 15:45.
    return actions.register(intake(), by=org["clerk"], now=at(2026, 10, 12, 9, 0)).complaint


def kinds(complaint, kind):
    return list(complaint.events.filter(kind=kind).values_list("data__deadline", flat=True))


def test_r_sla_9_owner_is_warned_at_75_percent_once(mailed):
    complaint = registered_monday(mailed)
    assert sweep.run(at(2026, 10, 12, 15, 44)).warned == 0
    result = sweep.run(at(2026, 10, 12, 15, 45))
    assert result.warned == 1 and result.breached == 0
    assert kinds(complaint, Event.DEADLINE_WARNED) == [K.FIRST_CONTACT]
    warning = Notification.objects.get(kind="warning", complaint=complaint)
    assert warning.recipient == "clerk@example.cn"
    # A second pass at the same moment, or later before the breach, repeats nothing.
    assert sweep.run(at(2026, 10, 12, 15, 45)).total == 0
    assert sweep.run(at(2026, 10, 12, 17, 0)).warned == 0
    assert Notification.objects.filter(kind="warning", complaint=complaint).count() == 1


def test_r_sla_9_breach_notifies_the_manager_and_is_recorded(mailed):
    complaint = registered_monday(mailed)
    sweep.run(at(2026, 10, 12, 16, 0))
    result = sweep.run(at(2026, 10, 12, 18, 1))
    assert result.breached == 1
    breach = Breach.objects.get(complaint=complaint)
    assert (breach.kind, breach.owner, breach.level) == (K.FIRST_CONTACT, mailed["clerk"], 1)
    assert breach.due_at == at(2026, 10, 12, 18, 0)
    assert Notification.objects.get(kind="breach", complaint=complaint).recipient == "manager@example.cn"
    event = complaint.events.get(kind=Event.DEADLINE_BREACHED)
    assert event.data["manager"] == mailed["manager"].pk
    assert sweep.run(at(2026, 10, 12, 18, 2)).breached == 0
    assert Breach.objects.count() == 1


def test_r_ac_1_missed_first_contact_proposes_a_30_yuan_record(mailed):
    complaint = registered_monday(mailed)
    sweep.run(at(2026, 10, 12, 18, 1))
    record = AccountabilityRecord.objects.get(complaint=complaint)
    assert record.person == mailed["clerk"] and record.amount == 30 and record.status == "proposed"
    assert record.rule.code == "first_contact_missed"
    assert complaint.events.filter(kind=Event.ACCOUNTABILITY_PROPOSED).count() == 1
    sweep.run(at(2026, 10, 12, 19, 0))
    assert AccountabilityRecord.objects.count() == 1


def test_r_sla_9_escalates_one_tier_4_working_hours_after_the_breach(mailed):
    complaint = registered_monday(mailed)
    sweep.run(at(2026, 10, 12, 18, 1))
    first = Deadline.objects.get(complaint=complaint, kind=K.FIRST_CONTACT)
    # Breached at 18:00 Monday: 4 working hours later is 13:00 Tuesday, not 22:00 Monday.
    assert first.escalate_at == at(2026, 10, 13, 13, 0)
    assert sweep.run(at(2026, 10, 13, 12, 59)).escalated == 0
    assert sweep.run(at(2026, 10, 13, 13, 0)).escalated == 1
    complaint = Complaint.objects.get(pk=complaint.pk)
    assert complaint.level == 2 and complaint.owner == mailed["manager"]
    escalated = complaint.events.get(kind=Event.ESCALATED)
    assert escalated.actor is None and escalated.data["cause"] == "breach"
    assert escalated.before == {"level": 1} and escalated.after == {"level": 2}
    assert sweep.run(at(2026, 10, 13, 14, 0)).escalated == 0
    assert complaint.events.filter(kind=Event.ESCALATED).count() == 1


def test_r_sla_9_met_and_held_limits_are_left_alone(mailed):
    complaint = registered_monday(mailed)
    actions.accept(complaint, by=mailed["clerk"], now=at(2026, 10, 12, 10, 0))
    actions.hold(complaint, by=mailed["clerk"], reason="等客户回电", now=at(2026, 10, 12, 11, 0))
    result = sweep.run(at(2026, 10, 20, 9, 0))
    assert result.total == 0
    assert not Breach.objects.exists()


def test_r_sla_7_progress_reminder_goes_to_the_handler_and_does_not_escalate(mailed):
    complaint = registered_monday(mailed)
    actions.accept(complaint, by=mailed["clerk"], now=at(2026, 10, 12, 9, 30))
    progress = Deadline.objects.get(complaint=complaint, kind=K.PROGRESS)
    sweep.run(progress.warn_at)
    assert kinds(complaint, Event.DEADLINE_WARNED)[-1] == K.PROGRESS
    sweep.run(progress.due_at)
    progress.refresh_from_db()
    assert progress.breached_at is not None and progress.escalate_at is None


@pytest.mark.django_db(transaction=True)
def test_r_sla_9_two_workers_sweeping_at_once_never_double_anything(mailed):
    complaints = [actions.register(intake(contact_phone=f"1390000{n:04d}", order_number=f"DD-{n}",
                                          summary=f"第{n}台冰箱不制冷", description=f"冰箱{n}"),
                                   by=mailed["clerk"], now=at(2026, 10, 12, 9, 0)).complaint
                  for n in range(12)]
    results = sweep_in_two_threads(at(2026, 10, 12, 18, 1))
    assert sum(r.breached for r in results) == len(complaints)
    assert sum(r.warned for r in results) == 0  # first seen past due: reported as breaches only
    assert Breach.objects.count() == len(complaints)
    assert Notification.objects.filter(kind="breach").count() == len(complaints)
    assert AccountabilityRecord.objects.count() == len(complaints)
    assert not any(r.errors for r in results), [r.errors for r in results]
