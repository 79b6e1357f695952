"""R-CM-5: notifications are outbox rows written in the transaction of the change."""

from __future__ import annotations

import hashlib

import pytest
from django.db import transaction
from django.utils import timezone

from kesu.comms import outbox
from kesu.comms.models import Kind, Medium, Notification, State, WebhookEndpoint, WebhookKind
from kesu.complaints.models import Complaint


class Boom(Exception):
    pass


def mine(prefix: str):
    """Only this test's rows: other code (e.g. registration) may write its own notifications."""
    return Notification.objects.filter(dedupe_key__startswith=prefix)


def test_r_cm_5_rows_exist_only_if_the_change_commits(
    complaint, django_capture_on_commit_callbacks
):
    now = timezone.now()
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(Boom):
            with transaction.atomic():
                Complaint.objects.filter(pk=complaint.pk).update(summary="改过的摘要")
                rows = outbox.to_customer(
                    complaint, Kind.PROGRESS, {}, now=now, dedupe_key="t1:progress"
                )
                assert len(rows) == 2  # SMS and email, visible inside the transaction
                raise Boom
    assert not mine("t1:").exists()
    assert callbacks == []  # nothing was handed to the worker either
    assert Complaint.objects.get(pk=complaint.pk).summary != "改过的摘要"

    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            Complaint.objects.filter(pk=complaint.pk).update(summary="改过的摘要")
            outbox.to_customer(complaint, Kind.PROGRESS, {}, now=now, dedupe_key="t1:progress")
    assert mine("t1:").count() == 2
    assert len(callbacks) == 2  # one delivery request per row, after the commit


def test_r_cm_5_delivery_is_requested_after_commit_not_before(
    complaint, django_capture_on_commit_callbacks, smtp_server
):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            rows = outbox.to_customer(complaint, Kind.PROGRESS, {}, now=now, dedupe_key="t2:p")
            assert smtp_server.messages == []  # inside the transaction nothing has been sent
    assert {r.status for r in mine("t2:")} == {State.SENT}
    assert len(smtp_server.messages) == 1 and len(rows) == 2


def test_r_cm_5_same_dedupe_key_writes_nothing_new(complaint, django_capture_on_commit_callbacks):
    now = timezone.now()
    with transaction.atomic():
        first = outbox.to_customer(
            complaint,
            Kind.ACKNOWLEDGEMENT,
            {"lookup_code": "K7Q2"},
            now=now,
            dedupe_key=f"t3:ack:{complaint.number}",
        )
        # The second call in the same transaction (and later ones) are no-ops; the transaction
        # stays usable afterwards (no aborted transaction on PostgreSQL).
        again = outbox.to_customer(
            complaint,
            Kind.ACKNOWLEDGEMENT,
            {"lookup_code": "OTHER"},
            now=now,
            dedupe_key=f"t3:ack:{complaint.number}",
        )
        assert Complaint.objects.filter(pk=complaint.pk).exists()
    later = outbox.to_customer(
        complaint,
        Kind.ACKNOWLEDGEMENT,
        {"lookup_code": "OTHER"},
        now=now,
        dedupe_key=f"t3:ack:{complaint.number}",
    )
    assert mine("t3:").count() == 2
    assert [r.pk for r in first] == [r.pk for r in again] == [r.pk for r in later]
    assert {r.context["lookup_code"] for r in mine("t3:")} == {"K7Q2"}


def test_r_cm_5_message_id_is_fixed_by_the_dedupe_key(complaint, settings):
    settings.KESU_MESSAGE_ID_DOMAIN = "example.com"
    rows = outbox.to_customer(complaint, Kind.PROGRESS, {}, now=timezone.now(), dedupe_key="t4:p")
    for row in rows:
        digest = hashlib.sha1(row.dedupe_key.encode()).hexdigest()
        assert row.message_id == f"<{digest}@example.com>"
    assert len({r.message_id for r in rows}) == 2


def test_r_cm_5_customer_is_reached_where_the_contact_allows(register):
    now = timezone.now()
    by_mobile = register(contact_phone="13912345678")
    landline = register(
        contact_phone="010-12345678", summary="座机客户投诉送货太慢", order_number="DD2"
    )
    by_email = register(
        contact_phone="",
        other_contact="微信 zw88，邮箱 a.b@example.cn",
        summary="邮件客户",
        order_number="DD3",
    )
    anonymous = register(
        anonymous=True,
        customer_name="",
        contact_phone="13712345678",
        summary="匿名投诉",
        order_number="DD4",
    )

    def channels(c):
        return [
            (r.channel, r.recipient)
            for r in outbox.to_customer(c, Kind.PROGRESS, {}, now=now, dedupe_key=f"t5:{c.number}")
        ]

    assert channels(by_mobile) == [(Medium.SMS, "13912345678")]
    assert channels(landline) == []
    assert channels(by_email) == [(Medium.EMAIL, "a.b@example.cn")]
    assert channels(anonymous) == []


def test_r_cm_5_foreign_customer_defaults_to_english(register):
    foreign = register(foreign=True, contact_phone="13612345678")
    rows = outbox.to_customer(foreign, Kind.PROGRESS, {}, now=timezone.now(), dedupe_key="t6:p")
    assert [r.language for r in rows] == ["en"]
    rows = outbox.to_customer(
        foreign, Kind.REPLY, {}, now=timezone.now(), dedupe_key="t6:r", language="zh-hans"
    )
    assert [r.language for r in rows] == ["zh-hans"]


def test_r_cm_5_staff_get_email_and_subscribed_robots(org, complaint):
    handler = org["handler"]
    handler.email = "handler@example.com"
    handler.save()
    wecom = WebhookEndpoint.objects.create(
        name="客服群",
        kind=WebhookKind.WECOM,
        url="http://127.0.0.1:9/w",
        kinds=["warning", "breach"],
    )
    WebhookEndpoint.objects.create(
        name="质量群", kind=WebhookKind.DINGTALK, url="http://127.0.0.1:9/d", kinds=["gm_copy"]
    )
    WebhookEndpoint.objects.create(
        name="停用",
        kind=WebhookKind.WECOM,
        url="http://127.0.0.1:9/x",
        kinds=["warning"],
        active=False,
    )
    due = timezone.now()
    rows = outbox.to_staff(
        handler,
        Kind.WARNING,
        complaint,
        {"deadline": "resolution", "due_at": due},
        now=due,
        dedupe_key="t7:warn",
    )
    assert [(r.channel, r.user_id, r.webhook_id) for r in rows] == [
        (Medium.EMAIL, handler.pk, None),
        (Medium.WEBHOOK, None, wecom.pk),
    ]
    assert rows[0].context["number"] == complaint.number
    assert rows[0].context["due_at"] == timezone.localtime(due).strftime("%Y-%m-%d %H:%M")
    # ISO text for a *_at value reads the same (Asia/Shanghai wall clock).
    [iso] = outbox.to_staff(
        handler,
        Kind.WARNING,
        complaint,
        {"due_at": due.isoformat()},
        now=due,
        dedupe_key="t7:iso",
        webhooks=False,
    )
    assert iso.context["due_at"] == rows[0].context["due_at"]
    # The manager about the same event: email only, the group already saw it.
    manager = org["manager"]
    manager.email = "manager@example.com"
    manager.save()
    rows = outbox.to_staff(
        manager, Kind.WARNING, complaint, {}, now=due, dedupe_key="t7:warn:mgr", webhooks=False
    )
    assert [r.channel for r in rows] == [Medium.EMAIL]
    # Robots only (no user), and a user without email gets nothing.
    assert [
        r.channel
        for r in outbox.to_staff(None, Kind.BREACH, complaint, {}, now=due, dedupe_key="t7:breach")
    ] == [Medium.WEBHOOK]
    assert (
        outbox.to_staff(org["qa"], Kind.ASSIGNMENT, complaint, {}, now=due, dedupe_key="t7:a") == []
    )


def test_r_cm_5_kinds_are_checked(complaint, org):
    now = timezone.now()
    with pytest.raises(ValueError):
        outbox.to_customer(complaint, Kind.WARNING, {}, now=now, dedupe_key="t8")
    with pytest.raises(ValueError):
        outbox.to_staff(
            org["handler"], Kind.ACKNOWLEDGEMENT, complaint, {}, now=now, dedupe_key="t8"
        )
    with pytest.raises(ValueError):
        outbox.to_customer(complaint, Kind.PROGRESS, {}, now=now, dedupe_key="")


def test_r_cm_5_retry_puts_a_dead_row_back_with_fresh_attempts(complaint):
    now = timezone.now()
    row = outbox.to_customer(complaint, Kind.PROGRESS, {}, now=now, dedupe_key="t9")[0]
    Notification.objects.filter(pk=row.pk).update(status=State.DEAD, attempts=8)
    assert outbox.retry(row, now=now)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (State.PENDING, 0)
    Notification.objects.filter(pk=row.pk).update(status=State.SENT)
    assert not outbox.retry(row, now=now)  # a sent notification is never sent again by hand
