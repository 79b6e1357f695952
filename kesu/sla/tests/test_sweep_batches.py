"""The sweep's batched claims (docs/performance.md, "Where a pass spends its time") keep every
guarantee of R-SLA-9: each warning, breach and escalation once, even with two workers; a row
whose effects fail stays unclaimed without holding back the others; and R-WF-5's decision on
the limits a breach escalation brings (docs/design.md, "Deadlines, the sweep and the outbox")."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from kesu.comms.models import Notification
from kesu.complaints import actions
from kesu.complaints.models import Complaint, Event
from kesu.sla import sweep
from kesu.sla.models import Breach, Deadline, DeadlineKind

from .sweeping import at, register, sweep_in_two_threads

SH = ZoneInfo("Asia/Shanghai")
K = DeadlineKind


def test_r_sla_9_limits_missed_together_escalate_the_complaint_once(mailed):
    """First contact (due 18:00 Monday) and level-1 resolution (due 09:00 Tuesday) are both
    breached by the pass at 09:00 Tuesday and both escalate at 13:00 (4 working hours after
    each): the complaint goes up one tier, with one escalation notice."""
    complaint = register(mailed, 1, at(2026, 10, 12, 9, 0))
    result = sweep.run(at(2026, 10, 13, 9, 0))
    assert (result.breached, result.warned, result.escalated) == (2, 0, 0)
    rows = Deadline.objects.filter(complaint=complaint, kind__in=[K.FIRST_CONTACT, K.RESOLUTION])
    assert {r.escalate_at for r in rows} == {at(2026, 10, 13, 13, 0)}
    result = sweep.run(at(2026, 10, 13, 13, 0))
    assert result.escalated == 1
    assert all(r.escalated_at == at(2026, 10, 13, 13, 0) for r in rows.all())
    complaint.refresh_from_db()
    assert complaint.level == 2
    assert complaint.events.filter(kind=Event.ESCALATED).count() == 1
    assert Notification.objects.filter(kind="escalation", complaint=complaint).count() == 1
    assert sweep.run(at(2026, 10, 13, 15, 0)).escalated == 0


def test_r_wf_5_a_breach_escalation_owes_the_new_level_limits_from_the_escalation(mailed):
    """Decision (docs/design.md): level 2's "contact again" (R-SLA-3) counts from the moment the
    complaint reached level 2, not from receipt, so the sweep that escalates does not leave
    the new handler a limit already missed; the limits both levels owe keep theirs (R-WF-5)."""
    complaint = register(mailed, 1, at(2026, 10, 12, 9, 0))
    sweep.run(at(2026, 10, 12, 18, 1))  # first contact breached
    escalated_at = at(2026, 10, 13, 13, 0)
    assert sweep.run(escalated_at).escalated == 1
    again = Deadline.objects.get(complaint=complaint, kind=K.CONTACT_AGAIN)
    assert again.started_at == escalated_at
    assert again.due_at == escalated_at + timedelta(hours=24)
    assert again.breached_at is None
    # The level-1 resolution (due 09:00 Tuesday) was missed before the escalation: it stays.
    assert Deadline.objects.get(complaint=complaint, kind=K.RESOLUTION).due_at == at(2026, 10, 13, 9, 0)
    # A second pass at the same moment finds nothing new to breach (it used to breach
    # "contact again" at once, counted from Monday's receipt).
    assert sweep.run(escalated_at).total == 0


def test_r_wf_5_escalation_by_hand_starts_contact_again_and_an_earlier_message_does_not_meet_it(mailed):
    complaint = register(mailed, 1, at(2026, 10, 12, 9, 0))
    actions.accept(complaint, by=mailed["clerk"], now=at(2026, 10, 12, 9, 30))
    actions.message(complaint, by=mailed["clerk"], text="您好，已安排检测", now=at(2026, 10, 12, 10, 0))
    raised = at(2026, 10, 13, 11, 0)
    actions.escalate(complaint, by=mailed["clerk"], reason="客户要求主管处理", now=raised)
    again = Deadline.objects.get(complaint=complaint, kind=K.CONTACT_AGAIN)
    assert (again.started_at, again.due_at, again.met_at) == (raised, raised + timedelta(hours=24), None)
    complaint.refresh_from_db()
    actions.message(complaint, by=mailed["manager"], text="您好，我是客服主管", now=raised + timedelta(hours=2))
    again.refresh_from_db()
    assert again.met_at == raised + timedelta(hours=2)


def test_r_sla_9_a_failing_row_stays_unclaimed_and_the_others_go_on(mailed, monkeypatch):
    first, second = register(mailed, 1, at(2026, 10, 12, 9, 0)), register(mailed, 2, at(2026, 10, 12, 9, 0))
    real = sweep._breach

    def breach(row, state):
        if row.complaint_id == first.pk and row.kind == K.RESOLUTION:
            raise RuntimeError("channel down")
        real(row, state)

    monkeypatch.setattr(sweep, "_breach", breach)
    result = sweep.run(at(2026, 10, 14, 9, 0))
    assert len(result.errors) == 1 and "channel down" in result.errors[0]
    failed = Deadline.objects.get(complaint=first, kind=K.RESOLUTION)
    assert failed.breached_at is None and not Breach.objects.filter(deadline=failed).exists()
    # The complaint's other rows and the other complaint's were breached all the same.
    assert Breach.objects.filter(complaint=first).exclude(deadline=failed).exists()
    assert Breach.objects.filter(complaint=second, kind=K.RESOLUTION).exists()
    monkeypatch.setattr(sweep, "_breach", real)
    assert not sweep.run(at(2026, 10, 14, 9, 0)).errors  # the next pass
    failed.refresh_from_db()
    assert failed.breached_at == at(2026, 10, 14, 9, 0)
    assert Breach.objects.filter(deadline=failed).count() == 1


def test_a_pass_costs_a_few_statements_per_due_row(mailed):
    """The profile of issue 6 found 34 SQL statements per due row; batching brings a breach
    (its record, timeline event, the manager's notice and, for a missed first contact, the
    accountability proposal) to a handful."""
    for n in range(10):
        register(mailed, n, at(2026, 10, 12, 9, 0))
    with CaptureQueriesContext(connection) as queries:
        result = sweep.run(at(2026, 10, 13, 9, 0))  # first contact and resolution, per complaint
    assert (result.breached, result.escalated) == (20, 0) and not result.errors
    assert len(queries) / result.breached < 8, len(queries)


@pytest.mark.django_db(transaction=True)
def test_r_sla_9_two_workers_escalating_at_once_escalate_each_complaint_once(mailed):
    complaints = [register(mailed, n, at(2026, 10, 12, 9, 0)) for n in range(8)]
    sweep.run(at(2026, 10, 12, 18, 1))
    results = sweep_in_two_threads(at(2026, 10, 13, 13, 0))
    assert sum(r.escalated for r in results) == len(complaints)
    assert not any(r.errors for r in results), [r.errors for r in results]
    for complaint in complaints:
        assert complaint.events.filter(kind=Event.ESCALATED).count() == 1
        assert Complaint.objects.get(pk=complaint.pk).level == 2
    assert Notification.objects.filter(kind="escalation").count() == len(complaints)


def test_each_step_reads_its_partial_index_which_leaves_out_held_rows(mailed):
    """The three due queries can use their partial indexes (which, since migration 0005, leave
    out paused rows as the queries do), on SQLite and PostgreSQL. On PostgreSQL sequential
    scans are disabled for the EXPLAIN, and the other due indexes dropped for it (in a
    savepoint, so they come back): on a test-sized table the planner would rightly prefer a
    scan, or take whichever of two near-empty indexes its estimates tie on (the general
    ``deadline_open_due`` among them), and what matters is that the index's condition covers
    the query's — PostgreSQL uses a partial index only for a query whose conditions imply it."""
    register(mailed, 1, at(2026, 10, 12, 9, 0))
    captured: dict[str, tuple[str, object]] = {}
    columns = {"warn_at": "deadline_warn_due", "due_at": "deadline_breach_due",
               "escalate_at": "deadline_escalate_due"}

    def capture(execute, sql, params, many, context):
        for column, index in columns.items():
            if sql.startswith("SELECT") and f'ORDER BY "sla_deadline"."{column}"' in sql:
                captured.setdefault(index, (sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        sweep.run(at(2026, 10, 13, 13, 0))
    assert set(captured) == set(columns.values())
    due_indexes = [*columns.values(), "deadline_open_due"]
    with connection.cursor() as cursor:
        for index, (sql, params) in captured.items():
            if connection.vendor == "postgresql":
                with transaction.atomic():
                    for other in due_indexes:
                        if other != index:
                            cursor.execute(f"DROP INDEX {other}")
                    cursor.execute("SET LOCAL enable_seqscan = off")
                    cursor.execute(f"EXPLAIN {sql}", params)
                    plan = " ".join(row[0] for row in cursor.fetchall())
                    transaction.set_rollback(True)
                assert "Filter: (paused_at IS NULL)" not in plan
            else:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
                plan = " ".join(row[3] for row in cursor.fetchall())
            assert index in plan, plan
