"""SPEC section 5: the workflow table, the timeline, visibility of messages, optimistic locking,
escalation and merging (R-WF-1 … R-WF-6)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from kesu.complaints import actions, queries
from kesu.followups import actions as followups
from kesu.quality import actions as quality
from kesu.quality.models import Capa
from kesu.complaints.models import (
    TRANSITIONS,
    Complaint,
    Event,
    ImmutableEvent,
    Status,
    TimelineEvent,
    Visibility,
)
from kesu.lib.errors import Conflict, Invalid
from kesu.sla.models import Deadline, DeadlineKind


def _call(action: str, complaint: Complaint, org) -> None:
    """Call the action named in the workflow table with valid arguments, as the manager (who
    may handle anything in scope) or the director where a tier-3 reviewer is needed."""
    by = org["director"] if action == "review" else org["manager"]
    other = None
    if action == "merge":
        other = actions.register(
            actions.Intake(channel="phone", customer_name="李娜", contact_phone="13900001111",
                           summary="另一件投诉"), by=org["clerk"]).complaint
    calls = {
        "accept": lambda c: actions.accept(c, by=by),
        "investigate": lambda c: actions.investigate(c, by=by),
        "propose": lambda c: actions.propose(c, by=by, resolution="换新"),
        "request_approval": lambda c: actions.request_approval(c, by=by),
        "approve": lambda c: actions.approve(c, by=by),
        "reject": lambda c: actions.reject(c, by=by, reason="金额过高"),
        "resolve": lambda c: actions.resolve(c, by=by),
        "reply": lambda c: actions.reply(c, by=by, message="已处理"),
        "start_follow_up": lambda c: actions.start_follow_up(c, by=by),
        "review": lambda c: actions.review(c, by=by),
        "close": lambda c: actions.close(c, by=by, reason="已解决"),
        "reopen": lambda c: actions.reopen(c, by=by, reason="客户不满意"),
        "hold": lambda c: actions.hold(c, by=by, reason="等客户提供照片"),
        "resume": lambda c: actions.resume(c, by=by),
        "mark_invalid": lambda c: actions.mark_invalid(c, by=by, reason="非本公司产品", reply="经核实非本公司产品"),
        "merge": lambda c: actions.merge(c, by=by, into=other, reason="重复"),
        "escalate": lambda c: actions.escalate(c, by=by, reason="客户情绪激动"),
        "lower_level": lambda c: actions.lower_level(c, by=by, level=1, reason="误判"),
        "classify": lambda c: actions.classify(c, by=by, category="quality_general"),
        "transfer": lambda c: actions.transfer(c, by=by, to_unit=org["qa_unit"], reason="请品质部调查"),
        "answer": lambda c: actions.answer(c, by=by, transfer_id=0, cause="x", countermeasure="y"),
        "judge": lambda c: actions.judge(c, by=by, valid=True, company_responsible=True, reason="属实"),
        "message": lambda c: actions.message(c, by=by, text="您好"),
        "note": lambda c: actions.note(c, by=by, text="内部备注"),
        "edit": lambda c: actions.edit(c, by=by, changes={"store": "北京门店"}),
        "attach": None,
        "promise": lambda c: actions.promise_reply(c, by=by, note="明天回复"),
        "report_platform_result": lambda c: actions.report_platform_result(c, by=by, result="已协商解决"),
        "record_follow_up": lambda c: followups.record_visit(c, by=by, method="phone", satisfaction=2),
        "send_survey": lambda c: followups.send_survey(c, by=by),
        "waive_follow_up": lambda c: followups.waive_follow_up(c, by=by, reason="declined", note="客户婉拒回访"),
        "record_investigation": lambda c: quality.record_investigation(c, by=by, facts="属实",
                                                                       responsibility="customer_misuse"),
        "open_capa": lambda c: quality.open_capa(c, by=by, title="温控器", causes=[("machine", "焊点虚焊")], actions=[
            quality.PlannedAction("corrective", "返修", by, timezone.localdate()),
            quality.PlannedAction("preventive", "巡检", by, timezone.localdate())]),
        "link_capa": lambda c: quality.link_capa(c, by=by, capa=Capa(number="CA26110001", title="温控器")),
    }
    call = calls[action]
    if call is None:
        pytest.skip("attachments are covered in test_attachments")
    call(complaint)


REFUSED = [(a, s) for a, t in TRANSITIONS.items() for s in Status.values if s not in t.sources]


@pytest.mark.parametrize(("action", "state"), REFUSED)
def test_r_wf_1_refuses_every_unlisted_transition(org, register, action, state):
    """R-WF-1: any action not listed for the state is refused with a clear error and no change."""
    complaint = register()
    Complaint.objects.filter(pk=complaint.pk).update(status=state)
    complaint.refresh_from_db()
    events_before = TimelineEvent.objects.filter(complaint=complaint).count()
    with pytest.raises(Conflict) as exc:
        _call(action, complaint, org)
    assert exc.value.code == "transition_not_allowed"
    fresh = Complaint.objects.get(pk=complaint.pk)
    assert (fresh.status, fresh.version) == (state, complaint.version)
    assert TimelineEvent.objects.filter(complaint=complaint).count() == events_before


def test_r_wf_1_table_covers_every_state_and_only_known_states():
    sources = set().union(*(t.sources for t in TRANSITIONS.values()))
    assert sources <= set(Status.values)
    targets = {t.target for t in TRANSITIONS.values()} - {None, "resume"}
    assert targets <= set(Status.values)
    # Every state except the terminal "merged" can be left or acted on.
    assert set(Status.values) - sources == set()


def test_r_wf_1_illegal_transition_over_http_is_409_and_changes_nothing(api, register):
    complaint = register()
    r = api("clerk").act(complaint.number, "close", reason="想直接结案")
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "transition_not_allowed" and body["field"] == "status"
    assert "“结案”" in body["message"] and "“已登记”" in body["message"]  # words, not codes
    assert Complaint.objects.get(pk=complaint.pk).status == Status.REGISTERED


def test_r_wf_2_every_change_appends_an_event_with_before_and_after(org, register):
    complaint = register()
    actions.accept(complaint, by=org["clerk"])
    actions.edit(complaint, by=org["clerk"], changes={"store": "北京朝阳店", "quantity": 2})
    kinds = list(complaint.events.values_list("kind", flat=True))
    assert kinds[0] == Event.REGISTERED
    accepted = complaint.events.get(kind=Event.ACCEPTED)
    assert accepted.before == {"status": "registered", "accepted_at": None}
    assert accepted.after["status"] == "accepted" and accepted.after["accepted_at"]
    assert accepted.actor == org["clerk"]
    edited = complaint.events.get(kind=Event.EDITED)
    assert edited.before == {"store": "", "quantity": None}
    assert edited.after == {"store": "北京朝阳店", "quantity": 2}


def test_r_wf_2_events_cannot_be_edited_or_deleted(register):
    complaint = register()
    event = complaint.events.first()
    event.body = "篡改"
    with pytest.raises(ImmutableEvent):
        event.save()
    with pytest.raises(ImmutableEvent):
        event.delete()
    assert TimelineEvent.objects.get(pk=event.pk).body == ""


def test_r_wf_2_timeline_endpoint_lists_events_in_order(api, register):
    complaint = register()
    api("clerk").act(complaint.number, "accept", note="已电话联系客户")
    events = api("clerk").get(f"/complaints/{complaint.number}/timeline").json()
    # Registration routes to the level's reviewer (R-RT-2), then the clerk accepts.
    assert [e["kind"] for e in events] == ["registered", "routed", "accepted"]
    assert events[2]["actor"]["username"] == "clerk"
    assert events[2]["body"] == "已电话联系客户"
    assert events[2]["before"]["status"] == "registered"


def test_r_wf_3_notes_are_internal_and_messages_customer_visible(api, register):
    complaint = register()
    clerk = api("clerk")
    assert clerk.post(f"/complaints/{complaint.number}/note", {"text": "客户脾气急，注意语气"}).status_code == 200
    assert clerk.post(f"/complaints/{complaint.number}/message", {"text": "您好，我们已收到您的投诉"}).status_code == 200
    events = clerk.get(f"/complaints/{complaint.number}/timeline").json()
    by_kind = {e["kind"]: e for e in events}
    assert by_kind["note_added"]["visibility"] == "internal"
    assert by_kind["message_sent"]["visibility"] == "customer"
    shown = [e.body for e in queries.customer_visible_events(complaint)]
    assert "您好，我们已收到您的投诉" in shown
    assert "客户脾气急，注意语气" not in shown


def test_r_wf_4_stale_version_is_409_and_changes_nothing(api, register):
    complaint = register()
    clerk, manager = api("clerk"), api("manager")
    v1 = clerk.get(f"/complaints/{complaint.number}").json()["version"]
    assert manager.act(complaint.number, "accept", version=v1).status_code == 200
    r = clerk.act(complaint.number, "escalate", version=v1, reason="客户要求升级")
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "version_conflict" and body["field"] == "version"
    assert body["current_version"] == v1 + 1
    fresh = Complaint.objects.get(pk=complaint.pk)
    assert fresh.level == 1 and fresh.status == Status.ACCEPTED
    assert not fresh.events.filter(kind=Event.ESCALATED).exists()


def test_r_wf_4_two_writers_with_the_same_copy_one_wins(org, register):
    complaint = register()
    mine = Complaint.objects.get(pk=complaint.pk)
    theirs = Complaint.objects.get(pk=complaint.pk)
    actions.accept(mine, by=org["clerk"])
    with pytest.raises(actions.ConcurrentChange):
        actions.escalate(theirs, by=org["manager"], reason="升级")
    fresh = Complaint.objects.get(pk=complaint.pk)
    assert fresh.status == Status.ACCEPTED and fresh.level == 1
    assert fresh.version == mine.version


def test_r_wf_4_notes_do_not_make_open_forms_stale(api, register):
    complaint = register()
    v = api("clerk").get(f"/complaints/{complaint.number}").json()["version"]
    api("manager").post(f"/complaints/{complaint.number}/note", {"text": "请尽快联系客户"})
    assert api("clerk").act(complaint.number, "accept", version=v).status_code == 200


def test_r_wf_5_escalation_raises_level_reroutes_and_needs_a_reason(api, org, register):
    complaint = register()
    clerk = api("clerk")
    r = clerk.act(complaint.number, "escalate", reason="  ")
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = clerk.act(complaint.number, "escalate", reason="客户情绪激动，要求主管处理")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["level"] == 2
    assert body["owner"]["username"] == "manager"  # level 2 goes at once to tier 2 (R-RT-2)
    assert body["reviewer"]["username"] == "director"
    kinds = [e["kind"] for e in clerk.get(f"/complaints/{complaint.number}/timeline").json()]
    assert kinds[-2:] == ["escalated", "routed"]


def test_r_wf_5_escalation_recomputes_deadlines_but_never_moves_a_missed_one(org, register):
    now = timezone.now()
    complaint = register()
    resolution = Deadline.objects.get(complaint=complaint, kind=DeadlineKind.RESOLUTION)
    assert resolution.due_at == complaint.received_at + timedelta(hours=24)
    actions.escalate(complaint, by=org["clerk"], reason="升级", now=now)
    resolution.refresh_from_db()
    assert resolution.due_at == complaint.received_at + timedelta(hours=48)

    late = register(contact_phone="13700001234", order_number="DD-OTHER", summary="热水器漏水",
                    description="热水器底部漏水")
    missed_at = late.received_at + timedelta(hours=24)
    actions.escalate(late, by=org["clerk"], reason="超时未处理，客户再次来电", now=missed_at + timedelta(hours=1))
    row = Deadline.objects.get(complaint=late, kind=DeadlineKind.RESOLUTION)
    assert row.due_at == missed_at


def test_r_wf_5_escalating_a_level_3_complaint_is_refused(org, register):
    complaint = register(channel="12315")
    assert complaint.level == 3
    with pytest.raises(Conflict) as exc:
        actions.escalate(complaint, by=org["manager"], reason="再升级")
    assert exc.value.code == "already_highest"


def test_r_wf_6_merge_keeps_the_number_and_points_to_the_survivor(api, register):
    survivor = register()
    duplicate = register(contact_phone="13911112222", order_number="DD-2", summary="同一件事另一位家属来电")
    r = api("manager").act(duplicate.number, "merge", into=survivor.number, reason="同一订单家属重复来电")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["number"] == duplicate.number
    assert body["status"] == "merged" and body["merged_into"] == survivor.number
    assert survivor.events.filter(kind=Event.MERGE_RECEIVED, data__duplicate=duplicate.number).exists()
    # A merged complaint takes no further action.
    r = api("manager").act(duplicate.number, "accept")
    assert r.status_code == 409


def test_r_wf_6_merge_refuses_itself_and_finished_survivors(org, register):
    a = register()
    b = register(contact_phone="13911113333", order_number="DD-3", summary="冰箱不制冷", description="冰箱不制冷")
    with pytest.raises(Invalid):
        actions.merge(a, by=org["manager"], into=a, reason="自己")
    Complaint.objects.filter(pk=b.pk).update(status=Status.CLOSED)
    b.refresh_from_db()
    with pytest.raises(Conflict):
        actions.merge(a, by=org["manager"], into=b, reason="已结案")
    assert Complaint.objects.get(pk=a.pk).status == Status.REGISTERED


def test_hold_stops_the_clock_and_resume_returns_to_the_previous_state(org, register):
    start = timezone.now()
    complaint = register()
    actions.accept(complaint, by=org["clerk"], now=start)
    actions.hold(complaint, by=org["clerk"], reason="等待客户提供发票", now=start + timedelta(hours=1))
    row = Deadline.objects.get(complaint=complaint, kind=DeadlineKind.RESOLUTION)
    due = row.due_at
    actions.resume(complaint, by=org["clerk"], now=start + timedelta(hours=5))
    assert complaint.status == Status.ACCEPTED
    row.refresh_from_db()
    assert row.due_at == due + timedelta(hours=4)


def test_approval_path_and_reviewed_close(org, register):
    complaint = register()
    clerk, manager = org["clerk"], org["manager"]
    actions.accept(complaint, by=clerk)
    actions.propose(complaint, by=clerk, resolution="赔偿300元", amount=Decimal("300"))
    actions.request_approval(complaint, by=clerk)
    actions.approve(complaint, by=manager)
    assert complaint.status == Status.RESOLVING
    actions.reply(complaint, by=clerk, message="已为您办理赔偿")
    with pytest.raises(Conflict) as exc:
        actions.close(complaint, by=clerk, reason="结案")
    assert exc.value.code == "review_required"
    actions.review(complaint, by=manager)
    actions.close(complaint, by=clerk, reason="客户满意")
    assert complaint.status == Status.CLOSED
    actions.reopen(complaint, by=manager, reason="客户反映问题复发")
    assert complaint.status == Status.REOPENED and complaint.reviewed_at is None
