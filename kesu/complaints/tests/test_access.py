"""SPEC R-AX-1 (roles and data scoping) and R-AX-2 (masking and logged reveal)."""

from __future__ import annotations

from kesu.complaints import actions
from kesu.complaints.models import Complaint, Event
from kesu.org.models import Role


def test_r_ax_1_all_roles_exist():
    assert {r.value for r in Role} == {
        "clerk", "handler", "manager", "director", "gm", "qa", "responder", "gm_office", "auditor", "admin"
    }


def test_r_ax_1_users_see_their_units_subunits_and_what_is_assigned_to_them(api, org, register):
    complaint = register()  # registered by the Beijing clerk
    number = complaint.number
    for who in ("clerk", "handler", "manager", "director", "gm", "auditor"):
        assert api(who).get(f"/complaints/{number}").status_code == 200, who
        assert number in [c["number"] for c in api(who).get("/complaints").json()["items"]], who
    for who in ("outsider", "qa"):
        r = api(who).get(f"/complaints/{number}")
        assert r.status_code == 404 and r.json()["code"] == "not_found", who
        assert api(who).get("/complaints").json()["items"] == [], who
    # Transferring to QA lets QA see it; handing over to the outsider lets them see it.
    actions.transfer(complaint, by=org["clerk"], to_unit=org["qa_unit"], reason="质量鉴定")
    assert api("qa").get(f"/complaints/{number}").status_code == 200
    actions.transfer(complaint, by=org["clerk"], to_unit=org["shanghai"], to_user=org["outsider"],
                     new_handler=True, reason="客户已搬到上海")
    assert api("outsider").get(f"/complaints/{number}").status_code == 200
    # …and the first responder keeps seeing it (R-IN-5).
    assert api("clerk").get(f"/complaints/{number}").status_code == 200


def test_r_ax_1_a_lookup_by_phone_shows_each_user_what_they_may_see(api, org, register):
    phone = "13812345678"
    first, second = register(contact_phone=phone), register(contact_phone="+86 138-1234-5678")
    register(contact_phone="13900001111")

    def by_phone(who: str, **params) -> list[str]:
        r = api(who).get("/complaints", {"phone": "138 1234 5678", **params})
        assert r.status_code == 200, r.content
        return [item["number"] for item in r.json()["items"]]

    for who in ("clerk", "handler", "manager", "director", "gm", "auditor"):
        assert by_phone(who) == [second.number, first.number], who
        # The same rows as the list filtered any other way that keeps them all.
        assert by_phone(who, state=["registered", "accepted"]) == [second.number, first.number], who
    for who in ("outsider", "qa"):
        assert by_phone(who) == [], who
    actions.transfer(first, by=org["clerk"], to_unit=org["qa_unit"], reason="质量鉴定")
    assert by_phone("qa") == [first.number]
    assert by_phone("outsider") == []
    # One row per page: the cursor leads to the next one.
    page = api("clerk").get("/complaints", {"phone": phone, "limit": 1}).json()
    assert [i["number"] for i in page["items"]] == [second.number] and page["next_cursor"]
    page = api("clerk").get("/complaints", {"phone": phone, "limit": 1, "cursor": page["next_cursor"]}).json()
    assert [i["number"] for i in page["items"]] == [first.number] and page["next_cursor"] is None
    r = api("clerk").get("/complaints", {"phone": "12345"})
    assert r.status_code == 422 and r.json()["field"] == "phone"


def test_r_ax_1_outsiders_cannot_act_and_nothing_changes(api, register):
    complaint = register()
    for action, data in [("accept", {}), ("escalate", {"reason": "x"}), ("note", {"text": "x"})]:
        r = api("outsider").post(f"/complaints/{complaint.number}/{action}", {"version": 1, **data})
        assert r.status_code == 404, action
    fresh = Complaint.objects.get(pk=complaint.pk)
    assert fresh.status == "registered" and fresh.version == complaint.version
    assert not fresh.events.filter(kind=Event.NOTE_ADDED).exists()


def test_r_ax_1_auditor_reads_everything_and_changes_nothing(api, register):
    complaint = register()
    auditor = api("auditor")
    assert auditor.get(f"/complaints/{complaint.number}").status_code == 200
    assert auditor.get(f"/complaints/{complaint.number}").json()["allowed_actions"] == []
    r = auditor.act(complaint.number, "accept")
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert auditor.post(f"/complaints/{complaint.number}/note", {"text": "看看"}).status_code == 403
    r = auditor.post("/complaints", {"channel": "phone", "customer_name": "x", "contact_phone": "13800000000",
                                     "summary": "x"})
    assert r.status_code == 403
    assert Complaint.objects.count() == 1


def test_r_ax_1_allowed_actions_follow_the_table_and_the_user(api, register):
    complaint = register()
    clerk = api("clerk").get(f"/complaints/{complaint.number}").json()["allowed_actions"]
    assert "accept" in clerk and "close" not in clerk and "review" not in clerk
    qa = api("manager").get(f"/complaints/{complaint.number}").json()["allowed_actions"]
    assert "accept" in qa


def test_r_ax_2_phones_and_addresses_are_masked_everywhere(api, register):
    complaint = register(address="北京市朝阳区建国路88号3单元502")
    for who in ("clerk", "manager", "gm", "auditor"):
        body = api(who).get(f"/complaints/{complaint.number}").json()
        assert body["contact_phone"] == "138****5678", who
        assert "88号" not in body["address"] and body["address"].startswith("北京市"), who
        listed = api(who).get("/complaints").json()["items"][0]
        assert listed["contact_phone"] == "138****5678"


def test_r_ax_2_revealing_the_full_contact_is_logged(api, register):
    complaint = register(address="北京市朝阳区建国路88号")
    r = api("clerk").post(f"/complaints/{complaint.number}/contact")
    assert r.status_code == 200
    assert r.json() == {"contact_phone": "13812345678", "address": "北京市朝阳区建国路88号", "other_contact": ""}
    event = complaint.events.get(kind=Event.CONTACT_REVEALED)
    assert event.actor.username == "clerk"


def test_r_ax_2_roles_without_need_cannot_reveal(api, org, register):
    complaint = register()
    actions.transfer(complaint, by=org["clerk"], to_unit=org["qa_unit"], reason="质量鉴定")
    for who in ("auditor", "qa"):
        r = api(who).post(f"/complaints/{complaint.number}/contact")
        assert r.status_code == 403, who
    assert not complaint.events.filter(kind=Event.CONTACT_REVEALED).exists()
