"""SMS through a pluggable gateway (``KESU_SMS_BACKEND``): ``log`` for development and tests,
``aliyun`` for Alibaba Cloud SMS (Dysmsapi ``SendSms``).

Chinese SMS providers send only pre-approved templates: the gateway gets a template code (per
notification kind, ``KESU_SMS_TEMPLATE_CODE_<KIND>`` or the default ``KESU_SMS_TEMPLATE_CODE``)
and the template's variables (the notification's context, e.g. ``${number}``,
``${lookup_code}``). The rendered text is passed along for gateways that send free text and
for the log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from kesu.lib.phones import mask_phone

from .base import DeliveryError, PermanentFailure
from .http import http_post

log = logging.getLogger(__name__)


class SmsGateway(Protocol):
    def send(
        self,
        phone: str,
        template_code: str,
        params: dict[str, str],
        *,
        text: str = "",
        out_id: str = "",
    ) -> str:
        """Send one SMS; return the provider's message id. Raise DeliveryError to retry later,
        PermanentFailure when this message can never be sent."""
        ...


class LogSmsBackend:
    """Logs each SMS (phone masked) and keeps it in ``LogSmsBackend.sent`` like Django's
    locmem mail outbox. Sends nothing."""

    sent: ClassVar[list[dict[str, Any]]] = []

    def send(
        self,
        phone: str,
        template_code: str,
        params: dict[str, str],
        *,
        text: str = "",
        out_id: str = "",
    ) -> str:
        message_id = f"log-{uuid.uuid4().hex[:16]}"
        LogSmsBackend.sent.append(
            {
                "phone": phone,
                "template_code": template_code,
                "params": params,
                "text": text,
                "out_id": out_id,
                "id": message_id,
            }
        )
        log.info("SMS to %s (%s): %s", mask_phone(phone), template_code, text)
        return message_id


# --- Alibaba Cloud -------------------------------------------------------------------------

ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
# Codes that mean "this message will never go through"; anything else (rate limits, account
# arrears, outages) is retried. https://help.aliyun.com/document_detail/101346.html
ALIYUN_PERMANENT = frozenset(
    {
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.MOBILE_COUNT_OVER_LIMIT",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.INVALID_JSON_PARAM",
        "isv.PARAM_LENGTH_LIMIT",
        "isv.PARAM_NOT_SUPPORT_URL",
        "isv.BLACK_KEY_CONTROL_LIMIT",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.SMS_SIGNATURE_ILLEGAL",
    }
)


def pop_encode(value: str) -> str:
    """Alibaba Cloud's "percentEncode": RFC 3986 over UTF-8 — only A-Z a-z 0-9 - _ . ~ are
    left as they are, a space becomes %20 (not +), and * becomes %2A."""
    return quote(value, safe="-_.~")


def aliyun_string_to_sign(params: dict[str, str], method: str = "POST") -> str:
    """Step 1–2 of the RPC signature (SignatureVersion 1.0): sort the parameters by name,
    encode names and values, join with = and &, then sign METHOD&%2F&encode(query)."""
    canonical = "&".join(
        f"{pop_encode(k)}={pop_encode(v)}" for k, v in sorted(params.items()) if k != "Signature"
    )
    return f"{method}&{pop_encode('/')}&{pop_encode(canonical)}"


def aliyun_signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """Step 3: HMAC-SHA1 keyed with the AccessKey secret plus "&", base64."""
    digest = hmac.new(
        f"{secret}&".encode(), aliyun_string_to_sign(params, method).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


class AliyunSmsBackend:
    """Alibaba Cloud SMS ``SendSms`` (API version 2017-05-25), RPC style, signed with HMAC-SHA1,
    sent as a form POST through ``http_post``."""

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        endpoint: str = ALIYUN_ENDPOINT,
        region: str = "cn-hangzhou",
        timeout: float = 10,
    ):
        if not (access_key_id and access_key_secret and sign_name):
            raise ImproperlyConfigured(
                "KESU_SMS_BACKEND=aliyun needs KESU_SMS_ACCESS_KEY_ID, KESU_SMS_ACCESS_KEY_SECRET "
                "and KESU_SMS_SIGN_NAME"
            )
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.endpoint = endpoint
        self.region = region
        self.timeout = timeout

    def request_params(
        self,
        phone: str,
        template_code: str,
        params: dict[str, str],
        *,
        out_id: str = "",
        timestamp: datetime | None = None,
        nonce: str | None = None,
        method: str = "POST",
    ) -> dict[str, str]:
        """The signed request parameters (common parameters + SendSms's own + Signature)."""
        moment = (timestamp or datetime.now(UTC)).astimezone(UTC)
        request = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce or uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": template_code,
            "Timestamp": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        if params:
            request["TemplateParam"] = json.dumps(params, ensure_ascii=False, separators=(",", ":"))
        if out_id:
            request["OutId"] = out_id
        request["Signature"] = aliyun_signature(request, self.access_key_secret, method)
        return request

    def send(
        self,
        phone: str,
        template_code: str,
        params: dict[str, str],
        *,
        text: str = "",
        out_id: str = "",
    ) -> str:
        if not template_code:
            raise PermanentFailure(
                "no Aliyun SMS template code configured for this notification kind"
            )
        body = urlencode(self.request_params(phone, template_code, params, out_id=out_id)).encode()
        status, raw = http_post(
            self.endpoint,
            body,
            "application/x-www-form-urlencoded; charset=utf-8",
            timeout=self.timeout,
        )
        try:
            answer = json.loads(raw.decode("utf-8") or "{}")
        except ValueError:
            raise DeliveryError(f"Aliyun SMS answered HTTP {status} with no JSON") from None
        code = str(answer.get("Code", ""))
        if status == 200 and code == "OK":
            return str(answer.get("BizId", ""))
        detail = f"Aliyun SMS HTTP {status} {code}: {answer.get('Message', '')}"
        if code in ALIYUN_PERMANENT:
            raise PermanentFailure(detail)
        raise DeliveryError(detail)


def get_gateway() -> SmsGateway:
    backend = settings.KESU_SMS_BACKEND
    if backend == "log":
        return LogSmsBackend()
    if backend == "aliyun":
        return AliyunSmsBackend(
            access_key_id=settings.KESU_SMS_ACCESS_KEY_ID,
            access_key_secret=settings.KESU_SMS_ACCESS_KEY_SECRET,
            sign_name=settings.KESU_SMS_SIGN_NAME,
            endpoint=settings.KESU_SMS_ENDPOINT,
            region=settings.KESU_SMS_REGION,
        )
    raise ImproperlyConfigured(f"KESU_SMS_BACKEND must be log or aliyun, not {backend!r}")


def template_code(kind: str) -> str:
    codes: dict[str, str] = settings.KESU_SMS_TEMPLATE_CODES
    return codes.get(kind) or settings.KESU_SMS_TEMPLATE_CODE


# Free text that an approved SMS template never contains (providers cap a variable at a few dozen
# characters and refuse the whole message when it is longer).
NOT_TEMPLATE_VARIABLES = frozenset({"summary", "body", "text", "message"})


def template_params(context: dict[str, Any]) -> dict[str, str]:
    """The template variables: the context's short plain values as strings."""
    return {
        k: str(v)
        for k, v in context.items()
        if k not in NOT_TEMPLATE_VARIABLES
        and isinstance(v, (str, int, float))
        and not isinstance(v, bool)
        and str(v) != ""
    }


def send_sms(phone: str, kind: str, context: dict[str, Any], text: str, *, out_id: str) -> str:
    gateway = get_gateway()
    code = template_code(kind)
    if isinstance(gateway, LogSmsBackend):
        code = code or kind
    return gateway.send(phone, code, template_params(context), text=text, out_id=out_id)
