"""SPEC section 6, CAPA: the cause analysis in six groups with corrective (and for quality
complaints preventive) actions, each with an owner and a due date (R-IV-3); QA confirms each
action's effect or sends it back, and one CAPA may cover several complaints (R-IV-4)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from kesu.comms.models import Notification
from kesu.complaints import actions
from kesu.complaints.models import Complaint, Event
from kesu.lib.errors import Conflict, Forbidden
from kesu.quality import actions as quality
from kesu.quality.models import ActionState, Capa, CapaAction, CapaEvent


def due(days: int = 14) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


@pytest.fixture
def accepted(org, register):
    phones = iter(range(1000))

    def _accepted(**overrides):
        # A phone of its own each: a second complaint from one customer would be a repeat (R-IN-7).
        c = register(**{"contact_phone": f"1391234{next(phones):04d}", **overrides})
        actions.accept(c, by=c.owner)
        return Complaint.objects.get(pk=c.pk)

    return _accepted


def capa_body(c, **overrides):
    return {"complaint": c.number, "version": c.version, "title": "电饭煲内胆涂层脱落",
            "causes": [{"group": "material", "text": "内胆涂层供应商更换了原料"},
                       {"group": "measurement", "text": "来料检验未测附着力"}],
            "actions": [{"kind": "corrective", "description": "召回同批次内胆并更换", "owner": "handler",
                         "due_date": due()},
                        {"kind": "preventive", "description": "来料检验增加附着力测试", "owner": "qa",
                         "due_date": due(30)}],
            **overrides}


def test_r_iv_3_a_capa_has_causes_in_six_groups_and_actions_with_owner_and_due_date(api, org, accepted):
    org["handler"].email = "handler@example.com"
    org["handler"].save()
    c = accepted(category="quality_general")
    r = api(c.owner.username).post("/capas", capa_body(c))
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["number"].startswith("CA") and len(body["number"]) == 10 and body["state"] == "open"
    assert body["complaints"] == [c.number]
    assert [(x["group"], x["group_label"]) for x in body["causes"]] == [("material", "料"), ("measurement", "测")]
    assert [(a["kind"], a["owner"], a["state"]) for a in body["actions"]] == [
        ("corrective", "handler", "open"), ("preventive", "qa", "open")]
    assert Complaint.objects.get(pk=c.pk).events.get(kind=Event.CAPA_LINKED).data == {"capa": body["number"]}
    told = Notification.objects.get(kind="capa_action", recipient="handler@example.com")
    assert told.context["capa"] == body["number"] and told.context["action"] == "召回同批次内胆并更换"
    assert api("manager").get(f"/complaints/{c.number}/capas").json()[0]["number"] == body["number"]
    second = api(c.owner.username).post("/capas", capa_body(accepted(category="quality_general")))
    assert int(second.json()["number"][-4:]) == int(body["number"][-4:]) + 1  # a serial per month


def test_r_iv_3_a_corrective_action_always_and_for_quality_a_preventive_one(api, org, accepted):
    quality_complaint = accepted(category="quality_general")
    only_preventive = capa_body(quality_complaint, actions=[capa_body(quality_complaint)["actions"][1]])
    r = api("clerk").post("/capas", only_preventive)
    assert r.status_code == 422 and r.json()["field"] == "actions" and "纠正措施" in r.json()["message"]
    only_corrective = capa_body(quality_complaint, actions=[capa_body(quality_complaint)["actions"][0]])
    r = api("clerk").post("/capas", only_corrective)
    assert r.status_code == 422 and r.json()["field"] == "actions" and "预防措施" in r.json()["message"]
    service = accepted(category="service_speed")
    assert api("clerk").post("/capas", capa_body(service, actions=only_corrective["actions"])).status_code == 201
    assert Capa.objects.count() == 1  # the refused ones wrote nothing


def test_r_iv_3_bad_input_names_the_field(api, org, accepted):
    c = accepted(category="quality_general")
    body = capa_body(c)
    body["actions"][0]["due_date"] = (timezone.localdate() - timedelta(days=1)).isoformat()
    r = api("clerk").post("/capas", body)
    assert r.status_code == 422 and r.json()["field"] == "actions" and "1" in r.json()["message"]
    body = capa_body(c)
    body["actions"][1]["owner"] = "nobody"
    r = api("clerk").post("/capas", body)
    assert r.status_code == 422 and "nobody" in r.json()["message"]
    r = api("clerk").post("/capas", capa_body(c, causes=[{"group": "luck", "text": "运气不好"}]))
    assert r.status_code == 422 and "causes" in r.content.decode()
    r = api("outsider").post("/capas", capa_body(c))
    assert r.status_code == 404
    assert not Capa.objects.exists() and not CapaAction.objects.exists()


def test_r_iv_4_qa_confirms_the_effect_or_sends_the_action_back_and_one_capa_covers_several(api, org, accepted):
    first, second = accepted(category="quality_general"), accepted(category="quality_general")
    number = api("clerk").post("/capas", capa_body(first)).json()["number"]
    r = api("clerk").post(f"/capas/{number}/complaints", {"complaint": second.number, "version": second.version})
    assert r.status_code == 200 and r.json()["complaints"] == [first.number, second.number]
    again = api("clerk").post(f"/capas/{number}/complaints", {"complaint": second.number, "version": second.version})
    assert again.status_code == 409
    corrective, preventive = CapaAction.objects.filter(capa__number=number).order_by("id")

    # The owner reports done; someone else (tier 1) may not, and QA may not confirm an open one.
    assert api("clerk").post(f"/capas/{number}/actions/{corrective.pk}/done", {"result": "x"}).status_code == 403
    assert api("qa").post(f"/capas/{number}/actions/{corrective.pk}/verify", {"effective": True}).status_code == 409
    r = api("handler").post(f"/capas/{number}/actions/{corrective.pk}/done", {"result": "已召回更换128台"})
    assert r.status_code == 200 and r.json()["state"] == "done"

    # Only QA confirms; not effective needs the reason, and sends it back to the owner.
    assert api("manager").post(f"/capas/{number}/actions/{corrective.pk}/verify",
                               {"effective": True}).status_code == 403
    r = api("qa").post(f"/capas/{number}/actions/{corrective.pk}/verify", {"effective": False})
    assert r.status_code == 422 and r.json()["field"] == "note"
    r = api("qa").post(f"/capas/{number}/actions/{corrective.pk}/verify",
                       {"effective": False, "note": "抽查仍有3台未更换"})
    assert r.status_code == 200 and r.json()["state"] == "open" and r.json()["sent_back"] == 1
    api("handler").post(f"/capas/{number}/actions/{corrective.pk}/done", {"result": "剩余3台已更换"})
    r = api("qa").post(f"/capas/{number}/actions/{corrective.pk}/verify", {"effective": True, "note": "回访确认"})
    assert r.status_code == 200 and r.json()["state"] == "closed" and r.json()["verified_by"] == "qa"
    assert api("clerk").get(f"/capas/{number}").json()["state"] == "open"  # the preventive action is still open

    # QA owns the preventive action: another QA member confirms it, not the owner.
    api("qa").post(f"/capas/{number}/actions/{preventive.pk}/done", {"result": "检验规程已修订"})
    r = api("qa").post(f"/capas/{number}/actions/{preventive.pk}/verify", {"effective": True})
    assert r.status_code == 403
    from kesu.org.models import Role, User

    other_qa = User.objects.create_user(username="qa2", password="x", role=Role.QA, tier=1)
    other_qa.units.set([org["qa_unit"]])
    quality.verify_action(CapaAction.objects.get(pk=preventive.pk), by=other_qa, effective=True, note="")
    capa = api("clerk").get(f"/capas/{number}").json()
    assert capa["state"] == "closed" and capa["closed_at"]
    assert [e["kind"] for e in capa["events"]] == [
        "opened", "linked", "action_done", "sent_back", "action_done", "effect_confirmed", "action_done",
        "effect_confirmed", "closed"]
    for c in (first, second):
        assert Complaint.objects.get(pk=c.pk).events.get(kind=Event.CAPA_CLOSED).data == {"capa": number}
    r = api("clerk").post(f"/capas/{number}/actions", {"kind": "corrective", "description": "再改", "owner": "handler",
                                                       "due_date": due()})
    assert r.status_code == 409  # closed


def test_r_iv_4_two_people_confirming_at_once_one_wins(org, accepted):
    c = accepted(category="service_speed")
    capa = quality.open_capa(c, by=c.owner, title="配送慢", causes=[("method", "排班不合理")],
                             actions=[quality.PlannedAction("corrective", "调整排班", org["handler"],
                                                            timezone.localdate())])
    action = capa.actions.get()
    quality.complete_action(action, by=org["handler"], result="已调整")
    stale = CapaAction.objects.get(pk=action.pk)
    quality.verify_action(CapaAction.objects.get(pk=action.pk), by=org["qa"], effective=True, note="有效")
    with pytest.raises(Conflict):  # read before the other's confirmation: told, not overwritten
        quality.verify_action(stale, by=org["qa"], effective=False, note="无效")
    assert CapaAction.objects.get(pk=action.pk).state == ActionState.CLOSED
    assert CapaEvent.objects.filter(capa=capa, kind="effect_confirmed").count() == 1


def test_r_iv_4_a_capa_is_seen_by_those_who_see_its_complaints_its_owners_and_qa(api, org, accepted):
    c = accepted(category="service_speed")
    number = api("clerk").post("/capas", capa_body(c, actions=[capa_body(c)["actions"][0]])).json()["number"]
    assert api("outsider").get(f"/capas/{number}").status_code == 404
    assert [x["number"] for x in api("qa").get("/capas").json()] == [number]
    assert [x["number"] for x in api("handler").get("/capas", {"mine": True}).json()] == [number]
    assert api("manager").get("/capas", {"to_verify": True}).json() == []
    with pytest.raises(Forbidden):
        quality.add_action(Capa.objects.get(number=number), by=org["outsider"],
                           action=quality.PlannedAction("corrective", "x", org["handler"], timezone.localdate()))


def test_r_iv_3_owners_are_reminded_of_actions_due_tomorrow_and_overdue_once_a_day(org, accepted):
    from django.core.management import call_command

    org["handler"].email = "handler@example.com"
    org["handler"].save()
    c = accepted(category="service_speed")
    today = timezone.localdate()
    capa = quality.open_capa(c, by=c.owner, title="配送慢", causes=[("method", "排班不合理")], actions=[
        quality.PlannedAction("corrective", "调整排班", org["handler"], today + timedelta(days=1)),
        quality.PlannedAction("corrective", "培训司机", org["handler"], today + timedelta(days=10))])
    soon = capa.actions.order_by("id").first()  # the other is due in ten days: not yet

    def reminders():
        return list(Notification.objects.filter(kind="capa_action", dedupe_key__contains=":remind:")
                    .order_by("id").values_list("context__action", "context__reminder"))

    assert [a.pk for a in quality.remind_due_actions()] == [soon.pk]
    quality.remind_due_actions()  # again the same day: nothing new
    assert reminders() == [("调整排班", "due")]
    in_three_days = timezone.now() + timedelta(days=3)
    quality.remind_due_actions(now=in_three_days)
    assert reminders() == [("调整排班", "due"), ("调整排班", "overdue")]
    quality.complete_action(soon, by=org["handler"], result="已调整")
    assert quality.remind_due_actions(now=in_three_days + timedelta(days=1)) == []  # done: no more
    out = io.StringIO()
    call_command("remind_capa", stdout=out)  # the worker's daily pass, by hand
    assert out.getvalue().strip().endswith("reminded")
