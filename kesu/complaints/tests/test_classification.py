"""Classification and level (SPEC §2): R-CL-1 … R-CL-5."""

from __future__ import annotations

import pytest

from kesu.complaints import actions
from kesu.complaints.models import Category, Complaint, Customer, Event, KeywordRule, Visibility


BODY = {
    "channel": "phone",
    "customer_name": "李娜",
    "contact_phone": "13912345678",
    "summary": "订单里的一件商品想咨询一下",
}


def body(**overrides):
    data = dict(BODY)
    data.update(overrides)
    return data


def rows() -> tuple[int, int]:
    return Complaint.objects.count(), Customer.objects.count()


def assert_refused(response, field: str, status: int = 422) -> dict:
    assert response.status_code == status, response.content
    error = response.json()
    assert error["field"] == field, error
    assert error["message"]
    return error


def registered(api, who: str = "clerk", **overrides) -> dict:
    r = api(who).post("/complaints", body(**overrides))
    assert r.status_code == 201, r.content
    return r.json()["complaint"]


def events(api, number: str, kind: str, who: str = "manager") -> list[dict]:
    return [e for e in api(who).get(f"/complaints/{number}/timeline").json() if e["kind"] == kind]


# --- R-CL-1 the category tree ----------------------------------------------------------------

DEFAULT_TREE = {
    "quality": None, "quality_general": "quality", "quality_serious": "quality",
    "quality_safety": "quality",
    "logistics": None, "logistics_delay": "logistics", "logistics_damage": "logistics",
    "logistics_quantity": "logistics",
    "packaging": None, "spec_mismatch": None,
    "service": None, "service_attitude": "service", "service_speed": "service",
    "service_professional": "service",
    "policy": None, "claim": None, "unjustified": None, "suggestion": None, "other": None,
}


def test_r_cl_1_the_default_category_tree_is_listed(api):
    r = api("clerk").get("/categories")

    assert r.status_code == 200, r.content
    tree = {c["code"]: c for c in r.json()}
    assert {code: c["parent"] for code, c in tree.items()} == DEFAULT_TREE
    assert all(c["name"] for c in tree.values())
    assert tree["quality_safety"]["default_level"] == 3
    assert tree["quality_serious"]["is_batch"] is True
    assert tree["claim"]["is_claim"] is True
    assert tree["quality"]["is_quality"] is True


def test_r_cl_1_categories_need_a_login(db, client):
    assert client.get("/api/v1/categories").status_code == 401


def test_r_cl_1_explicit_category_is_recorded(api):
    out = registered(api, category="packaging", summary="外包装盒被压扁")

    assert out["category"]["code"] == "packaging"
    assert Complaint.objects.get(number=out["number"]).category.code == "packaging"


def test_r_cl_1_unknown_category_is_refused_and_nothing_written(api):
    before = rows()

    r = api("clerk").post("/complaints", body(category="no_such_category"))

    assert_refused(r, "category")
    assert rows() == before


def test_r_cl_1_an_inactive_category_is_refused_and_not_listed(api):
    Category.objects.filter(code="packaging").update(active=False)
    before = rows()

    r = api("clerk").post("/complaints", body(category="packaging"))

    assert_refused(r, "category")
    assert rows() == before
    assert "packaging" not in [c["code"] for c in api("clerk").get("/categories").json()]


def test_r_cl_1_an_admin_added_category_can_be_used(api):
    Category.objects.create(code="quality_noise", name="噪音", parent=Category.objects.get(code="quality"))

    out = registered(api, category="quality_noise", summary="冰箱噪音太大")

    assert out["category"]["code"] == "quality_noise"
    assert {"code": "quality_noise"}.items() <= next(
        c for c in api("clerk").get("/categories").json() if c["code"] == "quality_noise").items()


# --- R-CL-2 suggestion -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, category, level",
    [
        ("空调漏电，孩子被电了一下", "quality_safety", 3),
        ("安装师傅态度很差", "service_attitude", 2),
        ("快递三天了还没到", "logistics_delay", None),
        ("收到的杯子碎了", "logistics_damage", None),
        ("要求赔偿误工费", "claim", 2),
    ],
)
def test_r_cl_2_keyword_rules_suggest_category_and_level(api, text, category, level):
    r = api("clerk").post("/complaints/suggest", {"text": text})

    assert r.status_code == 200, r.content
    out = r.json()
    assert out["category"]["code"] == category
    assert out["category"]["name"]
    assert out["level"] == level
    assert out["matched"]


def test_r_cl_2_no_keyword_no_suggestion(api):
    r = api("clerk").post("/complaints/suggest", {"text": "想问一下营业时间"})

    assert r.json() == {"category": None, "level": None, "matched": []}


def test_r_cl_2_registration_without_category_uses_the_suggestion(api):
    out = registered(api, summary="空调漏电，孩子被电了一下")

    assert out["category"]["code"] == "quality_safety"
    assert out["level"] == 3
    assert out["suggested_category"] == "quality_safety"
    assert out["suggested_level"] == 3
    c = Complaint.objects.get(number=out["number"])
    assert c.suggested_category.code == "quality_safety" and c.suggested_level == 3
    [reg] = events(api, out["number"], Event.REGISTERED)
    assert reg["data"]["suggested_category"] == "quality_safety"
    assert reg["data"]["suggested_level"] == 3
    assert "漏电" in reg["data"]["matched_keywords"]


def test_r_cl_2_attitude_complaint_is_level_2(api):
    out = registered(api, summary="安装师傅态度很差")

    assert out["category"]["code"] == "service_attitude"
    assert out["level"] == 2


def test_r_cl_2_suggestion_is_recorded_even_when_the_clerk_chooses(api):
    out = registered(api, summary="安装师傅态度很差", category="service_professional")

    assert out["category"]["code"] == "service_professional"
    assert out["suggested_category"] == "service_attitude"


def test_r_cl_2_without_any_match_the_category_is_other(api):
    out = registered(api, summary="想了解会员积分怎么用")

    assert out["category"]["code"] == "other"
    assert out["suggested_category"] is None
    assert out["level"] == 1


def test_r_cl_2_an_admin_rule_changes_the_suggestion(api):
    text = "冰箱晚上嗡嗡响，吵得睡不着"
    assert api("clerk").post("/complaints/suggest", {"text": text}).json()["category"] is None

    KeywordRule.objects.create(keywords="嗡嗡响，噪音", category=Category.objects.get(code="quality_general"),
                               weight=40)

    s = api("clerk").post("/complaints/suggest", {"text": text}).json()
    out = registered(api, summary=text)
    assert s["category"]["code"] == "quality_general"
    assert s["matched"] == ["嗡嗡响"]
    assert out["category"]["code"] == "quality_general"


def test_r_cl_2_a_heavier_admin_rule_wins_the_category(api):
    KeywordRule.objects.create(keywords="漏电", category=Category.objects.get(code="quality_serious"),
                               weight=99)

    s = api("clerk").post("/complaints/suggest", {"text": "热水器漏电"}).json()

    assert s["category"]["code"] == "quality_serious"
    assert s["level"] == 3


def test_r_cl_2_an_inactive_rule_is_ignored(api):
    KeywordRule.objects.filter(keywords__contains="态度").update(active=False)

    s = api("clerk").post("/complaints/suggest", {"text": "安装师傅态度很差"}).json()

    assert s["category"] is None


def test_r_cl_2_the_handler_confirms_the_suggestion(api):
    out = registered(api, summary="快递三天了还没到")

    r = api("clerk").act(out["number"], "classify")

    assert r.status_code == 200, r.content
    assert r.json()["category"]["code"] == "logistics_delay"
    [ev] = events(api, out["number"], Event.CLASSIFIED)
    assert ev["data"]["confirmed"] is True
    assert ev["before"] == {} and ev["after"] == {}


def test_r_cl_2_the_handler_changes_the_category_and_it_is_recorded(api, org):
    out = registered(api, summary="快递三天了还没到")

    r = api("clerk").act(out["number"], "classify", category="logistics_quantity",
                         reason="客户实际是少发了一件")

    assert r.status_code == 200, r.content
    assert r.json()["category"]["code"] == "logistics_quantity"
    assert Complaint.objects.get(number=out["number"]).category.code == "logistics_quantity"
    [ev] = events(api, out["number"], Event.CLASSIFIED)
    assert ev["actor"]["username"] == "clerk"
    assert ev["body"] == "客户实际是少发了一件"
    assert ev["data"]["confirmed"] is False
    assert ev["before"] == {"category": "logistics_delay"}
    assert ev["after"] == {"category": "logistics_quantity"}


def test_r_cl_2_classify_to_an_unknown_category_is_refused(api):
    out = registered(api, summary="快递三天了还没到")

    r = api("clerk").act(out["number"], "classify", category="nope")

    assert_refused(r, "category")
    c = Complaint.objects.get(number=out["number"])
    assert c.category.code == "logistics_delay" and c.version == out["version"]


def test_r_cl_2_classify_raising_the_level_reroutes(api, org):
    out = registered(api, summary="快递三天了还没到")

    r = api("clerk").act(out["number"], "classify", level=2, reason="客户情绪激动")

    assert r.status_code == 200, r.content
    c = Complaint.objects.get(number=out["number"])
    assert c.level == 2
    assert c.owner == org["manager"]
    [ev] = events(api, out["number"], Event.CLASSIFIED)
    assert ev["before"] == {"level": 1} and ev["after"] == {"level": 2}


def test_r_cl_2_an_outsider_cannot_classify(api):
    out = registered(api, summary="快递三天了还没到")

    r = api("outsider").post(f"/complaints/{out['number']}/classify",
                             {"version": out["version"], "category": "other"})

    assert r.status_code == 404
    assert Complaint.objects.get(number=out["number"]).category.code == "logistics_delay"


# --- R-CL-3 / R-CL-4 levels and automatic raises ---------------------------------------------


def test_r_cl_3_a_plain_complaint_is_level_1_and_handled_at_tier_1(api):
    out = registered(api)

    assert out["level"] == 1
    assert out["owner"]["username"] == "clerk"


def test_r_cl_3_the_clerk_may_set_a_higher_level(api):
    out = registered(api, level=2)

    assert out["level"] == 2
    assert out["owner"]["tier"] == 2


@pytest.mark.parametrize("channel", ["12315", "regulator", "media"])
def test_r_cl_4_regulator_and_media_channels_are_level_3_even_if_the_clerk_said_1(api, channel):
    out = registered(api, channel=channel, level=1)

    assert out["level"] == 3
    assert out["gm_copy"] is True
    assert Complaint.objects.get(number=out["number"]).level == 3
    [reg] = events(api, out["number"], Event.REGISTERED)
    assert "channel" in reg["data"]["level_raised_by"]


def test_r_cl_4_the_category_default_level_is_a_floor(api):
    out = registered(api, category="quality_safety", level=1, summary="吹风机冒烟")

    assert out["level"] == 3
    [reg] = events(api, out["number"], Event.REGISTERED)
    assert "category" in reg["data"]["level_raised_by"]


def test_r_cl_4_a_repeat_complaint_is_at_least_level_2(api, org, register):
    first = register(order_number="DD1")

    out = registered(api, contact_phone="13812345678", order_number="DD1", level=1)

    assert out["repeat_of"] == first.number
    assert out["level"] == 2


def test_r_cl_4_reclassifying_to_a_milder_category_does_not_lower_the_level(api):
    out = registered(api, summary="空调漏电，孩子被电了一下")

    r = api("manager").act(out["number"], "classify", category="quality_general", reason="只是外壳带静电")

    assert r.status_code == 200, r.content
    assert r.json()["level"] == 3
    assert Complaint.objects.get(number=out["number"]).level == 3


def test_r_cl_4_lowering_needs_a_tier_2_user(api):
    number = registered(api, level=2)["number"]
    version = Complaint.objects.get(number=number).version

    r = api("handler").act(number, "lower-level", level=1, reason="客户已平静")

    assert_refused(r, "level", status=403)
    c = Complaint.objects.get(number=number)
    assert c.level == 2 and c.version == version
    assert not events(api, number, Event.LEVEL_LOWERED)


def test_r_cl_4_a_tier_2_user_lowers_with_a_reason(api, org):
    number = registered(api, level=2)["number"]

    r = api("manager").act(number, "lower-level", level=1, reason="核实后只是一般咨询")

    assert r.status_code == 200, r.content
    assert r.json()["level"] == 1
    assert Complaint.objects.get(number=number).level == 1
    [ev] = events(api, number, Event.LEVEL_LOWERED)
    assert ev["actor"]["username"] == "manager"
    assert ev["body"] == "核实后只是一般咨询"
    assert ev["before"]["level"] == 2 and ev["after"]["level"] == 1


def test_r_cl_4_lowering_needs_a_reason(api):
    number = registered(api, level=2)["number"]

    r = api("manager").act(number, "lower-level", level=1, reason=" ")

    assert_refused(r, "reason")
    assert Complaint.objects.get(number=number).level == 2


def test_r_cl_4_lower_level_cannot_raise(api):
    number = registered(api)["number"]

    r = api("manager").act(number, "lower-level", level=2, reason="误操作")

    assert_refused(r, "level")
    assert Complaint.objects.get(number=number).level == 1
    assert not events(api, number, Event.LEVEL_LOWERED)


@pytest.mark.parametrize("channel", ["12315", "media"])
def test_r_cl_4_cannot_lower_below_the_channel_floor(api, channel):
    number = registered(api, channel=channel)["number"]

    r = api("manager").act(number, "lower-level", level=2, reason="问题不大")

    assert_refused(r, "level")
    assert Complaint.objects.get(number=number).level == 3


def test_r_cl_4_cannot_lower_a_repeat_below_2(api, register):
    register(order_number="DD1")
    number = registered(api, contact_phone="13812345678", order_number="DD1")["number"]

    r = api("manager").act(number, "lower-level", level=1, reason="问题不大")

    assert_refused(r, "level")
    assert Complaint.objects.get(number=number).level == 2


def test_r_cl_4_cannot_lower_below_the_category_floor(api):
    number = registered(api, summary="安装师傅态度很差")["number"]

    r = api("manager").act(number, "lower-level", level=1, reason="问题不大")

    assert_refused(r, "level")
    assert Complaint.objects.get(number=number).level == 2


def test_r_cl_4_classify_with_a_lower_level_needs_tier_2(api, org):
    # A level-1 complaint the clerk raised to 2 and still handles (tier-1 handler as owner).
    c = actions.register(actions.Intake(channel="phone", customer_name="李娜", contact_phone="13912345678",
                                        summary="订单咨询", level=2), by=org["clerk"]).complaint
    actions.transfer(c, by=org["manager"], to_unit=org["beijing"], to_user=org["handler"],
                     new_handler=True, reason="交给北京门店跟进")
    c.refresh_from_db()
    assert c.owner == org["handler"] and c.level == 2

    r = api("handler").act(c.number, "classify", level=1, reason="其实是普通咨询")

    assert_refused(r, "level", status=403)
    c.refresh_from_db()
    assert c.level == 2


def test_r_cl_4_classify_with_a_lower_level_by_tier_2_is_recorded_as_lowered(api):
    number = registered(api, level=2)["number"]

    r = api("manager").act(number, "classify", level=1, category="other", reason="普通咨询")

    assert r.status_code == 200, r.content
    assert Complaint.objects.get(number=number).level == 1
    [ev] = events(api, number, Event.LEVEL_LOWERED)
    assert ev["before"]["level"] == 2 and ev["after"]["level"] == 1


def test_r_cl_4_classify_cannot_go_below_the_floor(api):
    number = registered(api, channel="12315")["number"]

    r = api("manager").act(number, "classify", level=1, reason="普通咨询")

    assert_refused(r, "level")
    assert Complaint.objects.get(number=number).level == 3


# --- R-CL-5 validity -------------------------------------------------------------------------


def accepted(api) -> str:
    number = registered(api, summary="电饭煲不加热")["number"]
    assert api("clerk").act(number, "accept").status_code == 200
    return number


def test_r_cl_5_judge_records_validity_and_responsibility_with_reasoning(api):
    number = accepted(api)

    r = api("clerk").act(number, "judge", valid=True, company_responsible=True,
                         reason="检测确认加热盘虚焊，属生产缺陷")

    assert r.status_code == 200, r.content
    out = r.json()
    assert out["valid"] is True and out["company_responsible"] is True
    assert out["validity_reason"] == "检测确认加热盘虚焊，属生产缺陷"
    c = Complaint.objects.get(number=number)
    assert c.valid is True and c.company_responsible is True
    [ev] = events(api, number, Event.JUDGED)
    assert ev["body"] == "检测确认加热盘虚焊，属生产缺陷"
    assert ev["after"]["valid"] is True


def test_r_cl_5_judge_valid_but_not_the_companys_fault(api):
    number = accepted(api)

    r = api("clerk").act(number, "judge", valid=True, company_responsible=False,
                         reason="快递公司运输中摔坏")

    assert r.status_code == 200, r.content
    c = Complaint.objects.get(number=number)
    assert c.valid is True and c.company_responsible is False


def test_r_cl_5_judge_needs_a_reason(api):
    number = accepted(api)

    r = api("clerk").act(number, "judge", valid=False, company_responsible=False, reason="")

    assert_refused(r, "reason")
    assert Complaint.objects.get(number=number).valid is None


def test_r_cl_5_judging_before_acceptance_is_refused(api):
    number = registered(api)["number"]

    r = api("clerk").act(number, "judge", valid=True, reason="有效")

    assert r.status_code == 409, r.content
    assert r.json()["code"] == "transition_not_allowed"
    assert Complaint.objects.get(number=number).valid is None


def test_r_cl_5_an_outsider_cannot_judge(api):
    number = accepted(api)
    c = Complaint.objects.get(number=number)

    r = api("outsider").post(f"/complaints/{number}/judge",
                             {"version": c.version, "valid": False, "reason": "无理取闹"})

    assert r.status_code == 404
    assert Complaint.objects.get(number=number).valid is None


def test_r_cl_5_mark_invalid_sends_a_reasoned_reply_to_the_customer(api):
    number = accepted(api)

    r = api("clerk").act(number, "mark-invalid", reason="超出三包期且人为损坏",
                         reply="您好，经检测为人为摔落导致损坏，且已超出三包期，本次不予免费维修，可为您提供有偿维修。")

    assert r.status_code == 200, r.content
    assert r.json()["status"] == "invalid"
    c = Complaint.objects.get(number=number)
    assert c.status == "invalid" and c.valid is False
    assert c.validity_reason == "超出三包期且人为损坏"
    assert c.replied_at is not None
    [marked] = events(api, number, Event.MARKED_INVALID)
    assert marked["visibility"] == Visibility.INTERNAL
    [replied] = events(api, number, Event.REPLIED)
    assert replied["visibility"] == Visibility.CUSTOMER
    assert "人为摔落" in replied["body"]


@pytest.mark.parametrize("reply", [None, "", "   "])
def test_r_cl_5_mark_invalid_without_a_reply_is_refused(api, reply):
    number = accepted(api)
    data = {"reason": "无理要求"}
    if reply is not None:
        data["reply"] = reply

    r = api("clerk").act(number, "mark-invalid", **data)

    assert_refused(r, "reply")
    c = Complaint.objects.get(number=number)
    assert c.status == "accepted" and c.valid is None
    assert not events(api, number, Event.REPLIED)


def test_r_cl_2_a_rule_edited_between_two_registrations_applies_to_the_second(api):
    text = "冰箱晚上嗡嗡响，吵得睡不着"
    assert registered(api, summary=text)["category"]["code"] == "other"
    rule = KeywordRule.objects.filter(active=True, category__code="quality_general").first()
    rule.keywords = f"{rule.keywords}，嗡嗡响"
    rule.save()
    assert registered(api, summary=text, contact_phone="13912345679")["category"]["code"] == "quality_general"
    KeywordRule.objects.filter(pk=rule.pk).update(category=Category.objects.get(code="quality_serious"))
    assert registered(api, summary=text, contact_phone="13912345670")["category"]["code"] == "quality_serious"


def test_r_cl_2_rules_and_categories_changed_after_registrations_apply_to_the_next_one(api):
    """The rules and categories are kept per process (classification.catalogue); a change made
    after they were read — saved, updated in bulk, deleted — applies to the next registration."""
    rule = KeywordRule.objects.create(keywords="嗡嗡响", category=Category.objects.get(code="quality_general"), weight=40)
    assert registered(api, summary="冰箱嗡嗡响")["category"]["code"] == "quality_general"

    KeywordRule.objects.filter(pk=rule.pk).update(category=Category.objects.get(code="quality_serious"))
    assert registered(api, summary="冰箱又嗡嗡响")["category"]["code"] == "quality_serious"

    Category.objects.filter(code="quality_serious").update(name="严重质量问题（改）")
    assert registered(api, summary="冰箱还是嗡嗡响")["category"]["name"] == "严重质量问题（改）"

    Category.objects.filter(code="quality_serious").update(active=False)
    out = registered(api, summary="冰箱一直嗡嗡响")
    assert out["category"]["code"] == "other" and out["suggested_category"] is None
    r = api("clerk").post("/complaints", body(summary="冰箱嗡嗡响", category="quality_serious"))
    assert r.status_code == 422 and r.json()["field"] == "category"

    rule.delete()
    assert registered(api, summary="冰箱天天嗡嗡响", order_number="DD-X9")["suggested_category"] is None
