"""What every channel shares: the rendered message and the two kinds of failure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    """A notification rendered in its language: a subject line and a plain-text body."""

    subject: str
    body: str


class DeliveryError(Exception):
    """The send failed but may work later (server down, 4xx, rate limit): retry with backoff."""


class PermanentFailure(DeliveryError):
    """Sending this row again cannot work (recipient refused with 5xx, robot removed, no
    template): give up at once."""
