"""The captcha shown after repeated failures (django-simple-captcha: images rendered by this
server, no outside service). Pages and the public API share these two functions."""

from __future__ import annotations

from captcha.models import CaptchaStore
from django.urls import reverse
from django.utils import timezone


def new_challenge() -> dict[str, str]:
    key = CaptchaStore.generate_key()
    return {"key": key, "image_url": reverse("captcha-image", kwargs={"key": key})}


def solved(key: str, answer: str) -> bool:
    """One attempt per challenge: the challenge is deleted whether the answer was right or
    not, so a challenge cannot be brute-forced either."""
    if not key or not answer:
        return False
    CaptchaStore.remove_expired()
    store = CaptchaStore.objects.filter(hashkey=key, expiration__gt=timezone.now()).first()
    if store is None:
        return False
    store.delete()
    return store.response == answer.strip().lower()
