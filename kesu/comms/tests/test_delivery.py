"""R-CM-5: the worker delivers outbox rows with retries, backoff and a stable Message-ID, and the
complaint's timeline shows the outcome."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kesu.comms import delivery, outbox
from kesu.comms.models import Kind, Medium, Notification, State, WebhookEndpoint, WebhookKind
from kesu.complaints.models import Event, TimelineEvent

MINUTE = timedelta(minutes=1)


def email_row(
    complaint, key: str, kind: str = Kind.PROGRESS, context: dict | None = None, now=None
) -> Notification:
    rows = outbox.to_customer(
        complaint, kind, context or {}, now=now or timezone.now(), dedupe_key=key
    )
    return next(r for r in rows if r.channel == Medium.EMAIL)


def events(row: Notification, kind: str) -> list[TimelineEvent]:
    return [
        e
        for e in TimelineEvent.objects.filter(complaint=row.complaint_id, kind=kind)
        if e.data.get("notification") == row.pk
    ]


def test_r_cm_5_r_in_6_email_reaches_smtp_with_message_id_subject_and_chinese_body(
    complaint, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        row = email_row(complaint, "d1:ack", Kind.ACKNOWLEDGEMENT, {"lookup_code": "K7Q2-9X"})
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    row.refresh_from_db()
    assert message["Message-ID"] == row.message_id
    assert message["To"] == "zhang.wei@example.com"
    assert message["Auto-Submitted"] == "auto-generated"
    assert complaint.number in message["Subject"] and "受理" in message["Subject"]
    assert message.get_content_charset() == "utf-8"
    body = message.get_content()
    assert "您好" in body and complaint.number in body and "K7Q2-9X" in body  # R-IN-6
    # On the wire the Chinese subject is RFC 2047-encoded, the body UTF-8.
    raw = smtp_server.raw[0]
    assert b"=?utf-8?" in raw.lower()
    assert (
        "查询码".encode() in raw or b"base64" in raw.lower() or b"quoted-printable" in raw.lower()
    )

    assert (row.status, row.attempts, row.last_error) == (State.SENT, 1, "")
    [event] = events(row, Event.NOTIFICATION_SENT)
    assert event.actor is None
    assert event.data["channel"] == "email" and event.data["attempts"] == 1
    assert event.data["recipient"] == "z***@example.com"  # masked on the timeline
    assert event.data["message_id"] == row.message_id


def test_r_cm_5_refused_mail_is_retried_with_backoff_then_sent(complaint, smtp_server):
    smtp_server.replies = ["451 4.3.0 Try again later", "451 4.3.0 Try again later"]
    t0 = timezone.now()
    row = email_row(complaint, "d2", now=t0)

    assert delivery.deliver(row.pk, now=t0) == State.PENDING
    row.refresh_from_db()
    assert row.attempts == 1 and row.next_attempt_at == t0 + MINUTE
    assert "451" in row.last_error
    assert delivery.deliver(row.pk, now=t0 + 30 * timedelta(seconds=1)) is None  # not due yet

    assert delivery.deliver(row.pk, now=t0 + MINUTE) == State.PENDING
    row.refresh_from_db()
    assert row.attempts == 2 and row.next_attempt_at == t0 + 3 * MINUTE  # then 2 minutes

    assert delivery.deliver(row.pk, now=t0 + 3 * MINUTE) == State.SENT
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (State.SENT, 3, "")
    assert smtp_server.refused == 2 and len(smtp_server.messages) == 1
    assert smtp_server.messages[0]["Message-ID"] == row.message_id
    [event] = events(row, Event.NOTIFICATION_SENT)
    assert event.data["attempts"] == 3
    assert delivery.deliver(row.pk, now=t0 + 10 * MINUTE) is None  # sent rows are never taken again


def test_r_cm_5_backoff_doubles_and_is_capped():
    assert [delivery.backoff(n) for n in (1, 2, 3, 4)] == [
        MINUTE,
        2 * MINUTE,
        4 * MINUTE,
        8 * MINUTE,
    ]
    assert delivery.backoff(12) == timedelta(hours=1)


def test_r_cm_5_given_up_after_max_attempts_and_timeline_shows_failure(
    complaint, smtp_server, settings
):
    settings.KESU_NOTIFY_MAX_ATTEMPTS = 3
    smtp_server.replies = ["451 4.7.1 Greylisted"] * 10
    t = timezone.now()
    row = email_row(complaint, "d3", now=t)
    results = []
    for _ in range(3):
        results.append(delivery.deliver(row.pk, now=t))
        row.refresh_from_db()
        t = row.next_attempt_at
    assert results == [State.PENDING, State.PENDING, State.DEAD]
    assert (row.status, row.attempts) == (State.DEAD, 3)
    assert delivery.deliver(row.pk, now=t + timedelta(days=1)) is None
    assert smtp_server.messages == [] and smtp_server.refused == 3
    [event] = events(row, Event.NOTIFICATION_FAILED)
    assert event.data["attempts"] == 3 and "451" in event.data["error"]
    assert not events(row, Event.NOTIFICATION_SENT)


def test_r_cm_5_permanent_refusal_is_given_up_at_once(complaint, smtp_server):
    smtp_server.replies = ["550 5.1.1 No such user"]
    row = email_row(complaint, "d4")
    assert delivery.deliver(row.pk, now=timezone.now()) == State.DEAD
    row.refresh_from_db()
    assert row.attempts == 1 and "550" in row.last_error
    assert len(events(row, Event.NOTIFICATION_FAILED)) == 1


def test_r_cm_5_unreachable_server_is_retried(complaint, settings):
    from kesu.comms.tests.conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    row = email_row(complaint, "d5")
    assert delivery.deliver(row.pk, now=timezone.now()) == State.PENDING
    row.refresh_from_db()
    assert row.attempts == 1 and "SMTP" in row.last_error


def test_r_cm_5_crashed_claim_is_resent_with_the_same_message_id(register, smtp_server, settings):
    """A worker claimed the row (and perhaps sent it) and died: after the claim timeout the row
    is taken again; the copy carries the same Message-ID."""
    settings.KESU_NOTIFY_CLAIM_TIMEOUT = 300
    complaint = register(contact_phone="", other_contact="li@example.com")
    t0 = timezone.now()
    row = email_row(complaint, "d6", now=t0)
    assert delivery.claim(row.pk, t0) is not None  # the worker that "dies"
    assert delivery.claim(row.pk, t0) is None  # one claim at a time
    assert delivery.deliver(row.pk, now=t0 + MINUTE) is None  # its claim is still fresh
    delivery.deliver_due(now=t0 + MINUTE)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (State.SENDING, 1)

    delivery.deliver_due(now=t0 + 6 * MINUTE)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (State.SENT, 2)
    assert [m["Message-ID"] for m in smtp_server.messages if m["Message-ID"] == row.message_id] == [
        row.message_id
    ]


def test_r_cm_5_slow_worker_does_not_overwrite_the_outcome_of_the_one_that_took_over(
    complaint, smtp_server
):
    t0 = timezone.now()
    row = email_row(complaint, "d7", now=t0)
    slow = delivery.claim(row.pk, t0)
    assert delivery.deliver(row.pk, now=t0 + 10 * MINUTE) == State.SENT  # took over the stale claim
    delivery._failed(slow, RuntimeError("late"), t0 + 11 * MINUTE, permanent=True)
    row.refresh_from_db()
    assert row.status == State.SENT and row.last_error == ""
    assert len(events(row, Event.NOTIFICATION_SENT)) == 1 and not events(
        row, Event.NOTIFICATION_FAILED
    )


def test_r_cm_5_deliver_due_survives_bad_rows(complaint, smtp_server, monkeypatch):
    now = timezone.now()
    endpoint = WebhookEndpoint.objects.create(
        name="群", kind=WebhookKind.WECOM, url="http://127.0.0.1:9/", kinds=["breach"]
    )
    [robot] = outbox.to_staff(None, Kind.BREACH, complaint, {}, now=now, dedupe_key="d8:robot")
    endpoint.delete()  # the robot is gone: that row can never be sent
    good = email_row(complaint, "d8:good", now=now)
    broken = email_row(complaint, "d8:broken", now=now)

    from kesu.comms import channels

    real_send = channels.send

    def flaky(row, message):
        if row.pk == broken.pk:
            raise RuntimeError("bug in a channel")
        return real_send(row, message)

    monkeypatch.setattr(channels, "send", flaky)
    attempted = delivery.deliver_due(now=now, limit=100)
    assert attempted >= 3
    statuses = dict(
        Notification.objects.filter(pk__in=[robot.pk, good.pk, broken.pk]).values_list(
            "pk", "status"
        )
    )
    assert statuses == {robot.pk: State.DEAD, good.pk: State.SENT, broken.pk: State.PENDING}
    assert "bug in a channel" in Notification.objects.get(pk=broken.pk).last_error


def test_r_cm_5_missing_template_is_a_permanent_failure(complaint, smtp_server):
    row = email_row(complaint, "d9")
    Notification.objects.filter(pk=row.pk).update(kind="no_such_kind")
    assert delivery.deliver(row.pk, now=timezone.now()) == State.DEAD


@pytest.mark.django_db(transaction=True)
def test_r_cm_5_commit_hands_the_row_to_the_worker(register, smtp_server):
    """With real commits (no test transaction), writing a notification delivers it."""
    complaint = register(contact_phone="", other_contact="li@example.com")
    smtp_server.messages.clear()  # registration's own acknowledgement
    from django.db import transaction

    with transaction.atomic():
        [row] = outbox.to_customer(
            complaint,
            Kind.PROGRESS,
            {"progress": "已安排上门检测"},
            now=timezone.now(),
            dedupe_key="d10",
        )
        assert smtp_server.messages == []
    row.refresh_from_db()
    assert row.status == State.SENT
    assert "已安排上门检测" in smtp_server.messages[-1].get_content()


def test_r_cm_5_deliver_outbox_command_flushes_what_is_due(complaint, smtp_server, sms_log):
    from io import StringIO

    from django.core.management import call_command

    row = email_row(complaint, "d11")
    out = StringIO()
    call_command("deliver_outbox", stdout=out)
    row.refresh_from_db()
    assert row.status == State.SENT and "attempted" in out.getvalue()
    assert not Notification.objects.filter(status=State.PENDING).exists()
