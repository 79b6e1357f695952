"""Chinese phone numbers (R-IN-2): mobiles, landlines and ``+``-prefixed international numbers."""

from __future__ import annotations

import re
import unicodedata

_SEPARATORS = re.compile(r"[\s\-()（）]")
_MOBILE = re.compile(r"1[3-9]\d{9}", re.ASCII)
# Area code 0xx or 0xxx, a 7–8 digit subscriber number, optionally an extension.
_LANDLINE = re.compile(r"0\d{2,3}\d{7,8}", re.ASCII)
_INTERNATIONAL = re.compile(r"\+\d{7,15}", re.ASCII)


class InvalidPhone(ValueError):
    pass


def normalize_phone(raw: str) -> str:
    """Return the canonical form used for storage and customer deduplication.

    Mobiles become 11 digits (``+86``/``86`` prefixes dropped), landlines ``0AA-NNNNNNNN``
    (with ``-EXT``), international numbers ``+`` and digits. Raises InvalidPhone otherwise.
    """
    # Full-width digits and signs (１３８…, ＋８６) as typed in the IME's full-width mode.
    value = unicodedata.normalize("NFKC", raw or "").strip()
    extension = ""
    # An extension is written after 转, # or a final hyphen group of 1–6 digits on a landline.
    m = re.match(r"^(.*?)\s*(?:转|#|ext\.?|-)\s*(\d{1,6})$", value, re.IGNORECASE | re.ASCII)
    # A last hyphen group is only an extension if what precedes it is a whole landline
    # (0755-1234-5678 is one number written in groups).
    if m and value.lstrip().startswith("0") and _LANDLINE.fullmatch(_SEPARATORS.sub("", m.group(1))):
        value, extension = m.group(1), m.group(2)
    compact = _SEPARATORS.sub("", value)
    if compact.startswith(("+86", "0086")):
        compact = compact[3:] if compact.startswith("+") else compact[4:]
        if not _MOBILE.fullmatch(compact) and not compact.startswith("0"):
            compact = "0" + compact  # +86 10 1234 5678: a landline without its trunk 0
    elif compact.startswith("86") and len(compact) == 13 and _MOBILE.fullmatch(compact[2:]):
        compact = compact[2:]
    if _MOBILE.fullmatch(compact) and not extension:
        return compact
    if _LANDLINE.fullmatch(compact):
        area_len = 3 if compact[1] in "12" else 4  # 010, 02x are 3-digit area codes
        number = f"{compact[:area_len]}-{compact[area_len:]}"
        return f"{number}-{extension}" if extension else number
    if _INTERNATIONAL.fullmatch(compact) and not extension:
        return compact
    raise InvalidPhone(raw)


def mask_phone(phone: str) -> str:
    """138****1234 style: keep the first three and last four digits (R-AX-2)."""
    if not phone:
        return ""
    digits = phone
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "****" + digits[-4:]


def mask_address(address: str) -> str:
    """Keep the region (first six characters) and hide the street and door number."""
    if not address:
        return ""
    keep = min(6, max(1, len(address) // 3))
    return address[:keep] + "****"
