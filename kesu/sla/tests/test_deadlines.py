"""SPEC section 4: every limit as a deadline row, across real calendar edges (R-SLA-1 … R-SLA-11).

Times are Asia/Shanghai. 2026: National Day holiday 1–7 October, 10 October (Saturday) is a
调休 working day, 11 October (Sunday) is not."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from conftest import intake
from kesu.complaints import actions
from kesu.complaints.models import Event
from kesu.lib.errors import Conflict, Invalid
from kesu.sla.models import Deadline, DeadlineKind, Policy

SH = ZoneInfo("Asia/Shanghai")
K = DeadlineKind


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def row(complaint, kind: str, ref: str = "") -> Deadline:
    return Deadline.objects.get(complaint=complaint, kind=kind, ref=ref)


def register_at(org, when: datetime, **overrides):
    return actions.register(intake(**overrides), by=org["clerk"], now=when).complaint


def test_r_sla_1_first_contact_within_one_working_day_across_national_day(org):
    """Received 17:30 on the last working day before the holiday: 30 minutes that day, the
    remaining 8.5 working hours on the first working day after it."""
    complaint = register_at(org, at(2026, 9, 30, 17, 30))
    first = row(complaint, K.FIRST_CONTACT)
    assert first.due_at == at(2026, 10, 8, 17, 30)
    assert first.working
    # 75 % of 9 working hours = 6h45m: 30 min on 30 Sept, 6h15m on 8 Oct.
    assert first.warn_at == at(2026, 10, 8, 15, 15)
    actions.accept(complaint, by=org["clerk"], now=at(2026, 10, 8, 10, 0))
    assert row(complaint, K.FIRST_CONTACT).met_at == at(2026, 10, 8, 10, 0)


def test_r_sla_1_tiaoxiu_saturday_is_a_working_day(org):
    complaint = register_at(org, at(2026, 10, 10, 10, 0))  # 调休 Saturday
    assert row(complaint, K.FIRST_CONTACT).due_at == at(2026, 10, 12, 10, 0)  # Sunday skipped


def test_r_sla_1_received_after_hours_before_a_weekend_counts_from_the_next_morning(org):
    complaint = register_at(org, at(2026, 10, 16, 20, 0))  # Friday evening
    # Counting starts Monday 09:00; one working day (9 h) ends Monday 18:00, not Tuesday 09:00.
    assert row(complaint, K.FIRST_CONTACT).due_at == at(2026, 10, 19, 18, 0)


def test_r_sla_2_level_1_resolved_within_24_calendar_hours(org):
    complaint = register_at(org, at(2026, 10, 16, 20, 0))
    resolution = row(complaint, K.RESOLUTION)
    assert resolution.due_at == at(2026, 10, 17, 20, 0) and not resolution.working
    assert not Deadline.objects.filter(complaint=complaint, kind=K.CONTACT_AGAIN).exists()
    actions.accept(complaint, by=org["clerk"], now=at(2026, 10, 16, 21, 0))
    actions.reply(complaint, by=org["clerk"], message="已为您安排换新", now=at(2026, 10, 17, 9, 0))
    assert row(complaint, K.RESOLUTION).met_at == at(2026, 10, 17, 9, 0)


def test_r_sla_3_levels_2_and_3_contact_again_in_24h_and_resolve_in_48h(org):
    start = at(2026, 10, 12, 10, 0)
    complaint = register_at(org, start, level=2, category="quality_general")
    assert row(complaint, K.CONTACT_AGAIN).due_at == start + timedelta(hours=24)
    assert row(complaint, K.RESOLUTION).due_at == start + timedelta(hours=48)
    actions.accept(complaint, by=org["manager"], now=start + timedelta(hours=1))
    assert row(complaint, K.CONTACT_AGAIN).met_at is None  # first contact is not "again"
    actions.message(complaint, by=org["manager"], text="您好，检测结果明天出来", now=start + timedelta(hours=20))
    assert row(complaint, K.CONTACT_AGAIN).met_at == start + timedelta(hours=20)


def test_r_sla_4_responsible_unit_answers_within_3_working_days_of_transfer(org):
    complaint = register_at(org, at(2026, 9, 29, 9, 0))
    actions.accept(complaint, by=org["clerk"], now=at(2026, 9, 29, 9, 30))
    transfer = actions.transfer(complaint, by=org["clerk"], to_unit=org["qa_unit"], reason="请品质部检测",
                                now=at(2026, 9, 29, 10, 0))
    answer = row(complaint, K.ANSWER, str(transfer.pk))
    # 29 Sept 8 h + 30 Sept 9 h, holiday, 8 Oct 9 h, 9 Oct 1 h.
    assert answer.due_at == at(2026, 10, 9, 10, 0)
    actions.answer(complaint, by=org["qa"], transfer_id=transfer.pk, cause="温控器不良", countermeasure="更换",
                   now=at(2026, 10, 8, 11, 0))
    assert row(complaint, K.ANSWER, str(transfer.pk)).met_at == at(2026, 10, 8, 11, 0)


def test_r_sla_5_written_reply_within_7_days(org):
    start = at(2026, 10, 12, 10, 0)
    complaint = register_at(org, start)
    assert row(complaint, K.REPLY).due_at == start + timedelta(days=7)


def test_r_sla_6_closed_within_15_days_domestic_and_18_foreign(org):
    start = at(2026, 10, 12, 10, 0)
    domestic = register_at(org, start)
    foreign = register_at(org, start, contact_phone="+447911123456", foreign=True, order_number="UK-1",
                          summary="Kettle leaks", description="The kettle leaks from the base.")
    assert row(domestic, K.CLOSE).due_at == start + timedelta(days=15)
    assert row(foreign, K.CLOSE).due_at == start + timedelta(days=18)


def test_r_sla_7_progress_updates_roll_with_each_contact(org):
    start = at(2026, 10, 12, 10, 0)
    level1 = register_at(org, start)
    assert row(level1, K.PROGRESS).due_at == start + timedelta(days=7)
    level2 = register_at(org, start, level=2, category="quality_general", contact_phone="13900002222",
                         order_number="DD-L2")
    assert row(level2, K.PROGRESS).due_at == start + timedelta(days=2)
    actions.accept(level2, by=org["manager"], now=start + timedelta(days=1))
    assert row(level2, K.PROGRESS).due_at == start + timedelta(days=3)
    assert row(level2, K.PROGRESS).policy.escalates is False
    actions.reply(level2, by=org["manager"], message="处理完毕", now=start + timedelta(days=2))
    assert row(level2, K.PROGRESS).cancelled_at is not None  # nothing more owed once replied


def test_r_sla_8_promised_reply_time_becomes_a_deadline(api, org, register):
    complaint = register()
    r = api("clerk").act(complaint.number, "promise", note="今天下班前给您回电")
    assert r.status_code == 200, r.content
    promised = next(d for d in r.json()["deadlines"] if d["kind"] == K.PROMISED_REPLY)
    due = datetime.fromisoformat(promised["due_at"])
    assert timedelta(hours=23) < due - complaint.registered_at < timedelta(hours=25)
    assert complaint.events.filter(kind=Event.REPLY_PROMISED).exists()
    r = api("clerk").act(complaint.number, "promise", due_at="2020-01-01T10:00:00+08:00")
    assert r.status_code == 422 and r.json()["field"] == "due_at"
    api("clerk").post(f"/complaints/{complaint.number}/message", {"text": "您好，检测已完成"})
    assert row(complaint, K.PROMISED_REPLY).met_at is not None


def test_r_sla_10_hold_over_a_weekend_stops_working_and_calendar_clocks(org):
    complaint = register_at(org, at(2026, 10, 16, 9, 0))  # Friday
    actions.accept(complaint, by=org["clerk"], now=at(2026, 10, 16, 9, 30))
    transfer = actions.transfer(complaint, by=org["clerk"], to_unit=org["qa_unit"], reason="检测",
                                now=at(2026, 10, 16, 10, 0))
    assert row(complaint, K.ANSWER, str(transfer.pk)).due_at == at(2026, 10, 21, 10, 0)
    resolution_due = row(complaint, K.RESOLUTION).due_at
    actions.hold(complaint, by=org["clerk"], reason="等待客户寄回样品", now=at(2026, 10, 16, 16, 0))
    assert row(complaint, K.ANSWER, str(transfer.pk)).paused_at == at(2026, 10, 16, 16, 0)
    actions.resume(complaint, by=org["clerk"], note="样品已收到", now=at(2026, 10, 19, 11, 0))
    # Working time on hold: Friday 16–18 and Monday 9–11, 4 h; the weekend is not counted.
    assert row(complaint, K.ANSWER, str(transfer.pk)).due_at == at(2026, 10, 21, 14, 0)
    # Calendar time on hold: 67 hours.
    assert row(complaint, K.RESOLUTION).due_at == resolution_due + timedelta(hours=67)


def test_r_sla_11_12315_transfers_report_a_result_within_10_working_days(api, org):
    complaint = register_at(org, at(2026, 9, 28, 10, 0), channel="12315")
    assert complaint.level == 3
    # 8 h on 28 Sept; 29, 30 Sept, 8, 9, 10 (调休 Sat), 12, 13, 14, 15 Oct: 81 h; 1 h on 16 Oct.
    assert row(complaint, K.PLATFORM_RESULT).due_at == at(2026, 10, 16, 10, 0)
    actions.report_platform_result(complaint, by=org["manager"], result="已与消费者协商一致，更换新机",
                                   now=at(2026, 10, 9, 15, 0))
    assert row(complaint, K.PLATFORM_RESULT).met_at == at(2026, 10, 9, 15, 0)
    reported = complaint.events.get(kind=Event.PLATFORM_RESULT_REPORTED)
    assert reported.body == "已与消费者协商一致，更换新机"
    other = register_at(org, at(2026, 10, 12, 10, 0), contact_phone="13700009999", order_number="X")
    assert not Deadline.objects.filter(complaint=other, kind=K.PLATFORM_RESULT).exists()
    with pytest.raises(Conflict):
        actions.report_platform_result(other, by=org["clerk"], result="无")


def test_policies_are_editable_data(org):
    Policy.objects.filter(kind=K.REPLY).update(length=Decimal("3"))
    start = at(2026, 10, 12, 10, 0)
    complaint = register_at(org, start)
    assert row(complaint, K.REPLY).due_at == start + timedelta(days=3)
    policy = Policy.objects.get(kind=K.REPLY)
    policy.length = Decimal("0")
    with pytest.raises(Exception):
        policy.full_clean()


def test_reopen_owes_a_new_resolution_and_reply(org):
    start = at(2026, 10, 12, 10, 0)
    complaint = register_at(org, start)
    actions.accept(complaint, by=org["clerk"], now=start + timedelta(hours=1))
    actions.reply(complaint, by=org["clerk"], message="已处理", now=start + timedelta(hours=2))
    actions.reopen(complaint, by=org["manager"], reason="问题复发", now=start + timedelta(days=3))
    resolution = row(complaint, K.RESOLUTION)
    assert resolution.met_at is None
    assert resolution.due_at == start + timedelta(days=3, hours=24)


def test_merged_and_invalid_complaints_owe_nothing(org):
    start = at(2026, 10, 12, 10, 0)
    complaint = register_at(org, start)
    actions.mark_invalid(complaint, by=org["clerk"], reason="恶意重复提交", reply="经核实与事实不符",
                         now=start + timedelta(hours=1))
    assert not Deadline.objects.filter(complaint=complaint, met_at=None, cancelled_at=None).exists()


def test_promise_validation_over_actions(org, register):
    complaint = register()
    with pytest.raises(Invalid):
        actions.promise_reply(complaint, by=org["clerk"], due_at=complaint.registered_at + timedelta(days=40),
                              now=complaint.registered_at)


def test_a_complaint_looked_up_shows_its_live_limits_as_stored(api, org):
    """The lookup reads the limits with the complaint, as JSON (queries.access_complaint):
    every live row, in order of its limit, each moment as stored; none that was cancelled."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    complaint = register_at(org, at(2026, 10, 16, 9, 0))
    actions.accept(complaint, by=org["clerk"], now=at(2026, 10, 16, 9, 30))  # first contact met
    actions.transfer(complaint, by=org["clerk"], to_unit=org["qa_unit"], reason="检测", now=at(2026, 10, 16, 10, 0))
    actions.hold(complaint, by=org["clerk"], reason="等待客户寄回样品", now=at(2026, 10, 16, 16, 0))
    gone = Deadline.objects.filter(complaint=complaint, kind=K.RESOLUTION)
    assert gone.update(cancelled_at=at(2026, 10, 16, 16, 30)) == 1  # as a reply cancels what is no longer owed
    live = list(Deadline.objects.filter(complaint=complaint, cancelled_at=None).order_by("due_at", "id"))
    assert any(d.met_at for d in live) and any(d.paused_at for d in live)
    with CaptureQueriesContext(connection) as queries:
        shown = api("clerk").get(f"/complaints/{complaint.number}").json()["deadlines"]
    assert [(d["kind"], datetime.fromisoformat(d["due_at"]),
             d["met_at"] and datetime.fromisoformat(d["met_at"]), d["paused"]) for d in shown] == [
        (d.kind, d.due_at, d.met_at, d.paused_at is not None) for d in live]
    assert not any('FROM "sla_deadline"' in q["sql"] and "json" not in q["sql"] for q in queries.captured_queries)
