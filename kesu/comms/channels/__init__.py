"""The three ways a notification travels (R-CM-5): email (SMTP), SMS (a pluggable gateway) and
webhook robots (WeCom/DingTalk). ``send`` picks one by the row's channel."""

from __future__ import annotations

from ..models import Medium, Notification
from .base import DeliveryError, Message, PermanentFailure
from .email import send_email
from .sms import send_sms
from .webhook import send_webhook


def send(row: Notification, message: Message) -> str:
    """Send a rendered notification; return the provider's id for it (may be empty)."""
    if row.channel == Medium.EMAIL:
        return send_email(row.recipient, message, message_id=row.message_id)
    if row.channel == Medium.SMS:
        out_id = row.message_id.strip("<>").split("@")[0]
        return send_sms(row.recipient, row.kind, row.context, message.body, out_id=out_id)
    if row.channel == Medium.WEBHOOK:
        return send_webhook(row.webhook, message)
    raise PermanentFailure(f"unknown channel {row.channel!r}")


__all__ = ["send", "Message", "DeliveryError", "PermanentFailure"]
