"""Writing notifications (R-CM-5). Called by actions — and the SLA sweep — inside their
transaction, so a notification exists if and only if the change it reports committed.

    outbox.to_customer(complaint, Kind.ACKNOWLEDGEMENT, {"lookup_code": code},
                       now=now, dedupe_key=f"ack:{complaint.number}")
    outbox.to_staff(user, Kind.WARNING, complaint, {"deadline": "resolution", "due_at": due},
                    now=now, dedupe_key=f"warn:{deadline.pk}:{user.pk}")

``dedupe_key`` names the event being reported; the same key written again (a retried action,
a sweep that runs twice) is a no-op. Each returned row's own key is ``<dedupe_key>|<channel>…``,
so one event may reach a customer by SMS and email, and a staff member by email and robots.
After the transaction commits the worker is asked to deliver each row at once; if that
request is lost, the periodic ``deliver_outbox`` task picks the row up within a minute.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connections, router, transaction
from django.db import models as djm
from django.utils import timezone

from kesu.complaints.models import Complaint
from kesu.lib import inserts
from kesu.lib.revisions import Kept, Signature

from .models import (
    CUSTOMER_KINDS,
    STAFF_KINDS,
    Kind,
    Language,
    Medium,
    Notification,
    State,
    WebhookEndpoint,
    message_id_for,
)

log = logging.getLogger(__name__)

_MOBILE = re.compile(r"1[3-9]\d{9}", re.ASCII)
_EMAIL_LIKE = re.compile(r"[^\s@<>()（）:：,，;；]+@[^\s@<>()（）:：,，;；]+\.[A-Za-z]{2,}")


# The active robots while a ``robots_memoized()`` block runs (a sweep pass); None outside one.
_robots: ContextVar[list[WebhookEndpoint] | None] = ContextVar("outbox_robots", default=None)


@contextmanager
def robots_memoized() -> Iterator[None]:
    """Read the active webhook robots once for the block rather than once per notification
    (a sweep pass writes thousands). A robot an administrator adds during the pass is posted to
    from the next pass on."""
    token = _robots.set(_read_robots())
    try:
        yield
    finally:
        _robots.reset(token)


def _active_robots(signature: Signature | None = None) -> list[WebhookEndpoint]:
    robots = _robots.get()
    if robots is not None:
        return robots
    if signature is not None:  # as the process keeps them (kesu/lib/revisions.py)
        return _kept_robots.get(signature)
    return _read_robots()


def _read_robots() -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects.filter(active=True).order_by("id"))


_kept_robots: Kept[list[WebhookEndpoint]] = Kept(_read_robots)


def mobile_of(phone: str) -> str:
    """The number if it is a mainland mobile (the only kind SMS gateways take); else ''."""
    return phone if phone and _MOBILE.fullmatch(phone) else ""


def email_in(text: str) -> str:
    """The first valid email address in a free-text contact field ("邮箱: a@b.cn"), or ''."""
    for candidate in _EMAIL_LIKE.findall(text or ""):
        try:
            validate_email(candidate)
        except ValidationError:
            continue
        return candidate
    return ""


def _plain(value: Any) -> Any:
    """JSON-safe context values. Times are written as Asia/Shanghai wall-clock text: the
    templates show them as they are, in either language."""
    if isinstance(value, datetime):
        return (
            timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
            if timezone.is_aware(value)
            else value.strftime("%Y-%m-%d %H:%M")
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, djm.Model):
        return str(value)
    if isinstance(value, dict):
        return {
            str(k): _time_text(v) if str(k).endswith("_at") else _plain(v) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _time_text(value: Any) -> Any:
    """``*_at`` values given as ISO 8601 text are shown like datetimes."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return _plain(parsed)
    return _plain(value)


def _language(language: str | None, default: str) -> str:
    value = language or default
    if value not in Language.values:
        raise ValueError(f"unknown notification language {value!r}")
    return value


def _key(dedupe_key: str, *parts: object) -> str:
    key = "|".join([dedupe_key, *(str(p) for p in parts)])
    if not dedupe_key or len(key) > 255:
        raise ValueError(f"dedupe key must be 1–240 characters, not {dedupe_key!r}")
    return key


def to_customer(
    complaint: Complaint,
    kind: str,
    context: dict[str, Any],
    *,
    now: datetime,
    dedupe_key: str,
    language: str | None = None,
    into: list[Notification] | None = None,
) -> list[Notification]:
    """Notify the complainant: SMS if the contact phone is a mobile, email if the other
    contact holds an email address, both if both. Nothing for an anonymous complaint or one
    without such a contact. ``language`` defaults to English for a foreign customer
    (R-IN-3), Chinese otherwise. With ``into`` the rows are appended there, unwritten, for
    the caller's ``write``."""
    if kind not in CUSTOMER_KINDS:
        raise ValueError(f"{kind!r} is not a customer notification")
    if complaint.anonymous:
        return []
    lang = _language(language, Language.EN if complaint.foreign else Language.ZH_HANS)
    base = {
        "number": complaint.number,
        "customer_name": complaint.customer_name,
        "summary": complaint.summary,
    }
    ctx = _plain({**base, **context})
    rows: list[Notification] = []
    phone = mobile_of(complaint.contact_phone)
    if phone:
        rows.append(
            _row(complaint, kind, Medium.SMS, phone, lang, ctx, _key(dedupe_key, Medium.SMS), now)
        )
    email = email_in(complaint.other_contact)
    if email:
        rows.append(
            _row(
                complaint, kind, Medium.EMAIL, email, lang, ctx, _key(dedupe_key, Medium.EMAIL), now
            )
        )
    return _write_or_keep(rows, into)


def to_staff(
    user: Any,
    kind: str,
    complaint: Complaint | None,
    context: dict[str, Any],
    *,
    now: datetime,
    dedupe_key: str,
    language: str | None = None,
    webhooks: bool = True,
    into: list[Notification] | None = None,
    signature: Signature | None = None,
) -> list[Notification]:
    """Notify a staff member by email (if they have an address) and post to every active
    webhook robot subscribed to ``kind`` (unless ``webhooks=False``). ``user`` may be None to
    reach the robots only. Callers notifying several people about one event pass
    ``webhooks=True`` for one of them only, or the group chat sees the event several times.
    With ``into`` the rows are appended there, unwritten, for the caller's ``write``."""
    if kind not in STAFF_KINDS:
        raise ValueError(f"{kind!r} is not a staff notification")
    lang = _language(language, settings.LANGUAGE_CODE)
    base: dict[str, Any] = {}
    if complaint is not None:
        base = {
            "number": complaint.number,
            "summary": complaint.summary,
            "level": complaint.level,
            "status": complaint.status,
        }
    if user is not None:
        base["recipient_name"] = getattr(user, "display_name", "") or user.get_username()
    ctx = _plain({**base, **context})
    rows = []
    if user is not None and user.email and email_in(user.email):
        row = _row(
            complaint,
            kind,
            Medium.EMAIL,
            user.email,
            lang,
            ctx,
            _key(dedupe_key, Medium.EMAIL, f"u{user.pk}"),
            now,
        )
        row.user = user
        rows.append(row)
    if webhooks:
        for endpoint in _active_robots(signature):
            if endpoint.receives(kind):
                row = _row(
                    complaint,
                    kind,
                    Medium.WEBHOOK,
                    endpoint.url,
                    lang,
                    ctx,
                    _key(dedupe_key, Medium.WEBHOOK, f"w{endpoint.pk}"),
                    now,
                )
                row.webhook = endpoint
                rows.append(row)
    return _write_or_keep(rows, into)


def _write_or_keep(rows: list[Notification], into: list[Notification] | None) -> list[Notification]:
    if into is None:
        return _write(rows)
    into.extend(rows)
    return rows


def write(rows: list[Notification]) -> list[Notification]:
    """Write rows collected with ``into=`` in one INSERT, in their order, as ``to_customer``
    and ``to_staff`` write their own: a registration writes its acknowledgement, its
    assignment notices and its GM copies together."""
    return _write(rows)


def _row(
    complaint: Complaint | None,
    kind: str,
    channel: str,
    recipient: str,
    language: str,
    context: dict[str, Any],
    key: str,
    now: datetime,
) -> Notification:
    return Notification(
        complaint=complaint,
        kind=kind,
        channel=channel,
        recipient=recipient,
        language=language,
        context=context,
        dedupe_key=key,
        message_id=message_id_for(key),
        status=State.PENDING,
        next_attempt_at=now,
        created_at=now,
    )


def _write(rows: list[Notification]) -> list[Notification]:
    """Insert the rows whose key is new; return all of them as stored.

    ``ignore_conflicts`` is INSERT … ON CONFLICT DO NOTHING (PostgreSQL) or INSERT OR IGNORE
    (SQLite): an existing key neither raises nor aborts the caller's transaction, and a
    concurrent insert of the same key waits for the other transaction and then does nothing.
    """
    if not rows:
        return []
    inserted = _insert_new(rows)
    if inserted is None:
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        stored = list(
            Notification.objects.filter(dedupe_key__in=[r.dedupe_key for r in rows]).order_by("id")
        )
    else:
        # Only keys that were there already (a repeated call) are read back.
        new_keys = {r.dedupe_key for r in inserted}
        old_keys = [r.dedupe_key for r in rows if r.dedupe_key not in new_keys]
        stored = inserted
        if old_keys:
            stored += list(Notification.objects.filter(dedupe_key__in=old_keys))
        stored.sort(key=lambda n: n.pk)
    for row in stored:
        if row.status == State.PENDING:
            # robust: the change has committed; a broker that is down must not turn it into an
            # error for the user. The periodic deliver_outbox task catches the row up.
            transaction.on_commit(partial(enqueue, row.pk), robust=True)
    return stored


def _insert_new(rows: list[Notification]) -> list[Notification] | None:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id, dedupe_key: the rows actually inserted,
    with their ids, without reading them back. None where the database cannot return rows from
    such an insert (SQLite before 3.35); the caller then reads back every key."""
    using = router.db_for_write(Notification)
    connection = connections[using]
    if not connection.features.can_return_rows_from_bulk_insert:
        return None
    by_key = {row.dedupe_key: row for row in rows}
    inserted = []
    for pk, key in inserts.insert(rows, returning=("id", "dedupe_key"), ignore_conflicts=True, using=using):
        row = by_key[key]
        row.pk = pk
        row._state.adding = False
        row._state.db = using
        inserted.append(row)
    return inserted


def enqueue(notification_id: int) -> None:
    """Ask the worker to deliver one row now."""
    from .tasks import deliver_notification

    deliver_notification(notification_id)


def retry(notification: Notification, *, now: datetime) -> bool:
    """Send a given-up (or waiting) notification again at once with a fresh set of attempts,
    e.g. after an administrator fixed a robot's URL. Keeps its Message-ID."""
    updated = Notification.objects.filter(
        pk=notification.pk, status__in=[State.DEAD, State.PENDING]
    ).update(status=State.PENDING, attempts=0, next_attempt_at=now, claimed_at=None)
    if updated:
        transaction.on_commit(partial(enqueue, notification.pk), robust=True)
    return bool(updated)


__all__ = ["Kind", "email_in", "enqueue", "mobile_of", "retry", "to_customer", "to_staff", "write"]
