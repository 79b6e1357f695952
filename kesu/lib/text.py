"""Chinese text helpers: CJK bigram tokens for search (what Lucene's CJK analyzer does) and a
bigram similarity for repeat detection."""

from __future__ import annotations

import html
import re
import unicodedata

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_CJK}]+|[0-9a-z]+")
_CJK_RUN = re.compile(rf"^[{_CJK}]+$")
_TAGS = re.compile(r"<[^>]*>")


# Full-width forms (U+FF01–FF5E) folded to ASCII, except the punctuation of Chinese prose:
# NFKC would also turn "，！：" into ",!:" and "①" into "1", changing what the customer said.
_PROSE_PUNCTUATION = "！＂＇（），：；？［］｛｝～"
_FOLD_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F) if chr(cp) not in _PROSE_PUNCTUATION}


def clean_text(value: str) -> str:
    """Normalise width (ＡＢＣ１２３ → ABC123) and strip HTML tags a paste may carry."""
    value = unicodedata.normalize("NFC", value or "").translate(_FOLD_WIDTH)
    value = html.unescape(_TAGS.sub("", value))
    return value.replace("\r\n", "\n").strip()


def tokens(text: str) -> list[str]:
    """Overlapping bigrams of each CJK run, plus whole latin/digit words, lower-cased.

    A lone CJK character is kept as a unigram so that one-character names still match.
    """
    out: list[str] = []
    for run in _RUNS.findall(unicodedata.normalize("NFKC", text or "").lower()):
        if _CJK_RUN.match(run):
            if len(run) == 1:
                out.append(run)
            else:
                out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out


def index_text(*parts: str) -> str:
    """The space-separated token string stored for full-text search."""
    seen: dict[str, None] = {}
    for part in parts:
        for token in tokens(part):
            seen.setdefault(token, None)
    return " ".join(seen)


def similarity(a: str, b: str) -> float:
    """Dice coefficient over the two texts' bigram sets, 0..1."""
    return dice(set(tokens(a)), set(tokens(b)))


def dice(sa: set[str], sb: set[str]) -> float:
    """Dice coefficient of two bigram sets; ``similarity`` for a text compared with many."""
    if not sa or not sb:
        return 0.0
    return 2 * len(sa & sb) / (len(sa) + len(sb))
