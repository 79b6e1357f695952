"""Delivering outbox rows (R-CM-5). Run by the worker (``tasks.py``); safe to run in several
workers at once, and after a crash.

For one row:
  1. Claim it with a conditional UPDATE: pending and due, or "sending" with a claim older than
     ``KESU_NOTIFY_CLAIM_TIMEOUT`` (its worker died). Only one worker's UPDATE matches. The
     claim counts as an attempt, so a row that kills its worker cannot loop for ever.
  2. Render the template in the row's language and send it — outside any transaction, so no
     database lock is held while talking to a mail server.
  3. In one transaction: mark it sent (only if our claim still stands) and append
     NOTIFICATION_SENT to the complaint's timeline.
  On failure the row goes back to pending with an exponential backoff, or to dead after
  ``KESU_NOTIFY_MAX_ATTEMPTS`` (NOTIFICATION_FAILED on the timeline).

A crash between 2 and 3 makes the row's claim go stale and it is sent again, with the same
Message-ID (and SMS OutId); that is the only way a notification is sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.utils import timezone, translation

from kesu.complaints import timeline
from kesu.complaints.models import Event
from kesu.lib.phones import mask_phone

from . import channels
from .channels import DeliveryError, Message, PermanentFailure
from .models import Language, Medium, Notification, State

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)


def claim_timeout() -> timedelta:
    return timedelta(seconds=settings.KESU_NOTIFY_CLAIM_TIMEOUT)


def max_attempts() -> int:
    return settings.KESU_NOTIFY_MAX_ATTEMPTS


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` failed ones: 1, 2, 4, 8 … minutes, capped
    at an hour."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


# --- rendering -------------------------------------------------------------------------------


def template_names(kind: str, language: str) -> list[str]:
    names = [f"comms/{language}/{kind}.txt"]
    if language != Language.ZH_HANS:
        names.append(f"comms/{Language.ZH_HANS}/{kind}.txt")
    return names


# Names of the SLA limits (kesu.sla DeadlineKind codes) as the messages say them.
DEADLINE_NAMES = {
    Language.ZH_HANS: {
        "first_contact": "受理时限",
        "contact_again": "再次联系时限",
        "resolution": "处理时限",
        "answer": "原因与对策答复时限",
        "reply": "书面答复时限",
        "close": "结案时限",
        "progress": "进展告知时限",
        "promised_reply": "承诺答复时间",
        "platform_result": "12315 处理结果时限",
    },
    Language.EN: {
        "first_contact": "first-contact limit",
        "contact_again": "contact-again limit",
        "resolution": "resolution limit",
        "answer": "cause-and-countermeasure limit",
        "reply": "written-reply limit",
        "close": "overall limit",
        "progress": "progress-update limit",
        "promised_reply": "promised reply time",
        "platform_result": "12315 result limit",
    },
}


def deadline_name(context: dict, language: str) -> str:
    """``deadline_label`` if given, else the name of the limit whose code is in ``deadline``
    (or ``kind``), else ``deadline`` as written."""
    names = DEADLINE_NAMES.get(language, DEADLINE_NAMES[Language.ZH_HANS])
    for key in ("deadline", "kind"):
        code = context.get(key)
        if isinstance(code, str) and code in names:
            return context.get("deadline_label") or names[code]
    default = "time limit" if language == Language.EN else "时限"
    return str(context.get("deadline_label") or context.get("deadline") or default)


def render(row: Notification) -> Message:
    """The template's first line is the subject; the rest, after a blank line, the body."""
    try:
        with translation.override(row.language):
            template = select_template(template_names(row.kind, row.language))
            text = template.render(
                {**row.context, "deadline_name": deadline_name(row.context, row.language)}
            )
    except TemplateDoesNotExist as exc:
        raise PermanentFailure(f"no template for {row.kind}") from exc
    subject, _sep, body = text.strip().partition("\n")
    return Message(subject=subject.strip(), body=body.strip())


# --- one row ---------------------------------------------------------------------------------


def claim(notification_id: int, now: datetime) -> Notification | None:
    """Take the row for this worker, or None if it is not due or someone else has it."""
    due = Q(status=State.PENDING, next_attempt_at__lte=now)
    crashed = Q(status=State.SENDING, claimed_at__lt=now - claim_timeout())
    taken = Notification.objects.filter(due | crashed, pk=notification_id).update(
        status=State.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if taken != 1:
        return None
    return Notification.objects.select_related("complaint", "webhook").get(pk=notification_id)


def deliver(notification_id: int, *, now: datetime | None = None) -> str | None:
    """Deliver one row if it is due; return its new status, or None if it was not ours to send."""
    clock: Callable[[], datetime] = (lambda: now) if now is not None else timezone.now
    row = claim(notification_id, clock())
    if row is None:
        return None
    try:
        provider_id = channels.send(row, render(row))
    except PermanentFailure as exc:
        return _failed(row, exc, clock(), permanent=True)
    except Exception as exc:  # noqa: BLE001 - any failure of one send is this row's failure
        if not isinstance(exc, DeliveryError):
            log.exception("notification %s: unexpected error while sending", row.pk)
        return _failed(row, exc, clock(), permanent=False)
    return _sent(row, provider_id, clock())


def _ours(row: Notification) -> Q:
    """Still claimed by us: a worker that took so long that another one re-claimed the row
    must not overwrite that worker's outcome."""
    return Q(pk=row.pk, status=State.SENDING, claimed_at=row.claimed_at)


def _sent(row: Notification, provider_id: str, now: datetime) -> str:
    with transaction.atomic():
        done = Notification.objects.filter(_ours(row)).update(
            status=State.SENT, sent_at=now, provider_id=(provider_id or "")[:100], last_error=""
        )
        if done and row.complaint is not None:
            timeline.record(
                row.complaint,
                Event.NOTIFICATION_SENT,
                by=None,
                at=now,
                notification=row.pk,
                notification_kind=row.kind,
                channel=row.channel,
                recipient=masked_recipient(row),
                attempts=row.attempts,
                message_id=row.message_id,
            )
    return State.SENT


def _failed(row: Notification, exc: Exception, now: datetime, *, permanent: bool) -> str:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    give_up = permanent or row.attempts >= max_attempts()
    with transaction.atomic():
        if give_up:
            done = Notification.objects.filter(_ours(row)).update(
                status=State.DEAD, last_error=error, claimed_at=None
            )
            if done and row.complaint is not None:
                timeline.record(
                    row.complaint,
                    Event.NOTIFICATION_FAILED,
                    by=None,
                    at=now,
                    notification=row.pk,
                    notification_kind=row.kind,
                    channel=row.channel,
                    recipient=masked_recipient(row),
                    attempts=row.attempts,
                    error=error[:500],
                )
        else:
            Notification.objects.filter(_ours(row)).update(
                status=State.PENDING,
                last_error=error,
                claimed_at=None,
                next_attempt_at=now + backoff(row.attempts),
            )
    log.warning(
        "notification %s attempt %s failed%s: %s",
        row.pk,
        row.attempts,
        " (giving up)" if give_up else "",
        error,
    )
    return State.DEAD if give_up else State.PENDING


def masked_recipient(row: Notification) -> str:
    """How the timeline shows the recipient: 138****5678, z***@example.com, a robot's name."""
    if row.channel == Medium.SMS:
        return mask_phone(row.recipient)
    if row.channel == Medium.EMAIL:
        local, _at, domain = row.recipient.partition("@")
        return f"{local[:1]}***@{domain}"
    return row.webhook.name if row.webhook is not None else row.recipient.split("?")[0]


# --- the sweep -------------------------------------------------------------------------------


def due_ids(now: datetime, limit: int) -> list[int]:
    """Rows to try now: stale claims first (they are the oldest), then pending ones in due order."""
    crashed = (
        Notification.objects.filter(status=State.SENDING, claimed_at__lt=now - claim_timeout())
        .order_by("claimed_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    pending = (
        Notification.objects.filter(status=State.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    ids = list(crashed)
    return ids + list(pending)[: max(limit - len(ids), 0)]


def deliver_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """Try up to ``limit`` due rows; return how many this call claimed. Never raises for one
    bad row. ``now`` fixes the clock (tests); by default it is read per row, so that claims
    made late in a long batch are not born stale."""
    attempted = 0
    for notification_id in due_ids(now or timezone.now(), limit):
        try:
            if deliver(notification_id, now=now) is not None:
                attempted += 1
        except Exception:  # noqa: BLE001 - e.g. a database hiccup; the row stays due
            log.exception("notification %s: delivery crashed", notification_id)
    return attempted
