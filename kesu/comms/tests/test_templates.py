"""R-CM-5 / R-IN-6: notification texts are Chinese by default, English when the row says so."""

from __future__ import annotations

import pytest

from kesu.comms.delivery import render
from kesu.comms.models import Kind, Medium, Notification

CONTEXT = {
    "number": "TS20261100042",
    "customer_name": "张伟",
    "summary": "电饭煲不加热",
    "lookup_code": "K7Q2-9X",
    "level": 2,
    "recipient_name": "李娜",
    "deadline": "resolution",
    "due_at": "2026-11-23 10:00",
    "owner": "王芳",
    "reason": "二次投诉",
    "tier": 2,
    "progress": "已安排上门检测",
    "reply": "为您更换新机",
    "survey_url": "https://kesu.example.com/s/abc",
}


def row(kind: str, language: str = "zh-hans", /, **context) -> Notification:
    return Notification(
        kind=kind,
        channel=Medium.EMAIL,
        recipient="a@example.com",
        language=language,
        context={**CONTEXT, **context},
        dedupe_key="x",
        message_id="<x@kesu>",
    )


def test_r_in_6_acknowledgement_gives_number_and_lookup_code_in_chinese():
    message = render(row(Kind.ACKNOWLEDGEMENT))
    assert message.subject == "您的投诉已受理（编号 TS20261100042）"
    assert "张伟，您好！" in message.body
    assert "投诉编号 TS20261100042" in message.body and "查询码 K7Q2-9X" in message.body
    assert "查询处理进度" in message.body


def test_r_in_6_acknowledgement_points_to_the_portal_when_given():
    message = render(row(Kind.ACKNOWLEDGEMENT, portal_url="https://kesu.example.com/q"))
    assert "https://kesu.example.com/q" in message.body


def test_r_cm_5_r_in_6_english_when_the_row_is_english():
    message = render(row(Kind.ACKNOWLEDGEMENT, "en"))
    assert message.subject == "Your complaint has been registered (TS20261100042)"
    assert "Dear 张伟," in message.body
    assert "TS20261100042" in message.body and "K7Q2-9X" in message.body
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in message.body.replace("张伟", ""))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("kind", list(Kind))
def test_r_cm_5_every_kind_renders_in_both_languages(kind, language):
    message = render(row(kind, language))
    assert message.subject and "\n" not in message.subject
    assert "TS20261100042" in message.subject
    assert message.body and "{%" not in message.body and "{{" not in message.body
    has_chinese = any("\u4e00" <= ch <= "\u9fff" for ch in message.subject)
    assert has_chinese == (language == "zh-hans")


def test_r_cm_5_text_is_not_html_escaped():
    message = render(row(Kind.PROGRESS, progress='<已> & "确认"'))
    assert '<已> & "确认"' in message.body


@pytest.mark.parametrize(
    "context, words",
    [
        ({"deadline": "resolution"}, "处理时限"),
        ({"deadline": "reply"}, "书面答复时限"),
        ({"deadline": "Resolution", "kind": "first_contact"}, "受理时限"),  # a label plus the code
        ({"deadline": "自定义时限"}, "自定义时限"),
        ({"deadline": "close", "deadline_label": "总时限"}, "总时限"),
    ],
)
def test_r_cm_5_deadline_names(context, words):
    assert words in render(row(Kind.WARNING, **context)).body


def test_r_cm_5_customer_message_text_is_shown():
    assert (
        "已安排上门检测" in render(row(Kind.PROGRESS, progress="", message="已安排上门检测")).body
    )
    assert "为您更换新机" in render(row(Kind.REPLY, reply="", message="为您更换新机")).body
    assert (
        "We will replace it"
        in render(row(Kind.REPLY, "en", reply="", message="We will replace it")).body
    )
