"""Rate limits and the captcha trigger for the public pages and endpoints (R-AX-3).

Counters live in the ``ratelimit`` cache (Redis with KESU_REDIS_URL, else a database table), so
every web process and host counts together. Windows are fixed: a counter's key names its window
(``rl:lookup-fail:ip:1.2.3.4:493827``) and expires with it. Redis increments atomically; the
database cache increments by read-and-write, so under heavy parallel attack a counter may
undercount by the number of requests in flight at once — a few, not an open door.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from django.utils.translation import gettext as _

from kesu.lib.errors import DomainError

HOUR = 3600
DAY = 24 * HOUR


class Throttled(DomainError):
    status = 429
    code = "throttled"


class CaptchaRequired(DomainError):
    """Too many failures from this client: the next attempt must carry a solved captcha."""

    status = 400
    code = "captcha_required"


def _cache():  # type: ignore[no-untyped-def]  # django's cache handle has no public type
    return caches["ratelimit"]


def _key(scope: str, ident: str, window: int) -> str:
    # Hash the identifier: phone numbers and complaint numbers never sit in the cache in clear.
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}:{int(time.time()) // window}"


def count(scope: str, ident: str, window: int) -> int:
    if not ident:
        return 0
    return int(_cache().get(_key(scope, ident, window)) or 0)


def hit(scope: str, ident: str, window: int) -> int:
    """Count one event; return the window's count including it."""
    if not ident:
        return 0
    cache, key = _cache(), _key(scope, ident, window)
    cache.add(key, 0, timeout=window + 60)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 60)
        return 1


def client_ip(request: HttpRequest) -> str:
    if settings.KESU_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "") or "unknown"


# --- the policies --------------------------------------------------------------------------


def failures(ip: str) -> int:
    """Failed lookups and refused submissions from this client in the last hour: what turns
    the captcha on."""
    return count("fail", ip, HOUR)


def note_failure(ip: str) -> None:
    hit("fail", ip, HOUR)


def captcha_needed(ip: str) -> bool:
    return failures(ip) >= settings.KESU_PORTAL_CAPTCHA_AFTER


def check_lookup(ip: str, number: str) -> None:
    """R-AX-3: repeated wrong codes are rate-limited, per client and per complaint number (so
    that many addresses together cannot walk one number's million codes either)."""
    if (count("lookup-fail", ip, HOUR) >= settings.KESU_PORTAL_LOOKUP_FAILURES_PER_IP_HOUR
            or count("lookup-fail-number", number.upper(), HOUR)
            >= settings.KESU_PORTAL_LOOKUP_FAILURES_PER_NUMBER_HOUR):
        raise Throttled(_("Too many wrong lookup codes. Please try again in an hour, or call our "
                          "customer service."), field="code")


def lookup_failed(ip: str, number: str) -> None:
    hit("lookup-fail", ip, HOUR)
    hit("lookup-fail-number", number.upper(), HOUR)
    note_failure(ip)


def phone_key(raw: str) -> str:
    """The phone as register stores it, so "138 1234 5678" and "13812345678" count together."""
    from kesu.lib.phones import InvalidPhone, normalize_phone

    try:
        return normalize_phone(raw) if raw.strip() else ""
    except InvalidPhone:
        return raw.strip()


def check_submit(ip: str, phone: str) -> None:
    """Submissions per client per hour and per phone per day."""
    phone = phone_key(phone)
    if count("submit", ip, HOUR) >= settings.KESU_PORTAL_SUBMITS_PER_IP_HOUR:
        raise Throttled(_("Too many complaints from this network in the last hour. Please try again "
                          "later, or call our customer service."), field=None)
    if phone and count("submit-phone", phone, DAY) >= settings.KESU_PORTAL_SUBMITS_PER_PHONE_DAY:
        raise Throttled(_("Too many complaints with this phone number today. We have your earlier "
                          "complaints; please use their numbers to follow them up."), field="contact_phone")


def submitted(ip: str, phone: str) -> None:
    hit("submit", ip, HOUR)
    if phone:
        hit("submit-phone", phone, DAY)
