"""The complaint page's action forms (Django test client): edit, attach, transfer and hand-over,
answer, promise, escalate, hold/resume, merge, mark invalid; the phrase check as one types
(R-CM-2); the field-by-field conflict page (R-WF-4); bad input and permissions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from kesu.complaints import actions
from kesu.complaints.models import Attachment, Complaint, Event, Status, TimelineEvent, Transfer

pytestmark = pytest.mark.django_db

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def fresh(c: Complaint) -> Complaint:
    return Complaint.objects.get(pk=c.pk)


def post(client: Client, c: Complaint, action: str, data: dict, **extra):
    c = fresh(c)
    payload = {"version": c.version, "seen_event": c.events.order_by("-id").values_list("id", flat=True).first()}
    payload.update({f"{action}-{k}": v for k, v in data.items()})
    return client.post(f"/c/{c.number}/act/{action}/", payload, **extra)


def steps(client: Client, c: Complaint) -> list[str]:
    return [s["name"] for s in client.get(f"/c/{c.number}/").context["steps"]]


# --- R-CM-2 as the handler types -----------------------------------------------------------


def test_r_cm_2_customer_text_boxes_check_phrases_as_one_types(org, register):
    c = register()
    actions.accept(c, by=c.owner)
    page = login(c.owner).get(f"/c/{c.number}/").content.decode()
    for box in ("message-text", "reply-message", "mark_invalid-reply"):
        start = page.index(f'name="{box}"')
        tag = page[page.rindex("<textarea", 0, start):page.index(">", start)]
        assert 'hx-post="/phrases/check/"' in tag and "input changed delay:400ms" in tag
        assert f'id="hits-{box}"' in page
    note = page.index('name="note-text"')
    assert "hx-post" not in page[page.rindex("<textarea", 0, note):page.index(">", note)]  # internal


def test_r_cm_2_phrase_check_fragment_names_the_phrase_and_the_advice(org):
    client = login(org["handler"])
    hit = client.post("/phrases/check/", {"field": "message-text", "message-text": "这个我真的不知道"},
                      HTTP_HX_REQUEST="true").content.decode()
    assert "我不知道" in hit and "禁忌语" in hit and "稍后给您答复" in hit
    assert 'href="#id_message-override_reason"' in hit
    clean = client.post("/phrases/check/", {"field": "message-text", "message-text": "您好，我们马上核实"})
    assert clean.status_code == 200 and "禁忌语" not in clean.content.decode()
    assert Client().post("/phrases/check/", {"text": "我不知道"}).status_code == 302  # login needed


def test_r_cm_2_reply_with_a_phrase_needs_a_reason_which_is_logged(org, register):
    c = register()
    actions.accept(c, by=c.owner)
    client = login(c.owner)
    refused = post(client, c, "reply", {"message": "公司的规定就是这样，我没有办法"})
    assert refused.status_code == 422 and "禁忌语" in refused.content.decode()
    assert fresh(c).status == Status.ACCEPTED
    sent = post(client, c, "reply", {"message": "公司的规定就是这样，我没有办法", "override_reason": "客户坚持要原话"})
    assert sent.status_code == 302
    assert TimelineEvent.objects.get(complaint=c, kind=Event.REPLIED).data["override_reason"] == "客户坚持要原话"


# --- edit ---------------------------------------------------------------------------------


def test_edit_form_is_prefilled_and_sends_only_changes(org, register):
    c = register(product="电饭煲 RC-3000")
    client = login(c.owner)
    form = client.get(f"/c/{c.number}/").context["steps"]
    edit = next(s for s in form if s["name"] == "edit")["form"]
    assert edit["product"].value() == "电饭煲 RC-3000"
    data = {name: ("" if edit[name].value() is None else edit[name].value()) for name in edit.fields}
    data.update(summary="电饭煲不加热（已核实）", quantity="2", foreign="")
    response = post(client, c, "edit", data)
    assert response.status_code == 302
    event = TimelineEvent.objects.get(complaint=c, kind=Event.EDITED)
    assert set(event.after) == {"summary", "quantity"}
    assert fresh(c).summary == "电饭煲不加热（已核实）" and fresh(c).quantity == 2


def test_edit_bad_input_is_a_chinese_form_error_and_changes_nothing(org, register):
    c = register()
    client = login(c.owner)
    bad = post(client, c, "edit", {"summary": "", "quantity": "很多", "complainant_type": "consumer"})
    assert bad.status_code == 422
    body = bad.content.decode()
    assert "这个字段是必" in body and "输入整数" in body
    assert fresh(c).version == c.version
    unchanged = post(client, c, "edit", {"summary": c.summary, "complainant_type": c.complainant_type or "consumer",
                                         "description": c.description, "product": c.product,
                                         "order_number": c.order_number, "customer_name": c.customer_name})
    assert unchanged.status_code == 422 and "没有修改任何内容" in unchanged.content.decode()


def test_edit_by_a_user_who_may_not_is_403(org, register):
    c = register()
    response = post(login(org["auditor"]), c, "edit", {"summary": "改掉", "complainant_type": "consumer"})
    assert response.status_code == 403
    assert fresh(c).summary == c.summary


# --- attach --------------------------------------------------------------------------------


def test_attach_a_photo_shows_a_preview(org, register):
    c = register()
    client = login(c.owner)
    response = post(client, c, "attach", {"file": SimpleUploadedFile("现场照片.png", PNG, content_type="image/png")})
    assert response.status_code == 302
    row = Attachment.objects.get(complaint=c)
    page = client.get(f"/c/{c.number}/").content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert f'<img src="/api/v1/complaints/{c.number}/attachments/{row.pk}"' in page and "现场照片.png" in page
    assert client.get(f"/api/v1/complaints/{c.number}/attachments/{row.pk}").status_code == 200


def test_attach_refuses_a_disguised_file_with_a_chinese_message(org, register):
    c = register()
    response = post(login(c.owner), c, "attach", {"file": SimpleUploadedFile("photo.jpg", b"MZ\x90\x00 exe")})
    assert response.status_code == 422
    assert "photo.jpg" not in Attachment.objects.values_list("original_name", flat=True)
    assert "文件" in response.content.decode()
    missing = post(login(c.owner), c, "attach", {})
    assert missing.status_code == 422 and "这个字段是必" in missing.content.decode()


# --- transfer, hand-over and the responsible unit's answer (R-RT-4, R-IN-5) ---------------


def test_hand_over_to_a_person_makes_them_the_handler(org, register):
    c = register()
    assert c.owner == org["clerk"]
    response = post(login(org["clerk"]), c, "transfer",
                    {"to_unit": "bj", "to_user": "handler", "new_handler": "on", "reason": "门店受理人跟进"})
    assert response.status_code == 302
    assert fresh(c).owner == org["handler"]
    bad = post(login(org["handler"]), c, "transfer",
               {"to_unit": "qa", "to_user": "handler", "reason": "x"})
    assert bad.status_code == 422 and "不是" in bad.content.decode()  # not a member of QA
    assert Transfer.objects.filter(complaint=c).count() == 1


def test_r_rt_4_transferred_unit_answers_on_the_page(org, register):
    c = register()
    actions.accept(c, by=c.owner)
    actions.transfer(fresh(c), by=c.owner, to_unit=org["qa_unit"], reason="请品质部检测")
    qa = login(org["qa"])
    names = steps(qa, c)
    assert "answer" in names and "accept" not in names and "edit" not in names
    assert "answer" not in steps(login(org["auditor"]), c)
    t = Transfer.objects.get(complaint=c)
    empty = post(qa, c, "answer", {"transfer": t.pk, "cause": "", "countermeasure": "更换"})
    assert empty.status_code == 422 and "这个字段是必" in empty.content.decode()
    response = post(qa, c, "answer", {"transfer": t.pk, "cause": "温控器虚焊", "countermeasure": "更换新机并加强焊点检验"})
    assert response.status_code == 302
    t.refresh_from_db()
    assert t.answered_by == org["qa"] and t.cause == "温控器虚焊"
    assert "answer" not in steps(qa, c)  # nothing left to answer
    page = qa.get(f"/c/{c.number}/").content.decode()
    assert "温控器虚焊" in page


def test_qa_may_not_take_the_handlers_actions(org, register):
    c = register()
    actions.transfer(c, by=c.owner, to_unit=org["qa_unit"], reason="请品质部检测")
    response = post(login(org["qa"]), c, "accept", {"note": "我来受理"})
    assert response.status_code == 403
    assert fresh(c).status == Status.REGISTERED


# --- promise, escalate, hold/resume, merge, mark invalid ------------------------------------


def test_promise_a_reply_time(org, register):
    from kesu.sla.models import Deadline

    c = register()
    client = login(c.owner)
    due = timezone.localtime(timezone.now() + timedelta(hours=5)).replace(second=0, microsecond=0)
    response = post(client, c, "promise", {"due_at": due.strftime("%Y-%m-%dT%H:%M"), "note": "下午回电"})
    assert response.status_code == 302
    assert Deadline.objects.get(complaint=c, kind="promised_reply").due_at == due
    past = post(client, c, "promise", {"due_at": "2020-01-01T10:00"})
    assert past.status_code == 422 and "必须晚于当前时间" in past.content.decode()
    garbage = post(client, c, "promise", {"due_at": "明天"})
    assert garbage.status_code == 422


def test_escalate_hold_and_resume(org, register):
    c = register()
    client = login(org["manager"])
    assert post(client, c, "escalate", {"reason": ""}).status_code == 422
    assert post(client, c, "escalate", {"reason": "客户情绪激动"}).status_code == 302
    assert fresh(c).level == 2
    actions.accept(fresh(c), by=org["manager"])
    assert post(client, c, "hold", {"reason": "等客户提供照片"}).status_code == 302
    assert fresh(c).status == Status.ON_HOLD
    assert "resume" in steps(client, c) and "hold" not in steps(client, c)
    assert post(client, c, "resume", {"note": "照片已收到"}).status_code == 302
    assert fresh(c).status == Status.ACCEPTED


def test_merge_and_mark_invalid(org, register):
    a, b = register(), register(summary="同一个电饭煲又来电")
    client = login(org["manager"])
    unknown = post(client, b, "merge", {"into": "TS209901000001", "reason": "重复"})
    assert unknown.status_code == 422 and fresh(b).status == Status.REGISTERED
    assert post(client, b, "merge", {"into": a.number, "reason": "重复登记"}).status_code == 302
    assert fresh(b).status == Status.MERGED and fresh(b).merged_into == a
    response = post(client, a, "mark_invalid", {"reason": "非我司产品", "reply": "经核实该产品非我司销售，建议联系购买商家。"})
    assert response.status_code == 302 and fresh(a).status == Status.INVALID


# --- R-WF-4: the conflict page ---------------------------------------------------------------


def test_r_wf_4_conflict_lists_changed_fields_and_keeps_the_input(org, register):
    c = register(summary="电饭煲不加热", product="电饭煲 RC-3000")
    client = login(org["manager"])
    opened = client.get(f"/c/{c.number}/")
    version = opened.context["c"]["version"]
    seen = opened.context["last_event"]
    actions.edit(fresh(c), by=org["director"], changes={"summary": "电饭煲不加热且有焦味", "product": "RC-3000 Pro"})
    actions.escalate(fresh(c), by=org["director"], reason="有安全隐患")
    response = client.post(f"/c/{c.number}/act/hold/", {"version": version, "seen_event": seen,
                                                         "hold-reason": "我写的暂停理由"})
    assert response.status_code == 409
    rows = {r["field"]: r for r in response.context["changed_fields"]}
    assert rows["summary"]["seen"] == "电饭煲不加热" and rows["summary"]["now"] == "电饭煲不加热且有焦味"
    assert rows["product"]["now"] == "RC-3000 Pro"
    assert rows["level"]["seen"] == "一级（一般）" and rows["level"]["now"] == "二级（较严重）"
    body = response.content.decode()
    assert "我写的暂停理由" in body and "摘要" in body and "电饭煲不加热且有焦味" in body
    assert fresh(c).status == Status.REGISTERED
    # Sent again from the conflict page (it carries the new version), it goes through.
    again = client.post(f"/c/{c.number}/act/hold/", {"version": response.context["c"]["version"],
                                                      "seen_event": response.context["last_event"],
                                                      "hold-reason": "我写的暂停理由"})
    assert again.status_code in (302, 422)  # hold needs a handling state: refused by the table, not stale
    assert again.status_code != 409


def test_attachment_list_for_documents_is_a_link(org, register):
    c = register()
    from kesu.complaints.attachments import attach

    attach(c, by=c.owner, upload=SimpleUploadedFile("说明.pdf", b"%PDF-1.4 test", content_type="application/pdf"))
    page = login(c.owner).get(f"/c/{c.number}/").content.decode()
    row = Attachment.objects.get(complaint=c)
    assert f'href="/api/v1/complaints/{c.number}/attachments/{row.pk}"' in page and "说明.pdf" in page
    assert '<img src' not in page.split('id="h-attachments"')[1].split("</section>")[0]


def test_r_wf_4_notes_and_messages_are_never_stale(org, register):
    """They change no field (as in the API): a colleague's change meanwhile is no conflict."""
    c = register()
    client = login(c.owner)
    stale = fresh(c).version
    actions.escalate(fresh(c), by=org["manager"], reason="客户情绪激动")
    response = client.post(f"/c/{c.number}/act/note/", {"version": stale, "seen_event": 0, "note-text": "已安抚客户"})
    assert response.status_code == 302
    assert TimelineEvent.objects.filter(complaint=c, kind=Event.NOTE_ADDED, body="已安抚客户").exists()
    edit = client.post(f"/c/{c.number}/act/escalate/", {"version": stale, "seen_event": 0, "escalate-reason": "再升"})
    assert edit.status_code == 409 and fresh(c).level == 2


def test_step_forms_draw_the_same_markup_as_djangos_templates(org, register):
    """render.QuickRenderer writes inputs and text boxes in Python for speed: every field of
    every step form, empty, prefilled (edit) and bound with errors and odd characters, must
    come out exactly as Django's own widget templates draw it."""
    from django.forms.renderers import get_default_renderer

    from kesu.workbench.dispatch import STEPS, build

    c = fresh(register(summary='电饭煲 "不加热" <b>&'))
    actions.accept(c, by=c.owner)
    c = fresh(c)
    odd = {"note": 'a "b" <c> & d', "text": "\n第一行", "reason": "", "amount": "x", "due_at": "2026-13-01 25:00",
           "file": "", "quantity": "-1", "foreign": "on", "into": "TS<1>"}
    for name, step in STEPS.items():
        for data in (None, {f"{name}-{k}": v for k, v in odd.items()}):
            quick = build(name, step, c, c.owner, data)
            plain = build(name, step, c, c.owner, data)
            plain.renderer = get_default_renderer()
            if data is not None:
                quick.is_valid(), plain.is_valid()
            for field in quick:
                assert str(field) == str(plain[field.name]), (name, field.name)
                assert str(field.errors) == str(plain[field.name].errors), (name, field.name)
