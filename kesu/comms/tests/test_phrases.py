"""R-CM-2: forbidden phrases are caught before a message reaches the customer; sending anyway
needs a reason, which is logged."""

from __future__ import annotations

import pytest

from kesu.comms.models import ForbiddenPhrase, Notification
from kesu.comms.phrases import check
from kesu.complaints.models import Event


@pytest.mark.django_db
@pytest.mark.parametrize("text", [
    "我不知道", "这个我真的不知道啊", "这个不关我的事！", "这是物流部的事，你找他吧",
    "一分钱，一分货", "公司的规定就是这样，我也没有办法", "改天再通知你吧",
])
def test_r_cm_2_defaults_and_near_variants_are_caught(text):
    assert check(text), text


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["您好，我们已经知道问题所在", "我帮您查一下订单", "这是我们的责任，马上处理"])
def test_r_cm_2_ordinary_service_language_passes(text):
    assert check(text) == []


@pytest.mark.django_db
def test_r_cm_2_phrases_are_admin_editable():
    ForbiddenPhrase.objects.create(phrase="爱买不买")
    assert [h.phrase for h in check("爱 买 不 买")] == ["爱买不买"]
    ForbiddenPhrase.objects.filter(phrase="我不知道").update(active=False)
    assert check("我不知道") == []


def test_r_cm_2_message_with_a_hit_is_refused_and_nothing_is_sent(api, register):
    complaint = register()
    r = api("clerk").post(f"/complaints/{complaint.number}/message", {"text": "这是物流部的事，你找他吧"})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "forbidden_phrase" and body["field"] == "text"
    assert body["phrases"][0]["phrase"] == "这是…的事，你找他吧" and body["phrases"][0]["advice"]
    assert "禁忌语" in body["message"] or "这是…的事" in body["message"]
    assert not complaint.events.filter(kind=Event.MESSAGE_SENT).exists()
    assert not Notification.objects.filter(complaint=complaint, kind="progress").exists()


def test_r_cm_2_sending_anyway_needs_a_reason_which_is_logged(api, register):
    complaint = register()
    r = api("clerk").post(f"/complaints/{complaint.number}/message",
                          {"text": "一分钱一分货，这款是入门型号", "override_reason": "客户问价格差异，原话引用说明型号定位"})
    assert r.status_code == 200, r.content
    event = complaint.events.get(kind=Event.MESSAGE_SENT)
    assert event.data == {"forbidden_phrases": ["一分钱一分货"], "override_reason": "客户问价格差异，原话引用说明型号定位"}


def test_r_cm_2_replies_are_screened_too(api, org, register):
    from kesu.complaints import actions

    complaint = register()
    actions.accept(complaint, by=org["clerk"])
    r = api("clerk").act(complaint.number, "reply", message="公司的规定就是这样，我没有办法")
    assert r.status_code == 422 and r.json()["field"] == "message"
    assert api("clerk").get(f"/complaints/{complaint.number}").json()["status"] == "accepted"


def test_r_cm_2_check_endpoint_for_checking_as_you_type(api, org):
    r = api("clerk").post("/phrases/check", {"text": "改天再通知你"})
    assert r.status_code == 200
    assert r.json()[0]["phrase"] == "改天再通知你"
    assert api("clerk").post("/phrases/check", {"text": "马上为您处理"}).json() == []
