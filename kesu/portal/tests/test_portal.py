"""The customer portal and its public API: submitting (R-IN-6), looking up progress (R-AX-3),
answering a survey (R-FU-5), and abuse resistance (rate limits, captcha, uploads, markup, CSRF)."""

from __future__ import annotations

import re

import pytest
from captcha.models import CaptchaStore
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from kesu.comms.models import Notification
from kesu.complaints import actions
from kesu.complaints.actions import hash_lookup_code
from kesu.complaints.models import Attachment, Channel, Complaint, Event, Status
from kesu.complaints.tests.test_attachments import EXE, JPEG, PNG
from kesu.followups import actions as followups
from kesu.followups.models import FollowUpVisit

FORM = {"customer_name": "王芳", "contact_phone": "139 1234 5678", "product": "空气炸锅 AF-20",
        "order_number": "DD2026110501", "lot_number": "L2026-10-07",
        "description": "空气炸锅用了一周，外壳开裂。\n希望换一台新的。", "demand": "replacement"}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def files_in(media) -> list:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def submit_page(client: Client, **extra):
    data = {**FORM, **extra}
    return client.post("/portal/submit/", data)


def solve(client: Client, body: str) -> dict[str, str]:
    """Read the captcha the page shows, as a person would from the picture."""
    key = re.search(r'name="captcha_key" value="([0-9a-f]+)"', body).group(1)
    return {"captcha_key": key, "captcha_answer": CaptchaStore.objects.get(hashkey=key).response}


# --- R-IN-6 ---------------------------------------------------------------------------------


def test_r_in_6_a_customer_submits_and_sees_number_and_lookup_code(org, media):
    client = Client()
    assert "提交投诉" in client.get("/portal/submit/").content.decode()  # Chinese by default
    r = submit_page(client, photos=[SimpleUploadedFile("裂缝.jpg", JPEG, "image/jpeg"),
                                    SimpleUploadedFile("订单.png", PNG, "image/png")])
    assert r.status_code == 302, r.content.decode()[:3000]
    page = client.get(r["Location"]).content.decode()
    number = re.search(r'id="number">(TS\d+)<', page).group(1)
    code = re.search(r'id="lookup-code">(\d{6})<', page).group(1)
    c = Complaint.objects.get(number=number)
    assert c.lookup_code_hash == hash_lookup_code(number, code)
    assert (c.channel, c.contact_phone, c.lot_number, c.demand) == (Channel.WEB, "13912345678", "L2026-10-07",
                                                                     "replacement")
    assert c.recorded_by.username == "portal" and c.owner == org["clerk"]
    assert c.events.filter(kind=Event.ROUTED).exists()  # handed over with a reason
    assert Attachment.objects.filter(complaint=c).count() == 2 and len(files_in(media)) == 2
    ack = Notification.objects.get(complaint=c, kind="acknowledgement", channel="sms")
    assert ack.context["lookup_code"] == code and ack.context["portal_url"].endswith("/portal/lookup/")
    # Shown once: reloading the page does not show the code again.
    assert client.get("/portal/submitted/").status_code == 302


def test_r_in_6_the_public_api_submits_for_a_mini_program(org):
    r = Client().post("/api/v1/public/complaints", {**FORM, "anonymous": False}, content_type="application/json")
    assert r.status_code == 201, r.content
    body = r.json()
    c = Complaint.objects.get(number=body["number"])
    assert c.lookup_code_hash == hash_lookup_code(c.number, body["lookup_code"])
    photo = Client().post(body["photos_url"], {"lookup_code": body["lookup_code"],
                                               "file": SimpleUploadedFile("a.png", PNG, "image/png")})
    assert photo.status_code == 201 and photo.json()["photos"] == 1


def test_r_in_6_an_anonymous_customer_gets_the_code_on_screen_only(org):
    client = Client()
    r = submit_page(client, customer_name="", contact_phone="", anonymous="on")
    assert r.status_code == 302
    page = client.get(r["Location"]).content.decode()
    assert "仅在本页显示" in page
    assert not Notification.objects.filter(kind="acknowledgement").exists()


# --- R-AX-3 ---------------------------------------------------------------------------------


def portal_complaint(org):
    c = actions.register(actions.Intake(channel="web", customer_name="王芳", contact_phone="13912345678",
                                        summary="空气炸锅外壳开裂"), by=org["clerk"]).complaint
    code = c.lookup_code
    actions.accept(c, by=org["clerk"])
    actions.note(c, by=org["clerk"], text="内部：怀疑是运输损坏，先别告诉客户")
    actions.message(c, by=org["clerk"], text="您好，我们已安排师傅明天上门查看。")
    return c, code


def test_r_ax_3_progress_shows_plain_state_customer_messages_and_reply_date_only(org):
    c, code = portal_complaint(org)
    r = Client().post("/portal/lookup/", {"number": c.number.lower(), "code": code})
    page = r.content.decode()
    assert r.status_code == 200
    assert "已受理：我们正在了解情况。" in page
    assert "我们已安排师傅明天上门查看" in page
    assert 'id="expected"' in page  # R-SLA-5 written reply date
    for secret in ("怀疑是运输损坏", "clerk", "一般", "级"):
        assert secret not in page


def test_r_ax_3_the_public_api_returns_the_same_and_nothing_internal(org):
    c, code = portal_complaint(org)
    r = Client().post("/api/v1/public/lookup", {"number": c.number, "code": code}, content_type="application/json")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"number", "state", "state_text", "received_at", "expected_reply_by", "closed_at", "messages"}
    assert [m["kind"] for m in body["messages"]] == ["message"]
    assert "怀疑" not in r.content.decode()


def test_r_ax_3_a_wrong_code_and_an_unknown_number_get_the_same_answer(org):
    c, _code = portal_complaint(org)
    client = Client()
    wrong = client.post("/api/v1/public/lookup", {"number": c.number, "code": "000000"}, content_type="application/json")
    unknown = client.post("/api/v1/public/lookup", {"number": "TS20990100001", "code": "000000"},
                          content_type="application/json")
    assert wrong.status_code == unknown.status_code == 422
    assert wrong.json() == unknown.json() and wrong.json()["field"] == "code"


def test_r_ax_3_a_hundred_wrong_codes_in_a_row_are_throttled(org):
    """Even an attacker who solves every captcha is stopped: per client after 20 failures an
    hour, and the number itself after 10 — the right code from elsewhere is refused too."""
    c, code = portal_complaint(org)
    client = Client()
    statuses = []
    for i in range(100):
        guess = f"{i:06d}" if f"{i:06d}" != code else f"{i + 500000:06d}"
        payload = {"number": c.number, "code": guess}
        r = client.post("/api/v1/public/lookup", payload, content_type="application/json")
        if r.status_code == 400 and r.json()["code"] == "captcha_required":
            key = client.get("/api/v1/public/captcha").json()["key"]
            payload.update(captcha_key=key, captcha_answer=CaptchaStore.objects.get(hashkey=key).response)
            r = client.post("/api/v1/public/lookup", payload, content_type="application/json")
        statuses.append(r.status_code)
    assert 200 not in statuses
    assert statuses[:3] == [422, 422, 422]
    assert statuses.count(422) == 10 and set(statuses[10:]) == {429}  # the number's limit came first
    throttled = client.post("/api/v1/public/lookup", {"number": c.number, "code": code},
                            content_type="application/json")
    assert throttled.status_code == 429 and throttled.json()["code"] == "throttled"
    other_ip = Client(REMOTE_ADDR="10.9.8.7").post("/api/v1/public/lookup", {"number": c.number, "code": code},
                                                   content_type="application/json")
    assert other_ip.status_code == 429


def test_r_ax_3_the_lookup_page_asks_for_a_captcha_after_three_wrong_codes(org):
    c, code = portal_complaint(org)
    client = Client()
    for _ in range(3):
        r = client.post("/portal/lookup/", {"number": c.number, "code": "000000"})
        assert r.status_code == 422 and "不匹配" in r.content.decode()
    body = r.content.decode()
    assert 'id="captcha-image"' in body
    refused = client.post("/portal/lookup/", {"number": c.number, "code": code})
    assert refused.status_code == 422 and "请输入图中显示的字符" in refused.content.decode()
    ok = client.post("/portal/lookup/", {"number": c.number, "code": code, **solve(client, refused.content.decode())})
    assert ok.status_code == 200 and c.number in ok.content.decode()


# --- abuse: uploads, markup, rate limits, CSRF ---------------------------------------------------


def test_abuse_a_20_mb_photo_is_refused_and_nothing_is_written(org, media):
    big = SimpleUploadedFile("big.jpg", JPEG[:-2] + b"\x00" * (20 * 1024 * 1024) + b"\xff\xd9", "image/jpeg")
    r = submit_page(Client(), photos=[big])
    assert r.status_code == 422
    assert "大于" in r.content.decode() or "超过" in r.content.decode() or "limit" in r.content.decode()
    assert not Complaint.objects.exists() and not Notification.objects.exists() and files_in(media) == []


def test_abuse_an_exe_renamed_jpg_is_refused_and_nothing_is_written(org, media):
    r = submit_page(Client(), photos=[SimpleUploadedFile("照片.jpg", EXE, "image/jpeg")])
    assert r.status_code == 422
    assert "内容" in r.content.decode()  # the content does not match the .jpg name
    assert not Complaint.objects.exists() and files_in(media) == []
    api = Client().post("/api/v1/public/complaints", FORM, content_type="application/json").json()
    before = Attachment.objects.count()
    r = Client().post(api["photos_url"], {"lookup_code": api["lookup_code"],
                                          "file": SimpleUploadedFile("x.jpg", EXE, "image/jpeg")})
    assert r.status_code == 422 and r.json()["field"] == "file"
    assert Attachment.objects.count() == before


def test_abuse_a_script_in_the_description_is_refused_and_nothing_is_written(org):
    r = submit_page(Client(), description="外壳开裂<script>alert('x')</script>")
    assert r.status_code == 422
    assert "不能包含 HTML" in r.content.decode() and "<script>alert" not in r.content.decode()
    api = Client().post("/api/v1/public/complaints", {**FORM, "description": "<script>alert(1)</script>"},
                        content_type="application/json")
    assert api.status_code == 422 and api.json()["field"] == "description"
    assert not Complaint.objects.exists()


def test_abuse_submissions_are_limited_per_phone_per_day(org, settings):
    settings.KESU_PORTAL_CAPTCHA_AFTER = 100  # this test is about the limit, not the captcha
    for i in range(5):
        assert Client(REMOTE_ADDR=f"10.0.0.{i}").post(
            "/api/v1/public/complaints", {**FORM, "order_number": f"O{i}"}, content_type="application/json"
        ).status_code == 201
    r = Client(REMOTE_ADDR="10.0.0.99").post("/api/v1/public/complaints", {**FORM, "order_number": "O9"},
                                             content_type="application/json")
    assert r.status_code == 429 and r.json()["field"] == "contact_phone"
    assert Complaint.objects.count() == 5


def test_abuse_submissions_are_limited_per_ip_per_hour(org, settings):
    settings.KESU_PORTAL_SUBMITS_PER_IP_HOUR = 2
    client = Client()
    for i in range(2):
        assert client.post("/api/v1/public/complaints", {**FORM, "contact_phone": f"1390000000{i}"},
                           content_type="application/json").status_code == 201
    r = client.post("/api/v1/public/complaints", {**FORM, "contact_phone": "13900000009"},
                    content_type="application/json")
    assert r.status_code == 429 and Complaint.objects.count() == 2


def test_abuse_portal_forms_need_the_csrf_token(org):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/portal/submit/", FORM).status_code == 403
    assert client.post("/portal/lookup/", {"number": "TS1", "code": "1"}).status_code == 403
    assert not Complaint.objects.exists()


# --- R-FU-5 on the page ---------------------------------------------------------------------


def test_r_fu_5_the_survey_page_shows_number_and_question_and_refuses_a_replay(org, register):
    c = register()
    actions.accept(c, by=org["clerk"])
    actions.reply(c, by=org["clerk"], message="已为您换新")
    followups.send_survey(c, by=org["clerk"])
    url = Notification.objects.get(complaint=c, kind="survey_invitation").context["survey_url"]
    path = url.split("://", 1)[1].split("/", 1)[1]
    client = Client()
    page = client.get(f"/{path}").content.decode()
    assert c.number in page and "您对我们处理您投诉的结果满意吗" in page and "非常不满意" in page
    assert "张伟" not in page and "电饭煲" not in page  # R-FU-5: nothing but number and question
    done = client.post(f"/{path}", {"satisfaction": "2"})
    assert done.status_code == 200 and "满意" in done.content.decode()
    replay = client.post(f"/{path}", {"satisfaction": "5"})
    assert replay.status_code == 409 and "已提交过" in replay.content.decode()
    assert list(FollowUpVisit.objects.values_list("satisfaction", flat=True)) == [2]
    assert Complaint.objects.get(pk=c.pk).status == Status.FOLLOW_UP


def test_the_portal_switches_to_english(org):
    client = Client()
    client.post("/i18n/setlang/", {"language": "en", "next": "/portal/"})
    assert "Submit a complaint" in client.get("/portal/").content.decode()


def test_r_ax_3_rate_limit_counters_are_shared_by_every_process(db, settings):
    """The counters live in the database (or Redis), not in one process's memory: a second,
    independent cache connection — as another gunicorn worker would open — sees the same count."""
    from django.core.cache import caches

    from kesu.portal import throttle

    backend = settings.CACHES["ratelimit"]["BACKEND"]
    assert backend.endswith(("DatabaseCache", "RedisCache")), backend
    for _ in range(3):
        throttle.lookup_failed("203.0.113.9", "TS20261100001")
    other_process = caches.create_connection("ratelimit")
    key = throttle._key("lookup-fail", "203.0.113.9", throttle.HOUR)
    assert other_process.get(key) == 3
    assert throttle.captcha_needed("203.0.113.9")


def test_abuse_an_oversized_request_is_refused_before_its_files_are_read(org, settings, media):
    settings.KESU_PORTAL_MAX_PHOTOS, settings.KESU_PORTAL_MAX_PHOTO_BYTES = 1, 1024
    big = SimpleUploadedFile("big.jpg", JPEG + b"\x00" * (2 * 1024 * 1024), "image/jpeg")
    r = submit_page(Client(), photos=[big])
    assert r.status_code == 413 and "过大" in r.content.decode()
    assert not Complaint.objects.exists() and files_in(media) == []


def test_r_in_2_a_bad_phone_is_a_chinese_error_next_to_the_field_and_nothing_is_written(org):
    r = submit_page(Client(), contact_phone="12345")
    assert r.status_code == 422
    assert r.context["form"].errors["contact_phone"] and "不是有效的电话号码" in r.content.decode()
    assert not Complaint.objects.exists()


def test_the_public_api_needs_no_cookie_or_csrf_token(org):
    """A mini-program has no cookies: the JSON endpoints work without a session or CSRF token."""
    client = Client(enforce_csrf_checks=True)
    r = client.post("/api/v1/public/complaints", FORM, content_type="application/json")
    assert r.status_code == 201, r.content
