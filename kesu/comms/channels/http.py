"""The one place outgoing HTTP happens (SMS gateway, webhook robots), so tests can point every
adapter at a local server and nothing else opens sockets."""

from __future__ import annotations

import urllib.error
import urllib.request

from .base import DeliveryError


def http_post(url: str, body: bytes, content_type: str, *, timeout: float) -> tuple[int, bytes]:
    """POST ``body``; return (status, response body). HTTP error statuses are returned, not
    raised, so the caller can read the provider's error code; network failures raise
    DeliveryError (retried)."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "User-Agent": "kesu-notifier/1"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (admin-set https URL)
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read() or b""
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"POST {url.split('?')[0]} failed: {exc}") from exc
