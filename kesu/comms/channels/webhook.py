"""Group-chat robots: WeCom (企业微信) and DingTalk (钉钉) custom robots, text messages.

Both take ``{"msgtype": "text", "text": {"content": …}}`` and answer ``{"errcode": 0, …}``.
A DingTalk robot with "加签" enabled also wants ``timestamp`` (ms) and
``sign = urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")))`` in the query.
(A robot secured by keywords instead needs one of its keywords in the text, e.g. "投诉".)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

from django.conf import settings

from ..models import WebhookEndpoint, WebhookKind
from .base import DeliveryError, Message, PermanentFailure
from .http import http_post

# WeCom's limit is 2048 bytes of content, DingTalk's about 20000: keep well under both.
MAX_CONTENT_BYTES = 2000


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` query value, already URL-encoded as DingTalk's documentation does."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def dingtalk_url(url: str, secret: str, timestamp_ms: int) -> str:
    parts = urlsplit(url)
    query = urlencode(parse_qsl(parts.query, keep_blank_values=True))
    extra = f"timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"
    return urlunsplit(parts._replace(query=f"{query}&{extra}" if query else extra))


def _truncate(text: str, limit: int = MAX_CONTENT_BYTES) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"


def send_webhook(
    endpoint: WebhookEndpoint | None, message: Message, *, now_ms: int | None = None
) -> str:
    if endpoint is None or not endpoint.active:
        raise PermanentFailure("the webhook robot was removed or deactivated")
    content = _truncate(f"{message.subject}\n{message.body}".strip())
    payload = json.dumps(
        {"msgtype": "text", "text": {"content": content}}, ensure_ascii=False
    ).encode()
    url = endpoint.url
    if endpoint.kind == WebhookKind.DINGTALK and endpoint.secret:
        url = dingtalk_url(
            url, endpoint.secret, now_ms if now_ms is not None else int(time.time() * 1000)
        )
    status, raw = http_post(
        url, payload, "application/json; charset=utf-8", timeout=settings.KESU_WEBHOOK_TIMEOUT
    )
    try:
        answer = json.loads(raw.decode("utf-8") or "{}")
    except ValueError:
        answer = {}
    if status != 200:
        raise DeliveryError(f"{endpoint.kind} HTTP {status}")
    errcode = answer.get("errcode", 0)
    if errcode not in (0, "0"):
        raise DeliveryError(f"{endpoint.kind} errcode {errcode}: {answer.get('errmsg', '')}")
    return str(answer.get("msgid", ""))
