"""R-CM-2: checking a message to a customer against the forbidden phrases, near variants
included. Pure matching over normalised text; the actions decide what a hit means."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .models import ForbiddenPhrase

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
GAP = 2  # characters that may slip in between two characters of a phrase ("我真的不知道")
ELLIPSIS_GAP = 12  # what "…" in a phrase may stand for


@dataclass(frozen=True)
class Hit:
    phrase: str
    matched: str
    advice: str


def _normal(text: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", text or "").lower())


def _pattern(phrase: str) -> re.Pattern[str]:
    parts = [p for p in re.split(r"…+|\.\.\.+", phrase)]
    chunks = []
    for part in parts:
        chars = [re.escape(c) for c in _normal(part)]
        chunks.append(f".{{0,{GAP}}}".join(chars))
    return re.compile(f".{{0,{ELLIPSIS_GAP}}}".join(c for c in chunks if c))


def check(text: str) -> list[Hit]:
    """Every active phrase the text contains, with the words that matched."""
    normal = _normal(text)
    hits = []
    for row in ForbiddenPhrase.objects.filter(active=True):
        pattern = _pattern(row.phrase)
        if not pattern.pattern:
            continue
        found = pattern.search(normal)
        if found:
            hits.append(Hit(row.phrase, found.group(0), row.advice))
    return hits
