"""R-CL-2: suggest a category and a level from a complaint's text with admin-edited keyword rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kesu.lib.statements import Statement, id_slot

from .models import Category, KeywordRule, keyword_list


@dataclass
class Suggestion:
    category: Category | None = None
    level: int | None = None
    matched: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Rule:
    keywords: list[str]
    category_id: int | None  # only if the category is active
    level: int | None
    weight: int


def active_rules() -> list[Rule]:
    """The active rules as plain values, heaviest first: every registration runs over all of
    them, and only the winning category is needed as an object.

    Read on every call (an administrator's edit applies to the next registration); the rows
    are only parsed again when they differ from the last call's."""
    global _parsed
    rows = _RULE_ROWS.rows()
    parsed = _parsed
    if parsed is not None and parsed[0] == rows:
        return parsed[1]
    rules = [Rule(keyword_list(keywords), category_id if active else None, level, weight)
             for keywords, category_id, active, level, weight in rows]
    _parsed = (rows, rules)
    return rules


# The last rows read and their rules (shared, never changed once built).
_parsed: tuple[list[tuple[Any, ...]], list[Rule]] | None = None
# Every registration reads them: compiled once (kesu/lib/statements.py).
_RULE_ROWS = Statement(lambda: KeywordRule.objects.filter(active=True).values_list(
    "keywords", "category_id", "category__active", "level", "weight"))


def suggest(text: str, *, rules: list[Rule] | None = None,
            category: Callable[[int], Category] | None = None) -> Suggestion:
    """The category of the heaviest matching rule and the highest level any matching rule names.
    A bulk caller (the legacy import) passes the rules it read once and a cached ``category``
    lookup by id."""
    result = Suggestion()
    best_weight, best_category = -1, None
    haystack = text or ""
    for rule in active_rules() if rules is None else rules:
        hits = [k for k in rule.keywords if k in haystack]
        if not hits:
            continue
        result.matched.extend(hits)
        if rule.category_id is not None and rule.weight > best_weight:
            best_category, best_weight = rule.category_id, rule.weight
        if rule.level is not None:
            result.level = max(result.level or 0, rule.level)
    if best_category is not None:
        result.category = (category or _category_by_id)(best_category)
    return result


def _category_by_id(pk: int) -> Category:
    # A quarter of the registrations ask: compiled once (kesu/lib/statements.py).
    found = _CATEGORY.first(pk=pk)
    return found if found is not None else Category.objects.get(pk=pk)  # raises as get() would


_CATEGORY = Statement(lambda: Category.objects.filter(pk=id_slot("pk")))
