"""What the complaint actions put in the outbox (R-CM-5): the acknowledgement with number and
lookup code (R-IN-6), assignments (R-RT-2), GM copies (R-RT-3) and customer messages."""

from __future__ import annotations

from django.db import transaction

from conftest import intake
from kesu.comms.models import Notification
from kesu.complaints import actions
from kesu.complaints.actions import hash_lookup_code
from kesu.complaints.models import Complaint


def test_r_in_6_acknowledgement_carries_number_and_lookup_code(api):
    r = api("clerk").post("/complaints", {"channel": "phone", "customer_name": "张伟",
                                          "contact_phone": "13812345678", "other_contact": "zw@example.cn",
                                          "summary": "电饭煲不加热"})
    assert r.status_code == 201
    body = r.json()
    code = body["lookup_code"]
    assert len(code) == 6 and code.isdigit()
    complaint = Complaint.objects.get(number=body["complaint"]["number"])
    assert complaint.lookup_code_hash == hash_lookup_code(complaint.number, code)
    acks = Notification.objects.filter(complaint=complaint, kind="acknowledgement").order_by("channel")
    assert [(n.channel, n.recipient) for n in acks] == [("email", "zw@example.cn"), ("sms", "13812345678")]
    assert all(n.context["number"] == complaint.number and n.context["lookup_code"] == code for n in acks)
    # The code is not stored in the clear on the complaint, nor shown again.
    assert code not in str(api("clerk").get(f"/complaints/{complaint.number}").json())


def test_r_in_6_anonymous_or_landline_only_gets_no_sms(org):
    anonymous = actions.register(intake(anonymous=True, customer_name="", contact_phone=""), by=org["clerk"]).complaint
    landline = actions.register(intake(contact_phone="010-62345678", order_number="L-1"), by=org["clerk"]).complaint
    assert not Notification.objects.filter(complaint__in=[anonymous, landline]).exists()


def test_r_cm_5_notifications_roll_back_with_the_action(org):
    before = Notification.objects.count()
    try:
        with transaction.atomic():
            actions.register(intake(), by=org["clerk"])
            raise RuntimeError("the request failed after registering")
    except RuntimeError:
        pass
    assert Notification.objects.count() == before
    assert Complaint.objects.count() == 0


def test_r_rt_2_new_handler_is_notified_of_the_assignment(org):
    org["manager"].email = "manager@example.cn"
    org["manager"].save()
    complaint = actions.register(intake(level=2, category="quality_general"), by=org["clerk"]).complaint
    assigned = Notification.objects.get(complaint=complaint, kind="assignment", recipient="manager@example.cn")
    assert assigned.status == "pending"


def test_r_rt_3_gm_is_copied_when_raised_and_at_every_change(org):
    org["gm"].email = "gm@example.cn"
    org["gm"].save()
    complaint = actions.register(intake(channel="media", summary="记者报道空调起火"), by=org["clerk"]).complaint
    assert Notification.objects.filter(complaint=complaint, kind="gm_copy", recipient="gm@example.cn").count() == 1
    actions.accept(complaint, by=org["manager"])
    assert Notification.objects.filter(complaint=complaint, kind="gm_copy").count() == 2


def test_replies_and_messages_go_to_the_customer_notes_do_not(org, register):
    complaint = register()
    actions.accept(complaint, by=org["clerk"])
    actions.note(complaint, by=org["clerk"], text="客户很着急")
    assert not Notification.objects.filter(complaint=complaint, kind__in=["progress", "reply"]).exists()
    actions.message(complaint, by=org["clerk"], text="您好，师傅明天上门")
    actions.reply(complaint, by=org["clerk"], message="已为您更换新机")
    sent = {n.kind: n.context["message"] for n in Notification.objects.filter(complaint=complaint, channel="sms")
            if n.kind in ("progress", "reply")}
    assert sent == {"progress": "您好，师傅明天上门", "reply": "已为您更换新机"}
