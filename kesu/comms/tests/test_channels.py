"""R-CM-5: the SMS gateways (log backend, Alibaba Cloud SendSms with its request signature) and
the WeCom/DingTalk robots, against local servers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote_plus, urlsplit

from django.utils import timezone

from kesu.comms import delivery, outbox
from kesu.comms.channels.sms import (
    AliyunSmsBackend,
    aliyun_signature,
    aliyun_string_to_sign,
    pop_encode,
)
from kesu.comms.channels.webhook import dingtalk_sign
from kesu.comms.models import Kind, Medium, State, WebhookEndpoint, WebhookKind
from kesu.complaints.models import Event, TimelineEvent

# --- SMS: log backend ------------------------------------------------------------------------


def sms_row(complaint, key: str, kind: str = Kind.ACKNOWLEDGEMENT, context: dict | None = None):
    rows = outbox.to_customer(complaint, kind, context or {}, now=timezone.now(), dedupe_key=key)
    return next(r for r in rows if r.channel == Medium.SMS)


def test_r_cm_5_r_in_6_sms_log_backend_keeps_and_logs_the_message(complaint, sms_log, caplog):
    row = sms_row(complaint, "c1", context={"lookup_code": "K7Q2"})
    with caplog.at_level(logging.INFO, logger="kesu.comms.channels.sms"):
        assert delivery.deliver(row.pk, now=timezone.now()) == State.SENT
    [sent] = sms_log
    assert sent["phone"] == "13812345678"
    assert sent["template_code"] == "acknowledgement"  # no provider template configured
    assert sent["params"]["number"] == complaint.number and sent["params"]["lookup_code"] == "K7Q2"
    assert "summary" not in sent["params"]  # free text never goes into a provider template
    assert complaint.number in sent["text"] and "K7Q2" in sent["text"]
    assert "138****5678" in caplog.text and "13812345678" not in caplog.text
    row.refresh_from_db()
    assert row.provider_id == sent["id"]
    [event] = [
        e
        for e in TimelineEvent.objects.filter(complaint=complaint, kind=Event.NOTIFICATION_SENT)
        if e.data["notification"] == row.pk
    ]
    assert event.data["channel"] == "sms" and event.data["recipient"] == "138****5678"


def test_r_cm_5_sms_template_code_per_kind(complaint, sms_log, settings):
    settings.KESU_SMS_TEMPLATE_CODE = "SMS_0001"
    settings.KESU_SMS_TEMPLATE_CODES = {"acknowledgement": "SMS_0002"}
    delivery.deliver(sms_row(complaint, "c2a").pk, now=timezone.now())
    delivery.deliver(sms_row(complaint, "c2b", Kind.PROGRESS).pk, now=timezone.now())
    assert [s["template_code"] for s in sms_log] == ["SMS_0002", "SMS_0001"]


# --- SMS: Alibaba Cloud ----------------------------------------------------------------------

# The example of Alibaba Cloud's SMS documentation, "HTTP协议及签名" / signature method
# (help.aliyun.com/document_detail/101343.html): AccessKey testId / testSecret, sent by GET.
DOC_PARAMS = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}
DOC_STRING_TO_SIGN = (
    "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123%26PhoneNumbers"
    "%3D15300000001%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF%25E9%2587%258C%25E4%25BA"
    "%2591%25E7%259F%25AD%25E4%25BF%25A1%25E6%25B5%258B%25E8%25AF%2595%25E4%25B8%2593%25E7%2594%25A8"
    "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466"
    "%26SignatureVersion%3D1.0%26TemplateCode%3DSMS_71390007%26TemplateParam%3D%257B%2522customer"
    "%2522%253A%2522test%2522%257D%26Timestamp%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25"
)
DOC_SIGNATURE = "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_r_cm_5_aliyun_signature_reproduces_the_documented_example():
    assert aliyun_string_to_sign(DOC_PARAMS, "GET") == DOC_STRING_TO_SIGN
    assert aliyun_signature(DOC_PARAMS, "testSecret", "GET") == DOC_SIGNATURE
    # The URL-encoded form the document shows in its example URL.
    assert pop_encode(DOC_SIGNATURE) == "zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D"


def test_r_cm_5_aliyun_percent_encoding_follows_the_pop_rules():
    assert pop_encode("a b*c~d/é") == "a%20b%2Ac~d%2F%C3%A9"


def test_r_cm_5_aliyun_backend_builds_the_documented_request():
    backend = AliyunSmsBackend(
        access_key_id="testId", access_key_secret="testSecret", sign_name="阿里云短信测试专用"
    )
    params = backend.request_params(
        "15300000001",
        "SMS_71390007",
        {"customer": "test"},
        out_id="123",
        timestamp=datetime(2017, 7, 12, 2, 42, 19, tzinfo=UTC),
        nonce="45e25e9b-0a6f-4070-8c85-2956eda1b466",
        method="GET",
    )
    assert params == {
        **DOC_PARAMS,
        "Format": "JSON",
        "Signature": aliyun_signature({**DOC_PARAMS, "Format": "JSON"}, "testSecret", "GET"),
    }
    # With the document's Format=XML the request is exactly the documented one.
    xml = {**params, "Format": "XML"}
    xml.pop("Signature")
    assert aliyun_signature(xml, "testSecret", "GET") == DOC_SIGNATURE


def aliyun_settings(settings, url: str) -> None:
    settings.KESU_SMS_BACKEND = "aliyun"
    settings.KESU_SMS_ACCESS_KEY_ID = "LTAI-test"
    settings.KESU_SMS_ACCESS_KEY_SECRET = "secret-test"
    settings.KESU_SMS_SIGN_NAME = "示例集团"
    settings.KESU_SMS_ENDPOINT = url + "/"
    settings.KESU_SMS_TEMPLATE_CODE = "SMS_100001"
    settings.KESU_SMS_TEMPLATE_CODES = {}


def test_r_cm_5_aliyun_backend_posts_a_signed_send_sms(complaint, settings, http_server):
    aliyun_settings(settings, http_server.url)

    def verify(request):
        form = {
            k: v[0] for k, v in parse_qs(request["body"].decode(), keep_blank_values=True).items()
        }
        signature = form.pop("Signature")
        assert signature == aliyun_signature(form, "secret-test", "POST")  # what Alibaba checks
        return 200, {
            "Code": "OK",
            "Message": "OK",
            "BizId": "900619746936498440^0",
            "RequestId": "F655A8D5",
        }

    http_server.respond = verify
    row = sms_row(complaint, "c3", context={"lookup_code": "K7Q2"})
    assert delivery.deliver(row.pk, now=timezone.now()) == State.SENT
    [request] = http_server.requests
    form = {k: v[0] for k, v in parse_qs(request["body"].decode()).items()}
    assert request["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert form["Action"] == "SendSms" and form["Version"] == "2017-05-25"
    assert form["PhoneNumbers"] == "13812345678" and form["SignName"] == "示例集团"
    assert form["TemplateCode"] == "SMS_100001"
    assert json.loads(form["TemplateParam"])["lookup_code"] == "K7Q2"
    assert form["OutId"] == row.message_id.strip("<>").split("@")[0]  # same on a resend
    row.refresh_from_db()
    assert row.provider_id == "900619746936498440^0"


def test_r_cm_5_aliyun_errors_are_retried_or_given_up(complaint, settings, http_server):
    aliyun_settings(settings, http_server.url)
    answers = [
        (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控"}),
        (200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}),
    ]
    http_server.respond = lambda request: answers.pop(0)
    row = sms_row(complaint, "c4")
    assert delivery.deliver(row.pk, now=timezone.now()) == State.PENDING  # rate limit: later
    row.refresh_from_db()
    assert "BUSINESS_LIMIT_CONTROL" in row.last_error
    assert delivery.deliver(row.pk, now=row.next_attempt_at) == State.DEAD  # bad number: never


# --- webhook robots --------------------------------------------------------------------------


def robot_row(complaint, endpoint_kind: str, url: str, secret: str = ""):
    WebhookEndpoint.objects.create(
        name="客服群机器人", kind=endpoint_kind, url=url, secret=secret, kinds=["breach"]
    )
    [row] = outbox.to_staff(
        None,
        Kind.BREACH,
        complaint,
        {"deadline": "resolution", "owner": "王芳"},
        now=timezone.now(),
        dedupe_key=f"c:{endpoint_kind}:{secret}",
    )
    return row


def test_r_cm_5_wecom_robot_receives_a_text_message(complaint, http_server):
    row = robot_row(
        complaint, WebhookKind.WECOM, f"{http_server.url}/cgi-bin/webhook/send?key=abc-123"
    )
    assert delivery.deliver(row.pk, now=timezone.now()) == State.SENT
    [request] = http_server.requests
    assert request["path"] == "/cgi-bin/webhook/send?key=abc-123"
    assert request["headers"]["Content-Type"].startswith("application/json")
    payload = http_server.json()
    assert payload["msgtype"] == "text" and set(payload) == {"msgtype", "text"}
    content = payload["text"]["content"]
    assert (
        complaint.number in content
        and "超时" in content
        and "处理时限" in content
        and "王芳" in content
    )
    [event] = [
        e
        for e in TimelineEvent.objects.filter(complaint=complaint, kind=Event.NOTIFICATION_SENT)
        if e.data["notification"] == row.pk
    ]
    assert event.data["recipient"] == "客服群机器人"  # not the URL with its key


def test_r_cm_5_dingtalk_robot_is_signed_when_a_secret_is_set(complaint, http_server):
    secret = "SEC0123456789abcdef"

    def verify(request):
        query = parse_qs(urlsplit(request["path"]).query)
        timestamp, sign = query["timestamp"][0], query["sign"][0]
        assert query["access_token"] == ["tok"]
        assert abs(int(timestamp) - time.time() * 1000) < 3_600_000  # DingTalk: within an hour
        expected = base64.b64encode(
            hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
        ).decode()
        assert sign == expected  # parse_qs already decoded the URL encoding once
        return 200, {"errcode": 0, "errmsg": "ok"}

    http_server.respond = verify
    row = robot_row(
        complaint, WebhookKind.DINGTALK, f"{http_server.url}/robot/send?access_token=tok", secret
    )
    assert delivery.deliver(row.pk, now=timezone.now()) == State.SENT
    assert http_server.json()["msgtype"] == "text"
    assert complaint.number in http_server.json()["text"]["content"]


def test_r_cm_5_dingtalk_sign_is_url_encoded_base64_of_hmac_sha256():
    # A value worked out by hand from the documented recipe (Python's hmac and base64 only).
    secret, ts = "this is secret", 1577836800000
    digest = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    assert unquote_plus(dingtalk_sign(secret, ts)) == base64.b64encode(digest).decode()
    assert "+" not in dingtalk_sign(secret, ts) and "/" not in dingtalk_sign(secret, ts)


def test_r_cm_5_dingtalk_robot_without_secret_is_not_signed(complaint, http_server):
    row = robot_row(
        complaint, WebhookKind.DINGTALK, f"{http_server.url}/robot/send?access_token=tok"
    )
    assert delivery.deliver(row.pk, now=timezone.now()) == State.SENT
    assert http_server.requests[0]["path"] == "/robot/send?access_token=tok"


def test_r_cm_5_robot_error_code_is_retried(complaint, http_server):
    http_server.respond = lambda request: (
        200,
        {"errcode": 45009, "errmsg": "api freq out of limit"},
    )
    row = robot_row(complaint, WebhookKind.WECOM, f"{http_server.url}/send?key=k")
    assert delivery.deliver(row.pk, now=timezone.now()) == State.PENDING
    row.refresh_from_db()
    assert "45009" in row.last_error and "key=k" not in row.last_error


def test_r_cm_5_robot_http_error_is_retried(complaint, http_server):
    http_server.respond = lambda request: (502, {})
    row = robot_row(complaint, WebhookKind.WECOM, f"{http_server.url}/send?key=k")
    assert delivery.deliver(row.pk, now=timezone.now()) == State.PENDING
