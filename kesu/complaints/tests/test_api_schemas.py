"""The hot reads (list, detail, timeline) and the registration's answer are rendered without validating each response
against its schema (kesu/complaints/api.py ``_rendered``). These tests hold them to the
schemas the OpenAPI document publishes: every documented field there, nothing undocumented,
every value of the documented type, and times in Asia/Shanghai."""

from __future__ import annotations

from decimal import Decimal

from pydantic import TypeAdapter

from kesu.complaints import actions
from kesu.complaints.schemas import ComplaintOut, ComplaintPage, EventOut, RegisteredOut


def _same_keys(data: dict, schema: type) -> None:
    assert set(data) == set(schema.model_fields), set(data) ^ set(schema.model_fields)


def _a_full_complaint(org, register):
    """A complaint with a repeat link, a transfer, a resolution amount and a reviewer, so that
    no field is trivially empty."""
    first = register(order_number="DD-A")
    again = register(order_number="DD-A", summary="又坏了")
    handler = org["handler"]
    actions.transfer(again, by=again.owner, to_unit=org["qa_unit"], reason="请品质部分析")
    again.refresh_from_db()
    again.resolution_amount = Decimal("120.50")
    return first, again, handler


def test_list_detail_and_timeline_match_their_published_schemas(org, register, api):
    _first, again, _handler = _a_full_complaint(org, register)
    client = api("manager")

    page = client.get("/complaints").json()
    ComplaintPage.model_validate(page)
    _same_keys(page, ComplaintPage)
    assert len(page["items"]) == 2
    for item in page["items"]:
        _same_keys(item, ComplaintPage.model_fields["items"].annotation.__args__[0])
    repeat = next(i for i in page["items"] if i["number"] == again.number)
    assert repeat["repeat_of"] == _first.number
    assert repeat["received_at"].endswith("+08:00")
    assert repeat["contact_phone"] != again.contact_phone  # masked (R-AX-2)

    detail = client.get(f"/complaints/{again.number}").json()
    ComplaintOut.model_validate(detail)
    _same_keys(detail, ComplaintOut)
    assert detail["repeat_of"] == _first.number
    assert detail["transfers"] and detail["transfers"][0]["to_unit"]["code"] == "qa"
    assert detail["registered_at"].endswith("+08:00")

    events = client.get(f"/complaints/{again.number}/timeline").json()
    TypeAdapter(list[EventOut]).validate_python(events)
    for e in events:
        _same_keys(e, EventOut)
    assert {"registered", "transferred"} <= {e["kind"] for e in events}


def test_the_registration_answer_matches_its_published_schema(org, api):
    client = api("clerk")
    body = {"channel": "phone", "customer_name": "张伟", "contact_phone": "13812345678",
            "summary": "电饭煲不加热", "order_number": "DD-S1"}
    first = client.post("/complaints", body)
    assert first.status_code == 201
    again = client.post("/complaints", {**body, "summary": "电饭煲又不加热了"})
    for r in (first, again):
        answer = r.json()
        RegisteredOut.model_validate(answer)
        _same_keys(answer, RegisteredOut)
        _same_keys(answer["complaint"], ComplaintOut)
        assert answer["complaint"]["registered_at"].endswith("+08:00")
        assert answer["complaint"]["contact_phone"] == "138****5678"
    assert again.json()["complaint"]["repeat_of"] == first.json()["complaint"]["number"]


def test_reads_still_answer_errors_as_json(org, register, api):
    client = api("manager")
    missing = client.get("/complaints/TS20990100001")
    assert missing.status_code == 404 and missing.json()["field"] == "number"
    bad = client.get("/complaints", {"limit": 0})
    assert bad.status_code == 422 and bad.json()["field"] == "limit"
