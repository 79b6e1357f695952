"""SPEC section 3: tiers and routing (R-RT-1 … R-RT-5)."""

from __future__ import annotations

from kesu.comms.models import Notification
from kesu.complaints import actions
from kesu.complaints.models import Complaint, Event
from kesu.org.models import DEFAULT_TIER, Role, User


def test_r_rt_1_roles_sit_at_their_tiers():
    assert DEFAULT_TIER[Role.CLERK] == DEFAULT_TIER[Role.HANDLER] == 1
    assert DEFAULT_TIER[Role.MANAGER] == 2
    assert DEFAULT_TIER[Role.DIRECTOR] == DEFAULT_TIER[Role.GM] == 3


def test_r_rt_2_level_1_stays_with_tier_1_and_is_reviewed_by_tier_2(api):
    body = api("clerk").post("/complaints", {
        "channel": "phone", "customer_name": "王芳", "contact_phone": "13600001111",
        "summary": "洗衣机门锁坏了", "level": 1, "category": "quality_general"}).json()["complaint"]
    assert body["level"] == 1
    assert body["owner"]["username"] == "clerk"
    assert body["first_responder"]["username"] == "clerk"
    assert body["reviewer"]["username"] == "manager" and body["reviewer_tier"] == 2


def test_r_rt_2_level_2_goes_at_once_to_tier_2_and_is_reviewed_by_tier_3(api):
    body = api("clerk").post("/complaints", {
        "channel": "phone", "customer_name": "王芳", "contact_phone": "13600001111",
        "summary": "要求赔偿", "level": 2, "category": "quality_general"}).json()["complaint"]
    assert body["owner"]["username"] == "manager"
    assert body["first_responder"]["username"] == "clerk"
    assert body["reviewer"]["username"] == "director" and body["reviewer_tier"] == 3
    routed = Complaint.objects.get(number=body["number"]).events.get(kind=Event.ROUTED)
    assert routed.before["owner"] == api("clerk").user.pk
    assert routed.body  # the reason is on the timeline (R-IN-5)


def test_r_rt_2_level_3_is_reported_to_tier_2_and_directed_by_tier_3(org, register):
    complaint = register(channel="media", summary="记者来电询问空调起火事件")
    assert complaint.level == 3
    assert complaint.owner == org["manager"]
    assert complaint.reviewer == org["director"]


def test_r_rt_2_only_the_reviewer_tier_signs_off(api, org, register):
    complaint = register(level=2, category="quality_general")
    actions.accept(complaint, by=org["manager"])
    actions.reply(complaint, by=org["manager"], message="已处理")
    r = api("manager").act(complaint.number, "review")
    assert r.status_code == 403
    assert Complaint.objects.get(pk=complaint.pk).reviewed_at is None
    r = api("director").act(complaint.number, "review")
    assert r.status_code == 200 and r.json()["reviewed_by"]["username"] == "director"


def test_r_rt_3_level_3_claims_and_batches_are_copied_to_the_gm(org, register):
    plain = register()
    assert not plain.gm_copy
    claim = register(contact_phone="13500002222", order_number="DD-9", category="claim",
                     summary="要求索赔", description="要求赔偿损失")
    assert claim.gm_copy
    assert claim.events.filter(kind=Event.GM_COPIED).count() == 1
    batch = register(contact_phone="13500003333", order_number="DD-10", category="quality_serious",
                     summary="同一批次多台故障", description="同一批次")
    assert batch.gm_copy and batch.level == 3
    # …and at every change of their handling.
    actions.accept(claim, by=org["manager"])
    actions.transfer(claim, by=org["manager"], to_unit=org["qa_unit"], reason="请品质部鉴定")
    assert claim.events.filter(kind=Event.GM_COPIED).count() == 3


def test_r_rt_3_escalation_to_level_3_copies_the_gm(org, register):
    complaint = register(level=2, category="quality_general")
    assert not complaint.gm_copy
    actions.escalate(complaint, by=org["manager"], reason="客户扬言找媒体")
    assert complaint.level == 3 and complaint.gm_copy


def test_r_rt_4_transfer_to_a_responsible_unit_which_answers_on_the_same_record(api, org, register):
    complaint = register()
    actions.accept(complaint, by=org["clerk"])
    r = api("clerk").act(complaint.number, "transfer", to_unit="qa", reason="请品质部检测电饭煲")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["owner"]["username"] == "clerk"  # the owner stays accountable
    assert body["transfer_count"] == 1
    transfer = body["transfers"][0]
    assert transfer["to_unit"]["code"] == "qa" and transfer["reason"] == "请品质部检测电饭煲"
    # QA now sees the complaint and answers on it.
    qa = api("qa")
    assert qa.get(f"/complaints/{complaint.number}").status_code == 200
    r = qa.act(complaint.number, "answer", transfer_id=transfer["id"], cause="温控器批次不良",
               countermeasure="更换温控器供应商，库存全检")
    assert r.status_code == 200, r.content
    answered = r.json()["transfers"][0]
    assert answered["answered_by"]["username"] == "qa" and answered["cause"] == "温控器批次不良"
    r = qa.act(complaint.number, "answer", transfer_id=transfer["id"], cause="x", countermeasure="y")
    assert r.status_code == 409


def test_r_rt_4_unknown_unit_or_user_is_a_clear_error(api, register):
    complaint = register()
    r = api("clerk").act(complaint.number, "transfer", to_unit="nowhere", reason="x")
    assert r.status_code == 422 and r.json()["field"] == "to_unit"
    r = api("clerk").act(complaint.number, "transfer", to_unit="qa", to_user="manager", reason="x")
    assert r.status_code == 422 and r.json()["field"] == "to_user"
    assert Complaint.objects.get(pk=complaint.pk).transfer_count == 0


def test_r_rt_4_handing_over_changes_the_handler_with_a_reason(org, register):
    complaint = register()
    actions.transfer(complaint, by=org["clerk"], to_unit=org["beijing"], to_user=org["handler"],
                     new_handler=True, reason="换班，交由同事跟进")
    assert complaint.owner == org["handler"] and complaint.first_responder == org["clerk"]
    event = complaint.events.get(kind=Event.TRANSFERRED)
    assert event.before == {"owner": org["clerk"].pk, "transfer_count": 0}
    assert event.body == "换班，交由同事跟进"


def test_r_rt_5_more_than_three_transfers_flags_tier_2(org, register):
    complaint = register()
    for n in range(3):
        actions.transfer(complaint, by=org["clerk"], to_unit=org["qa_unit"], reason=f"第{n + 1}次转派")
    assert not complaint.bounce_flag
    actions.transfer(complaint, by=org["clerk"], to_unit=org["qa_unit"], reason="第4次转派")
    assert complaint.bounce_flag
    flagged = complaint.events.get(kind=Event.BOUNCE_FLAGGED)
    assert flagged.data == {"transfers": 4, "manager": org["manager"].pk}



def test_r_rt_2_routing_is_written_with_the_registration_and_answered_as_stored(api, org):
    """The handler, reviewer and GM copy go into the registration's own row: the answer's
    version is the stored one and works for the next step (R-WF-4); the timeline still shows
    the routing as a change from the clerk, in the order it happened (R-WF-2)."""
    for name in ("manager", "director", "gm"):
        org[name].email = f"{name}@example.cn"
        org[name].save(update_fields=["email"])
    body = api("clerk").post("/complaints", {
        "channel": "media", "customer_name": "王芳", "contact_phone": "13600001111",
        "summary": "记者来电询问空调起火事件"}).json()["complaint"]
    complaint = Complaint.objects.get(number=body["number"])
    assert body["version"] == complaint.version
    assert (complaint.owner, complaint.reviewer, complaint.gm_copy) == (org["manager"], org["director"], True)
    kinds = list(complaint.events.order_by("id").values_list("kind", flat=True))
    assert kinds == [Event.REGISTERED, Event.ROUTED, Event.GM_COPIED]
    routed = complaint.events.get(kind=Event.ROUTED)
    assert routed.before == {"owner": org["clerk"].pk, "reviewer": None}
    assert routed.after == {"owner": org["manager"].pk, "reviewer": org["director"].pk}
    notices = Notification.objects.filter(complaint=complaint).exclude(kind="acknowledgement").order_by("id")
    assert [(n.kind, n.recipient) for n in notices][:3] == [
        ("assignment", "manager@example.cn"), ("assignment", "director@example.cn"), ("gm_copy", "gm@example.cn")]
    assert notices[0].dedupe_key.startswith(f"assign:{routed.pk}:")
    assert api("manager").act(body["number"], "accept", version=body["version"]).status_code == 200


def test_r_rt_2_a_reviewer_appointed_between_two_registrations_reviews_the_second(org, register):
    assert register(contact_phone="13600000001", order_number="A1").reviewer == org["manager"]
    nearer = User.objects.create_user(username="bj_manager", password="x", role=Role.MANAGER, tier=2,
                                      display_name="北京店长")
    nearer.units.set([org["beijing"]])
    assert register(contact_phone="13600000002", order_number="A2").reviewer == nearer
    nearer.is_active = False
    nearer.save(update_fields=["is_active"])
    assert register(contact_phone="13600000003", order_number="A3").reviewer == org["manager"]
