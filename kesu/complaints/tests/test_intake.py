"""Intake and registration (SPEC §1): R-IN-1, R-IN-2, R-IN-3, R-IN-5, R-IN-7, R-IN-8.

R-IN-4 (numbers) is covered in test_numbering.py.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from kesu.complaints import actions
from kesu.complaints.models import Channel, Complaint, Customer, Event, IdempotencyKey
from kesu.lib.errors import Invalid


BODY = {
    "channel": "phone",
    "customer_name": "张伟",
    "contact_phone": "13812345678",
    "summary": "买的电饭煲用了三天就不加热了",
    "description": "上周在北京门店买的电饭煲，用了三天就不能加热，希望换一台新的。",
}


def body(**overrides):
    data = dict(BODY)
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def rows() -> tuple[int, int]:
    return Complaint.objects.count(), Customer.objects.count()


def assert_refused(response, field: str, status: int = 422) -> dict:
    assert response.status_code == status, response.content
    error = response.json()
    assert error["field"] == field, error
    assert error["code"]
    assert error["message"]
    return error


def kinds(api, number: str, who: str = "clerk") -> list[str]:
    return [e["kind"] for e in api(who).get(f"/complaints/{number}/timeline").json()]


def events(api, number: str, kind: str, who: str = "clerk") -> list[dict]:
    return [e for e in api(who).get(f"/complaints/{number}/timeline").json() if e["kind"] == kind]


# --- R-IN-1 channels -------------------------------------------------------------------------


@pytest.mark.parametrize("channel", Channel.values)
def test_r_in_1_every_channel_is_accepted_and_recorded(api, channel):
    r = api("clerk").post("/complaints", body(channel=channel))

    assert r.status_code == 201, r.content
    out = r.json()["complaint"]
    assert out["channel"] == channel
    assert out["channel_label"] == str(Channel(channel).label)
    assert Complaint.objects.get(number=out["number"]).channel == channel


def test_r_in_1_unknown_channel_is_refused_and_nothing_written(api):
    before = rows()

    r = api("clerk").post("/complaints", body(channel="telegram"))

    assert_refused(r, "channel")
    assert rows() == before


def test_r_in_1_missing_channel_is_refused(api):
    before = rows()
    data = body()
    del data["channel"]

    r = api("clerk").post("/complaints", data)

    assert_refused(r, "channel")
    assert rows() == before


def test_r_in_1_action_refuses_unknown_channel(org, make_intake):
    before = rows()

    with pytest.raises(Invalid) as exc:
        actions.register(make_intake(channel="pigeon"), by=org["clerk"])

    assert exc.value.field == "channel"
    assert rows() == before


# --- R-IN-2 required record ------------------------------------------------------------------


def test_r_in_2_records_the_required_fields_and_the_logged_in_recorder(api, org):
    before = timezone.now()

    r = api("clerk").post("/complaints", body(contact_phone="138 1234 5678"))

    assert r.status_code == 201, r.content
    out = r.json()["complaint"]
    assert out["customer_name"] == "张伟"
    assert out["summary"] == BODY["summary"]
    assert out["recorded_by"]["username"] == "clerk"
    assert out["contact_phone"] == "138****5678"  # masked in the answer (R-AX-2)
    c = Complaint.objects.get(number=out["number"])
    assert c.recorded_by == org["clerk"]
    assert c.contact_phone == "13812345678"
    assert c.customer.phone == "13812345678"
    assert c.channel == "phone"
    assert before <= c.received_at <= timezone.now()
    assert c.registered_at >= before


def test_r_in_2_recorder_cannot_be_chosen_by_the_client(api, org):
    r = api("clerk").post("/complaints", body(recorded_by="manager", first_responder="manager"))

    assert r.status_code == 201, r.content
    c = Complaint.objects.get(number=r.json()["complaint"]["number"])
    assert c.recorded_by == org["clerk"]
    assert c.first_responder == org["clerk"]


def test_r_in_2_anonymous_complaint_needs_no_name_or_contact(api):
    r = api("clerk").post("/complaints", body(customer_name="", contact_phone="", anonymous=True))

    assert r.status_code == 201, r.content
    out = r.json()["complaint"]
    assert out["anonymous"] is True
    c = Complaint.objects.get(number=out["number"])
    assert c.anonymous and c.customer_name == "" and c.contact_phone == "" and c.customer is None


def test_r_in_2_name_is_required_unless_anonymous(api):
    before = rows()

    r = api("clerk").post("/complaints", body(customer_name="   "))

    assert_refused(r, "customer_name")
    assert rows() == before


def test_r_in_2_contact_is_required_unless_anonymous(api):
    before = rows()

    r = api("clerk").post("/complaints", body(contact_phone="", other_contact=""))

    assert_refused(r, "contact_phone")
    assert rows() == before


def test_r_in_2_another_contact_is_enough(api):
    r = api("clerk").post("/complaints", body(contact_phone="", other_contact="微信号 zhangwei_1988"))

    assert r.status_code == 201, r.content
    c = Complaint.objects.get(number=r.json()["complaint"]["number"])
    assert c.other_contact == "微信号 zhangwei_1988"
    assert c.contact_phone == ""


@pytest.mark.parametrize("summary", ["", "   ", "<p></p>"])
def test_r_in_2_summary_is_required(api, summary):
    before = rows()

    r = api("clerk").post("/complaints", body(summary=summary))

    assert_refused(r, "summary")
    assert rows() == before


@pytest.mark.parametrize(
    "raw, stored",
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+86-19912345678", "19912345678"),
        ("010-12345678", "010-12345678"),
        ("(010) 12345678", "010-12345678"),
        ("0755 1234 5678", "0755-12345678"),
        ("0755-1234-5678", "0755-12345678"),
        ("+86 10 6552 9988", "010-65529988"),
        ("0755-12345678-8001", "0755-12345678-8001"),
        ("021-87654321转602", "021-87654321-602"),
        ("+44 20 7946 0958", "+442079460958"),
        ("１３８ １２３４ ５６７８", "13812345678"),  # typed with the IME in full-width mode
    ],
)
def test_r_in_2_valid_phone_formats_are_accepted_and_normalised(api, raw, stored):
    r = api("clerk").post("/complaints", body(contact_phone=raw))

    assert r.status_code == 201, r.content
    c = Complaint.objects.get(number=r.json()["complaint"]["number"])
    assert c.contact_phone == stored
    assert c.customer.phone == stored


@pytest.mark.parametrize(
    "raw", ["12345", "12012345678", "1381234567", "138123456789", "abcdefghijk", "138-abcd-5678",
            "10012345678", "+86", "0000000", "١٣٨١٢٣٤٥٦٧٨"],
)
def test_r_in_2_invalid_phone_is_refused_and_nothing_written(api, raw):
    before = rows()

    r = api("clerk").post("/complaints", body(contact_phone=raw))

    error = assert_refused(r, "contact_phone")
    assert error["code"] == "invalid"
    assert rows() == before


def test_r_in_2_invalid_phone_is_refused_even_for_an_anonymous_complaint(api):
    before = rows()

    r = api("clerk").post("/complaints", body(customer_name="", anonymous=True, contact_phone="12345"))

    assert_refused(r, "contact_phone")
    assert rows() == before


def test_r_in_2_one_customer_whatever_way_the_phone_is_written(api):
    for phone in ["13812345678", "+86 138-1234-5678", "138 1234 5678"]:
        r = api("clerk").post("/complaints", body(contact_phone=phone, summary=f"第{phone}次来电"))
        assert r.status_code == 201, r.content

    assert Customer.objects.count() == 1
    assert Customer.objects.get().complaints.count() == 3


@pytest.mark.parametrize("channel", ["letter", "fax"])
def test_r_in_2_a_letter_or_fax_may_be_back_dated(api, channel):
    received = (timezone.now() - timedelta(days=5)).replace(microsecond=0)

    r = api("clerk").post("/complaints", body(channel=channel, received_at=received.isoformat()))

    assert r.status_code == 201, r.content
    out = r.json()["complaint"]
    assert parse_datetime(out["received_at"]) == received
    c = Complaint.objects.get(number=out["number"])
    assert c.received_at == received
    assert c.registered_at > received


@pytest.mark.parametrize("channel", ["phone", "visit", "wechat"])
def test_r_in_2_a_call_or_visit_cannot_be_back_dated(api, channel):
    before = rows()
    received = timezone.now() - timedelta(hours=3)

    r = api("clerk").post("/complaints", body(channel=channel, received_at=received.isoformat()))

    assert_refused(r, "received_at")
    assert rows() == before


def test_r_in_2_a_call_a_few_minutes_ago_is_fine(api):
    received = (timezone.now() - timedelta(minutes=10)).replace(microsecond=0)

    r = api("clerk").post("/complaints", body(received_at=received.isoformat()))

    assert r.status_code == 201, r.content
    assert Complaint.objects.get().received_at == received


@pytest.mark.parametrize("channel", ["letter", "phone"])
def test_r_in_2_received_time_cannot_be_in_the_future(api, channel):
    before = rows()
    received = timezone.now() + timedelta(days=1)

    r = api("clerk").post("/complaints", body(channel=channel, received_at=received.isoformat()))

    assert_refused(r, "received_at")
    assert rows() == before


def test_r_in_2_a_letter_cannot_be_back_dated_beyond_90_days(api):
    before = rows()
    received = timezone.now() - timedelta(days=120)

    r = api("clerk").post("/complaints", body(channel="letter", received_at=received.isoformat()))

    assert_refused(r, "received_at")
    assert rows() == before


def test_r_in_2_received_time_without_zone_is_read_as_china_time(api):
    received = (timezone.localtime() - timedelta(days=2)).replace(microsecond=0, tzinfo=None)

    r = api("clerk").post("/complaints", body(channel="letter", received_at=received.isoformat()))

    assert r.status_code == 201, r.content
    assert timezone.localtime(Complaint.objects.get().received_at).replace(tzinfo=None) == received


def test_r_in_2_oversized_summary_is_refused(api):
    before = rows()

    r = api("clerk").post("/complaints", body(summary="漏" * 201))

    assert_refused(r, "summary")
    assert rows() == before


def test_r_in_2_summary_of_exactly_200_characters_is_accepted(api):
    r = api("clerk").post("/complaints", body(summary="漏" * 200))

    assert r.status_code == 201, r.content
    assert len(Complaint.objects.get().summary) == 200


def test_r_in_2_oversized_description_is_refused(api):
    before = rows()

    r = api("clerk").post("/complaints", body(description="水" * 10001))

    assert_refused(r, "description")
    assert rows() == before


def test_r_in_2_pasted_html_and_full_width_text_are_cleaned(api):
    r = api("clerk").post("/complaints", body(summary="<b>电饭煲</b>型号ＲＣ３０００不加热",
                                               order_number="ＤＤ２０２６１１０１００１"))

    assert r.status_code == 201, r.content
    c = Complaint.objects.get()
    assert c.summary == "电饭煲型号RC3000不加热"
    assert c.order_number == "DD20261101001"


# --- R-IN-3 optional record ------------------------------------------------------------------


OPTIONAL = {
    "complainant_type": "dealer",
    "product": "电饭煲 RC-3000",
    "lot_number": "LOT-2026-11-A",
    "order_number": "DD20261101001",
    "quantity": 20,
    "defective_quantity": 3,
    "delivery_date": "2026-11-02",
    "store": "北京朝阳大悦城店",
    "region": "华北",
    "purchase_amount": "5980.00",
    "demand": "replacement",
    "demand_detail": "三台不良品全部换新",
    "foreign": True,
    "address": "北京市朝阳区朝阳北路101号",
}


def test_r_in_3_optional_fields_round_trip(api):
    r = api("clerk").post("/complaints", body(**OPTIONAL))
    assert r.status_code == 201, r.content
    number = r.json()["complaint"]["number"]

    out = api("clerk").get(f"/complaints/{number}").json()

    for key, value in OPTIONAL.items():
        if key == "address":
            continue  # masked (R-AX-2)
        if key == "purchase_amount":
            assert Decimal(str(out[key])) == Decimal(value)
        else:
            assert out[key] == value, key
    assert out["address"].startswith("北京") and "101号" not in out["address"]
    c = Complaint.objects.get(number=number)
    assert c.quantity == 20 and c.defective_quantity == 3
    assert c.delivery_date.isoformat() == "2026-11-02"
    assert c.purchase_amount == Decimal("5980.00")
    assert c.address == OPTIONAL["address"]
    assert c.foreign is True


def test_r_in_3_optional_fields_default_to_empty(api):
    r = api("clerk").post("/complaints", body())

    assert r.status_code == 201, r.content
    out = r.json()["complaint"]
    assert out["complainant_type"] == "consumer"
    assert out["demand"] == ""
    assert out["quantity"] is None and out["purchase_amount"] is None and out["delivery_date"] is None
    assert out["foreign"] is False


@pytest.mark.parametrize(
    "field, value",
    [
        ("quantity", -1),
        ("quantity", "很多"),
        ("defective_quantity", -3),
        ("delivery_date", "2026-13-45"),
        ("delivery_date", "上周三"),
        ("purchase_amount", "abc"),
        ("purchase_amount", "-5"),
        ("purchase_amount", "12.345"),
        ("demand", "money"),
        ("complainant_type", "alien"),
    ],
)
def test_r_in_3_bad_optional_values_are_refused_and_nothing_written(api, field, value):
    before = rows()

    r = api("clerk").post("/complaints", body(**{field: value}))

    assert_refused(r, field)
    assert rows() == before


# --- R-IN-5 first responder ------------------------------------------------------------------


def test_r_in_5_the_registrar_is_first_responder_and_handler(api, org):
    r = api("clerk").post("/complaints", body())

    out = r.json()["complaint"]
    assert out["first_responder"]["username"] == "clerk"
    assert out["owner"]["username"] == "clerk"
    c = Complaint.objects.get(number=out["number"])
    assert c.first_responder == c.owner == c.recorded_by == org["clerk"]


def test_r_in_5_first_responder_stays_when_the_complaint_is_handed_over(api, org):
    number = api("clerk").post("/complaints", body()).json()["complaint"]["number"]

    r = api("clerk").act(number, "transfer", to_unit="qa", to_user="qa", new_handler=True,
                         reason="电饭煲加热故障，请品质部调查处理")

    assert r.status_code == 200, r.content
    assert r.json()["owner"]["username"] == "qa"
    assert r.json()["first_responder"]["username"] == "clerk"
    c = Complaint.objects.get(number=number)
    assert c.owner == org["qa"]
    assert c.first_responder == org["clerk"]
    [moved] = events(api, number, Event.TRANSFERRED)
    assert moved["body"] == "电饭煲加热故障，请品质部调查处理"
    assert moved["before"] == {"owner": org["clerk"].pk, "transfer_count": 0}
    assert moved["after"]["owner"] == org["qa"].pk


def test_r_in_5_first_responder_keeps_seeing_the_complaint_after_handing_it_over(api, org):
    # The clerk takes a call about the Shanghai store and registers it there (R-IN-5: staff
    # register what they receive even if another unit caused it), then hands it over.
    r = api("clerk").post("/complaints", body(unit="sh", summary="上海门店安装师傅迟到三个小时"))
    assert r.status_code == 201, r.content
    number = r.json()["complaint"]["number"]
    r = api("clerk").act(number, "transfer", to_unit="sh", to_user="outsider", new_handler=True,
                         reason="由上海门店负责处理")
    assert r.status_code == 200, r.content

    seen = api("clerk").get(f"/complaints/{number}")
    listed = api("clerk").get("/complaints").json()["items"]
    timeline = api("clerk").get(f"/complaints/{number}/timeline")

    assert seen.status_code == 200, seen.content
    assert seen.json()["owner"]["username"] == "outsider"
    assert number in [i["number"] for i in listed]
    assert timeline.status_code == 200
    assert Complaint.objects.get(number=number).first_responder == org["clerk"]


def test_r_in_5_an_outsider_of_another_unit_cannot_see_the_complaint(api):
    number = api("clerk").post("/complaints", body()).json()["complaint"]["number"]

    r = api("outsider").get(f"/complaints/{number}")
    t = api("outsider").get(f"/complaints/{number}/timeline")

    assert_refused(r, "number", status=404)
    assert t.status_code == 404


def test_r_in_5_outsider_cannot_take_over_a_complaint(api, org):
    number = api("clerk").post("/complaints", body()).json()["complaint"]["number"]
    c = Complaint.objects.get(number=number)

    r = api("outsider").post(f"/complaints/{number}/transfer",
                             {"version": c.version, "to_unit": "sh", "to_user": "outsider",
                              "new_handler": True, "reason": "我来处理"})

    assert r.status_code == 404
    c.refresh_from_db()
    assert c.owner == org["clerk"] and c.transfer_count == 0


def test_r_in_5_handover_needs_a_reason(api, org):
    number = api("clerk").post("/complaints", body()).json()["complaint"]["number"]

    r = api("clerk").act(number, "transfer", to_unit="qa", to_user="qa", new_handler=True, reason="  ")

    assert_refused(r, "reason")
    c = Complaint.objects.get(number=number)
    assert c.owner == org["clerk"]
    assert Event.TRANSFERRED not in kinds(api, number)


def test_r_in_5_level_routing_changes_the_handler_with_a_reason_on_the_timeline(api, org):
    r = api("clerk").post("/complaints", body(level=2))

    out = r.json()["complaint"]
    assert out["owner"]["username"] == "manager"
    assert out["first_responder"]["username"] == "clerk"
    [routed] = events(api, out["number"], Event.ROUTED)
    assert routed["body"]
    assert routed["before"]["owner"] == org["clerk"].pk
    assert routed["after"]["owner"] == org["manager"].pk
    # The clerk still follows the complaint they took.
    assert api("clerk").get(f"/complaints/{out['number']}").status_code == 200


def test_r_in_5_staff_register_a_complaint_another_unit_caused(api, org):
    r = api("clerk").post("/complaints", body(unit="qa", summary="产品说明书印刷错误"))

    assert r.status_code == 201, r.content
    c = Complaint.objects.get(number=r.json()["complaint"]["number"])
    assert c.unit == org["qa_unit"]
    assert c.first_responder == org["clerk"]


# --- R-IN-7 repeat complaints ----------------------------------------------------------------


def earlier(org, make_intake, days_ago: float = 3, **overrides):
    """The customer's first complaint, registered ``days_ago`` days ago."""
    now = timezone.now() - timedelta(days=days_ago)
    return actions.register(make_intake(**overrides), by=org["clerk"], now=now).complaint


SECOND = body(
    summary="电饭煲还是不能加热，第二次打电话了",
    description="上次说好换新到现在没人联系。",
    order_number="DD20261101001",
    product="电饭煲 RC-3000",
)


def assert_linked(api, response, first: Complaint) -> dict:
    assert response.status_code == 201, response.content
    out = response.json()["complaint"]
    assert out["repeat_of"] == first.number
    assert out["level"] >= 2
    c = Complaint.objects.get(number=out["number"])
    assert c.repeat_of == first
    assert c.level >= 2
    [linked] = events(api, out["number"], Event.REPEAT_LINKED, who="manager")
    assert linked["data"]["repeat_of"] == first.number
    return out


def assert_not_linked(response):
    assert response.status_code == 201, response.content
    out = response.json()["complaint"]
    assert out["repeat_of"] is None
    assert Complaint.objects.get(number=out["number"]).repeat_of is None
    return out


def test_r_in_7_same_phone_and_order_within_30_days_is_a_repeat(api, org, make_intake):
    first = earlier(org, make_intake, days_ago=10)

    r = api("clerk").post("/complaints", dict(SECOND, product=""))

    out = assert_linked(api, r, first)
    assert out["level"] == 2
    [registered] = events(api, out["number"], Event.REGISTERED, who="manager")
    assert "repeat" in registered["data"]["level_raised_by"]


def test_r_in_7_same_phone_and_product_is_a_repeat(api, org, make_intake):
    first = earlier(org, make_intake, order_number="")

    r = api("clerk").post("/complaints", dict(SECOND, order_number="DD-OTHER-2"))

    assert_linked(api, r, first)


def test_r_in_7_same_phone_and_similar_text_is_a_repeat(api, org, make_intake):
    first = earlier(org, make_intake, order_number="", product="",
                    summary="卫生间水管漏水，楼下天花板被泡", description="")

    r = api("clerk").post("/complaints", body(summary="卫生间水管又漏水了，楼下天花板被泡坏",
                                               description=""))

    assert_linked(api, r, first)


def test_r_in_7_repeat_found_whatever_way_the_phone_and_order_are_written(api, org, make_intake):
    first = earlier(org, make_intake, product="")

    r = api("clerk").post("/complaints", dict(SECOND, product="", contact_phone="+86 138-1234-5678",
                                              order_number="ＤＤ２０２６１１０１００１"))

    assert_linked(api, r, first)


def test_r_in_7_a_repeat_keeps_a_higher_level(api, org, make_intake):
    first = earlier(org, make_intake)

    r = api("clerk").post("/complaints", dict(SECOND, channel="12315"))

    assert assert_linked(api, r, first)["level"] == 3


def test_r_in_7_not_a_repeat_after_30_days(api, org, make_intake):
    earlier(org, make_intake, days_ago=31)

    r = api("clerk").post("/complaints", SECOND)

    out = assert_not_linked(r)
    assert Event.REPEAT_LINKED not in kinds(api, out["number"])
    assert out["level"] == 1


def test_r_in_7_not_a_repeat_about_a_different_matter(api, org, make_intake):
    earlier(org, make_intake)

    r = api("clerk").post("/complaints", body(summary="门店收银员多收了五元钱", description="",
                                               order_number="DD20261109999", product="小票"))

    out = assert_not_linked(r)
    assert out["level"] == 1


def test_r_in_7_not_a_repeat_from_a_different_phone(api, org, make_intake):
    earlier(org, make_intake)

    r = api("clerk").post("/complaints", dict(SECOND, contact_phone="13987654321"))

    assert_not_linked(r)


# --- R-IN-8 idempotent intake ----------------------------------------------------------------


def test_r_in_8_same_key_twice_returns_the_first_complaint(api):
    clerk = api("clerk")
    key = {"Idempotency-Key": "form-7f3a9c"}

    first = clerk.post("/complaints", body(), headers=key)
    second = clerk.post("/complaints", body(), headers=key)

    assert first.status_code == 201, first.content
    assert first.json()["created"] is True
    assert second.status_code == 200, second.content
    assert second.json()["created"] is False
    assert second.json()["complaint"]["number"] == first.json()["complaint"]["number"]
    assert Complaint.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1


def test_r_in_8_same_key_with_a_different_body_is_a_conflict(api):
    clerk = api("clerk")
    key = {"Idempotency-Key": "form-7f3a9c"}
    first = clerk.post("/complaints", body(), headers=key)

    r = clerk.post("/complaints", body(summary="另一件事：送货员态度差"), headers=key)

    assert r.status_code == 409, r.content
    assert r.json()["code"] == "idempotency_key_reused"
    assert r.json()["field"] == "idempotency_key"
    assert first.json()["complaint"]["number"] in r.json()["message"]
    assert Complaint.objects.count() == 1


def test_r_in_8_different_users_may_use_the_same_key(api):
    key = {"Idempotency-Key": "retry-1"}

    a = api("clerk").post("/complaints", body(), headers=key)
    b = api("handler").post("/complaints", body(), headers=key)

    assert a.status_code == 201 and b.status_code == 201, (a.content, b.content)
    assert a.json()["complaint"]["number"] != b.json()["complaint"]["number"]
    assert Complaint.objects.count() == 2


def test_r_in_8_without_a_key_each_request_registers(api):
    a = api("clerk").post("/complaints", body())
    b = api("clerk").post("/complaints", body())

    assert a.status_code == 201 and b.status_code == 201
    assert Complaint.objects.count() == 2


def test_r_in_8_a_refused_request_does_not_use_up_the_key(api):
    clerk = api("clerk")
    key = {"Idempotency-Key": "retry-2"}

    bad = clerk.post("/complaints", body(contact_phone="12345"), headers=key)
    good = clerk.post("/complaints", body(), headers=key)

    assert bad.status_code == 422
    assert good.status_code == 201, good.content
    assert Complaint.objects.count() == 1


def test_r_in_8_action_layer_replays_the_key(org, make_intake):
    first = actions.register(make_intake(), by=org["clerk"], idempotency_key="k-1")
    again = actions.register(make_intake(), by=org["clerk"], idempotency_key="k-1")

    assert first.created is True and again.created is False
    assert again.complaint.pk == first.complaint.pk
    assert Complaint.objects.count() == 1


@pytest.mark.parametrize("channel", ["phone", "12315", "letter"])
def test_the_registration_answer_is_the_complaint_as_it_reads_back(api, channel):
    # The 201 body is built from the complaint in hand (no re-read); it must say what a GET
    # says, level routing, reviewer, deadlines-driven fields and all.
    clerk = api("clerk")
    r = clerk.post("/complaints", body(channel=channel, summary="电饭煲漏电，孩子被电了一下"))
    assert r.status_code == 201, r.content
    registered = r.json()["complaint"]

    assert registered == clerk.get(f"/complaints/{registered['number']}").json()
