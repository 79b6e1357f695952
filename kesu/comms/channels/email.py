"""Email over SMTP through Django's backend (configured by ``KESU_EMAIL_URL``)."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from .base import DeliveryError, Message, PermanentFailure


def send_email(to: str, message: Message, *, message_id: str) -> str:
    """Send one message on its own connection. The Message-ID is the row's, so a resend after a
    crash is recognisably the same message (R-CM-5). Returns the Message-ID."""
    email = EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={
            "Message-ID": message_id,
            # RFC 3834: keeps auto-responders ("I'm on leave") from answering the robot.
            "Auto-Submitted": "auto-generated",
        },
        connection=get_connection(fail_silently=False),
    )
    try:
        email.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _msg in exc.recipients.values()]
        if codes and all(500 <= code < 600 for code in codes):
            raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc
        raise DeliveryError(f"recipient refused for now: {exc.recipients}") from exc
    except smtplib.SMTPDataError as exc:
        if 500 <= exc.smtp_code < 600:
            raise PermanentFailure(f"message refused: {exc.smtp_code} {exc.smtp_error!r}") from exc
        raise DeliveryError(f"message deferred: {exc.smtp_code} {exc.smtp_error!r}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        # Connection refused, timeouts, authentication and sender problems: configuration or
        # the server's state, which can change; retry.
        raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from exc
    return message_id
