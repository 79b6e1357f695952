"""R-CL-2: suggest a category and a level from a complaint's text with admin-edited keyword rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import Category, KeywordRule


@dataclass
class Suggestion:
    category: Category | None = None
    level: int | None = None
    matched: list[str] = field(default_factory=list)


def suggest(text: str) -> Suggestion:
    """The category of the heaviest matching rule and the highest level any matching rule names."""
    result = Suggestion()
    best_weight = -1
    haystack = text or ""
    for rule in KeywordRule.objects.filter(active=True).select_related("category"):
        hits = [k for k in rule.keyword_list() if k in haystack]
        if not hits:
            continue
        result.matched.extend(hits)
        if rule.category is not None and rule.category.active and rule.weight > best_weight:
            result.category, best_weight = rule.category, rule.weight
        if rule.level is not None:
            result.level = max(result.level or 0, rule.level)
    return result
