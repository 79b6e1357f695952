"""SPEC section 6 on the pages: the complaint page's investigation and CAPA steps and panel,
and the CAPA pages where owners report their actions done and QA confirms the effect."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from kesu.complaints import actions
from kesu.complaints.models import Complaint
from kesu.quality.models import ActionState, Capa, CapaAction, Investigation


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _accepted(register, **overrides):
    c = register(**overrides)
    actions.accept(c, by=c.owner)
    return Complaint.objects.get(pk=c.pk)


def test_r_iv_1_the_investigation_step_records_and_the_panel_shows_it(org, register):
    c = _accepted(register)
    client = login(c.owner)
    page = client.get(f"/c/{c.number}/").content.decode()
    assert 'id="step-record_investigation"' in page and "尚未记录调查结果" in page
    # The branch without a person and without "no one can be named": the form says why, in Chinese.
    r = client.post(f"/c/{c.number}/act/record_investigation/", {
        "version": c.version, "record_investigation-facts": "门店员工未按规程验机",
        "record_investigation-responsibility": "company", "record_investigation-responsible_unit": "bj"})
    assert r.status_code == 422 and "班组" in r.content.decode()
    assert not Investigation.objects.filter(complaint=c).exists()
    r = client.post(f"/c/{c.number}/act/record_investigation/", {
        "version": c.version, "record_investigation-facts": "门店员工未按规程验机",
        "record_investigation-responsibility": "company", "record_investigation-responsible_unit": "bj",
        "record_investigation-responsible_person": "王芳",
        "record_investigation-inspection_result": "想改检验结果"})  # disabled for a handler: ignored
    assert r.status_code == 302, r.content.decode()[:3000]
    found = Investigation.objects.get(complaint=c)
    assert found.responsible_person == "王芳" and found.inspection_result == ""
    page = client.get(f"/c/{c.number}/").content.decode()
    assert "门店员工未按规程验机" in page and "公司责任" in page and "北京门店" in page


def test_r_iv_3_the_capa_step_opens_a_capa_and_the_complaint_page_links_it(org, register):
    c = _accepted(register, category="quality_general")
    client = login(c.owner)
    soon = (timezone.localdate() + timedelta(days=10)).isoformat()
    form = {"version": c.version, "open_capa-title": "电饭煲不加热", "open_capa-cause_machine": "温控器批次不良",
            "open_capa-corrective": "更换温控器", "open_capa-corrective_owner": "handler",
            "open_capa-corrective_due": soon}
    r = client.post(f"/c/{c.number}/act/open_capa/", form)
    assert r.status_code == 422 and "预防措施" in r.content.decode()  # a quality complaint
    assert not Capa.objects.exists()
    r = client.post(f"/c/{c.number}/act/open_capa/", {
        **form, "open_capa-preventive": "温控器来料全检", "open_capa-preventive_owner": "qa",
        "open_capa-preventive_due": soon})
    assert r.status_code == 302, r.content.decode()[:3000]
    capa = Capa.objects.get()
    assert [(x.group, x.text) for x in capa.causes.all()] == [("machine", "温控器批次不良")]
    page = client.get(f"/c/{c.number}/").content.decode()
    assert f'href="/capa/{capa.number}/"' in page and "更换温控器" in page
    # Another complaint with the same cause joins it.
    other = _accepted(register, category="quality_general", contact_phone="13900002222")  # not a repeat
    r = client.post(f"/c/{other.number}/act/link_capa/", {"version": other.version, "link_capa-capa": capa.number})
    assert r.status_code == 302
    assert list(capa.complaints.order_by("id").values_list("number", flat=True)) == [c.number, other.number]


def test_r_iv_4_owners_report_done_and_qa_confirms_on_the_capa_page(org, register):
    from kesu.quality import actions as quality

    c = _accepted(register)
    capa = quality.open_capa(c, by=c.owner, title="服务超时", causes=[("method", "派单规则不清")],
                             actions=[quality.PlannedAction("corrective", "修订派单规则", org["handler"],
                                                            timezone.localdate() + timedelta(days=3))])
    action = CapaAction.objects.get(capa=capa)
    page = login(org["handler"]).get(f"/capa/{capa.number}/").content.decode()
    assert "派单规则不清" in page and "修订派单规则" in page and f"/actions/{action.pk}/done/" in page
    assert f"/actions/{action.pk}/done/" not in login(org["clerk"]).get(f"/capa/{capa.number}/").content.decode()
    r = login(org["handler"]).post(f"/capa/{capa.number}/actions/{action.pk}/done/", {f"done{action.pk}-result": ""})
    assert r.status_code == 422
    r = login(org["handler"]).post(f"/capa/{capa.number}/actions/{action.pk}/done/",
                                   {f"done{action.pk}-result": "新规则已发布"})
    assert r.status_code == 302
    listed = login(org["qa"]).get("/capa/?show=to_verify").content.decode()
    assert capa.number in listed
    qa_page = login(org["qa"]).get(f"/capa/{capa.number}/").content.decode()
    assert f"/actions/{action.pk}/verify/" in qa_page
    r = login(org["qa"]).post(f"/capa/{capa.number}/actions/{action.pk}/verify/",
                              {f"verify{action.pk}-effective": "yes", f"verify{action.pk}-note": "一个月内无同类投诉"})
    assert r.status_code == 302
    assert CapaAction.objects.get(pk=action.pk).state == ActionState.CLOSED
    assert Capa.objects.get(pk=capa.pk).closed_at is not None
    assert capa.number in login(org["qa"]).get("/capa/?show=closed").content.decode()
    assert login(org["outsider"]).get(f"/capa/{capa.number}/").status_code == 404
    r = login(org["clerk"]).post(f"/capa/{capa.number}/actions/{action.pk}/verify/",
                                 {f"verify{action.pk}-effective": "yes"})
    assert r.status_code == 403
