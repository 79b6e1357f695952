"""SPEC section 9: follow-up visits and satisfaction (R-FU-1 … R-FU-5), the four no-lets-go at
closing (R-IV-6) with the level's reviewer (R-RT-2), and the follow-up steps on the workbench."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from conftest import PASSWORD, investigated
from kesu.comms.models import Notification
from kesu.complaints import actions
from kesu.complaints.models import Complaint, Event, Status
from kesu.followups import actions as followups
from kesu.followups.models import FollowUpVisit, GmAgendaItem, SurveyLink
from kesu.lib.errors import Conflict, Invalid
from kesu.sla.models import Deadline, DeadlineKind


def replied(org, register, *, valid=True, responsible=True, **overrides):
    """A level-1 complaint handled by the clerk up to the reply (judged valid, company
    responsible, investigated and covered by a CAPA; ``responsible=None``: neither)."""
    c = register(**overrides)
    by = c.owner
    actions.accept(c, by=by)
    if valid is not None:
        actions.judge(c, by=by, valid=valid, company_responsible=responsible, reason="经核实属实")
    if valid and responsible is not None:
        investigated(c, by=by, responsible=responsible)
    actions.propose(c, by=by, resolution="为客户换新")
    actions.resolve(c, by=by)
    actions.reply(c, by=by, message="已为您换新一台电饭煲")
    return c


def survey_token(complaint) -> str:
    n = Notification.objects.filter(complaint=complaint, kind="survey_invitation").order_by("-id").first()
    return n.context["survey_url"].rstrip("/").rsplit("/", 1)[-1]


# --- R-FU-1 -------------------------------------------------------------------------------


def test_r_fu_1_a_visit_records_method_and_satisfaction_shown_in_words(api, org, register):
    c = replied(org, register)
    r = api("clerk").post(f"/complaints/{c.number}/follow-ups",
                          {"version": c.version, "method": "phone", "satisfaction": 2, "notes": "客户表示满意"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["visit"]["satisfaction"] == 2 and body["visit"]["satisfaction_label"] == "满意"
    assert body["visit"]["method_label"] == "电话"
    assert body["closable"] is True and body["status"] == "follow_up" and not body["reopened"]
    listed = api("clerk").get(f"/complaints/{c.number}/follow-ups").json()
    assert [(v["satisfaction"], v["satisfaction_label"]) for v in listed] == [(2, "满意")]
    event = Complaint.objects.get(pk=c.pk).events.get(kind=Event.FOLLOW_UP_RECORDED)
    assert event.actor == org["clerk"] and event.data["satisfaction"] == 2


def test_r_fu_1_one_is_best_and_five_is_worst(api, org, register):
    """The scale's direction is the seeds': 1 very satisfied … 5 very dissatisfied."""
    r = api("clerk").get("/openapi.json")
    assert r.status_code == 200
    from kesu.followups.models import Satisfaction
    assert Satisfaction(1).label == "非常满意" and Satisfaction(5).label == "非常不满意"


@pytest.mark.parametrize("bad", [0, 6, "很好"])
def test_r_fu_1_a_satisfaction_outside_one_to_five_is_refused_and_changes_nothing(api, org, register, bad):
    c = replied(org, register)
    r = api("clerk").post(f"/complaints/{c.number}/follow-ups", {"version": c.version, "method": "phone",
                                                                 "satisfaction": bad})
    assert r.status_code == 422 and r.json()["field"] == "satisfaction"
    assert Complaint.objects.get(pk=c.pk).status == Status.REPLIED
    assert not FollowUpVisit.objects.exists()


def test_r_fu_1_an_outsider_cannot_record_a_visit(api, org, register):
    c = replied(org, register)
    r = api("outsider").post(f"/complaints/{c.number}/follow-ups",
                             {"version": c.version, "method": "phone", "satisfaction": 1})
    assert r.status_code == 404
    assert not FollowUpVisit.objects.exists()


# --- R-FU-2 and R-RT-2 ----------------------------------------------------------------------


def test_r_fu_2_satisfied_allows_closing_after_the_levels_reviewer_signs_off(api, org, register):
    c = replied(org, register)
    followups.record_visit(c, by=org["clerk"], method="visit", satisfaction=3)
    r = api("clerk").act(c.number, "close", reason="客户可以接受")
    assert r.status_code == 409 and r.json()["code"] == "review_required"
    assert api("manager").act(c.number, "review").status_code == 200  # level 1: tier 2 reviews
    r = api("clerk").act(c.number, "close", reason="客户可以接受")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "closed"


# --- R-FU-3 ---------------------------------------------------------------------------------


def test_r_fu_3_dissatisfied_escalates_one_level_and_reopens_with_a_new_round(org, register):
    c = replied(org, register)
    before_reply_due = Deadline.objects.get(complaint=c, kind=DeadlineKind.REPLY)
    assert before_reply_due.met_at is not None
    outcome = followups.record_visit(c, by=org["clerk"], method="phone", satisfaction=4, notes="问题没解决")
    c = Complaint.objects.get(pk=c.pk)
    assert outcome.escalated and outcome.reopened and not outcome.closable
    assert (c.level, c.status) == (2, Status.REOPENED)
    assert c.owner == org["manager"] and c.reviewer == org["director"]  # R-RT-2 for level 2
    kinds = list(c.events.values_list("kind", flat=True))
    assert kinds[-4:] == [Event.FOLLOW_UP_RECORDED, Event.ESCALATED, Event.ROUTED, Event.REOPENED] or \
        {Event.FOLLOW_UP_RECORDED, Event.ESCALATED, Event.REOPENED} <= set(kinds)
    assert c.events.get(kind=Event.ESCALATED).data["cause"] == "follow_up"
    # A new handling round owes a new reply.
    assert Deadline.objects.get(complaint=c, kind=DeadlineKind.REPLY).met_at is None


def test_r_fu_3_level_3_still_unsatisfied_goes_on_the_gm_meeting_agenda(api, org, register):
    c = replied(org, register, channel="media")  # R-CL-4: media is level 3
    assert c.level == 3
    outcome = followups.record_visit(c, by=org["manager"], method="visit", satisfaction=5)
    c = Complaint.objects.get(pk=c.pk)
    assert c.level == 3 and c.status == Status.REOPENED and outcome.agenda_item is not None
    agenda = api("gm").get("/gm-agenda")
    assert agenda.status_code == 200
    assert [i["number"] for i in agenda.json()] == [c.number]
    assert api("handler").get("/gm-agenda").status_code == 403
    item = GmAgendaItem.objects.get()
    r = api("gm").post(f"/gm-agenda/{item.pk}/discussed", {"outcome": "总经理会议决定：赔偿并上门致歉"})
    assert r.status_code == 200 and r.json()["discussed_at"]
    assert api("gm").get("/gm-agenda").json() == []


# --- R-FU-4 ---------------------------------------------------------------------------------


def test_r_fu_4_an_anonymous_complaint_needs_no_visit(api, org, register):
    c = replied(org, register, anonymous=True, customer_name="", contact_phone="")
    checklist = api("clerk").get(f"/complaints/{c.number}/closure-checklist").json()
    satisfied = next(x for x in checklist["conditions"] if x["code"] == "satisfied")
    assert satisfied["state"] == "met"
    actions.review(c, by=org["manager"])
    actions.close(Complaint.objects.get(pk=c.pk), by=org["clerk"], reason="匿名投诉，已整改存档")
    assert Complaint.objects.get(pk=c.pk).status == Status.CLOSED


def test_r_fu_4_solved_on_the_spot_and_signed_needs_no_visit(org, register):
    c = replied(org, register)
    followups.waive_follow_up(c, by=org["clerk"], reason="on_the_spot", note="当场解决，客户已签字")
    actions.review(c, by=org["manager"])
    actions.close(c, by=org["clerk"], reason="当场解决")
    assert c.status == Status.CLOSED


def test_r_fu_4_only_tier_2_marks_a_complaint_sensitive(org, register):
    c = replied(org, register)
    with pytest.raises(Invalid) as exc:
        followups.waive_follow_up(c, by=org["clerk"], reason="sensitive", note="涉及媒体")
    assert exc.value.field == "reason"
    followups.waive_follow_up(c, by=org["manager"], reason="sensitive", note="涉及媒体")
    assert c.events.filter(kind=Event.FOLLOW_UP_WAIVED).count() == 1


def test_r_fu_4_declined_closes_automatically_seven_days_after_the_reply(org, register):
    c = replied(org, register)
    followups.waive_follow_up(c, by=org["clerk"], reason="declined", note="客户表示不需要回访")
    actions.review(c, by=org["manager"])
    with pytest.raises(Conflict) as exc:  # not before the 7 days: a repeat complaint may come
        actions.close(Complaint.objects.get(pk=c.pk), by=org["clerk"], reason="结案")
    assert exc.value.code == "closure_checklist"
    c = Complaint.objects.get(pk=c.pk)
    early = followups.close_declined(now=c.replied_at + timedelta(days=6))
    assert early.closed == [] and Complaint.objects.get(pk=c.pk).status == Status.REPLIED
    later = c.replied_at + timedelta(days=7, minutes=1)
    assert followups.close_declined(now=later).closed == [c.number]
    c = Complaint.objects.get(pk=c.pk)
    assert c.status == Status.CLOSED and c.events.get(kind=Event.CLOSED).actor is None
    assert followups.close_declined(now=later + timedelta(hours=1)).closed == []  # idempotent


def test_r_fu_4_a_repeat_complaint_cancels_the_automatic_close(org, register):
    c = replied(org, register)
    followups.waive_follow_up(c, by=org["clerk"], reason="declined", note="客户婉拒回访")
    actions.review(c, by=org["manager"])
    repeat = register(summary="电饭煲又不加热了")  # same phone and order → R-IN-7 repeat
    assert repeat.repeat_of_id == c.pk
    result = followups.close_declined(now=timezone.now() + timedelta(days=8))
    assert result.closed == [] and result.cancelled == [c.number]
    assert Complaint.objects.get(pk=c.pk).status == Status.REPLIED


def test_r_fu_4_the_close_declined_command_runs_one_pass(org, register, capsys):
    c = replied(org, register)
    followups.waive_follow_up(c, by=org["clerk"], reason="declined", note="客户婉拒回访")
    call_command("close_declined")
    assert "0 closed" in capsys.readouterr().out
    assert Complaint.objects.get(pk=c.pk).status == Status.REPLIED


# --- R-FU-5 ---------------------------------------------------------------------------------


def test_r_fu_5_a_survey_link_goes_out_through_the_outbox_and_is_single_use(api, org, register):
    c = replied(org, register)
    r = api("clerk").post(f"/complaints/{c.number}/survey", {"version": c.version})
    assert r.status_code == 200 and r.json()["sent_to"] == ["sms"]
    token = survey_token(c)
    assert token not in str(r.json())  # staff never see the link
    assert SurveyLink.objects.get().token_hash != token  # stored hashed
    public = Client()
    q = public.get(f"/api/v1/public/surveys/{token}")
    assert q.status_code == 200
    assert set(q.json()) == {"number", "question", "choices", "expires_at"}
    assert "张伟" not in q.content.decode() and "电饭煲" not in q.content.decode()
    a = public.post(f"/api/v1/public/surveys/{token}", {"satisfaction": 1}, content_type="application/json")
    assert a.status_code == 200 and a.json()["satisfaction_label"] == "非常满意"
    replay = public.post(f"/api/v1/public/surveys/{token}", {"satisfaction": 5}, content_type="application/json")
    assert replay.status_code == 409 and replay.json()["code"] == "survey_used"
    assert list(FollowUpVisit.objects.values_list("satisfaction", "method")) == [(1, "survey")]
    assert Complaint.objects.get(pk=c.pk).status == Status.FOLLOW_UP


def test_r_fu_5_a_survey_link_expires_after_fourteen_days(org, register):
    c = replied(org, register)
    followups.send_survey(c, by=org["clerk"])
    link = SurveyLink.objects.get()
    assert link.expires_at - link.created_at == timedelta(days=14)
    with pytest.raises(Conflict) as exc:
        followups.answer_survey(survey_token(c), satisfaction=2, now=link.expires_at + timedelta(seconds=1))
    assert exc.value.code == "survey_expired"
    assert not FollowUpVisit.objects.exists()


def test_r_fu_5_a_new_link_or_a_reopen_retires_the_old_one(org, register):
    c = replied(org, register)
    followups.send_survey(c, by=org["clerk"])
    first = survey_token(c)
    followups.send_survey(Complaint.objects.get(pk=c.pk), by=org["clerk"])
    with pytest.raises(Conflict) as exc:
        followups.answer_survey(first, satisfaction=2)
    assert exc.value.code == "survey_revoked"


def test_r_fu_5_no_survey_without_a_mobile_or_email(org, register):
    c = replied(org, register, contact_phone="010-62345678")
    with pytest.raises(Conflict) as exc:
        followups.send_survey(c, by=org["clerk"])
    assert exc.value.code == "no_survey_contact"
    assert not SurveyLink.objects.exists()


# --- R-IV-6 ---------------------------------------------------------------------------------


def test_r_iv_6_close_refuses_with_409_listing_every_missing_condition(api, org, register):
    c = replied(org, register, responsible=None)
    actions.review(c, by=org["manager"])
    r = api("clerk").act(c.number, "close", reason="结案")
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "closure_checklist" and body["field"] == "checklist"
    assert [m["code"] for m in body["missing"]] == ["satisfied", "responsibility", "capa"]
    assert "责任" in body["message"] and "满意" in body["message"] and "纠正预防" in body["message"]
    c = Complaint.objects.get(pk=c.pk)
    assert c.status == Status.REPLIED and not c.events.filter(kind=Event.CLOSED).exists()


def test_r_iv_6_responsibility_and_capa_come_from_the_investigation_and_the_capa(api, org, register):
    c = replied(org, register)
    followups.record_visit(c, by=org["clerk"], method="phone", satisfaction=1)
    actions.review(c, by=org["manager"])
    body = api("clerk").get(f"/complaints/{c.number}/closure-checklist").json()
    states = {x["code"]: x["state"] for x in body["conditions"]}
    assert states == {"solved": "met", "satisfied": "met", "responsibility": "met", "capa": "met"}
    details = {x["code"]: x["detail"] for x in body["conditions"]}
    assert details["responsibility"] == "公司责任 · 北京门店 · 李明" and details["capa"].startswith("纠正预防措施 CA")
    assert body["applies"] and body["reviewed"] and body["can_close"]
    assert api("clerk").act(c.number, "close", reason="客户非常满意").status_code == 200


def test_r_iv_6_a_quality_complaint_closes_only_with_a_preventive_action(api, org, register):
    from datetime import timedelta

    from kesu.quality import actions as quality

    c = replied(org, register, responsible=None, category="quality_general")
    quality.record_investigation(c, by=c.owner, facts="涂层脱落", responsibility="supplier", third_party="某涂层厂")
    today = timezone.localdate()
    with pytest.raises(Invalid):  # opened without one: refused (R-IV-3)
        quality.open_capa(c, by=c.owner, title="涂层", causes=[("material", "涂层原料")],
                          actions=[quality.PlannedAction("corrective", "换供应商", c.owner, today)])
    other = replied(org, register, responsible=None, category="service_speed")
    capa = quality.open_capa(other, by=other.owner, title="涂层", causes=[("material", "涂层原料")],
                             actions=[quality.PlannedAction("corrective", "换供应商", other.owner, today)])
    quality.link_capa(c, by=c.owner, capa=capa)  # the same cause; no preventive action yet
    followups.record_visit(c, by=org["clerk"], method="phone", satisfaction=2)
    actions.review(c, by=org["manager"])
    body = api("clerk").get(f"/complaints/{c.number}/closure-checklist").json()
    capa_condition = next(x for x in body["conditions"] if x["code"] == "capa")
    assert capa_condition["state"] == "missing" and "预防措施" in capa_condition["detail"]
    assert api("clerk").act(c.number, "close", reason="结案").status_code == 409
    quality.add_action(capa, by=org["qa"], action=quality.PlannedAction(
        "preventive", "来料检验加测附着力", org["qa"], today + timedelta(days=30)))
    assert api("clerk").act(c.number, "close", reason="结案").status_code == 200


def test_r_iv_6_reopen_keeps_the_history_and_needs_a_new_round(org, register):
    c = replied(org, register)
    followups.record_visit(c, by=org["clerk"], method="phone", satisfaction=2)
    actions.review(c, by=org["manager"])
    actions.close(c, by=org["clerk"], reason="客户满意")
    events_before = list(c.events.values_list("id", flat=True))
    actions.reopen(c, by=org["manager"], reason="客户来电说问题复发")
    assert list(c.events.filter(id__in=events_before).values_list("id", flat=True)) == events_before
    assert FollowUpVisit.objects.filter(complaint=c).count() == 1  # the old visit stays on record
    actions.reply(c, by=org["manager"], message="已再次上门检修")
    actions.review(c, by=org["manager"])
    with pytest.raises(Conflict) as exc:  # the old round's satisfaction does not count
        actions.close(Complaint.objects.get(pk=c.pk), by=org["manager"], reason="结案")
    assert exc.value.code == "closure_checklist"


# --- the workbench step ---------------------------------------------------------------------


def test_r_fu_1_the_complaint_page_offers_the_follow_up_visit_step(org, register):
    c = replied(org, register)
    client = Client()
    assert client.login(username="clerk", password=PASSWORD)
    page = client.get(f"/c/{c.number}/").content.decode()
    assert "step-record_follow_up" in page or "record_follow_up" in page
    r = client.post(f"/c/{c.number}/act/record_follow_up/", {
        "version": c.version, "record_follow_up-method": "phone", "record_follow_up-satisfaction": "5",
        "record_follow_up-notes": "客户非常不满意"})
    assert r.status_code == 302, r.content.decode()[:2000]
    c = Complaint.objects.get(pk=c.pk)
    assert (c.status, c.level) == (Status.REOPENED, 2)


def test_r_iv_6_the_close_step_on_the_complaint_page_shows_the_checklist(org, register):
    c = replied(org, register, responsible=None)
    client = Client()
    assert client.login(username="clerk", password=PASSWORD)
    page = client.get(f"/c/{c.number}/").content.decode()
    assert "问题已解决（已完成）" in page
    assert "责任已明确（缺少）" in page
    assert "已有纠正预防措施（CAPA）（缺少）" in page
    actions.review(c, by=org["manager"])
    r = client.post(f"/c/{c.number}/act/close/", {"version": Complaint.objects.get(pk=c.pk).version,
                                                  "close-reason": "结案"})
    assert r.status_code == 422 and "四不放过" in r.content.decode()
    assert Complaint.objects.get(pk=c.pk).status == Status.REPLIED
