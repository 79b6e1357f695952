"""R-CM-1: the script library (话术) — defaults from the seeds, chosen for the complaint's
situation, placeholders filled, over the API and beside the text boxes of the complaint page."""

from __future__ import annotations

import pytest
from django.test import Client

from kesu.comms import scripts
from kesu.comms.models import Script, Situation
from kesu.complaints import actions
from kesu.complaints.models import Complaint

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_r_cm_1_defaults_cover_every_situation_with_the_seeds_wording():
    situations = set(Script.objects.filter(active=True).values_list("situation", flat=True))
    assert situations == set(Situation.values)
    texts = " ".join(Script.objects.values_list("text", flat=True))
    # The seeds' 客服标准话术: 礼貌询问, the third and fifth answers, 礼貌结束.
    for words in ("有什么可以帮到您", "您所说的内容我已记录下来了", "我需要向主管汇报后", "谢谢您的来电，再见"):
        assert words in texts


def test_r_cm_1_new_complaint_gets_first_contact_scripts_with_placeholders_filled(org, register):
    c = register(customer_name="张伟", summary="电饭煲不加热")
    found = scripts.for_complaint(c, speaker=org["handler"])
    situations = [r.situation for r in found]
    assert situations[0] == Situation.GREETING and Situation.CLOSING in situations
    assert {Situation.SOLVE_NOW, Situation.REFER, Situation.RECORD_CALLBACK, Situation.CHECK_UNIT,
            Situation.REPORT_UP} <= set(situations)
    assert Situation.COMPLETION not in situations
    text = " ".join(r.text for r in found)
    assert c.number in text and "张伟" in text and "handler" in text and "北京门店" in text
    assert "{" not in text  # every placeholder of the defaults is known
    record = next(r for r in found if r.situation == Situation.RECORD_CALLBACK)
    assert "月" in record.text and "日" in record.text  # the expected date, speakable


def test_r_cm_1_situation_follows_state_and_text_box(org, register):
    c = register()
    actions.accept(c, by=c.owner, note="")
    actions.reply(c, by=c.owner, message="已为您更换新机")
    c = Complaint.objects.get(pk=c.pk)
    assert scripts.situations_for(c)[0] == Situation.COMPLETION
    assert scripts.situations_for(c, "start_follow_up")[0] == Situation.SURVEY
    assert Situation.PAYMENT_REMINDER not in scripts.situations_for(c)
    c.complainant_type = "dealer"
    assert Situation.PAYMENT_REMINDER in scripts.situations_for(c)


def test_r_cm_1_unknown_placeholder_is_left_as_written():
    assert scripts.render("{customer_name}您好，{nonsense}", {"customer_name": ""}) == "客户您好，{nonsense}"


def test_r_cm_1_api_scripts_for_a_complaint_are_permission_checked(org, register, api):
    c = register(customer_name="李娜")
    body = api("clerk").get("/scripts", {"complaint": c.number}).json()
    assert body["complaint"] == c.number and body["situations"][0] == "greeting"
    assert any("李娜" in s["text"] for s in body["scripts"])
    assert api("outsider").get("/scripts", {"complaint": c.number}).status_code == 404
    library = api("outsider").get("/scripts").json()
    assert library["complaint"] is None and any("{number}" in s["text"] for s in library["scripts"])
    reply = api("clerk").get("/scripts", {"complaint": c.number, "action": "reply"}).json()
    assert reply["situations"][0] == "solve_now"


def test_r_cm_1_page_shows_scripts_beside_the_message_box_with_insert(org, register):
    c = register(customer_name="王芳")
    page = login(c.owner).get(f"/c/{c.number}/").content.decode()
    message = page.index('id="step-message"')
    section = page[message:page.index("</details>\n", page.index('class="scripts"', message) + 1)]
    assert 'data-insert="id_message-text"' in section
    assert "王芳您好" in section or "您好！北京门店客服部" in section
    assert "workbench/workbench.js" in page


def test_r_cm_1_admin_edits_show_on_the_page(org, register):
    c = register()
    Script.objects.filter(situation=Situation.GREETING).update(active=False)
    Script.objects.create(situation=Situation.GREETING, title="新问候", text="您好{customer_name}，编号{number}")
    page = login(c.owner).get(f"/c/{c.number}/").content.decode()
    assert f"您好张伟，编号{c.number}" in page
    assert "礼貌接听" not in page


def test_r_cm_1_script_admin_is_editable(org, admin_client):
    response = admin_client.get("/admin/comms/script/")
    assert response.status_code == 200 and "礼貌接听" in response.content.decode()
