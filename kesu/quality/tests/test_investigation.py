"""SPEC section 6, investigation and responsibility: what was verified and who is responsible
(R-IV-1), down to the unit, team or person (R-IV-2), and a third party brings in the GM (R-IV-5)."""

from __future__ import annotations

import pytest

from kesu.comms.models import Notification
from kesu.complaints import actions
from kesu.complaints.models import Complaint, Event
from kesu.org.models import Unit, UnitKind
from kesu.quality.models import Investigation


@pytest.fixture
def accepted(org, register):
    c = register()
    actions.accept(c, by=c.owner)
    return c


def put(api, who, c, **data):
    body = {"version": Complaint.objects.get(pk=c.pk).version, "facts": "经上门核实，内胆涂层脱落",
            "responsibility": "customer_misuse", **data}
    return api(who).put(f"/complaints/{c.number}/investigation", body)


def test_r_iv_1_the_investigation_records_facts_evidence_and_responsibility(api, org, accepted):
    c = accepted
    r = put(api, c.owner.username, c, evidence="现场照片3张，客户使用金属铲", responsibility="customer_misuse")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["responsibility"] == "customer_misuse" and body["responsibility_label"] == "客户使用不当"
    assert body["facts"] == "经上门核实，内胆涂层脱落" and body["evidence"] == "现场照片3张，客户使用金属铲"
    assert api("manager").get(f"/complaints/{c.number}/investigation").json()["facts"] == body["facts"]
    c = Complaint.objects.get(pk=c.pk)
    assert c.company_responsible is False and body["version"] == c.version
    event = c.events.get(kind=Event.INVESTIGATION_RECORDED)
    assert event.actor == c.owner and event.after["responsibility"] == "customer_misuse" and event.before == {}


def test_r_iv_1_a_correction_is_a_new_event_with_the_values_before_and_after(api, org, accepted):
    c = accepted
    assert put(api, c.owner.username, c).status_code == 200
    r = put(api, c.owner.username, c, responsibility="unjustified", facts="经核实，产品无质量问题")
    assert r.status_code == 200, r.content
    events = list(Complaint.objects.get(pk=c.pk).events.filter(kind=Event.INVESTIGATION_RECORDED).order_by("id"))
    assert len(events) == 2
    assert events[1].before == {"facts": "经上门核实，内胆涂层脱落", "responsibility": "customer_misuse"}
    assert events[1].after == {"facts": "经核实，产品无质量问题", "responsibility": "unjustified"}
    assert Investigation.objects.filter(complaint=c).count() == 1


def test_r_iv_1_only_qa_records_the_product_inspection_result(api, org, accepted):
    c = accepted
    actions.transfer(c, by=c.owner, to_unit=org["qa_unit"], reason="请品质部检测")  # QA sees it from now on
    r = put(api, c.owner.username, c, inspection_result="检验合格")
    assert r.status_code == 403 and r.json()["field"] == "inspection_result"
    assert not Investigation.objects.filter(complaint=c).exists()
    assert Complaint.objects.get(pk=c.pk).version == c.version  # nothing half-written
    r = put(api, "qa", c, inspection_result="送检样品：涂层附着力不合格")
    assert r.status_code == 200, r.content
    assert r.json()["inspected_by"] == "qa" and r.json()["inspection_result"] == "送检样品：涂层附着力不合格"
    # The handler corrects the facts; QA's result stays as QA wrote it.
    r = put(api, c.owner.username, c, facts="补充：客户使用金属铲", inspection_result="送检样品：涂层附着力不合格")
    assert r.status_code == 200 and r.json()["inspected_by"] == "qa"


def test_r_iv_1_bad_input_names_the_field_and_changes_nothing(api, org, accepted):
    c = accepted
    r = put(api, c.owner.username, c, responsibility="nobody")
    assert r.status_code == 422 and "responsibility" in r.content.decode()
    r = put(api, c.owner.username, c, facts="  ")
    assert r.status_code == 422 and r.json()["field"] == "facts"
    r = put(api, "outsider", c)
    assert r.status_code == 404  # not a complaint the outsider may see
    r = put(api, c.owner.username, c, version=c.version - 1)
    assert r.status_code == 409
    assert not Investigation.objects.filter(complaint=c).exists()
    assert api("manager").get(f"/complaints/{c.number}/investigation").status_code == 404


def test_r_iv_2_the_company_responsible_names_the_unit_and_the_person_or_team(api, org, accepted):
    c = accepted
    r = put(api, c.owner.username, c, responsibility="company")
    assert r.status_code == 422 and r.json()["field"] == "responsible_unit"
    # A branch without a person: only when no one can be named, and then said so.
    r = put(api, c.owner.username, c, responsibility="company", responsible_unit="bj")
    assert r.status_code == 422 and r.json()["field"] == "responsible_person"
    assert "班组" in r.json()["message"]
    r = put(api, c.owner.username, c, responsibility="company", responsible_unit="bj", whole_unit=True)
    assert r.status_code == 200 and r.json()["whole_unit"] is True
    r = put(api, c.owner.username, c, responsibility="company", responsible_unit="bj", responsible_person="李明")
    body = r.json()
    assert body["responsible_unit"]["name"] == "北京门店" and body["responsible_person"] == "李明"
    assert body["whole_unit"] is False
    assert Complaint.objects.get(pk=c.pk).company_responsible is True


def test_r_iv_2_manufacturing_down_to_the_team(api, org, accepted):
    plant = Unit.objects.create(name="一分厂", code="plant1", kind=UnitKind.DEPARTMENT, parent=org["company"])
    Unit.objects.create(name="总装二班", code="plant1-a2", kind=UnitKind.TEAM, parent=plant)
    c = accepted
    r = put(api, c.owner.username, c, responsibility="company", responsible_unit="plant1-a2")
    assert r.status_code == 200, r.content
    assert r.json()["responsible_unit"] == {"code": "plant1-a2", "name": "总装二班", "kind": "team"}
    r = put(api, c.owner.username, c, responsibility="company", responsible_unit="nowhere")
    assert r.status_code == 422 and r.json()["field"] == "responsible_unit"


def test_r_iv_5_a_supplier_responsible_brings_in_the_gm(api, org, accepted):
    c = accepted
    org["gm"].email = "gm@example.com"
    org["gm"].save()
    assert not c.gm_copy
    r = put(api, c.owner.username, c, responsibility="supplier")
    assert r.status_code == 422 and r.json()["field"] == "third_party"
    r = put(api, c.owner.username, c, responsibility="supplier", third_party="宁波某温控器厂")
    assert r.status_code == 200, r.content
    c = Complaint.objects.get(pk=c.pk)
    assert c.gm_copy and c.company_responsible is False
    copied = c.events.get(kind=Event.GM_COPIED)
    assert copied.data == {"responsibility": "supplier", "third_party": "宁波某温控器厂"}
    assert Notification.objects.filter(complaint=c, kind="gm_copy", recipient="gm@example.com").exists()


def test_r_cl_5_a_judgement_may_not_contradict_the_investigation(org, accepted):
    c = accepted
    from kesu.lib.errors import Invalid
    from kesu.quality import actions as quality

    quality.record_investigation(c, by=c.owner, facts="客户自行拆机", responsibility="customer_misuse")
    with pytest.raises(Invalid) as exc:
        actions.judge(c, by=c.owner, valid=True, company_responsible=True, reason="属实")
    assert exc.value.field == "company_responsible"
    actions.judge(c, by=c.owner, valid=True, company_responsible=False, reason="投诉属实但非公司责任")
    assert Complaint.objects.get(pk=c.pk).valid is True
